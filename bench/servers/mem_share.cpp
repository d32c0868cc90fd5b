// memserv's node-local share (./myriad bench servers): `memload` on every core but 0 takes
// `arg` grants of 16 KiB through memserv's client (its own node first, then the nearest by the
// SLIT) and keeps them; after the plan's `wait`, `memstat` on core 0 asks every node's instance
// for its counters and prints how many grants were served to clients of the instance's own node.
#include <myr/memserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;

namespace {

memserv::Allocator mem;  // a connection per node: not on the stack

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
#ifndef MYRIAD_MEMSTAT
    if (const Status s = mem.init(); s != Status::ok) return 1;
    std::uint64_t got = 0, remote = 0;
    for (std::uint64_t i = 0; i < arg; ++i) {
        memserv::AllocReply a{};
        const Status s = mem.alloc(16384, a);
        if (s != Status::ok) break;
        ++got;
        if (a.node != mem.home()) ++remote;
    }
    user::print("memload core {} grants={} remote={}", core, got, remote);
    return 0;
#else
    static abi::TopologyInfo topo;
    (void)user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo);
    std::uint64_t local = 0, remote = 0;
    for (std::uint32_t n = 0; n < topo.nodes && n < memserv::max_nodes; ++n) {
        Status why = Status::ok;
        rpc::Client* c = mem.connection(n, why);
        if (!c) continue;
        memserv::StatsReply st{};
        if (c->call(memserv::Stats{}, st) != Status::ok) continue;
        user::print("bench-memserv node={} grants={} local={} remote={} refused_empty={}", n, st.grants, st.local,
                    st.remote, st.refused_empty);
        local += st.local;
        remote += st.remote;
    }
    const std::uint64_t all = local + remote ? local + remote : 1;
    user::print("bench-memserv-share cores={} nodes={} grants={} local={} share={}.{:02}", topo.cores, topo.nodes,
                local + remote, local, local / all, local * 100 / all % 100);
    (void)arg;
    (void)core;
    return 0;
#endif
}
