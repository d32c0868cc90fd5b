// Per-core memory plan (see boot_plan.hpp). x86-64 4-level paging: SDM Vol. 3A §4.5.
#include <myr/kernel/boot_plan.hpp>

namespace myr::kernel {
namespace {

constexpr std::uint64_t four_kib = 4096;
constexpr std::uint64_t two_mib = 2ull << 20;
constexpr std::uint64_t one_gib = 1ull << 30;
constexpr std::uint64_t old_pool_bytes = 512 * 1024;

// Distinct (virt >> shift) values over every range that needs a table at that level; ranges
// are few (a handful per core), so a quadratic merge is fine and needs no allocation.
std::uint64_t distinct_slots(std::span<const TableMapping> maps, unsigned shift, std::uint64_t page_below) {
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < maps.size(); ++i) {
        const TableMapping& m = maps[i];
        if (m.bytes == 0 || m.page >= page_below) continue;
        const std::uint64_t lo = m.virt >> shift;
        const std::uint64_t hi = (m.virt + m.bytes - 1) >> shift;
        // Count the slots of [lo, hi] not already covered by an earlier range.
        for (std::uint64_t s = lo; s <= hi; ++s) {
            bool seen = false;
            for (std::size_t j = 0; j < i && !seen; ++j) {
                const TableMapping& o = maps[j];
                if (o.bytes == 0 || o.page >= page_below) continue;
                seen = s >= (o.virt >> shift) && s <= ((o.virt + o.bytes - 1) >> shift);
            }
            if (!seen) ++count;
            if (s == ~0ull) break;
        }
    }
    return count;
}

} // namespace

std::uint64_t table_frames(std::span<const TableMapping> maps) {
    // A PDPT maps 512 GiB, a PD 1 GiB, a PT 2 MiB: a range needs a table at a level when its
    // pages are smaller than what one entry of the level above maps.
    return 1 + distinct_slots(maps, 39, 512 * one_gib) + distinct_slots(maps, 30, one_gib) +
           distinct_slots(maps, 21, two_mib);
}

CoreMemoryPlan plan_core_memory(const CoreMemoryInput& in) {
    const TableMapping maps[] = {
        {in.image_virt, in.image_bytes, four_kib},
        {in.direct_map_virt, in.ram_top, two_mib},
        {0, two_mib, two_mib},
    };
    CoreMemoryPlan p{};
    p.table_frames = table_frames(maps);
    // Room for later tables (e.g. 4 KiB splits of the direct map) beside the counted ones.
    const std::uint64_t want = (p.table_frames + 16) * four_kib;
    p.table_pool = want > old_pool_bytes ? want : old_pool_bytes;
    p.inbox = (in.channel_bytes * in.num_cpus + four_kib - 1) & ~(four_kib - 1);
    // What a core's block (place_core_memory) takes besides its user pool: the image and tables,
    // and the channel part rounded up to 2 MiB. The kernel region's own rounding is paid from the
    // user pool (its slack goes to the domains), out of the half of a node's memory that
    // user_pool_share leaves free.
    p.kernel_total = in.image_bytes + p.table_pool + (in.chan_pool_bytes + p.inbox + two_mib - 1) / two_mib * two_mib;
    return p;
}

Result<CorePlacement> place_core_memory(PhysMemory& mem, std::uint32_t node, const CoreMemoryPlan& plan,
                                        std::uint64_t image_bytes, std::uint64_t chan_pool_bytes,
                                        std::uint64_t user_pool_bytes) {
    constexpr std::uint64_t align64k = 64 * 1024;
    auto up = [](std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; };
    // The channel part starts on a 2 MiB boundary, which the channel pool's alignment divides.
    if (chan_pool_bytes < align64k || chan_pool_bytes > two_mib || (chan_pool_bytes & (chan_pool_bytes - 1)) != 0 ||
        user_pool_bytes % align64k != 0)
        return Status::invalid_argument;
    for (const std::uint64_t upool : {user_pool_bytes, std::uint64_t{0}}) {
        CorePlacement p{};
        std::uint64_t off = 0;  // the image first: 2 MiB aligned, more than the 64 KiB it needs
        off += up(image_bytes, four_kib);
        p.tables = off;
        off += plan.table_pool;
        off = up(off, align64k);
        p.user_pool = off;
        off += upool;
        p.region_bytes = up(off, two_mib);
        off = p.region_bytes;
        p.chan_pool = off;
        off += chan_pool_bytes;
        p.inbox = off;
        off += plan.inbox;
        const auto block = mem.allocate(node, up(off, two_mib), two_mib);
        if (!block.ok()) {
            if (upool == 0 || block.status() != Status::no_memory) return block.status();
            continue;
        }
        p.region = p.image = *block;
        p.tables += *block;
        p.user_pool += *block;
        p.chan_pool += *block;
        p.inbox += *block;
        p.user_pool_bytes = upool;
        return p;
    }
    return Status::no_memory;
}

std::uint64_t user_pool_share(std::uint64_t node_free, std::uint32_t cores, std::uint64_t kernel_total,
                              std::uint64_t max_bytes) {
    if (cores == 0) return 0;
    const std::uint64_t kernel = kernel_total * cores;
    const std::uint64_t after = node_free > kernel ? node_free - kernel : 0;
    std::uint64_t share = after / 2 / cores;
    if (share > max_bytes) share = max_bytes;
    return share & ~0xffffull;
}

PhysRange place_ram_pool(PhysMemory& mem, std::uint32_t node, std::uint64_t mib) {
    // 2^20 MiB is a TiB: larger asks are refused, not wrapped.
    if (mib == 0 || mib > (std::uint64_t{1} << 20)) return {0, 0};
    const std::uint64_t bytes = (mib * (1ull << 20) + two_mib - 1) / two_mib * two_mib;
    const auto base = mem.allocate(node, bytes, two_mib);
    if (!base.ok()) return {0, 0};
    return {*base, *base + bytes};
}

Status check_ram_block(std::span<const PhysRange> pools, std::uint64_t phys, std::uint64_t size_bits) {
    if (size_bits < 12 || size_bits > 39) return Status::invalid_argument;
    const std::uint64_t size = std::uint64_t{1} << size_bits;
    if (phys & (size - 1)) return Status::invalid_argument;
    for (const PhysRange& p : pools) {
        if (p.end <= p.base) continue;
        // Written so that no sum can wrap: phys is inside, and the block fits in what is left.
        if (phys >= p.base && phys < p.end && size <= p.end - phys) return Status::ok;
    }
    return Status::out_of_range;
}

} // namespace myr::kernel
