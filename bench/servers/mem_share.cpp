// memserv's node-local share (./myriad bench servers): `memload` on every core but 0 takes
// `arg` grants of 16 KiB through memserv's client (its own node first, then the nearest by the
// SLIT) and keeps them; after the plan's `wait`, `memstat` on core 0 (one per 4 nodes: argument =
// first node) asks those nodes' instances for their counters: grants served to clients of the
// instance's own node (local) and of other nodes (remote). A client may hold 4 connections in its
// life (8 rings, docs/monitors.md "Limits"), so its fallback reaches at most 4 nodes.
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
    // Hold the grants a while: memserv takes a dead holder's grants back, and clients still
    // allocating would then be served from them.
    for (user::Deadline hold(300); !hold.passed();) user::wait_event();
    return 0;
#else
    static abi::TopologyInfo topo;
    (void)user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo);
    // Nodes arg .. arg+3: a domain may hold 4 connections in its life (8 rings), so the bench
    // starts one memstat per 4 nodes.
    std::uint64_t local = 0, remote = 0;
    for (std::uint32_t n = static_cast<std::uint32_t>(arg); n < topo.nodes && n < arg + 4 && n < memserv::max_nodes; ++n) {
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
    (void)local;
    (void)remote;
    (void)core;
    return 0;
#endif
}
