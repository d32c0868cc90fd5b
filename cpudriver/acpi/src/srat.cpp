// SRAT (ACPI 6.5 §5.2.16): which proximity domain each CPU and memory range belongs to.
#include "parse.hpp"

namespace myr::acpi::detail {
namespace {

// §5.2.16 Table 5.62: header, Reserved (4, "1" for compatibility), Reserved (8), then the static
// resource allocation structures, each starting with Type (1) and Length (1).
constexpr std::size_t srat_entries_offset = 48;
constexpr std::size_t subtable_min_length = 2;

// §5.2.16.1 Table 5.64: Processor Local APIC/SAPIC Affinity. Proximity Domain [7:0] at 2,
// APIC ID at 3, Flags (4) at 4, SAPIC EID at 8, Proximity Domain [31:8] (3) at 9.
constexpr std::uint8_t type_cpu_affinity = 0;
constexpr std::size_t cpu_affinity_length = 16;
// §5.2.16.2 Table 5.66: Memory Affinity. Proximity Domain (4) at 2, Base (8) at 8, Length (8)
// at 16, Flags (4) at 28.
constexpr std::uint8_t type_memory_affinity = 1;
constexpr std::size_t memory_affinity_length = 40;
// §5.2.16.3 Table 5.68: Processor Local x2APIC Affinity. Proximity Domain (4) at 4, x2APIC ID
// (4) at 8, Flags (4) at 12.
constexpr std::uint8_t type_x2apic_affinity = 2;
constexpr std::size_t x2apic_affinity_length = 24;

// Bit 0 of every affinity structure's flags: the entry is in use (Tables 5.65, 5.67).
constexpr std::uint32_t flag_enabled = 1u << 0;
constexpr std::uint32_t mem_flag_hotplug = 1u << 1;     // Table 5.67
constexpr std::uint32_t mem_flag_nonvolatile = 1u << 2; // Table 5.67

// The upper proximity bits of type 0 and the full 32-bit memory domain came with SRAT revision 2
// (ACPI 3.0); revision 1 tables hold reserved bytes there (Linux masks them the same way).
constexpr std::uint8_t srat_rev_wide_domains = 2;

// Sorted set of proximity domains in use; its order is the dense node numbering.
struct DomainSet {
    std::uint32_t count = 0;
    std::uint32_t domain[max_nodes] = {};

    Status insert(std::uint32_t pxm) {
        std::uint32_t pos = 0;
        while (pos < count && domain[pos] < pxm) ++pos;
        if (pos < count && domain[pos] == pxm) return Status::ok;
        if (count >= max_nodes) return Status::overflow;
        for (std::uint32_t i = count; i > pos; --i) domain[i] = domain[i - 1];
        domain[pos] = pxm;
        ++count;
        return Status::ok;
    }
    [[nodiscard]] std::uint16_t index_of(std::uint32_t pxm) const {
        for (std::uint32_t i = 0; i < count; ++i)
            if (domain[i] == pxm) return static_cast<std::uint16_t>(i);
        return no_node;
    }
};

Status assign_cpu(Topology& topo, DomainSet& domains, std::uint32_t apic_id, std::uint32_t pxm) {
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        Cpu& cpu = topo.cpus[i];
        if (cpu.apic_id != apic_id || cpu.node != unassigned_node) continue;
        cpu.proximity = pxm;
        cpu.node = 0; // real index set once every domain is known
        return domains.insert(pxm);
    }
    // An entry for a CPU that is absent or disabled in the MADT (hot-plug slot): it does not make
    // a node by itself.
    return Status::ok;
}

Status add_range(Topology& topo, DomainSet& domains, Bytes entry, std::uint8_t revision) {
    auto pxm = MYR_TRY(read_le<std::uint32_t>(entry, 2));
    if (revision < srat_rev_wide_domains) pxm &= 0xffu;
    const auto base = MYR_TRY(read_le<std::uint64_t>(entry, 8));
    const auto length = MYR_TRY(read_le<std::uint64_t>(entry, 16));
    const auto flags = MYR_TRY(read_le<std::uint32_t>(entry, 28));
    if (length == 0) return Status::ok; // describes nothing
    if (base + length < base) {
        add_warning(topo, WarningCode::srat_bad_memory_range, pxm);
        return Status::ok;
    }
    if (topo.num_ranges >= max_mem_ranges) return Status::overflow;
    // Insert sorted by base, so consumers can walk memory in address order.
    std::uint32_t pos = topo.num_ranges;
    while (pos > 0 && topo.ranges[pos - 1].base > base) {
        topo.ranges[pos] = topo.ranges[pos - 1];
        --pos;
    }
    topo.ranges[pos] = MemRange{base, length, pxm, 0, (flags & mem_flag_hotplug) != 0,
                                (flags & mem_flag_nonvolatile) != 0};
    ++topo.num_ranges;
    return domains.insert(pxm);
}

} // namespace

