// C runtime symbols the compiler may emit calls to in user programs.
#include <cstddef>
#include <cstdint>

// Eight bytes at a time once aligned (when both ends can be) (struct copies of boot blocks and per-core
// state are kilobytes); may_alias, since these copy objects of any type.
using word = std::uint64_t __attribute__((may_alias));

extern "C" {
void* memcpy(void* dst, const void* src, std::size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (((reinterpret_cast<std::uintptr_t>(d) ^ reinterpret_cast<std::uintptr_t>(s)) & 7) == 0) {
        for (; n && (reinterpret_cast<std::uintptr_t>(d) & 7); --n) *d++ = *s++;  // up to a word boundary
        for (; n >= 8; n -= 8, d += 8, s += 8) *reinterpret_cast<word*>(d) = *reinterpret_cast<const word*>(s);
    }
    while (n--) *d++ = *s++;
    return dst;
}
void* memset(void* dst, int c, std::size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    for (; n && (reinterpret_cast<std::uintptr_t>(d) & 7); --n) *d++ = static_cast<unsigned char>(c);
    const word v = 0x0101010101010101ull * static_cast<unsigned char>(c);
    for (; n >= 8; n -= 8, d += 8) *reinterpret_cast<word*>(d) = v;
    while (n--) *d++ = static_cast<unsigned char>(c);
    return dst;
}
void __cxa_pure_virtual() { __builtin_trap(); }
}
