#pragma once
// The channel mechanisms compared by `myriad bench channels`, each measured the same two ways
// (ping-pong round trips, one-way stream) by measure.hpp.
#include "measure.hpp"

#include <myr/hosted/runtime.hpp>

#include <string>
#include <vector>

namespace myr::bench {

struct Figures {
    std::string mechanism;
    Latency rtt;
    double msgs_per_s = 0;
};

struct PollPolicy {
    bool pause = true;  // `pause` in poll loops (applied alike to every shared-memory mechanism)
};

// myriad: our channel (64-slot rings, receiver-local). cacheline: one shared line ping-pong (the
// physical limit); its stream is a one-slot hand-off. boost_spsc: boost::lockfree::spsc_queue of
// 64-byte elements, capacity 64. pipe, eventfd: Linux, blocking. myriad_block: our channel with
// a doorbell and a receiver that blocks on a futex whenever nothing is there (spin budget 0).
std::vector<Figures> measure_pair(hosted::Runtime& rt, const hosted::Tsc& tsc, std::uint32_t src,
                                  std::uint32_t dst, const Settings& settings, PollPolicy poll,
                                  const std::vector<std::string>& only);

// Poll-then-block policy: round trips with think time `gap_ns` between them, the server
// spinning `spin_ns` before it blocks. Returns p50/p99 and the share of receives that slept.
struct PolicyPoint {
    std::uint64_t gap_ns;
    std::uint64_t spin_ns;
    Latency rtt;
    double blocked_share;
};
PolicyPoint measure_policy(hosted::Runtime& rt, const hosted::Tsc& tsc, std::uint32_t src,
                           std::uint32_t dst, std::uint64_t round_trips, std::uint64_t gap_ns,
                           std::uint64_t spin_ns);

} // namespace myr::bench
