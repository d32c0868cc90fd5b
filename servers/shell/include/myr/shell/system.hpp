#pragma once
// The shell's commands that reach the rest of the system: processes (ps, start, stop, kill),
// services (nameserv), kvstore (kv get|put|del), the shell's own connections (channels) and an
// RPC round-trip measurement (bench). Pure like the built-ins: every call goes through the
// System table of the Context, which the guest fills with the monitors' operations and RPC
// clients (servers/shell/main.cpp) and the host tests with fakes. A missing table entry (no
// such service in this build) prints `error: COMMAND: not available`.
#include <myr/shell/builtins.hpp>

namespace myr::shell {

struct Process {
    std::uint32_t core, domain;
    char program[17];
    std::uint32_t restarts = 0;  // by its monitor's supervisor (docs/monitors.md, "Supervision")
};
struct Service {
    char name[33];
    std::uint32_t core, domain;
};
struct Connection {
    char service[33];
    std::uint32_t core, domain;
    std::uint64_t lines_out, lines_in;
};

struct System {
    // The index-th live domain a monitor started on `core`; not_found past the end.
    Status (*process)(std::uint32_t core, std::uint32_t index, Process& out) = nullptr;
    // Starts `program` on `core` (abi::spawn_any: the monitor picks one of the shell's node) with
    // the argument string `args`; the new domain in out.
    Status (*start)(const char* program, std::uint64_t core, const char* args, Process& out) = nullptr;
    Status (*kill)(std::uint32_t core, std::uint32_t domain) = nullptr;
    // Up to `cap` services from table slot `from`: count filled, next slot, total names.
    Status (*services)(std::uint32_t from, Service* out, std::uint32_t cap, std::uint32_t& count, std::uint32_t& next,
                       std::uint32_t& total) = nullptr;
    Status (*kv_get)(const char* key, char* value, std::size_t cap, std::uint64_t& version) = nullptr;
    Status (*kv_put)(const char* key, const char* value, std::uint64_t& version) = nullptr;
    Status (*kv_del)(const char* key, bool& existed) = nullptr;
    // The shell's own open connections, index-th; not_found past the end.
    Status (*connection)(std::uint32_t index, Connection& out) = nullptr;
    // Median ticks of `rounds` RPC round trips to kvstore (stats) and of a null system call.
    Status (*bench_rpc)(std::uint32_t rounds, std::uint64_t& rpc_ticks, std::uint64_t& null_ticks) = nullptr;
};

// A decimal number that fits 32 bits; false for anything else ("", "-1", "12x", overflow).
inline bool parse_u32(const char* s, std::uint32_t& out) {
    std::uint64_t v = 0;
    if (!*s) return false;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(*s - '0');
        if (v > 0xffff'ffffull) return false;
    }
    out = static_cast<std::uint32_t>(v);
    return true;
}

inline bool unavailable(Context& ctx, const char* what, const void* fn) {
    if (ctx.system && fn) return false;
    ctx.out.line("error: {}: not available", what);
    return true;
}

inline Outcome failed(Context& ctx, const char* what, Status s) {
    ctx.out.line("error: {}: {}", what, to_string(s));
    return Outcome::failed;
}

// ps [CORE]: every live domain the monitors started (or those of one core).
inline Outcome cmd_ps(Context& ctx, const Args& a) {
    if (unavailable(ctx, "ps", reinterpret_cast<const void*>(ctx.system ? ctx.system->process : nullptr))) return Outcome::failed;
    std::uint32_t first = 0, last = 0;
    if (a.count == 2) {
        if (!parse_u32(a.v[1], first)) return Outcome::usage;
        last = first;
    } else {
        const abi::TopologyInfo* t = fetch_topology(ctx);
        if (!t) return Outcome::failed;
        last = t->cores - 1;
    }
    std::uint32_t shown = 0;
    for (std::uint32_t core = first; core <= last; ++core) {
        for (std::uint32_t i = 0; i < 64; ++i) {
            Process p{};
            const Status s = ctx.system->process(core, i, p);
            if (s == Status::not_found) break;
            if (s != Status::ok) return failed(ctx, "ps", s);
            if (p.restarts)
                ctx.out.line("  core {} domain {} {} (restarted {} times)", p.core, p.domain, static_cast<const char*>(p.program),
                             p.restarts);
            else
                ctx.out.line("  core {} domain {} {}", p.core, p.domain, static_cast<const char*>(p.program));
            ++shown;
        }
    }
    ctx.out.line("{} domains", shown);
    return Outcome::ok;
}

// start NAME [@CORE] [ARG...]: the arguments become the program's argument string.
inline Outcome cmd_start(Context& ctx, const Args& a) {
    if (unavailable(ctx, "start", reinterpret_cast<const void*>(ctx.system ? ctx.system->start : nullptr))) return Outcome::failed;
    std::uint64_t core = abi::spawn_any;
    std::size_t first_arg = 2;
    if (a.count > 2 && a.v[2][0] == '@') {
        std::uint32_t c = 0;
        if (!parse_u32(a.v[2] + 1, c)) return Outcome::usage;
        core = c;
        first_arg = 3;
    }
    char args[97];
    FixedBuffer b(args, sizeof args);
    for (std::size_t i = first_arg; i < a.count; ++i) {
        if (i > first_arg) b.put(' ');
        b.put(a.v[i]);
    }
    if (b.size() >= sizeof args - 1) {
        ctx.out.line("error: start: the arguments are longer than 96 bytes");
        return Outcome::failed;
    }
    Process p{};
    const Status s = ctx.system->start(a.v[1], core, b.c_str(), p);
    if (s != Status::ok) return failed(ctx, "start", s);
    ctx.out.line("started {} on core {} domain {}", a.v[1], p.core, p.domain);
    return Outcome::ok;
}

// kill CORE DOMAIN
inline Outcome cmd_kill(Context& ctx, const Args& a) {
    if (unavailable(ctx, "kill", reinterpret_cast<const void*>(ctx.system ? ctx.system->kill : nullptr))) return Outcome::failed;
    std::uint32_t core = 0, domain = 0;
    if (!parse_u32(a.v[1], core) || !parse_u32(a.v[2], domain)) return Outcome::usage;
    const Status s = ctx.system->kill(core, domain);
    if (s != Status::ok) return failed(ctx, "kill", s);
    ctx.out.line("killed core {} domain {}", core, domain);
    return Outcome::ok;
}

// stop NAME [@CORE]: kill every live domain running program NAME (on CORE).
inline Outcome cmd_stop(Context& ctx, const Args& a) {
    if (unavailable(ctx, "stop", reinterpret_cast<const void*>(ctx.system ? ctx.system->process : nullptr)) ||
        unavailable(ctx, "stop", reinterpret_cast<const void*>(ctx.system->kill)))
        return Outcome::failed;
    std::uint32_t first = 0, last = 0;
    if (a.count == 3) {
        if (a.v[2][0] != '@' || !parse_u32(a.v[2] + 1, first)) return Outcome::usage;
        last = first;
    } else {
        const abi::TopologyInfo* t = fetch_topology(ctx);
        if (!t) return Outcome::failed;
        last = t->cores - 1;
    }
    std::uint32_t stopped = 0;
    for (std::uint32_t core = first; core <= last; ++core) {
        // Killing shifts the list: look again from the start after each kill.
        for (std::uint32_t i = 0; i < 64;) {
            Process p{};
            const Status s = ctx.system->process(core, i, p);
            if (s == Status::not_found) break;
            if (s != Status::ok) return failed(ctx, "stop", s);
            if (!same_word(p.program, a.v[1])) {
                ++i;
                continue;
            }
            const Status k = ctx.system->kill(p.core, p.domain);
            if (k != Status::ok) return failed(ctx, "stop", k);
            ctx.out.line("  stopped {} core {} domain {}", a.v[1], p.core, p.domain);
            ++stopped;
            i = 0;
        }
    }
    if (stopped == 0) {
        ctx.out.line("error: stop: no running {}", a.v[1]);
        return Outcome::failed;
    }
    ctx.out.line("stopped {}", stopped);
    return Outcome::ok;
}

// services: the names nameserv holds and who serves them.
inline Outcome cmd_services(Context& ctx, const Args&) {
    if (unavailable(ctx, "services", reinterpret_cast<const void*>(ctx.system ? ctx.system->services : nullptr)))
        return Outcome::failed;
    Service page[8];
    std::uint32_t from = 0, shown = 0, total = 0;
    for (unsigned pages = 0; pages < 64; ++pages) {
        std::uint32_t count = 0, next = 0;
        const Status s = ctx.system->services(from, page, 8, count, next, total);
        if (s != Status::ok) return failed(ctx, "services", s);
        for (std::uint32_t i = 0; i < count && i < 8; ++i, ++shown)
            ctx.out.line("  {} core {} domain {}", static_cast<const char*>(page[i].name), page[i].core, page[i].domain);
        if (count == 0 || next <= from) break;
        from = next;
    }
    ctx.out.line("{} services", shown);
    return Outcome::ok;
}

// kv get KEY | kv put KEY VALUE | kv del KEY
inline Outcome cmd_kv(Context& ctx, const Args& a) {
    const bool get = same_word(a.v[1], "get"), put = same_word(a.v[1], "put"), del = same_word(a.v[1], "del");
    if ((!get && !put && !del) || (put ? a.count != 4 : a.count != 3)) return Outcome::usage;
    if (!ctx.system) return unavailable(ctx, "kv", nullptr), Outcome::failed;
    if (get) {
        if (unavailable(ctx, "kv", reinterpret_cast<const void*>(ctx.system->kv_get))) return Outcome::failed;
        char value[201];
        std::uint64_t version = 0;
        const Status s = ctx.system->kv_get(a.v[2], value, sizeof value, version);
        if (s != Status::ok) return failed(ctx, "kv get", s);
        ctx.out.line("{} = {} (version {})", a.v[2], static_cast<const char*>(value), version);
    } else if (put) {
        if (unavailable(ctx, "kv", reinterpret_cast<const void*>(ctx.system->kv_put))) return Outcome::failed;
        std::uint64_t version = 0;
        const Status s = ctx.system->kv_put(a.v[2], a.v[3], version);
        if (s != Status::ok) return failed(ctx, "kv put", s);
        ctx.out.line("ok (version {})", version);
    } else {
        if (unavailable(ctx, "kv", reinterpret_cast<const void*>(ctx.system->kv_del))) return Outcome::failed;
        bool existed = false;
        const Status s = ctx.system->kv_del(a.v[2], existed);
        if (s != Status::ok) return failed(ctx, "kv del", s);
        ctx.out.line(existed ? "deleted {}" : "{} did not exist", a.v[2]);
    }
    return Outcome::ok;
}

// channels: the shell's own connections to servers (service, peer, lines each way).
inline Outcome cmd_channels(Context& ctx, const Args&) {
    if (unavailable(ctx, "channels", reinterpret_cast<const void*>(ctx.system ? ctx.system->connection : nullptr)))
        return Outcome::failed;
    std::uint32_t n = 0;
    for (; n < 32; ++n) {
        Connection c{};
        const Status s = ctx.system->connection(n, c);
        if (s == Status::not_found) break;
        if (s != Status::ok) return failed(ctx, "channels", s);
        ctx.out.line("  {} core {} domain {} lines out {} in {}", static_cast<const char*>(c.service), c.core, c.domain,
                     c.lines_out, c.lines_in);
    }
    ctx.out.line("{} connections", n);
    return Outcome::ok;
}

// bench [ROUNDS]: RPC round trip to kvstore against a null system call, medians.
inline Outcome cmd_bench(Context& ctx, const Args& a) {
    if (unavailable(ctx, "bench", reinterpret_cast<const void*>(ctx.system ? ctx.system->bench_rpc : nullptr)))
        return Outcome::failed;
    std::uint32_t rounds = 100;
    if (a.count == 2 && (!parse_u32(a.v[1], rounds) || rounds == 0 || rounds > 100000)) return Outcome::usage;
    std::uint64_t rpc = 0, null_call = 0;
    const Status s = ctx.system->bench_rpc(rounds, rpc, null_call);
    if (s != Status::ok) return failed(ctx, "bench", s);
    const std::uint64_t n = null_call ? null_call : 1;
    ctx.out.line("rpc round trip to kvstore: {} ticks, null system call: {} ticks, ratio {}.{}", rpc, null_call, rpc / n,
                 rpc * 10 / n % 10);
    return Outcome::ok;
}

inline constexpr Command cmd_ps_entry{"ps", "ps [CORE]", "live domains the monitors started: core, domain, program", 0, 1,
                                      cmd_ps};
inline constexpr Command cmd_services_entry{"services", "services", "the names nameserv holds and who serves them", 0, 0,
                                            cmd_services};
inline constexpr Command cmd_channels_entry{"channels", "channels", "the shell's connections to servers", 0, 0,
                                            cmd_channels};
inline constexpr Command cmd_start_entry{"start", "start NAME [@CORE] [ARG...]", "start a program (on CORE) with arguments",
                                         1, max_words - 2, cmd_start};
inline constexpr Command cmd_stop_entry{"stop", "stop NAME [@CORE]", "kill every running NAME (on CORE)", 1, 2, cmd_stop};
inline constexpr Command cmd_kill_entry{"kill", "kill CORE DOMAIN", "kill one domain", 2, 2, cmd_kill};
inline constexpr Command cmd_kv_entry{"kv", "kv get KEY | kv put KEY VALUE | kv del KEY", "use kvstore", 2, 3, cmd_kv};
inline constexpr Command cmd_bench_entry{"bench", "bench [ROUNDS]", "RPC round trip to kvstore vs a null system call", 0, 1,
                                         cmd_bench};

} // namespace myr::shell
