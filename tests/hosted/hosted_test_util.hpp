#pragma once
// Shared by the hosted tests: message counts from the environment (CTest sets smaller counts
// for the ThreadSanitizer tree) and a payload that proves where a line came from.
#include <myr/urpc/message.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace myr::hosted::test {

inline std::uint64_t env_count(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == 0) return fallback;
    return std::strtoull(v, nullptr, 10);
}

inline std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

// Payload of message `seq` from core `src`: every word checks.
inline void make_payload(std::uint64_t (&w)[urpc::payload_words], std::uint32_t src,
                         std::uint64_t seq) {
    w[0] = seq;
    w[1] = src;
    for (std::size_t k = 2; k < urpc::payload_words; ++k) w[k] = mix(seq * 8 + k + (std::uint64_t{src} << 48));
}

inline bool payload_ok(const std::uint64_t (&w)[urpc::payload_words], std::uint32_t src,
                       std::uint64_t seq) {
    std::uint64_t expect[urpc::payload_words];
    make_payload(expect, src, seq);
    for (std::size_t k = 0; k < urpc::payload_words; ++k)
        if (w[k] != expect[k]) return false;
    return true;
}

} // namespace myr::hosted::test
