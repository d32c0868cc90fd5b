#include <myr/kernel/share_nothing.hpp>

namespace myr::kernel {
namespace {

// Frames of [lo, hi) inside the sorted, disjoint `ranges` (the first range that ends above lo,
// then forward while ranges start below hi). `hint` is that first range for the previous call:
// a walk meets the direct map's leaves in ascending order, so it is usually still right and the
// binary search is skipped.
std::uint64_t frames_inside(std::uint64_t lo, std::uint64_t hi, std::span<const PhysRange> ranges, std::size_t& hint) {
    std::size_t a = hint;
    if (!(a <= ranges.size() && (a == 0 || ranges[a - 1].end <= lo) && (a == ranges.size() || ranges[a].end > lo))) {
        a = 0;
        std::size_t b = ranges.size();
        while (a < b) {
            const std::size_t m = a + (b - a) / 2;
            if (ranges[m].end <= lo) a = m + 1;
            else b = m;
        }
    }
    hint = a;
    std::uint64_t bytes = 0;
    for (std::size_t i = a; i < ranges.size() && ranges[i].base < hi; ++i) {
        const std::uint64_t s = ranges[i].base > lo ? ranges[i].base : lo;
        const std::uint64_t e = ranges[i].end < hi ? ranges[i].end : hi;
        if (e > s) bytes += e - s;
    }
    return (bytes + 4095) / 4096;
}

struct Walk {
    FrameSource& frames;
    std::span<const PhysRange> ranges;
    std::uint64_t count = 0;
    std::size_t hint = 0;  // frames_inside's

    // `level` 3 = PML4 .. 0 = PT; `writable`: every entry above allowed writes.
    void table(std::uint64_t phys, unsigned level, bool writable) {
        const std::uint64_t* t = frames.table(phys);
        for (unsigned i = 0; i < 512; ++i) {
            const std::uint64_t e = t[i];
            if (!(e & pte::present)) continue;
            const bool w = writable && (e & pte::writable);
            const bool leaf = level == 0 || ((level == 1 || level == 2) && (e & pte::large));
            if (!leaf) {
                if (level == 3 && (e & pte::large)) continue;  // not a valid entry: the MMU faults
                table(e & pte::addr_mask, level - 1, w);
                continue;
            }
            if (!w) continue;
            const std::uint64_t span = 1ull << (12 + 9 * level);
            const std::uint64_t base = e & pte::addr_mask & ~(span - 1);
            count += frames_inside(base, base + span, ranges, hint);
        }
    }
};

} // namespace

Status map_direct(PageTables& pt, std::uint64_t base, std::uint64_t top, std::span<const PhysRange> exclude,
                  PhysRange uncached) {
    if (top & (direct_map_page - 1)) return Status::invalid_argument;
    std::size_t k = 0;  // first excluded range that ends above p (ranges are sorted and disjoint)
    // Consecutive pages with the same flags go to map() as one run (one table walk per 1 GiB).
    std::uint64_t run = 0, run_bytes = 0, run_flags = 0;
    for (std::uint64_t p = 0; p < top; p += direct_map_page) {
        while (k < exclude.size() && exclude[k].end <= p) ++k;
        const bool excluded = k < exclude.size() && exclude[k].base < p + direct_map_page;
        const bool mmio = uncached.base < p + direct_map_page && p < uncached.end;
        const std::uint64_t flags = pte::writable | pte::no_execute | (mmio ? pte::cache_disable | pte::write_through : 0);
        if (run_bytes && (excluded || flags != run_flags)) {
            MYR_TRY(pt.map(base + run, run, run_bytes, run_flags, direct_map_page));
            run_bytes = 0;
        }
        if (excluded) continue;
        if (!run_bytes) run = p, run_flags = flags;
        run_bytes += direct_map_page;
    }
    if (run_bytes) MYR_TRY(pt.map(base + run, run, run_bytes, run_flags, direct_map_page));
    return Status::ok;
}

std::size_t normalise_ranges(std::span<PhysRange> ranges) {
    // Insertion sort: a few hundred ranges at most (three per core), once per core at boot.
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        const PhysRange r = ranges[i];
        std::size_t j = i;
        for (; j > 0 && ranges[j - 1].base > r.base; --j) ranges[j] = ranges[j - 1];
        ranges[j] = r;
    }
    std::size_t out = 0;
    for (const PhysRange& r : ranges) {
        if (r.end <= r.base) continue;
        if (out && r.base <= ranges[out - 1].end) {
            if (r.end > ranges[out - 1].end) ranges[out - 1].end = r.end;
        } else {
            ranges[out++] = r;
        }
    }
    return out;
}

std::uint64_t count_writable_frames(FrameSource& frames, std::uint64_t root, std::span<const PhysRange> ranges) {
    Walk w{frames, ranges};
    w.table(root, 3, true);
    return w.count;
}

} // namespace myr::kernel
