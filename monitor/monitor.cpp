// The per-core monitor (docs/monitors.md): the user-space half of each core's OS. Started
// by its CPU driver as the core's first domain with a kernel capability, an IPI capability and
// the mesh of URPC inboxes mapped. Monitors agree on the membership through the boot core's
// monitor, answer pings, start programs for each other, set up bindings between domains
// (binding.cpp), hold replicated objects (replication.cpp), and the boot core's monitor runs the
// run plan (plan.cpp; default: membership, all-pairs ping, remote spawn on every core, a
// malformed-message probe, then shutdown), or the elected coordinator its rest when core 0 stops. Messages travel through mesh.cpp; this file holds
// main, the dispatch of every message type to its part, and the loop's kernel options.
#include "bench.hpp"
#include "binding.hpp"
#include "liveness.hpp"
#include "loop.hpp"
#include "mesh.hpp"
#include "names.hpp"
#include "plan.hpp"
#include <myr/monitor/protocol.hpp>
#include "replication.hpp"
#include "servers.hpp"
#include "span.hpp"

#include <myr/args.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::monitor;

namespace myr::monitor {

void handle(std::uint64_t from, const urpc::Message& m) {
    ++received;
    switch (m.header.type) {
    case hello:
    case members:
    case ping_all:
    case ping:
    case pong:
    case ping_tally:
    case ping_done:
    case spawn_reply:
    case status_req:
    case status_reply:
    case census_req:
    case census_reply:
    case bcast_probe:
    case bcast_ack:
    case plan_step:
    case plan_where_req:
    case plan_where: plan::on_message(from, m); break;  // the plan's rounds (plan.cpp)
    case spawn_req: servers::on_spawn_request(from, m); break;
    case spawn_args: servers::on_spawn_args(from, m); break;
    case stop_req: servers::on_stop_request(from, m); break;
    case stop_reply: servers::on_stop_reply(from, m); break;
    case server_placed: servers::on_placed(from, m); break;
    case placed_req: servers::on_placed_request(from); break;
    case placed_is: servers::on_placed_is(from, m); break;
    case placed_end: servers::on_placed_end(from); break;
    case domain_gone: binding::on_domain_gone(from, m); break;
    case names_sum_req: names::on_sum_request(from); break;
    case names_sum: names::on_sum(from, m); break;
    case names_fwd: names::on_forward(from, m); break;
    case names_fwd_reply: names::on_forward_reply(from, m); break;
    case names_note: names::on_note(from, m); break;
    case bind_req: binding::on_bind_request(from, m); break;
    case bind_reply: binding::on_bind_reply(from, m); break;
    case bind_to_req: binding::on_bind_to_request(from, m); break;
    case bind_cancel: binding::on_bind_cancel(from, m); break;
    case ring_gone: binding::on_ring_gone(from, m); break;
    case kill_req: binding::on_kill_request(from, m); break;
    case kill_reply: binding::on_kill_reply(from, m); break;
    case list_req: binding::on_list_request(from, m); break;
    case list_reply: binding::on_list_reply(from, m); break;
    case ram_grant_req: binding::on_ram_grant_request(from, m); break;
    case ram_grant_reply: binding::on_ram_grant_reply(from, m); break;
    case ram_reclaim_req: binding::on_ram_reclaim_request(from, m); break;
    case ram_reclaim_reply: binding::on_ram_reclaim_reply(from, m); break;
    case cap_line: binding::on_cap_line(from, m); break;
    case frame_landed: binding::on_frame_landed(from, m); break;
    case far_line: binding::on_far_line(from, m); break;
    case shutdown_now: break;
    case bench_start: bench::echo(from, m.words[0], m.words[1], m.words[2]); break;
    case bench_ping: break;  // only inside a bench round
    case bench_measure: bench::on_measure(from, m); break;
    case bench_result: bench::on_result(from, m); break;
    default:
        if (span::handles(m.header.type)) {  // address spaces spanning cores (monitor/span.cpp)
            span::on_message(from, m);
            break;
        }
        if (liveness::handles(m.header.type)) {  // core membership (monitor/liveness.cpp)
            liveness::on_message(from, m);
            break;
        }
        if (names::handles(m)) {  // the name table's agreement (monitor/names.cpp)
            names::on_message(from, m);
            break;
        }
        if (repl::handles(m.header.type)) {  // replication (monitor/replication.cpp)
            repl::on_message(from, m);
            break;
        }
        ++malformed;
        print("malformed message type {} from core {}: ignored", m.header.type, from);
        break;
    }
}


// The value of kernel option `key=` into buf (nul-terminated); false when absent.
bool kernel_option(const char* key, char* buf, std::uint64_t size) {
    std::uint64_t len = 0;
    while (key[len]) ++len;
    const SysResult r = syscall6(abi::Sys::kernel_option, kernel_cap, reinterpret_cast<std::uint64_t>(key), len,
                                 reinterpret_cast<std::uint64_t>(buf), size - 1);
    if (r.status != Status::ok) return false;
    buf[r.value] = '\0';
    return true;
}

} // namespace myr::monitor

extern "C" int main(std::uint64_t core, std::uint64_t cores, std::uint64_t base, std::uint64_t stride,
                    std::uint64_t chan, std::uint64_t node) {
    const bool bench_rtt = (node >> 32) & 1;
    node &= 0xffffffff;
    if (cores > max_cores || cores == 0) {
        print("{} cores is more than this monitor handles", cores);
        return 1;
    }
    const bool topo_ok = syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo).status == Status::ok &&
                         topo.cores == cores;
    char broadcast_mode[16] = {}, graph[16] = {};
    const bool unicast = kernel_option("monitor.broadcast", broadcast_mode, sizeof broadcast_mode) &&
                         same(broadcast_mode, "unicast");
    const bool nodes = kernel_option("monitor.graph", graph, sizeof graph) && same(graph, "nodes");
    char mute[8] = {};
    std::uint64_t muted = 0;
    const bool mute_pings = kernel_option("monitor.mute_pings", mute, sizeof mute) &&
                            args::whole_decimal(mute, std::uint64_t{1} << 62, muted) && muted == core;
    plan::init(mute_pings, bench_rtt);
    if (!mesh_init({core, cores, base, stride, chan, node}, topo_ok, unicast, nodes)) return 1;
    binding::init_rings(topo);
    if (topo_ok) binding::check_ram_pools(topo);
    names::init();
    servers::init(kernel_option);
    liveness::init(kernel_option);
    repl::init({static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(cores), try_send_words, poll, queued, kernel_option,
                topo_ok ? &topo : nullptr});
    if (core == 0) plan::run();
    send(0, hello, core, node);
    run_until([] { return plan::takeover_due(); });  // serve; the plan's runner may be removed
    plan::take_over();
}
