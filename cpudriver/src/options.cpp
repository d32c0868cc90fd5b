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

// NAME@CORES[*K] into a SpawnSpec; false when malformed.
bool parse_spawn(const char* v, SpawnSpec& out) {
    unsigned i = 0;
    while (*v && *v != '@' && *v != ' ') {
        if (i + 1 >= sizeof out.name) return false;
        out.name[i++] = *v++;
    }
    out.name[i] = '\0';
    if (i == 0 || *v != '@') return false;
    ++v;
    i = 0;
    while (*v && *v != '*' && *v != ' ') {
        if (i + 1 >= sizeof out.cores) return false;
        out.cores[i++] = *v++;
    }
    out.cores[i] = '\0';
    if (i == 0) return false;
    out.generations = 1;
    if (*v == '*') {
        std::int64_t k = 0;
        if (!parse_int(v + 1, 1, 100000, k)) return false;
        out.generations = static_cast<std::uint32_t>(k);
    }
    if (out.cores[0] == 'a') return out.cores[1] == 'l' && out.cores[2] == 'l' && out.cores[3] == '\0';
    for (const char* c = out.cores; *c; ++c)
        if (!((*c >= '0' && *c <= '9') || *c == ',' || *c == '-')) return false;
    return true;
}

} // namespace

bool core_in_list(const char* cores, std::uint32_t core) {
    if (cores[0] == 'a' && cores[1] == 'l' && cores[2] == 'l' && (cores[3] == '\0' || cores[3] == ' '))
        return true;
    const char* p = cores;
    while (*p && *p != ' ') {
        std::uint32_t lo = 0, hi = 0;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9') lo = lo * 10 + static_cast<std::uint32_t>(*p++ - '0');
        hi = lo;
        if (*p == '-') {
            ++p;
            if (*p < '0' || *p > '9') return false;
            hi = 0;
            while (*p >= '0' && *p <= '9') hi = hi * 10 + static_cast<std::uint32_t>(*p++ - '0');
        }
        if (core >= lo && core <= hi) return true;
        if (*p == ',') ++p;
        else if (*p && *p != ' ') return false;
    }
    return false;
}

Options parse_options(const char* cmdline) {
    Options o{};
    o.timer_hz = 100;
    o.selftest_fault = -1;
    o.selftest_stall = -1;
    o.boot_stall_ms = 20000;
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
        } else if (starts_with(p, "selftest.stall=", &v)) {
            ok = parse_int(v, 0, 4095, n);
            if (ok) o.selftest_stall = static_cast<std::int32_t>(n);
        } else if (starts_with(p, "boot.stall_ms=", &v)) {
            ok = parse_int(v, 1000, 600000, n);
            if (ok) o.boot_stall_ms = static_cast<std::uint32_t>(n);
        } else if (starts_with(p, "acpi.dump=", &v)) {
            ok = parse_int(v, 0, 1, n);
            if (ok) o.dump_acpi = n == 1;
        } else if (starts_with(p, "spawn=", &v)) {
            ok = o.num_spawn < max_spawn && parse_spawn(v, o.spawn[o.num_spawn]);
            if (ok) ++o.num_spawn;
        } else if (starts_with(p, "serve=", &v)) {
            ok = o.num_serve < max_serve && *v && *v != ' ';
            if (ok) copy_word(v, o.serve[o.num_serve++], sizeof o.serve[0]);
        } else if (starts_with(p, "console=", &v)) {
            unsigned len = 0;
            while (v[len] && v[len] != ' ') ++len;
            ok = len > 0 && len < sizeof o.console;
            if (ok) copy_word(v, o.console, sizeof o.console);
        } else if (starts_with(p, "memserv.pool=", &v)) {
            ok = parse_int(v, 0, 65536, n);
            if (ok) o.memserv_pool_mib = static_cast<std::uint32_t>(n);
        } else if (starts_with(p, "monitor.flags=", &v)) {
            ok = parse_int(v, 0, 0xffff, n);
            if (ok) o.monitor_flags = static_cast<std::uint32_t>(n);
        } else if (starts_with(p, "monitor=", &v)) {
            copy_word(v, o.monitor, sizeof o.monitor);
            ok = o.monitor[0] != '\0';
        } else if (starts_with(p, "plan=", &v) || starts_with(p, "monitor.broadcast=", &v) ||
                   starts_with(p, "monitor.graph=", &v) || starts_with(p, "repl=", &v) ||
                   starts_with(p, "monitor.ping_ms=", &v) || starts_with(p, "monitor.mute_pings=", &v) ||
                   starts_with(p, "server.", &v) || starts_with(p, "monitor.kill=", &v) ||
                   starts_with(p, "monitor.memserv=", &v)) {
            // For the monitors (kernel_option system call); the kernel only carries it.
        } else if (starts_with(p, "config=", &v)) {
            copy_word(v, o.config, sizeof o.config);
        } else if (p == first && !has_char(p, '=')) {
            // Boot loaders pass the kernel's path as the first word: not an option.
        } else {
            ok = false;
        }
        if (!ok && !o.unknown[0]) copy_word(p, o.unknown, sizeof o.unknown);
        while (*p && *p != ' ') ++p;
    }
    return o;
}

OptionValue find_option(const char* cmdline, const char* key, std::uint64_t key_len) {
    OptionValue found{nullptr, 0, false};
    if (key_len == 0) return found;
    const char* p = cmdline;
    while (p && *p) {
        while (*p == ' ') ++p;
        std::uint64_t i = 0;
        while (i < key_len && p[i] == key[i]) ++i;
        if (i == key_len && p[i] == '=') {
            const char* v = p + i + 1;
            std::uint64_t n = 0;
            while (v[n] && v[n] != ' ') ++n;
            found = {v, n, true};  // keep looking: a later word wins
        }
        while (*p && *p != ' ') ++p;
    }
    return found;
}

} // namespace myr::kernel
