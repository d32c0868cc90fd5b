// The death feed (deaths.hpp, docs/monitors.md "Death feed").
#include "deaths.hpp"

#include "mesh.hpp"

#include <myr/abi/syscall.hpp>

namespace myr::monitor::deaths {
namespace {

struct Death {
    std::uint32_t core, domain;
    std::uint64_t how;
};
Death ring[ring_size];
std::uint64_t last;  // sequence number of the newest death (the first is 1)

// Serials are unique per core and never reused (the kernel numbers domains upward), so a bit
// per (core, serial) says "ended" for good without a ring that forgets; 16 KiB for 256 cores.
std::uint64_t ended_bits[max_cores][known_serials / 64];
bool core_gone[max_cores];      // removed from the membership: every domain of it ended
bool core_reported[max_cores];  // and the removal committed: in the feed

} // namespace

namespace {
// The death of that domain itself reached this monitor: always for serials below known_serials,
// else while it is in the ring.
bool domain_ended(std::uint64_t core, std::uint64_t domain) {
    if (domain < known_serials) return ended_bits[core][domain / 64] >> (domain % 64) & 1;
    const std::uint64_t held = last < ring_size ? last : ring_size;
    for (std::uint64_t s = last - held + 1; s <= last; ++s)
        if (ring[s % ring_size].core == core && ring[s % ring_size].domain == domain) return true;
    return false;
}

} // namespace

void record(std::uint64_t core, std::uint64_t domain, std::uint64_t how) {
    if (core >= max_cores) return;
    ++last;
    ring[last % ring_size] = {static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(domain), how};
    if (domain < known_serials) ended_bits[core][domain / 64] |= std::uint64_t{1} << (domain % 64);
}

Status next(std::uint64_t cursor, std::uint64_t& w1, std::uint64_t& w2, std::uint64_t& w3) {
    if (cursor > last) return Status::invalid_argument;
    if (cursor == last) return Status::would_block;
    const std::uint64_t oldest = last > ring_size ? last - ring_size + 1 : 1;
    if (cursor + 1 < oldest) {
        // The ring moved past the caller: say how many it missed and where to go on from, so a
        // server that cached per-domain state knows to rebuild it.
        w1 = oldest - 1;
        w2 = oldest - 1 - cursor;
        return Status::overflow;
    }
    const Death& d = ring[(cursor + 1) % ring_size];
    w1 = cursor + 1;
    w2 = std::uint64_t{d.core} << 32 | d.domain;
    w3 = d.how;
    return Status::ok;
}

void core_lost(std::uint64_t core) {
    if (core < max_cores) core_gone[core] = true;
}

void core_lost_committed(std::uint64_t core) {
    if (core >= max_cores || core_reported[core]) return;
    core_gone[core] = core_reported[core] = true;
    ++last;
    ring[last % ring_size] = {static_cast<std::uint32_t>(core), abi::all_domains, abi::death_core_stopped};
}

bool ended(std::uint64_t core, std::uint64_t domain) { return core < max_cores && (core_gone[core] || domain_ended(core, domain)); }

bool reported(std::uint64_t core, std::uint64_t domain) {
    return core < max_cores && (core_reported[core] || domain_ended(core, domain));
}

std::uint64_t latest() { return last; }

} // namespace myr::monitor::deaths
