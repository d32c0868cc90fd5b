#pragma once
// Address-space help for user programs. The kernel builds a domain's initial address space (its
// program and stack) at spawn; after that it allocates no page tables: `map` answers not_found
// with the level of the first missing table, and the domain makes that table from its own RAM
// (retype to page_table) and installs it (map_table), as in seL4. map_with_tables does this.
#include <myr/user/syscall.hpp>

namespace myr::user {

// The empty capability slots [next, end) set aside for the page tables map_with_tables makes.
struct TableSlots {
    std::uint64_t next;
    std::uint64_t end;
};

// Bytes of address space one page table of `level` covers (1: 2 MiB, 2: 1 GiB, 3: 512 GiB).
constexpr std::uint64_t table_span(std::uint64_t level) { return std::uint64_t{1} << (12 + 9 * level); }

// Maps `frame` at vaddr (flags as for map). Each missing page table on the way is retyped from
// `ram` into the next slot of `slots` and installed first. overflow: no slot left; any error of
// retype or map_table is returned as it is, after deleting the table it could not install.
// Tables made before a later failure stay installed (and in their slots) for the next call.
inline Status map_with_tables(std::uint64_t frame, std::uint64_t vaddr, std::uint64_t flags, std::uint64_t ram,
                              TableSlots& slots) {
    for (unsigned round = 0; round < 4; ++round) {
        const SysResult r = syscall6(abi::Sys::map, frame, vaddr, flags);
        if (r.status != Status::not_found || r.value < 1 || r.value > 3) return r.status;
        if (slots.next >= slots.end) return Status::overflow;
        const std::uint64_t level = r.value;
        const std::uint64_t slot = slots.next;
        if (const Status s = retype(ram, captype::page_table, level, slot, 1); s != Status::ok) return s;
        if (const Status s = map_table(slot, vaddr & ~(table_span(level) - 1), level).status; s != Status::ok) {
            (void)cap_delete(slot);
            return s;
        }
        ++slots.next;
    }
    return Status::internal;  // three levels at most are ever missing
}

} // namespace myr::user
