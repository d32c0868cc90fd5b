#include <myr/kernel/options.hpp>

namespace myr::kernel {
namespace {

bool starts_with(const char* s, const char* prefix, const char** rest) {
    while (*prefix) {
        if (*s++ != *prefix++) return false;
    }
    *rest = s;
    return true;
}

// Parses a decimal integer up to a space/end; false when malformed or out of [lo, hi].
bool parse_int(const char* s, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    bool neg = false;
    if (*s == '-') { neg = true; ++s; }
    if (*s < '0' || *s > '9') return false;
    std::int64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v > hi + 1) return false;
    }
    if (*s && *s != ' ') return false;
    if (neg) v = -v;
    if (v < lo || v > hi) return false;
    out = v;
    return true;
}

bool has_char(const char* word, char c) {
    for (; *word && *word != ' '; ++word)
        if (*word == c) return true;
    return false;
}

void copy_word(const char* s, char* dst, unsigned cap) {
    unsigned i = 0;
    while (*s && *s != ' ' && i + 1 < cap) dst[i++] = *s++;
    dst[i] = '\0';
}

} // namespace

Options parse_options(const char* cmdline) {
    Options o{};
    o.timer_hz = 100;
    o.selftest_fault = -1;
    const char* p = cmdline;
    while (p && *p == ' ') ++p;
    const char* first = p;
    while (p && *p) {
        while (*p == ' ') ++p;
        if (!*p) break;
        const char* v = nullptr;
        std::int64_t n = 0;
        bool ok = true;
        if (starts_with(p, "timer_hz=", &v)) {
            ok = parse_int(v, 10, 10000, n);
            if (ok) o.timer_hz = static_cast<std::uint32_t>(n);
        } else if (starts_with(p, "selftest.fault=", &v)) {
            ok = parse_int(v, 0, 4095, n);
            if (ok) o.selftest_fault = static_cast<std::int32_t>(n);
        } else if (starts_with(p, "acpi.dump=", &v)) {
            ok = parse_int(v, 0, 1, n);
            if (ok) o.dump_acpi = n == 1;
        } else if (starts_with(p, "config=", &v)) {
            copy_word(v, o.config, sizeof o.config);
        } else if (p == first && !has_char(p, '=')) {
            // Boot loaders pass the kernel's path as the first word (platform.md): not an option.
        } else {
            ok = false;
        }
        if (!ok && !o.unknown[0]) copy_word(p, o.unknown, sizeof o.unknown);
        while (*p && *p != ' ') ++p;
    }
    return o;
}

} // namespace myr::kernel
