#pragma once
// Counters stored in kvstore as decimal text, for the test clients that raise them by
// compare-and-swap (kv_retry.cpp, kv_load.cpp).
#include <myr/format.hpp>
#include <myr/kvstore/interface.hpp>

namespace kvtest {

inline myr::kvstore::Value value_of(std::uint64_t n) {
    char b[24];
    myr::FixedBuffer f(b, sizeof b);
    myr::format_to(f, "{}", n);
    myr::kvstore::Value v{};
    (void)v.assign(f.c_str(), f.size());
    return v;
}

// The number a value holds (0 for an empty one; the clients write only digits).
inline std::uint64_t number_of(const myr::kvstore::Value& v) {
    std::uint64_t n = 0;
    for (std::uint16_t i = 0; i < v.size; ++i) n = n * 10 + static_cast<std::uint64_t>(v.data[i] - '0');
    return n;
}

} // namespace kvtest
