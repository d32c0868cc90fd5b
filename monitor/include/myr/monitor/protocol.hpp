#pragma once
// Messages between monitors: one URPC line each (interconnect/include/myr/urpc/message.hpp),
// the type byte says which, the payload words carry the fields below. Defined once, here.
#include <cstdint>

namespace myr::monitor {

enum Type : std::uint8_t {
    hello = 1,        // [core, node]                  every monitor -> monitor 0 at start
    members = 2,      // [count, node of core 0]       monitor 0 -> all: the membership is agreed
    ping_all = 3,     // [round]                       monitor 0 -> all: ping every other monitor
    ping = 4,         // [pinging core, round]
    pong = 5,         // [pinging core, round]
    ping_done = 6,    // [round, answered, failed]     -> the round's origin (all pongs in, or on ping_tally)
    spawn_req = 7,    // [tag, name bytes (<= 40) in words 1..5, argument or ~0 = the core]: start a program there
                      // (its argument string: the spawn_args lines just before, else empty)
    spawn_reply = 8,  // [tag, status, domain]
    status_req = 9,   // []
    status_reply = 10,// [core, domains | bindings << 32, sent, received, malformed, sent per type 1-4 and 5-8 as 16-bit fields]
    shutdown_now = 11,// [code]
    bench_start = 12, // [round trips, raw line offset, base]: poll without sleeping and echo bench_ping,
                      // then the raw line from base + 1 (monitor/bench.cpp)
    bench_ping = 13,  // [seq]
    // 14: retired (export_note, the one-phase name broadcast; names agree through names.cpp)
    bind_req = 15,    // [ticket, client domain, client ring phys, name0, name1, client entry serial, 1: the client
                      //  is a [[server]] instance (its ring budget)] -> the exporter's monitor
    bind_reply = 16,  // [ticket, status, server ring phys, server domain]
    census_req = 17,  // []                            monitor 0 -> all (plan step `wait`)
    census_reply = 18,// [core, live domains besides the monitor, exited ok, exited failing, faulted]
    bcast_probe = 19, // [seq, tree?]                  a measured broadcast (plan step `broadcast`)
    bcast_ack = 20,   // [seq, hops from the origin, lines this monitor forwarded]
    route_env = 21,   // [origin, destination]: the next line on this channel is a message for
                      // `destination` from `origin`, relayed along the node graph (monitor.graph=nodes)
    // 22: retired (export_gone)
    domain_gone = 23, // [core, domain, how]           -> all: a domain this monitor started ended (the
                      // death feed; how: as domain_status answered, docs/monitors.md "Death feed")
    names_sum_req = 24, // []                          monitor 0 -> all (plan step `names`)
    names_sum = 25,   // [core, digest, names, exports in flight]  -> the plan's runner
    names_fwd = 26,   // [token, 1 add | 2 remove, domain, name0, name1]  core >= 64 -> its proxy (names.cpp)
    names_fwd_reply = 27, // [token, status]           proxy -> core >= 64
    names_note = 28,  // [1 add | 2 remove, core, domain, name0, name1]  group core -> cores >= 64: it took effect
    ping_tally = 29,  // [round]                       monitor 0 -> each: its deadline passed, report
                      // the pongs you have (ping_done) if you have not yet
    bench_measure = 30, // [peer]                      monitor 0 -> core: measure the round trip to peer
    bench_result = 31,  // [core, peer, urpc ticks, cache-line ticks]  -> monitor 0
    last_type = bench_result,
};
// Word 6 of a broadcast line: tree_mark | origin core (monitor.cpp forwards it down the origin's
// multicast tree); other messages leave word 6 zero.
inline constexpr std::uint64_t tree_mark = std::uint64_t{1} << 63;


// Domain operations for user-space servers (monitor/binding.cpp, docs/monitors.md "Death feed,
// kill, list, bind by address"): their own block, clear of replication's (32..38) and the
// replication framework's lines (0x40..).
enum OpsType : std::uint8_t {
    bind_to_req = 48, // [ticket, client domain, client ring phys, server domain, service, client entry serial,
                      //  1: the client is a [[server]] instance]
                      // -> the server's monitor
                      // (answered by bind_reply like bind_req)
    kill_req = 49,    // [tag, domain, caller domain]  a privileged caller's monitor -> the target's
    kill_reply = 50,  // [tag, status]
    list_req = 51,    // [tag, index]                  -> the core's monitor: its index-th started live domain
    list_reply = 52,  // [tag, status, domain, name0, name1]
    bind_cancel = 53, // [ticket, client domain]       the client's monitor -> the server's: the client
                      // withdrew that request (MonitorOp::bind_cancel); dropped there unless accepted
    ring_gone = 54,   // [ring phys]                   a ring's peer core -> its owner: no capability to
                      // it is left here (RingBook); the owner may use it again once it is done too
    ops_first = bind_to_req,
    ops_last = ring_gone,
};

// Replication (monitor/replication.cpp and replication_step.cpp, docs/replication.md): a separate
// block from 32, so new types above can be appended without touching it. The replication lines
// themselves are the framework's types 0x40..0x4a (replication/include/myr/repl/wire.hpp).
enum ReplType : std::uint8_t {
    repl_nodes = 32,    // [first core, NUMA node of cores first.. as bytes in words 1..6]  monitor 0 -> all
    repl_start = 33,    // [object | protocol << 8 | fanout << 16 | coordinator << 24 | reads << 32 | workload << 40,
                        //  ops per core, seed, sequencer, owner, cores, nodes]             monitor 0 -> all
    repl_done = 34,     // [core, ops completed, updates completed, retries]               -> monitor 0
    repl_collect = 35,  // [updates completed in all]: report once your replica applied them all
    repl_report = 36,   // [core, digest, applied, sent, rejected, send failures, ignored]  -> monitor 0
    repl_ready = 37,    // [core]: replica built                                             -> monitor 0
    repl_go = 38,       // []: every replica is built, clients may start                     monitor 0 -> all
    repl_first = repl_nodes,
    repl_last = repl_go,
};

// Core membership with an elected coordinator (monitor/liveness.cpp, myr/monitor/election.hpp,
// docs/monitors.md "Membership and core failure"): a block of its own between replication's
// (32..38) and the domain operations. Every line carries the sender's term first.
enum MemberType : std::uint8_t {
    member_beat = 40,      // [term, epoch, beat]         parent -> child, down the current view's tree
    member_beat_ack = 41,  // [term, epoch, beat]         child -> parent
    member_suspect = 42,   // [term, epoch, core | cut bit]  parent of `core` (or a core that cut it) -> coordinator
    member_view = 43,      // [term, epoch, view's term, members bits 0-63, 64-127, 128-191, 192-255]
                           //                             coordinator -> every core of its view before
    member_view_ack = 44,  // [term, epoch, view's term]  -> coordinator
    core_stop_req = 45,    // []                          the coordinator (plan step kill-core) -> a core: stop
    member_commit = 46,    // [term, epoch, view's term]  coordinator -> the view: every live core installed it
    member_elect = 47,     // [kind (election::Kind vote_req 7, vote 8, prevote_req 9, prevote 10), term, epoch, value]
    member_first = member_beat,
    member_last = member_elect,
};

// Servers and program arguments (monitor/servers.cpp, docs/monitors.md "Program arguments"): a
// block of its own (56..), so types added above or by replication do not collide with it.
enum ServerType : std::uint8_t {
    spawn_args = 56,  // [0, offset, 40 bytes of the argument string in words 2..6]: for the next
                      // spawn_req from the same core (lines arrive in order); offset 0 starts afresh
    stop_req = 57,    // [tag, program name bytes (<= 40) in words 1..5]: kill what you started of it
    stop_reply = 58,  // [tag, 1, domain]: one killed; then [tag, 0, count]: done
    server_placed = 59,  // [server, index, core, moves]  the membership's coordinator -> every monitor
                         // (tree broadcast): it moved that configured instance to `core`, its
                         // `moves`-th move (servers::cores_lost); every monitor's placement table
                         // follows, so a later coordinator has it
};

// Taking over from a coordinator whose core stopped (docs/monitors.md, "The plan outlives its
// core", "Servers move"): a block of its own (93..), clear of the others. Sent only with core
// heartbeats on.
enum TakeoverType : std::uint8_t {
    plan_step = 93,      // [index, plan passing so far]  the plan's runner (the membership's
                         // coordinator) -> every monitor (tree broadcast), as it begins step `index`
    plan_where_req = 94, // []                            a new coordinator -> every monitor (tree broadcast)
    plan_where = 95,     // [steps begun, plan passing]   -> the new coordinator: what this monitor heard
    placed_req = 96,     // []                            a new coordinator -> each monitor (one line each, not
                         // the tree: the old one may still be in it): the moves you heard of
    placed_is = 97,      // [server, index, core, moves]  -> the new coordinator, one per instance ever moved
    placed_end = 98,     // [lines sent]                  -> the new coordinator: that was all
};

// The broadcasts (through the origin's multicast tree, word 6 = tree_mark | origin).
constexpr bool is_broadcast(std::uint8_t type) {
    return type == members || type == ping_all || type == status_req || type == census_req ||
           type == bcast_probe || type == domain_gone || type == names_sum_req || type == server_placed ||
           type == plan_step || type == plan_where_req;
}

// memserv grants as capabilities (monitor/binding.cpp, docs/servers.md, "memserv"): memserv's monitor
// -> the holder's core's monitor, answered like kill_req (a tag the caller polls on).
enum RamType : std::uint8_t {
    ram_grant_req = 60,   // [tag, domain, ticket, phys | size_bits]: make the root, hold a child for (domain, ticket)
    ram_grant_reply = 61, // [tag, status]
    ram_reclaim_req = 62, // [tag, domain, ticket]: revoke and delete that grant's root if it is still held
    ram_reclaim_reply = 63, // [tag, status]: ok, no capability for it is left on that core
};

// Address spaces spanning cores (monitor/span.cpp, docs/unmap.md): a block of its own (80..), clear
// of the replication framework's lines (0x40..0x4a).
enum SpanType : std::uint8_t {
    span_start = 80,  // [span, members, page phys, pages, broadcast line phys]  monitor 0 -> cores
                      // 1..members-1: start a dispatcher (members' cores are 0..members-1)
    span_ready = 81,  // [span, core, status, left]         -> monitor 0: it mapped every page (ok), or not;
                      // left = span_left: it refused to join and holds nothing of the span
    shoot = 82,       // [span, type | initiator << 8 | seq << 32, vaddr, lines, 0, protocol]  between members
                      // (myr/monitor/shootdown.hpp's ShootMsg)
    span_end = 83,    // [span, abort]                      monitor 0 -> members: the experiment is over;
                      // abort = 1 before span_go (a member refused): the dispatcher is ended
    span_gone = 84,   // [span, core, reachable | missing << 16 | no dispatcher << 32, how it ended]
                      // -> monitor 0: its dispatcher ended; no capability to the page is left there
    span_go = 85,     // [span]                             monitor 0 -> members: every member mapped;
                      // dispatchers may unmap (MonitorOp::span_unmap)
    span_mode = 86,   // [span, poll]                       monitor 0 -> members: poll for lines without
                      // sleeping (1) or sleep until an interrupt (0, protocol ipi)
    span_unmapped = 87, // [span, core, result]             -> monitor 0: the dispatcher's own unmap
                      // (result: 1 returned ok | 2 it could still reach the page)
};
// Frames across cores (monitor/frames.cpp): the capability protocol's lines, and the answer to a give.
enum FrameType : std::uint8_t {
    cap_line = 90,      // [the six words of a CapMsg (cap_wire.hpp encode)]  between monitors
    frame_landed = 91,  // [ticket, status]  the target's monitor -> the giver's: the copy is held for
                        // the domain (ok), or it was dropped (connection_lost, busy, exists)
    far_line = 92,      // [FarLine type, its six words (far_book.hpp)]  between monitors: endpoints and
                        // notifications across cores
};

inline constexpr std::uint64_t span_left = 1;  // span_ready's last word: the member is not in the span

} // namespace myr::monitor
