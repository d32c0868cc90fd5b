#pragma once
// Small measuring helpers for user programs (benchmarks in the guest).
#include <myr/user/syscall.hpp>

#include <cstdint>

namespace myr::user {

// The median of v[0..n) (n > 0); sorts v in place (insertion sort: benchmark batches are small).
inline std::uint64_t median(std::uint64_t* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; --j) {
            const std::uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

// TSC ticks per call of op(i) (i counts every call from 0): the median over `batches` batches
// (at most 64) of `per_batch` calls each.
template <typename F>
std::uint64_t median_ticks(unsigned batches, std::uint64_t per_batch, F op) {
    std::uint64_t per_op[64];
    if (batches > 64) batches = 64;
    std::uint64_t i = 0;
    for (unsigned b = 0; b < batches; ++b) {
        const std::uint64_t t0 = rdtsc();
        for (std::uint64_t k = 0; k < per_batch; ++k) op(i++);
        per_op[b] = (rdtsc() - t0) / per_batch;
    }
    return median(per_op, batches);
}

// The raw cache-line ping-pong, the baseline for a channel's round trip: the measuring side
// writes seq (1, 2, ...) to `out` and waits for it on `in`; the echoing side waits on its `in`
// and writes it back to its `out`. Each line is written by one side only.
inline void line_ping(volatile std::uint64_t* out, volatile std::uint64_t* in, std::uint64_t seq) {
    __atomic_store_n(out, seq, __ATOMIC_RELEASE);
    while (__atomic_load_n(in, __ATOMIC_ACQUIRE) != seq) {}
}
inline void line_echo(volatile std::uint64_t* in, volatile std::uint64_t* out, std::uint64_t rounds) {
    for (std::uint64_t seq = 1; seq <= rounds; ++seq) {
        while (__atomic_load_n(in, __ATOMIC_ACQUIRE) != seq) {}
        __atomic_store_n(out, seq, __ATOMIC_RELEASE);
    }
}

} // namespace myr::user
