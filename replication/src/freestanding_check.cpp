// Compiled only into the freestanding object library: instantiates every protocol path with
// every shipped object under the kernel flags, so a heap allocation, an exception, an SSE
// instruction or a libc call in the replication headers breaks the build (check_symbols.cmake).
#include <myr/repl/endpoint.hpp>
#include <myr/repl/node_replication.hpp>
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/memory_ownership.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/primary_backup/object_machine.hpp>
#include <myr/repl/primary_backup/replica.hpp>
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

// Per-node placement: forwarding client / replica endpoint paths.
template <typename Obj>
Status drive_endpoint(Endpoint<Obj>& e, const urpc::Message& line, const typename Obj::Op& op) {
    MYR_TRY(e.submit(op, 1));
    MYR_TRY(e.on_message(1, line));
    Completion<Obj> c;
    while (e.take_completion(c)) {
    }
    return Status::ok;
}
Status endpoint_kv(Endpoint<KvMap>& e, const urpc::Message& m) { return drive_endpoint(e, m, KvMap::put(1, 2)); }
Status endpoint_counter(Endpoint<Counter>& e, const urpc::Message& m) { return drive_endpoint(e, m, Counter::add(1)); }
Status endpoint_registry(Endpoint<Registry>& e, const urpc::Message& m) {
    return drive_endpoint(e, m, Registry::add("fs", 1, 2));
}
Status endpoint_memory(Endpoint<MemoryOwnership>& e, const urpc::Message& m) {
    return drive_endpoint(e, m, MemoryOwnership::claim(4096, 1));
}
Status placement(Placement& p, std::span<const std::uint16_t> nodes) {
    return p.build(4, nodes, 2, Replicas::per_node);
}

KvMap::Result nr(NodeReplicated<KvMap, 64, 2, 4>& o, NrHandle h) { return o.execute(KvMap::add(1, 1), h); }
KvMap::Result shared(SharedObject<KvMap>& o) { return o.execute(KvMap::add(1, 1)); }

// Primary-backup: a backup's side of every message, the primary's order, its log and catch-up.
using PbKv = pb::ObjectMachine<KvMap>;
struct PbLink {
    pb::Replica<PbKv>* to;
    Status call(const PbKv::Apply& m, PbKv::ApplyReply& r) { return to->on_apply(m, r); }
    Status call(const PbKv::Load& m, PbKv::ApplyReply& r) { return to->on_load(m, r); }
    Status call(const PbKv::KeepAnswer& m, PbKv::ApplyReply& r) { return to->on_keep(m, r); }
    Status call(const PbKv::Rebase& m, PbKv::ApplyReply& r) { return to->on_rebase(m, r); }
    Status call(const PbKv::Resume& m, PbKv::ApplyReply& r) {
        bool rejoined = false;
        return to->on_resume(m, r, rejoined);
    }
    Status call(const PbKv::Stats&, PbKv::StatsReply& r) {
        to->position_of(r);
        return Status::ok;
    }
    Status call(const PbKv::Dump& m, PbKv::DumpReply& r) { return to->on_dump(m, r); }
    Status call(const PbKv::DumpAnswers& m, PbKv::DumpAnswersReply& r) { return to->on_dump_answers(m, r); }
};
Status primary_backup(pb::Replica<PbKv>& primary, pb::Replica<PbKv>& backup, std::uint8_t* block, std::size_t size) {
    (void)primary.log.attach(block, size, &primary.table, &primary.sessions, &primary.at);
    (void)primary.log.recover();
    PbLink link{&backup};
    PbKv::ApplyReply ar{};
    MYR_TRY(backup.on_apply(primary.order(KvMap::put(1, 2), PbKv::Answer{1, 1, {}}), ar));
    pb::Replica<PbKv>::CatchUpReport rep{};
    MYR_TRY(primary.catch_up(link, rep));
    std::uint64_t calls = 0;
    return primary.take_table(link, pb::Position{1, 1}, 2, calls);
}

} // namespace myr::repl::freestanding_check
