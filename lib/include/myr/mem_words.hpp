#pragma once
// The byte copy and fill behind the freestanding memcpy and memset of the CPU driver
// (cpudriver/src/support.cpp) and of user programs (lib/user/src/support.cpp): one
// implementation, host-tested in tests/unit/mem_words_test.cpp. Bytes up to an 8-byte boundary,
// then 8 bytes at a time (a copy only when both ends can be aligned together), then the tail.
// Boot blocks, per-core state and program pages are kilobytes, so the word loop is what runs.
#include <cstddef>
#include <cstdint>

namespace myr::mem_words {

using word = std::uint64_t __attribute__((may_alias));  // these copy objects of any type

inline void copy(void* dst, const void* src, std::size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (((reinterpret_cast<std::uintptr_t>(d) ^ reinterpret_cast<std::uintptr_t>(s)) & 7) == 0) {
        for (; n && (reinterpret_cast<std::uintptr_t>(d) & 7); --n) *d++ = *s++;  // up to a word boundary
        for (; n >= 8; n -= 8, d += 8, s += 8) *reinterpret_cast<word*>(d) = *reinterpret_cast<const word*>(s);
    }
    while (n--) *d++ = *s++;
}

inline void fill(void* dst, unsigned char c, std::size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    for (; n && (reinterpret_cast<std::uintptr_t>(d) & 7); --n) *d++ = c;
    const word v = 0x0101010101010101ull * c;
    for (; n >= 8; n -= 8, d += 8) *reinterpret_cast<word*>(d) = v;
    while (n--) *d++ = c;
}

} // namespace myr::mem_words
