// C runtime symbols the compiler may emit calls to in user programs.
#include <cstddef>
#include <cstdint>

#include <myr/mem_words.hpp>

extern "C" {
void* memcpy(void* dst, const void* src, std::size_t n) {
    myr::mem_words::copy(dst, src, n);
    return dst;
}
void* memset(void* dst, int c, std::size_t n) {
    myr::mem_words::fill(dst, static_cast<unsigned char>(c), n);
    return dst;
}
void __cxa_pure_virtual() { __builtin_trap(); }
}
