#pragma once
// The machine as the CPU driver sees it after parsing ACPI (MADT, SRAT, SLIT). A plain value with
// fixed capacity: built once by the boot core, copied by value into every core's own kernel data.
#include <cstdint>

namespace myr::acpi {

inline constexpr std::uint32_t max_cpus = 512;
inline constexpr std::uint32_t max_nodes = 64;
inline constexpr std::uint32_t max_mem_ranges = 128;
inline constexpr std::uint16_t no_node = 0xffff;

struct Cpu {
    std::uint32_t apic_id;    // local APIC id (x2APIC id when x2apic)
    std::uint32_t acpi_uid;   // ACPI processor UID (MADT)
    std::uint32_t proximity;  // SRAT proximity domain (0 when no SRAT entry)
    std::uint16_t node;       // dense node index (into Topology::nodes)
    bool x2apic;              // came from a MADT type 9 entry
};

struct MemRange {
    std::uint64_t base;
    std::uint64_t length;
    std::uint32_t proximity;
    std::uint16_t node;
    bool hotplug;
    bool nonvolatile;
};

struct Node {
    std::uint32_t proximity;       // SRAT proximity domain this node was made from
    std::uint32_t num_cpus;
    std::uint64_t mem_bytes;       // sum of its enabled memory ranges
    std::uint16_t nearest_mem_node;// itself when it has memory; else nearest by distance
};

struct Topology {
    std::uint64_t lapic_address;   // from the MADT (overridden by a type-5 entry if present)
    bool has_srat;                 // false: fallback to one node holding every CPU and no ranges
    bool has_slit;                 // false: distances default to 10 local / 20 remote

    std::uint32_t num_cpus;        // enabled CPUs, in MADT order: CPU index = position here
    Cpu cpus[max_cpus];

    std::uint32_t num_nodes;       // nodes sorted by proximity domain
    Node nodes[max_nodes];

    std::uint32_t num_ranges;      // enabled memory ranges, sorted by base
    MemRange ranges[max_mem_ranges];

    std::uint8_t distance[max_nodes][max_nodes]; // by dense node index
};

} // namespace myr::acpi
