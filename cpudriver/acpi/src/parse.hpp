#pragma once
// Steps of parse_topology, one file per table. Each step appends to a Topology that
// parse_topology cleared first; none allocates.
#include <myr/acpi/topology.hpp>

namespace myr::acpi::detail {

// Marks a CPU whose node the SRAT has not (yet) given.
inline constexpr std::uint16_t unassigned_node = no_node;

void add_warning(Topology& topo, WarningCode code, std::uint32_t value);

// CPUs (enabled type 0 and 9 entries) and the LAPIC address; every subtable length is checked.
[[nodiscard]] Status parse_madt(Bytes table, Topology& topo);

// Proximity domains of CPUs, memory ranges, and the dense node list. Leaves CPUs the SRAT does
// not mention with node == unassigned_node; leaves num_nodes == 0 when the SRAT is unusable.
[[nodiscard]] Status parse_srat(Bytes table, Topology& topo);

// Distances between the nodes already built. Content problems fall back to the defaults with a
// warning; only a broken table header (checksum, length) is an error.
[[nodiscard]] Status parse_slit(Bytes table, Topology& topo);

} // namespace myr::acpi::detail
