#pragma once
// Small measuring helpers for user programs (benchmarks in the guest).
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

} // namespace myr::user
