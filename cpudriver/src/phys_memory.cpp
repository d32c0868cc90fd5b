#include <myr/kernel/phys_memory.hpp>

namespace myr::kernel {
namespace {

constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) & ~(a - 1); }
constexpr std::uint64_t align_down(std::uint64_t v, std::uint64_t a) { return v & ~(a - 1); }

} // namespace

Status PhysMemory::add(std::uint32_t node, PhysRange r) {
    r.base = align_up(r.base, page_size);
    r.end = align_down(r.end, page_size);
    if (r.end <= r.base) return Status::ok;
    NodeRanges& n = m_nodes[node];
    if (n.count == max_ranges_per_node) return Status::overflow;
    // Keep sorted by base (insertion sort: a handful of ranges).
    std::uint32_t i = n.count;
    while (i > 0 && n.ranges[i - 1].base > r.base) {
        n.ranges[i] = n.ranges[i - 1];
        --i;
    }
    n.ranges[i] = r;
    ++n.count;
    return Status::ok;
}

Status PhysMemory::build(const BootInfo& boot, const acpi::Topology& topo) {
    m_num_nodes = topo.num_nodes ? topo.num_nodes : 1;
    for (auto& n : m_nodes) n.count = 0;
    for (std::uint32_t e = 0; e < boot.num_memory; ++e) {
        const MemoryMapEntry& m = boot.memory[e];
        if (m.type != static_cast<std::uint32_t>(MemoryType::available) || m.length == 0) continue;
        if (m.base + m.length < m.base) return Status::malformed;  // wraps around
        const PhysRange ram{m.base, m.base + m.length};
        if (!topo.has_srat || topo.num_ranges == 0) {
            MYR_TRY(add(0, ram));
            continue;
        }
        for (std::uint32_t s = 0; s < topo.num_ranges; ++s) {
            const acpi::MemRange& sr = topo.ranges[s];
            const std::uint64_t lo = ram.base > sr.base ? ram.base : sr.base;
            const std::uint64_t sr_end = sr.base + sr.length;
            const std::uint64_t hi = ram.end < sr_end ? ram.end : sr_end;
            if (lo < hi) MYR_TRY(add(sr.node, {lo, hi}));
        }
    }
    return Status::ok;
}

Status PhysMemory::remove(std::uint32_t node, PhysRange cut) {
    NodeRanges& n = m_nodes[node];
    for (std::uint32_t i = 0; i < n.count; ++i) {
        PhysRange& r = n.ranges[i];
        if (cut.end <= r.base || cut.base >= r.end) continue;
        const PhysRange left{r.base, cut.base > r.base ? cut.base : r.base};
        const PhysRange right{cut.end < r.end ? cut.end : r.end, r.end};
        // Drop r, then add the remains (each may be empty).
        for (std::uint32_t j = i; j + 1 < n.count; ++j) n.ranges[j] = n.ranges[j + 1];
        --n.count;
        if (left.end > left.base) MYR_TRY(add(node, {left.base, left.end}));
        if (right.end > right.base) MYR_TRY(add(node, {align_up(right.base, page_size), right.end}));
        i = static_cast<std::uint32_t>(-1);  // restart: the array changed
    }
    return Status::ok;
}

Status PhysMemory::reserve(PhysRange r) {
    r.base = align_down(r.base, page_size);
    r.end = align_up(r.end, page_size);
    for (std::uint32_t node = 0; node < m_num_nodes; ++node) MYR_TRY(remove(node, r));
    return Status::ok;
}

Result<std::uint64_t> PhysMemory::allocate(std::uint32_t node, std::uint64_t size,
                                           std::uint64_t align, std::uint64_t limit) {
    if (node >= m_num_nodes || size == 0 || align == 0 || (align & (align - 1))) return Status::invalid_argument;
    // Rounding the size up to the alignment keeps back-to-back allocations gap-free, so the
    // free list does not fragment into slivers (it has fixed capacity).
    size = align_up(size, align > page_size ? align : page_size);
    const NodeRanges& n = m_nodes[node];
    for (std::uint32_t i = 0; i < n.count; ++i) {
        const PhysRange r = n.ranges[i];
        const std::uint64_t base = align_up(r.base, align);
        if (base < r.base || base >= r.end || r.end - base < size) continue;
        if (base + size > limit) continue;
        MYR_TRY(remove(node, {base, base + size}));
        return base;
    }
    return Status::no_memory;
}

std::uint64_t PhysMemory::free_bytes(std::uint32_t node) const {
    std::uint64_t total = 0;
    for (const PhysRange& r : ranges(node)) total += r.size();
    return total;
}

bool PhysMemory::contains(std::uint32_t node, PhysRange r) const {
    for (const PhysRange& f : ranges(node))
        if (r.base >= f.base && r.end <= f.end) return true;
    return false;
}

} // namespace myr::kernel
