#pragma once
// Program argument strings (docs/monitors.md, "Program arguments"): words separated by spaces,
// each either `key=value` or a bare flag, e.g. "node=3 replica=0 replicas=2". A domain reads its
// own string from its monitor (myr/user/args.hpp); this is the pure part, shared by the monitor,
// user programs and host tests. No heap, no libc: the views point into the caller's buffer.
#include <cstdint>

namespace myr::args {

// The longest argument string a monitor keeps for a domain (bytes, no terminator); a longer
// one is refused (overflow), never cut.
inline constexpr std::uint64_t max_len = 96;

struct View {
    const char* text = nullptr;
    std::uint64_t len = 0;
    bool found = false;
};

// The value of the first word `key=value` of args[0..len) (a word `key` alone: found, empty
// value). A key matches whole words only: "replicas=2" is not key "replica".
constexpr View value(const char* args, std::uint64_t len, const char* key) {
    std::uint64_t klen = 0;
    while (key[klen]) ++klen;
    if (klen == 0) return {};
    std::uint64_t i = 0;
    while (i < len) {
        while (i < len && args[i] == ' ') ++i;
        const std::uint64_t start = i;
        while (i < len && args[i] != ' ') ++i;
        const std::uint64_t wlen = i - start;
        if (wlen < klen) continue;
        bool same = true;
        for (std::uint64_t k = 0; k < klen && same; ++k) same = args[start + k] == key[k];
        if (!same) continue;
        if (wlen == klen) return {args + i, 0, true};
        if (args[start + klen] == '=') return {args + start + klen + 1, wlen - klen - 1, true};
    }
    return {};
}

// A decimal number at `p`, at most `max`: `p` moves past the digits read. False when there is no
// digit or the number passes `max` (then `p` stops at the digit that made it too big, so nothing
// wraps however long the text).
constexpr bool decimal(const char*& p, std::uint64_t max, std::uint64_t& out) {
    std::uint64_t n = 0;
    const char* start = p;
    for (; *p >= '0' && *p <= '9'; ++p) {
        const auto d = static_cast<std::uint64_t>(*p - '0');
        if (d > max || n > (max - d) / 10) return false;
        n = n * 10 + d;
    }
    if (p == start) return false;
    out = n;
    return true;
}
// The whole string `s` is a decimal number of at most `max` (kernel options, plan steps).
constexpr bool whole_decimal(const char* s, std::uint64_t max, std::uint64_t& out) {
    const char* p = s;
    return decimal(p, max, out) && *p == '\0';
}

// `key=N` as a decimal number below 2^63; false when absent, empty, not all digits or too big.
constexpr bool number(const char* args, std::uint64_t len, const char* key, std::uint64_t& out) {
    const View v = value(args, len, key);
    if (!v.found || v.len == 0 || v.len > 18) return false;
    std::uint64_t n = 0;
    for (std::uint64_t i = 0; i < v.len; ++i) {
        if (v.text[i] < '0' || v.text[i] > '9') return false;
        n = n * 10 + static_cast<std::uint64_t>(v.text[i] - '0');
    }
    out = n;
    return true;
}

// Whether `key=value` equals `want` exactly.
constexpr bool equals(const char* args, std::uint64_t len, const char* key, const char* want) {
    const View v = value(args, len, key);
    if (!v.found) return false;
    std::uint64_t i = 0;
    for (; i < v.len; ++i)
        if (want[i] != v.text[i]) return false;
    return want[i] == '\0';
}

// Kernel command lines split words at spaces, so an argument string travels there with every
// space as a comma (myriadctl encodes, the monitor decodes). In place; returns len.
constexpr std::uint64_t decode_commas(char* s, std::uint64_t len) {
    for (std::uint64_t i = 0; i < len; ++i)
        if (s[i] == ',') s[i] = ' ';
    return len;
}

} // namespace myr::args
