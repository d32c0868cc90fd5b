#pragma once
// Messages between monitors: one URPC line each (interconnect/include/myr/urpc/message.hpp),
// the type byte says which, the payload words carry the fields below. Defined once, here.
#include <cstdint>

namespace myr::monitor {

enum Type : std::uint8_t {
    hello = 1,        // [core, node]                  every monitor -> monitor 0 at start
    members = 2,      // [count, node of core 0]       monitor 0 -> all: the membership is agreed
    ping_all = 3,     // []                            monitor 0 -> all: ping every other monitor
    ping = 4,         // [seq]
    pong = 5,         // [seq]
    ping_done = 6,    // [answered, failed]            -> monitor 0
    spawn_req = 7,    // [tag, name bytes (<= 40) in words 1..5]: start a program on the receiver's core
    spawn_reply = 8,  // [tag, status, domain]
    status_req = 9,   // []
    status_reply = 10,// [core, 0, sent, received, malformed, sent per type 1-4 and 5-8 as 16-bit fields]
    shutdown_now = 11,// [code]
    bench_start = 12, // [round trips, raw line offset]: poll without sleeping and echo bench_ping
    bench_ping = 13,  // [seq]
    last_type = bench_ping,
};

// Replication (monitor/replication.cpp, docs/replication.md): a separate block from 32, so new
// types above can be appended without touching it. The replication lines themselves are the
// framework's types 0x40..0x4a (replication/include/myr/repl/wire.hpp).
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

} // namespace myr::monitor
