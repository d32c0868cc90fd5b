#pragma once
#include <myr/acpi/topology.hpp>
#include <myr/status.hpp>

namespace myr::kernel {
// Finds the ACPI tables in physical memory and parses them into `topo` (boot core only). With
// `dump`, prints each table as `acpi-table SIG HEX` lines so tests can save QEMU's tables.
Status discover_topology(acpi::Topology& topo, bool dump);
} // namespace myr::kernel
