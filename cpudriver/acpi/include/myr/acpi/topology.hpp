#pragma once
// The machine as the CPU driver sees it after parsing ACPI (MADT, SRAT, SLIT). A plain value with
// fixed capacity: built once by the boot core, copied by value into every core's own kernel data.
#include <myr/acpi/tables.hpp>
#include <myr/status.hpp>

#include <cstdint>

namespace myr::acpi {

inline constexpr std::uint32_t max_cpus = 512;
inline constexpr std::uint32_t max_nodes = 64;
inline constexpr std::uint32_t max_mem_ranges = 128;
inline constexpr std::uint16_t no_node = 0xffff;
inline constexpr std::uint32_t max_warnings = 16;

// Distances of ACPI 6.5 §5.2.17: 10 means local; used when there is no (usable) SLIT.
inline constexpr std::uint8_t local_distance = 10;
inline constexpr std::uint8_t default_remote_distance = 20;

// Something the parser tolerated in the firmware's tables and worked around. `value` names the
// offending item (an APIC id, a proximity domain, a SLIT size), see each code.
enum class WarningCode : std::uint8_t {
    cpu_without_srat_entry,   // value = APIC id; the CPU is placed on node 0 (lowest domain)
    duplicate_apic_id,        // value = APIC id; the second enabled MADT entry is ignored
    slit_bad_size,            // value = locality count; SLIT ignored, default distances
    slit_bad_distance,        // value = row * count + column; SLIT ignored, default distances
    slit_domain_too_large,    // value = proximity domain; SLIT ignored, default distances
    srat_no_nodes,            // value = 0; SRAT had no usable entry, treated as absent
    srat_bad_memory_range,    // value = proximity domain; base + length overflows, range ignored
    srat_memory_overlap,      // value = proximity domain of the later range; kept as is
    srat_no_memory,           // value = 0; SRAT lists no enabled memory at all
};

struct Warning {
    WarningCode code;
    std::uint32_t value;
};

// A short English description of a warning code (static string; safe in the kernel).
[[nodiscard]] const char* to_string(WarningCode code);

struct Cpu {
    std::uint32_t apic_id;    // local APIC id (x2APIC id when x2apic)
    std::uint32_t acpi_uid;   // ACPI processor UID (MADT)
    std::uint32_t proximity;  // SRAT proximity domain (0 without SRAT; node 0's when the SRAT omits it)
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

    std::uint32_t num_warnings;    // recorded warnings (at most max_warnings)
    std::uint32_t warnings_dropped;// warnings that did not fit
    Warning warnings[max_warnings];
};

// Build `out` from the MADT (required) and the optional SRAT and SLIT (empty span = absent).
// Rules, in short (details at each step in src/topology.cpp):
//  - CPUs: enabled MADT Local APIC (type 0) and Local x2APIC (type 9) entries, in MADT order.
//  - Nodes: proximity domains of enabled SRAT entries that describe an enabled CPU or memory,
//    sorted by domain and numbered densely from 0. No SRAT: one node (domain 0) with every CPU
//    and no ranges; has_srat = false. A CPU the SRAT does not mention goes to node 0 (warning).
//  - Distances: SLIT through the proximity domains, else 10 local / 20 remote (warning if a
//    SLIT was present but unusable).
//  - nearest_mem_node: itself when the node has memory, else the node with memory at the
//    smallest distance (ties: lowest index). Without any SRAT memory: itself.
// Errors: not_found (no MADT, or no enabled CPU), truncated/malformed/bad_checksum (broken
// table), overflow (more CPUs, nodes or ranges than the capacities). On error `out` is cleared.
[[nodiscard]] Status parse_topology(const TableSet& tables, Topology& out);

} // namespace myr::acpi
