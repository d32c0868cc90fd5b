#pragma once
// Domains of the whole machine as the monitors know them (docs/monitors.md, "Death feed, kill,
// list, bind by address"): the death feed, alive, kill and list. Calls go to this core's
// monitor (cap::monitor); kill and list on another core answer would_block until that core's
// monitor answered, and these helpers poll, sleeping in wait_event between tries.
#include <myr/user/bind.hpp>

namespace myr::user {

struct Death {
    std::uint64_t cursor;    // pass it to the next next_death
    std::uint32_t core, domain;
    abi::DomainStatus how;   // exited, faulted, killed (or death_unknown)
    std::uint32_t code;      // exit code, fault vector, killer's domain
};

// The next death after `cursor` (0: the oldest this monitor holds): ok, would_block when none is
// newer, or overflow when the monitor's ring moved past `cursor` (out.cursor = where to go on
// from; deaths between were missed: rebuild what depends on them).
inline Status next_death(std::uint64_t cursor, Death& out) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::deaths);
    m.w[1] = cursor;
    const Status s = monitor_call(m);
    if (s == Status::ok) {
        out = {m.w[1], static_cast<std::uint32_t>(m.w[2] >> 32), static_cast<std::uint32_t>(m.w[2]),
               static_cast<abi::DomainStatus>(m.w[3] & 0xffffffff), static_cast<std::uint32_t>(m.w[3] >> 32)};
    } else if (s == Status::overflow) {
        out = {};
        out.cursor = m.w[1];
    }
    return s;
}

inline Status kill(std::uint64_t core, std::uint64_t domain, std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::kill);
    m.w[1] = core;
    m.w[2] = domain;
    return remote_call(m, tries);
}

// The index-th live domain a monitor started on `core`: its number and program name (nul-ended);
// `server` (when given): whether it is a server instance (started with `replicas=`); `restarts`
// (when given): how often its monitor restarted it after a crash (docs/monitors.md, "Supervision").
inline Status list(std::uint64_t core, std::uint64_t index, std::uint64_t& domain, char (&name)[17],
                   std::uint64_t tries = 100000, bool* server = nullptr, std::uint32_t* restarts = nullptr) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::list);
    m.w[1] = core;
    m.w[2] = index;
    const Status s = remote_call(m, tries);
    if (s != Status::ok) return s;
    domain = m.w[1] & 0xffffffff;
    if (server) *server = (m.w[1] >> 32) & 1;
    if (restarts) *restarts = static_cast<std::uint32_t>((m.w[1] >> 40) & 0xffff);
    for (unsigned i = 0; i < 16; ++i) name[i] = static_cast<char>((i < 8 ? m.w[2] : m.w[3]) >> (8 * (i % 8)));
    name[16] = '\0';
    return s;
}

// Whether a listed program name (up to 16 bytes, as list gives it) is `prog`.
inline bool same_program(const char (&name)[17], const char* prog) {
    unsigned k = 0;
    while (k < 16 && prog[k] && prog[k] == name[k]) ++k;
    return (k == 16 || prog[k] == '\0') && (k == 16 || name[k] == '\0');
}

// The domain of `core` running program `prog` (the first one listed); not_found when none.
inline Status find_program(std::uint64_t core, const char* prog, std::uint64_t& domain) {
    for (std::uint64_t i = 0;; ++i) {
        char name[17];
        if (const Status s = list(core, i, domain, name); s != Status::ok) return s;
        if (same_program(name, prog)) return Status::ok;
    }
}

// Whether domain `domain` of `core` runs program `prog`, as that core's monitor lists the domains
// it started: ok; not_found when that monitor listed them all and it is not among them, or runs
// something else; any other status when the monitor could not be asked (its core removed: the
// domain is gone too). A name in nameserv says only who registered it: a server that trusts a
// peer found by name (a kvstore replica) checks the program this way, since any program may
// register a name nobody holds, while its owner is down.
inline Status runs_program(std::uint64_t core, std::uint64_t domain, const char* prog, std::uint64_t tries = 500) {
    for (std::uint64_t i = 0;; ++i) {
        std::uint64_t d = 0;
        char name[17];
        if (const Status s = list(core, i, d, name, tries); s != Status::ok) return s;
        if (d == domain) return same_program(name, prog) ? Status::ok : Status::not_found;
    }
}

// Whether the config runs a server named (or whose program is) `name` (up to 16 bytes): ok with
// `instances` = how many were placed at boot; also ok (instances 0) when no [[server]] table
// names it but a domain exported `name` in the monitors' table; not_found when neither.
// Answered by this core's monitor, no messages (MonitorOp::server_info).
inline Status server_info(const char* name, Message& m) {
    m = Message{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::server_info);
    pack_name16(name, m.w[1], m.w[2]);
    return monitor_call(m);
}
inline Status server_configured(const char* name, std::uint64_t& instances) {
    Message m{};
    const Status s = server_info(name, m);
    instances = s == Status::ok ? m.w[1] : 0;
    return s;
}

// The domain that exported `name` in the monitors' table (per this core's monitor's copy): ok
// with its core and domain; not_found when none did, or when a [[server]] table has that name
// (then server_info answers the table, not an exporter).
inline Status exporter(const char* name, std::uint32_t& core, std::uint32_t& domain) {
    Message m{};
    if (const Status s = server_info(name, m); s != Status::ok) return s;
    // A name that is also a [[server]] table's says whether it was exported in w3's top bit.
    if (m.w[2] != ~0ull && (m.w[3] & abi::server_info_exported) == 0) return Status::not_found;
    core = static_cast<std::uint32_t>((m.w[3] & ~abi::server_info_exported) >> 32);
    domain = static_cast<std::uint32_t>(m.w[3]);
    return Status::ok;
}

} // namespace myr::user
