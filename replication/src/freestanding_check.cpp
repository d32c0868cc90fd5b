// Compiled only into the freestanding object library: instantiates every protocol path with
// every shipped object under the kernel flags, so a heap allocation, an exception, an SSE
// instruction or a libc call in the replication headers breaks the build (check_symbols.cmake).
#include <myr/repl/node_replication.hpp>
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/memory_ownership.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/replica.hpp>
#include <myr/repl/shared_object.hpp>

namespace myr::repl::freestanding_check {

template <typename Obj>
Status drive(Replica<Obj>& r, const urpc::Message& line, const typename Obj::Op& op) {
    MYR_TRY(r.submit(op, 1));
    MYR_TRY(r.on_message(1, line));
    Completion<Obj> c;
    while (r.take_completion(c)) {
    }
    return Status::ok;
}

Status counter(Replica<Counter>& r, const urpc::Message& m) { return drive(r, m, Counter::add(1)); }
Status kv(Replica<KvMap>& r, const urpc::Message& m) { return drive(r, m, KvMap::put(1, 2)); }
Status registry(Replica<Registry>& r, const urpc::Message& m) {
    return drive(r, m, Registry::add("fs", 1, 2));
}
Status memory(Replica<MemoryOwnership>& r, const urpc::Message& m) {
    return drive(r, m, MemoryOwnership::claim(4096, 1));
}

KvMap::Result nr(NodeReplicated<KvMap, 64, 2, 4>& o, NrHandle h) { return o.execute(KvMap::add(1, 1), h); }
KvMap::Result shared(SharedObject<KvMap>& o) { return o.execute(KvMap::add(1, 1)); }

} // namespace myr::repl::freestanding_check
