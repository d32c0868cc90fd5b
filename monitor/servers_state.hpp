#pragma once
// What servers.cpp (program arguments, spawns, the boot core's servers and plan steps) and
// supervise.cpp (supervision and moving instances off removed cores) share inside the monitor:
// the records of started domains and the server tables. Not an interface for anything else.
#include "mesh.hpp"
#include "servers.hpp"

#include <myr/args.hpp>
#include <myr/supervise.hpp>

#include <cstdint>

namespace myr::monitor::servers::detail {

inline constexpr std::uint64_t max_args = args::max_len;
inline constexpr std::uint64_t name_max = 23;  // boot module names (the CPU driver's: 24 bytes with the NUL)
inline constexpr unsigned max_servers = 16;
inline constexpr unsigned max_started = 48;
// spawn_req tag of an instance moved off a removed core: | moves << 16 | server << 8 | instance
// (moves: the instance's move count, so the core that starts it records the move itself).
inline constexpr std::uint64_t tag_move = std::uint64_t{1} << 42;

inline std::uint64_t length(const char* s, std::uint64_t max) {
    std::uint64_t n = 0;
    while (n < max && s[n]) ++n;
    return n;
}
inline void copy(char* dst, const char* src, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) dst[i] = src[i];
}
inline bool same(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

// Program and argument string of every domain this monitor started and has not seen end (the
// end is noticed through binding.cpp's domain caps; a domain id the kernel reuses replaces a
// stale record). A spawn with arguments is refused (busy) when the table is full, so a domain
// never runs without the arguments it was given.
struct Started {
    bool used;
    bool injected;           // ended by a crash: plan step (fault injection): a crash too
    std::uint8_t len;
    int slot;                // its supervision slot (an instance of a supervised server), or -1
    std::uint32_t domain;
    char program[name_max + 1];
    char text[max_args];
};
extern Started started[max_started];
[[nodiscard]] Started* record_of(std::uint64_t domain);

// A [[server]] table (kernel words server.I=, .restart=, .heartbeat=); at monitor 0 `cores` is
// where each instance runs now (instances move off removed cores).
struct Server {
    char name[17];
    char program[name_max + 1];
    supervise::Policy policy;  // restart policy of its instances (every monitor applies it to its own)
    std::uint64_t heartbeat_ms;  // 0: no heartbeats asked
    std::uint8_t len;
    std::uint16_t count, next;  // placed instances; index of the next (start: steps add more)
    char text[max_args];
    std::uint16_t cores[max_cores];
    std::uint16_t moves[max_cores];  // how often each instance moved (server_placed: a later move wins)
};
extern Server configured[max_servers];
extern unsigned server_count;
extern KernelOption kernel_option;
// Reads the server tables once; how many words were bad.
unsigned load(bool report);
// The argument string of instance `index` (its table's words, then `replica=I replicas=K`); 0
// when it does not fit.
std::uint64_t instance_text(const Server& s, unsigned index, char (&text)[max_args]);
// Argument lines, then the spawn_req for `program` on `core`.
void send_spawn(std::uint64_t core, std::uint64_t tag, const char* program, std::uint64_t plen, const char* text,
                std::uint64_t len);

// supervise.cpp
[[nodiscard]] std::uint64_t hz();
[[nodiscard]] std::uint64_t now_ticks();
// The configured server a record is an instance of, or max_servers.
[[nodiscard]] unsigned server_of(const Started& r);
// A domain started: a supervised server instance gets its slot (rec.slot) and its first deadline.
void supervise_started(Started& rec);
// A record whose domain id the kernel reused (its end was never reported).
void supervise_stale(const Started& rec);
// The record's domain ended (`how` as domain_status answered): a crash asks its policy.
void supervise_ended(const Started& rec, std::uint64_t how);
// MonitorOp::heartbeat from `domain`.
[[nodiscard]] Answer heartbeat(std::uint64_t domain);
// An instance moved here from a removed core (tag_move): supervised as restarted once.
void adopt(std::uint64_t domain);
// The coordinator's spawn_req `tag` (tag_move) started an instance here: this monitor records the
// move in its own table, so a new coordinator asking every monitor learns it from us even when
// the coordinator's server_placed reached nobody (it stopped first).
void moved_here(std::uint64_t tag);

} // namespace myr::monitor::servers::detail
