#pragma once
// Capabilities on this core: its CapTable (cpudriver/caps), the kernel's root capabilities, each
// domain's capability space (one cnode of 64 slots), and the capability system calls.
#include "domain.hpp"

#include <myr/caps/table.hpp>

namespace myr::kernel {

inline constexpr unsigned cnode_radix = 6;  // 64 slots per domain; a cptr is a slot index
// Slots every domain starts with (documented in lib/include/myr/abi/syscall.hpp).
namespace cslot {
inline constexpr std::uint32_t self_cnode = 1;  // its own cnode (copy)
inline constexpr std::uint32_t self_domain = 2; // a domain cap to itself (abi::self_domain_slot)
inline constexpr std::uint32_t ram = 3;         // untyped RAM it may retype (128 KiB)
inline constexpr std::uint32_t endpoint = 4;    // the core endpoint: send + grant, badged with its serial;
                                                // receive too for the core's server (serve= option)
inline constexpr std::uint32_t kernel = 5;      // monitors only: the kernel cap
inline constexpr std::uint32_t ipi = 6;         // monitors only: IPI to every core
inline constexpr std::uint32_t monitor = 7;     // its monitor's endpoint: send + grant, badged with its serial
                                                // (the monitor's own copy may receive, unbadged)
// Slot 8 is empty for monitors too: ring memory is named by address (cap_create_remote).
inline constexpr std::uint32_t first_free = 8;
} // namespace cslot

Status cspace_init();          // once per core, after domains_init
Status cspace_create(Domain& d);
void cspace_destroy(Domain& d);
namespace cspace_detail {
extern caps::CapTable table;  // cspace.cpp's; use cap_table()
}
inline caps::CapTable& cap_table() { return cspace_detail::table; }
// Copies the kernel's domain cap of `child` into table slot `dest` (an empty slot).
Status cspace_give_domain_cap(const Domain& child, caps::SlotIdx dest);

// The table index of `cptr` in d's cspace (the slot may be empty), or an error.
//
// A domain's cspace is one cnode of 2^cnode_radix slots whose cap sits in a kernel slot
// (d.cnode_slot) for the domain's whole life: no domain holds that slot, and the domain's own
// copy is pinned, so nothing moves or shrinks the cnode. A cptr is therefore an index into it
// from d.cnode_first, with no walk: what CapTable::lookup would compute, in a few instructions,
// inline, as every system call that names a capability pays it.
[[gnu::always_inline]] inline Result<caps::SlotIdx> cspace_slot(Domain& d, std::uint64_t cptr) {
    if (cptr - 1 >= (1u << cnode_radix) - 1) return Status::invalid_argument;  // 0 or >= 64
    return static_cast<caps::SlotIdx>(d.cnode_first + cptr);
}
[[gnu::always_inline]] inline Result<caps::SlotIdx> cspace_cap(Domain& d, std::uint64_t cptr, caps::CapType type, caps::Rights need) {
    if (cptr - 1 >= (1u << cnode_radix) - 1) return Status::invalid_argument;
    const auto i = static_cast<caps::SlotIdx>(d.cnode_first + cptr);
    const caps::Cap& c = cap_table().cap(i);
    if (c.type != type) [[unlikely]] return c.is_null() ? Status::not_found : Status::wrong_type;
    if (!caps::has(c.rights, need)) [[unlikely]] return Status::permission_denied;
    return i;
}

// System calls (arguments exactly as the ABI passes them).
Result<std::uint64_t> sys_cap_identify(Domain& d, std::uint64_t cptr);
Status sys_cap_copy(Domain& d, std::uint64_t src, std::uint64_t dest, std::uint64_t rights);
Status sys_cap_mint(Domain& d, std::uint64_t src, std::uint64_t dest, std::uint64_t rights, std::uint64_t badge);
Status sys_cap_delete(Domain& d, std::uint64_t cptr);
Status sys_cap_revoke(Domain& d, std::uint64_t cptr);
Status sys_retype(Domain& d, std::uint64_t untyped, std::uint64_t type, std::uint64_t size_bits,
                  std::uint64_t dest, std::uint64_t count);
// missing_level: set with not_found when a page table on the way is missing (3 PDPT, 2 PD, 1 PT).
Status sys_map(Domain& d, std::uint64_t frame, std::uint64_t vaddr, std::uint64_t flags, std::uint64_t& missing_level);
Status sys_unmap(Domain& d, std::uint64_t frame);
Status sys_map_table(Domain& d, std::uint64_t pt, std::uint64_t vaddr, std::uint64_t level, std::uint64_t& missing_level);
Status sys_unmap_table(Domain& d, std::uint64_t pt);
// unmap_at: the caller checked the domain cap (write) that names t.
Status sys_unmap_at(Domain& t, std::uint64_t vaddr);
Status sys_cap_create_ram(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                          std::uint64_t dest);
Status sys_cap_create_remote(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                             std::uint64_t dest);
Result<std::uint64_t> sys_cap_reclaim_channel(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits);
Result<std::uint64_t> sys_cap_phys(Domain& d, std::uint64_t kcap, std::uint64_t cptr, std::uint64_t what);
Status sys_cap_create_frame(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                            std::uint64_t dest);
Result<std::uint64_t> sys_cap_reclaim_frame(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits);
// Monitor privileges in d's cspace: the receiving copy of the monitor endpoint in cslot::monitor.
Status cspace_grant_monitor(Domain& d);

} // namespace myr::kernel
