#pragma once
// Program arguments and spawning programs (docs/monitors.md, "Program arguments", "Spawn"). The
// monitor that started a domain keeps its argument string (up to args::max_len bytes, e.g.
// "replicas=2 index=1"); the domain reads it with read_args and picks words with myr/args.hpp.
// A domain starts a program on any core through its monitor with spawn().
#include <myr/args.hpp>
#include <myr/result.hpp>
#include <myr/user/bind.hpp>

namespace myr::user {

// Copies this domain's argument string into buf (nul-terminated, cut to size - 1) and returns
// its full length (0: none; a program the kernel started from a spawn= word has none). Reads 24
// bytes per call to the monitor.
inline Result<std::uint64_t> read_args(char* buf, std::uint64_t size) {
    if (size == 0) return Status::invalid_argument;
    std::uint64_t total = 0, off = 0;
    do {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::args);
        m.w[1] = off;
        const Status s = monitor_call(m);
        if (s != Status::ok) return s;
        total = m.w[0] >> 32;
        for (std::uint64_t i = 0; i < 24 && off + i < total; ++i)
            if (off + i + 1 < size) buf[off + i] = static_cast<char>(m.w[1 + i / 8] >> (8 * (i % 8)));
        off += 24;
    } while (off < total && off + 1 < size);
    buf[total < size ? total : size - 1] = '\0';
    return total;
}

struct Spawned {
    std::uint64_t core, domain;
};

// Starts `program` (<= 16 bytes) on `core` (abi::spawn_any: a core of this domain's node, the
// monitor's choice) with argument string `args` (<= args::max_len bytes). On another core the
// monitor answers at once with a ticket and this polls, sleeping in wait_event between tries
// (timeout after `tries` timer ticks). Errors: not_found (no such program), busy (too many spawns of
// this domain in flight: retry), overflow (args too long), out_of_range (no such core).
inline Status spawn(const char* program, std::uint64_t core, const char* args, Spawned& out, std::uint64_t tries = 100000) {
    std::uint64_t len = 0;
    while (args[len]) ++len;
    if (len > args::max_len) return Status::overflow;
    for (std::uint64_t off = 0; off < len || off == 0; off += 16) {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::spawn_arg);
        m.w[1] = off;
        for (std::uint64_t i = 0; i < 16 && off + i < len; ++i)
            m.w[2 + i / 8] |= std::uint64_t{static_cast<unsigned char>(args[off + i])} << (8 * (i % 8));
        if (const Status s = monitor_call(m); s != Status::ok) return s;
        if (len == 0) break;  // offset 0 with no bytes: an empty string (clears an earlier one)
    }
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::spawn);
    pack_name16(program, m.w[1], m.w[2]);
    m.w[3] = core;
    if (m.w[1] == 0) return Status::invalid_argument;  // an empty name is the poll form
    Status s = monitor_call(m);
    for (Deadline limit(tries); s == Status::would_block && !limit.passed();) {
        const std::uint64_t ticket = m.w[1];
        wait_event();
        m = {};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::spawn);
        m.w[2] = ticket;
        s = monitor_call(m);
    }
    if (s == Status::would_block) return Status::timeout;
    if (s == Status::ok) out = {m.w[1], m.w[2]};
    return s;
}

} // namespace myr::user
