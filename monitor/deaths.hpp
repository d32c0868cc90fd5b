#pragma once
// The death feed (docs/monitors.md, "Death feed"): every monitor learns every end of a domain
// that some monitor started (its own, from domain_status; the others', from their domain_gone
// broadcasts) and keeps the recent ones in a bounded ring with sequence numbers, which domains
// read with MonitorOp::deaths (nameserv drops the names of dead owners, supervision restarts
// servers); MonitorOp::alive answers from the same knowledge without a message.
#include <myr/status.hpp>

#include <cstdint>

namespace myr::monitor::deaths {

inline constexpr unsigned ring_size = 64;       // deaths this monitor remembers in order
inline constexpr std::uint32_t known_serials = 512;  // per core: "ended" kept for good below this

// A domain of `core` ended; `how` as domain_status answered (DomainStatus | code << 32).
void record(std::uint64_t core, std::uint64_t domain, std::uint64_t how);
// MonitorOp::deaths: the next death after `cursor` (w1..w3 as the ABI says), would_block,
// overflow (w1 = the oldest cursor held, w2 = deaths missed) or invalid_argument (a cursor this
// monitor never gave).
Status next(std::uint64_t cursor, std::uint64_t& w1, std::uint64_t& w2, std::uint64_t& w3);
// A whole core stopped (removed from the membership): every domain of that core counts as ended
// from now on (ended()), for this monitor's own decisions.
void core_lost(std::uint64_t core);
// The removal is committed (every live monitor installed it, so none holds anything of that
// core's any more): the feed entry domains read (domain abi::all_domains, how
// abi::death_core_stopped), from which memserv gives the core's grants out again.
void core_lost_committed(std::uint64_t core);
// Whether a death of (core, domain) reached this monitor: always for serials below
// known_serials, else while it is in the ring; and for every domain of a removed core.
[[nodiscard]] bool ended(std::uint64_t core, std::uint64_t domain);
// The same as domains are told it (MonitorOp::alive): a removed core's domains only once the
// removal is committed, as the feed says it (memserv frees grants from either answer).
[[nodiscard]] bool reported(std::uint64_t core, std::uint64_t domain);
// Deaths recorded since boot (the newest cursor).
[[nodiscard]] std::uint64_t latest();

} // namespace myr::monitor::deaths
