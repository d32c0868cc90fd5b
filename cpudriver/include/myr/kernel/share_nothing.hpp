#pragma once
// Share nothing, enforced by the MMU: each core's direct map leaves out the memory of every other
// core's kernel, and each core proves it by walking its own page tables (docs/share-nothing.md).
// Pure: the boot core builds the direct maps with it, every core audits with it, host tests
// check both against a fake arena.
#include <myr/kernel/page_tables.hpp>
#include <myr/kernel/phys_memory.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::kernel {

inline constexpr std::uint64_t direct_map_page = 2ull << 20;  // the direct map's page size

// Maps [0, top) at `base` with 2 MiB writable, no-execute pages, except every 2 MiB page that
// overlaps a range of `exclude` (left unmapped: a stray kernel access faults instead of writing
// another core's state). Pages overlapping `uncached` get cache-disable + write-through (MMIO).
// `top` must be 2 MiB aligned; `exclude` normalised (sorted, disjoint: normalise_ranges), so the
// plan is one pass over the pages. A range need not be aligned, but an unaligned one costs the
// whole 2 MiB pages it touches, so callers place excluded memory in 2 MiB-aligned regions.
Status map_direct(PageTables& pt, std::uint64_t base, std::uint64_t top, std::span<const PhysRange> exclude,
                  PhysRange uncached);

// Sorts `ranges` by base and merges overlapping or touching ones; returns how many remain.
std::size_t normalise_ranges(std::span<PhysRange> ranges);

// The share-nothing audit: walks every present leaf reachable from `root` and counts the 4 KiB
// frames of `ranges` (normalised: sorted, disjoint) that some leaf maps writable. Writable means
// effectively writable: the W bit set at every level of the walk (SDM Vol. 3A §4.6), so a
// read-only leaf under writable tables, or a writable leaf under a read-only table, is not
// counted. A frame mapped writable twice counts twice (each mapping is a way to write it).
std::uint64_t count_writable_frames(FrameSource& frames, std::uint64_t root, std::span<const PhysRange> ranges);

} // namespace myr::kernel
