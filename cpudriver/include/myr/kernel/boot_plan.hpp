#pragma once
// How much memory the boot core sets aside for each core, from the memory map instead of fixed
// sizes (pure, host-tested): the page-table pool grows with the direct map (one page directory
// per GiB of RAM), the monitor inbox with the number of cores, and what is left on a node is
// shared out as user-domain pools.
#include <myr/kernel/phys_memory.hpp>
#include <myr/result.hpp>

#include <cstdint>
#include <span>

namespace myr::kernel {

// One virtual range a core's page tables map, with the page size used for it (4 KiB, 2 MiB or
// 1 GiB).
struct TableMapping {
    std::uint64_t virt;
    std::uint64_t bytes;
    std::uint64_t page;
};

// Page-table frames (4 KiB each, the top-level table included) that holding `maps` needs, with
// tables shared where ranges share them. Counts each level's distinct tables: one PDPT per
// 512 GiB touched, one PD per GiB touched by pages below 1 GiB, one PT per 2 MiB touched by
// 4 KiB pages.
[[nodiscard]] std::uint64_t table_frames(std::span<const TableMapping> maps);

struct CoreMemoryInput {
    std::uint64_t ram_top;         // end of the direct map (RAM top rounded up to 1 GiB)
    std::uint64_t image_virt;      // the CPU-driver image's link address and size (bss included)
    std::uint64_t image_bytes;
    std::uint64_t direct_map_virt; // where the direct map starts
    std::uint32_t num_cpus;
    std::uint64_t channel_bytes;   // one monitor channel (an inbox holds one per core)
    std::uint64_t chan_pool_bytes; // ring memory for bindings
};

struct CoreMemoryPlan {
    std::uint64_t table_frames;  // what this core's page tables take (core_mappings)
    std::uint64_t table_pool;    // bytes set aside for them: never less than the old fixed 512 KiB
    std::uint64_t inbox;         // bytes of the monitor inbox (page multiple)
    std::uint64_t kernel_total;  // image + table pool + (inbox + channel pool, rounded up to 2 MiB)
};

// The mappings boot.cpp's build_tables makes for one core: its image copy (4 KiB pages), the
// direct map of [0, ram_top) (2 MiB pages) and the low 2 MiB identity map for the trampoline.
// Keep the two in step: a mapping added there must be added here, or the pool runs short and
// boot stops with "page tables for core N: no_memory".
[[nodiscard]] CoreMemoryPlan plan_core_memory(const CoreMemoryInput& in);

// Bytes of user-domain pool for each of `cores` cores on a node with `node_free` bytes left:
// half of what remains after their kernel memory, split evenly, at most `max_bytes`, in 64 KiB
// units (0: no domains on that node).
[[nodiscard]] std::uint64_t user_pool_share(std::uint64_t node_free, std::uint32_t cores, std::uint64_t kernel_total,
                                            std::uint64_t max_bytes);

// Where one core's memory went: one block of its node, 2 MiB aligned, in two parts. First the
// core's kernel region (docs/share-nothing.md): its CPU-driver copy, page-table pool and user
// pool, rounded up to whole 2 MiB pages, so every other core's direct map can leave it out
// exactly without splitting a large page. Then its channel memory, which other cores' monitors
// and domains write (the channel pool for binding rings and the monitor inbox), rounded up to
// 2 MiB as well, so consecutive blocks leave no alignment gap.
struct CorePlacement {
    std::uint64_t region;      // the kernel region [region, region + region_bytes)
    std::uint64_t region_bytes;
    std::uint64_t image;       // the CPU-driver copy (the region's start)
    std::uint64_t tables;      // plan.table_pool bytes
    std::uint64_t user_pool;   // user_pool_bytes (0 bytes: none), 64 KiB aligned
    std::uint64_t user_pool_bytes;
    std::uint64_t chan_pool;   // chan_pool_bytes, aligned to its size (an untyped capability)
    std::uint64_t inbox;       // plan.inbox bytes
};

// Takes one core's memory from `node` as a single block (see CorePlacement), so no alignment gap
// is ever left between cores. (Separate aligned allocations left a gap per core, and PhysMemory
// holds at most max_ranges_per_node ranges per node: 64 cores on one node ran out at core 30.)
// When the block with a user pool does not fit, tries again without one: domains are optional,
// the kernel is not. chan_pool_bytes: a power of two of at least 64 KiB, at most 2 MiB.
[[nodiscard]] Result<CorePlacement> place_core_memory(PhysMemory& mem, std::uint32_t node, const CoreMemoryPlan& plan,
                                                      std::uint64_t image_bytes, std::uint64_t chan_pool_bytes,
                                                      std::uint64_t user_pool_bytes);

// memserv pools (docs/servers.md, "memserv"): RAM the boot core sets aside on a node, in no core's
// kernel region or user pool, that the node's memserv hands out and that a monitor may turn into
// untyped capabilities (Sys::cap_create_ram). `mib` MiB rounded up to 2 MiB, 2 MiB aligned (so a
// power-of-two block at an offset aligned to its size, up to 2 MiB, is aligned in physical memory
// too). An empty range when mib is 0 or the node has not that much free (a node without memory
// gets no pool; the boot goes on).
[[nodiscard]] PhysRange place_ram_pool(PhysMemory& mem, std::uint32_t node, std::uint64_t mib);

// Whether a monitor may have an untyped capability for [phys, phys + 2^size_bits): the block is at
// least a page (size_bits 12..39), aligned to its size, and lies wholly inside one of `pools`
// (empty ranges are skipped). invalid_argument for a size or alignment untyped caps cannot have,
// out_of_range for a block outside every pool or straddling a pool's end. Pure: the kernel call
// and the host tests use this one rule.
[[nodiscard]] Status check_ram_block(std::span<const PhysRange> pools, std::uint64_t phys, std::uint64_t size_bits);

} // namespace myr::kernel
