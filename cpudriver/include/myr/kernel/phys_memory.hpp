#pragma once
// Usable physical memory per NUMA node: the firmware memory map (what is RAM) intersected with
// the SRAT (which node it belongs to), minus what is already taken (low 1 MiB, the loaded image,
// boot modules). Pure: the boot core uses it to place every core's CPU-driver copy; host-tested.
#include <myr/acpi/topology.hpp>
#include <myr/kernel/multiboot.hpp>
#include <myr/result.hpp>

#include <cstdint>
#include <span>

namespace myr::kernel {

struct PhysRange {
    std::uint64_t base;
    std::uint64_t end;  // exclusive
    [[nodiscard]] std::uint64_t size() const { return end - base; }
};

inline constexpr std::uint32_t max_ranges_per_node = 32;
inline constexpr std::uint64_t page_size = 4096;

class PhysMemory {
public:
    // Builds the per-node usable ranges. Without SRAT all RAM belongs to node 0.
    Status build(const BootInfo& boot, const acpi::Topology& topo);

    // Removes [r.base, r.end) from every node (already in use).
    Status reserve(PhysRange r);

    // Allocates `size` bytes aligned to `align` from `node`, lowest address first, entirely below
    // `limit`. Returns the physical base, or no_memory.
    Result<std::uint64_t> allocate(std::uint32_t node, std::uint64_t size, std::uint64_t align,
                                   std::uint64_t limit = ~0ull);

    [[nodiscard]] std::span<const PhysRange> ranges(std::uint32_t node) const {
        return {m_nodes[node].ranges, m_nodes[node].count};
    }
    [[nodiscard]] std::uint64_t free_bytes(std::uint32_t node) const;
    [[nodiscard]] bool contains(std::uint32_t node, PhysRange r) const;
    [[nodiscard]] std::uint32_t num_nodes() const { return m_num_nodes; }

private:
    struct NodeRanges {
        std::uint32_t count;
        PhysRange ranges[max_ranges_per_node];
    };
    Status add(std::uint32_t node, PhysRange r);
    Status remove(std::uint32_t node, PhysRange r);

    std::uint32_t m_num_nodes = 0;
    NodeRanges m_nodes[acpi::max_nodes] = {};
};

} // namespace myr::kernel
