// The few C runtime symbols the compiler may call in freestanding code (struct copies, zeroing).
// Simple loops keep them obviously correct; the CPU driver copies little after boot.
#include <cstddef>
#include <cstdint>

#include <myr/mem_words.hpp>

extern "C" {

void* memcpy(void* dst, const void* src, std::size_t n) {
    myr::mem_words::copy(dst, src, n);
    return dst;
}

void* memmove(void* dst, const void* src, std::size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}

void* memset(void* dst, int c, std::size_t n) {
    myr::mem_words::fill(dst, static_cast<unsigned char>(c), n);
    return dst;
}

int memcmp(const void* a, const void* b, std::size_t n) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (; n; --n, ++x, ++y)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

std::size_t strlen(const char* s) {
    std::size_t n = 0;
    while (s[n]) ++n;
    return n;
}

void __cxa_pure_virtual() { __builtin_trap(); }
void abort() { __builtin_trap(); }

} // extern "C"
