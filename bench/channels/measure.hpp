#pragma once
// The measuring harness shared by every mechanism: a pinned ping-pong timed per round trip with
// the TSC (calibrated against CLOCK_MONOTONIC), and a pinned one-way stream timed by the
// consumer with CLOCK_MONOTONIC over the whole batch.
#include <myr/hosted/clock.hpp>
#include <myr/hosted/runtime.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace myr::bench {

struct Latency {
    double p50_ns = 0;
    double p99_ns = 0;
};

struct Settings {
    std::uint64_t round_trips = 1'000'000;
    std::uint64_t rounds = 10;               // mechanisms alternate in this many interleaved rounds
    std::uint64_t warmup = 2'000;            // per round
    std::uint64_t stream_fast = 20'000'000;  // messages for shared-memory mechanisms
    std::uint64_t stream_slow = 1'000'000;   // messages for system-call mechanisms
};

inline double percentile(std::vector<std::uint32_t>& v, double q) {
    const std::size_t k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

// Client: c.round_trip(i) does one timed exchange. Server: s.echo() answers one.
// Writes `round_trips` samples (TSC cycles) to `cycles`.
template <typename MakeClient, typename MakeServer>
bool ping_pong(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t round_trips,
               std::uint64_t warmup, std::uint32_t* cycles, MakeClient&& make_client,
               MakeServer&& make_server) {
    const std::uint32_t pair[] = {src, dst};
    const Status s = rt.run(pair, [&](std::uint32_t core) {
        if (core == src) {
            auto client = make_client();
            for (std::uint64_t i = 0; i < warmup; ++i) client.round_trip(i);
            for (std::uint64_t i = 0; i < round_trips; ++i) {
                const std::uint64_t t0 = hosted::Tsc::read();
                client.round_trip(warmup + i);
                const std::uint64_t t1 = hosted::Tsc::read();
                cycles[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(t1 - t0, UINT32_MAX));
            }
        } else {
            auto server = make_server();
            for (std::uint64_t i = 0; i < warmup + round_trips; ++i) server.echo();
        }
    });
    return s == Status::ok;
}

inline Latency latency_of(std::vector<std::uint32_t>& cycles, const hosted::Tsc& tsc) {
    if (cycles.empty()) return {};
    Latency l;
    l.p50_ns = tsc.to_ns(static_cast<std::uint64_t>(percentile(cycles, 0.50)));
    l.p99_ns = tsc.to_ns(static_cast<std::uint64_t>(percentile(cycles, 0.99)));
    return l;
}

// Producer: p.send(i). Consumer: c.recv(i). Returns the consumer's elapsed nanoseconds.
template <typename MakeProducer, typename MakeConsumer>
std::uint64_t stream(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t count,
              MakeProducer&& make_producer, MakeConsumer&& make_consumer) {
    std::uint64_t elapsed = 0;
    const std::uint32_t pair[] = {src, dst};
    const Status s = rt.run(pair, [&](std::uint32_t core) {
        if (core == src) {
            auto producer = make_producer();
            for (std::uint64_t i = 0; i < count; ++i) producer.send(i);
        } else {
            auto consumer = make_consumer();
            const std::uint64_t t0 = hosted::now_ns();
            for (std::uint64_t i = 0; i < count; ++i) consumer.recv(i);
            elapsed = hosted::now_ns() - t0;
        }
    });
    return s == Status::ok ? elapsed : 0;
}

// A mismatch means the mechanism under test lost or reordered a message: the figures would be
// meaningless, so say so loudly (counted, printed once at the end).
inline std::atomic<std::uint64_t>& check_failures() {
    static std::atomic<std::uint64_t> n{0};
    return n;
}
inline void check(bool ok) {
    if (!ok) [[unlikely]] check_failures().fetch_add(1, std::memory_order_relaxed);
}

} // namespace myr::bench