Status parse_srat(Bytes table, Topology& topo) {
    const Bytes srat = MYR_TRY(check_table(table, sig_srat));
    if (srat.size() < srat_entries_offset) return Status::truncated;
    const std::uint8_t revision = table_revision(srat);

    DomainSet domains;
    std::size_t offset = srat_entries_offset;
    while (offset < srat.size()) {
        const std::uint8_t type = MYR_TRY(read_le<std::uint8_t>(srat, offset));
        const std::uint8_t length = MYR_TRY(read_le<std::uint8_t>(srat, offset + 1));
        if (length < subtable_min_length) return Status::malformed;
        const Bytes entry = MYR_TRY(sub(srat, offset, length));
        offset += length;

        switch (type) {
        case type_cpu_affinity: {
            if (entry.size() < cpu_affinity_length) return Status::malformed;
            const auto flags = MYR_TRY(read_le<std::uint32_t>(entry, 4));
            if ((flags & flag_enabled) == 0) break;
            std::uint32_t pxm = entry[2];
            if (revision >= srat_rev_wide_domains)
                pxm |= static_cast<std::uint32_t>(entry[9]) << 8 |
                       static_cast<std::uint32_t>(entry[10]) << 16 |
                       static_cast<std::uint32_t>(entry[11]) << 24;
            MYR_TRY(assign_cpu(topo, domains, entry[3], pxm));
            break;
        }
        case type_x2apic_affinity: {
            if (entry.size() < x2apic_affinity_length) return Status::malformed;
            const auto flags = MYR_TRY(read_le<std::uint32_t>(entry, 12));
            if ((flags & flag_enabled) == 0) break;
            const auto pxm = MYR_TRY(read_le<std::uint32_t>(entry, 4));
            const auto id = MYR_TRY(read_le<std::uint32_t>(entry, 8));
            MYR_TRY(assign_cpu(topo, domains, id, pxm));
            break;
        }
        case type_memory_affinity: {
            if (entry.size() < memory_affinity_length) return Status::malformed;
            const auto flags = MYR_TRY(read_le<std::uint32_t>(entry, 28));
            // Firmware leaves disabled entries with stale lengths and domains: skip them whole.
            if ((flags & flag_enabled) == 0) break;
            MYR_TRY(add_range(topo, domains, entry, revision));
            break;
        }
        default: break; // GICC, GIC ITS, generic initiators: not used on x86 topology
        }
    }

    topo.num_nodes = domains.count;
    for (std::uint32_t n = 0; n < domains.count; ++n) {
        topo.nodes[n] = Node{domains.domain[n], 0, 0, no_node};
    }
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        Cpu& cpu = topo.cpus[i];
        if (cpu.node != unassigned_node) cpu.node = domains.index_of(cpu.proximity);
    }
    for (std::uint32_t r = 0; r < topo.num_ranges; ++r) {
        MemRange& range = topo.ranges[r];
        range.node = domains.index_of(range.proximity);
        topo.nodes[range.node].mem_bytes += range.length;
        if (r > 0 && topo.ranges[r - 1].base + topo.ranges[r - 1].length > range.base)
            add_warning(topo, WarningCode::srat_memory_overlap, range.proximity);
    }
    return Status::ok;
}

} // namespace myr::acpi::detail
