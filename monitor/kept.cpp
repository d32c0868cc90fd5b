// Kept memory of supervised server instances (docs/monitors.md, "Kept memory"; MonitorOp::kept).
//
// A server that crashes loses its domain's memory. A supervised instance may ask its monitor for
// a block that outlives it: the monitor makes a channel-memory capability for a block of the kept
// area at the top of its core's channel pool (abi::kept_area_bytes; the kernel zeroes it then),
// keeps that root, and gives each instance of the same supervision slot a copy. The copy goes with
// its domain; the root stays, so the restarted instance maps what its predecessor wrote. When the
// instance is down for good (its budget spent) the monitor removes every capability to the block
// (Sys::cap_reclaim_channel) and frees it: the next owner gets it zeroed again.
//
// Only the running instance of a supervision slot of this core may ask, for that slot's block: a
// domain cannot reach another instance's kept memory, and what an instance leaves there can
// harm only its own successors (who must check it, as kvstore's log does).
#include "binding.hpp"
#include "binding_internal.hpp"
#include "mesh.hpp"
#include "servers.hpp"

#include <myr/abi/syscall.hpp>

namespace myr::monitor::binding {
namespace detail {

using namespace myr::user;

constexpr unsigned unit_bits = 12;
constexpr unsigned units = abi::kept_area_bytes >> unit_bits;  // 136 pages of 4 KiB
constexpr unsigned max_kept = 4;  // roots in the monitor's 64-slot cnode at once
constexpr unsigned kept_slot_reserve = 20;  // as for memserv grants: slots left for rings and domain caps

struct Kept {
    int owner = -1;          // supervision slot, -1: free
    std::uint64_t root = 0;  // our slot with the root capability
    std::uint64_t phys = 0;
    unsigned bits = 0;
};
Kept kept_blocks[max_kept];
bool kept_used_unit[units];
std::uint64_t kept_made, kept_freed;

std::uint64_t kept_base() {
    const std::uint64_t pool = mesh.core < abi::topo_max_cores ? topo.chan_pool_base[mesh.core] : 0;
    if (!pool || !abi::has_kept_area(topo.chan_pool_bytes)) return 0;
    return pool + abi::ring_pool_bytes(topo.chan_pool_bytes);
}

// A free run of 2^(bits-12) pages whose physical address is aligned to its size (so the block
// never crosses a page table's 2 MiB; the area begins 480 KiB into a 1 MiB pool, and the largest
// block takes its aligned top 512 KiB), the lowest first, or units.
unsigned find_run(unsigned bits) {
    const unsigned n = 1u << (bits - unit_bits);
    const std::uint64_t base = kept_base(), size = std::uint64_t{1} << bits;
    for (unsigned at = 0; at + n <= units; ++at) {
        if (((base + (std::uint64_t{at} << unit_bits)) & (size - 1)) != 0) continue;
        bool free = true;
        for (unsigned k = 0; k < n && free; ++k) free = !kept_used_unit[at + k];
        if (free) return at;
    }
    return units;
}

void mark(const Kept& k, bool used) {
    const std::uint64_t first = (k.phys - kept_base()) >> unit_bits, n = std::uint64_t{1} << (k.bits - unit_bits);
    for (std::uint64_t u = first; u < first + n && u < units; ++u) kept_used_unit[u] = used;
}

Kept* kept_of(int owner) {
    for (Kept& k : kept_blocks)
        if (k.owner == owner) return &k;
    return nullptr;
}

} // namespace detail

using namespace detail;

void kept_serve(std::uint64_t who, const std::uint64_t (&w)[4]) {
    const int owner = servers::instance_slot(who);
    if (owner < 0) return (void)reply(Status::permission_denied);
    const std::uint64_t bits = w[1];
    if (bits < abi::kept_min_bits || bits > abi::kept_max_bits) return (void)reply(Status::invalid_argument);
    Kept* k = kept_of(owner);
    bool fresh = false;
    if (k && k->bits != bits) return (void)reply(Status::invalid_argument, std::uint64_t{1} << k->bits);
    if (!k) {
        const std::uint64_t base = kept_base();
        if (!base) return (void)reply(Status::no_memory);
        Kept* spare = kept_of(-1);
        const unsigned at = find_run(static_cast<unsigned>(bits));
        if (!spare || at >= units) return (void)reply(Status::no_memory);
        if (free_slots() < kept_slot_reserve + 2) return (void)reply(Status::busy);
        const auto root = alloc_slot();
        if (!root.ok()) return (void)reply(Status::busy);
        const std::uint64_t phys = base + (std::uint64_t{at} << unit_bits);
        // The kernel zeroes our own pool's memory when its first capability is made.
        if (const Status st = syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, bits, *root).status; st != Status::ok) {
            vacate(*root);
            return (void)reply(st);
        }
        *spare = {owner, *root, phys, static_cast<unsigned>(bits)};
        mark(*spare, true);
        k = spare;
        fresh = true;
        ++kept_made;
    }
    const auto copy = alloc_slot();
    if (!copy.ok()) return (void)reply(Status::busy);
    if (const Status st = syscall6(abi::Sys::cap_copy, k->root, *copy, 0xffff).status; st != Status::ok) {
        vacate(*copy);
        return (void)reply(st);
    }
    if (reply(Status::ok, std::uint64_t{1} << bits, fresh ? 1 : 0, 0, *copy)) vacate(*copy);
    else free_slot(*copy);
}

void kept_release(int owner) {
    Kept* k = owner >= 0 ? kept_of(owner) : nullptr;
    if (!k) return;
    // Every capability to the block on this core goes (the root, and any copy a domain still
    // holds, its mapping with it), so the memory can be made anew, zeroed, for another owner.
    (void)syscall6(abi::Sys::cap_reclaim_channel, kernel_cap, k->phys, k->bits);
    vacate(k->root);
    mark(*k, false);
    print("kept memory of supervision slot {} freed: {} KiB", owner, (std::uint64_t{1} << k->bits) / 1024);
    *k = Kept{};
    ++kept_freed;
}

} // namespace myr::monitor::binding
