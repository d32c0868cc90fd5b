#pragma once
// A Myriad machine config (TOML, schema of configs/) that makes QEMU present a guest shaped like
// a parsed real machine: same CPU count, nodes, CPUs per node, memory-less nodes and distances,
// with memory scaled down. Host only (std::string).
#include <myr/acpi/topology.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace myr::acpi {

// QEMU guests here get at most this much RAM in total; every memory node at least the minimum.
inline constexpr std::uint64_t mirror_max_total_mib = 4096;
inline constexpr std::uint64_t mirror_min_node_mib = 128;
// Used when the tables give no memory sizes (no SRAT): total RAM of the mirror.
inline constexpr std::uint64_t mirror_default_total_mib = 1024;

// The shape chosen for QEMU's -smp and -numa options.
struct MirrorPlan {
    std::uint32_t sockets = 1;
    std::uint32_t cores = 1;   // per socket
    std::uint32_t threads = 1; // per core
    std::vector<std::string> node_cpus;    // per node: QEMU cpu-index list ("" when none)
    std::vector<std::uint64_t> node_mib;   // per node: 0 for a memory-less node
};

// Sockets/cores/threads: nodes with equal CPU counts become one socket each; otherwise one
// socket with explicit per-node CPU lists. threads = 2 when the APIC ids pair up as HT siblings
// (2k, 2k+1 on the same node) and the firmware listed all first threads before any second
// thread, as ACPI 6.5 §5.2.12 recommends; a heuristic, since the tables do not say.
// Memory keeps the nodes' proportions within mirror_max_total_mib, rounded down to MiB.
// Errors: unsupported when too many memory nodes to give each the minimum.
[[nodiscard]] Result<MirrorPlan> plan_mirror(const Topology& topo);

// The config text for `plan`, with the SLIT distances (or the defaults) as [distances].
[[nodiscard]] Result<std::string> mirror_config(const Topology& topo, std::string_view name,
                                                std::string_view description);

} // namespace myr::acpi
