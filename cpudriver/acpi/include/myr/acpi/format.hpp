#pragma once
// Text the kernel prints at boot and myriadctl prints on the host, formatted by the same code so
// tools can parse both alike. All functions write into a caller buffer, NUL-terminate it, and
// return the length without the NUL; overflow when the buffer is too small (nothing useful written).
#include <myr/acpi/topology.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::acpi {

// Compact list of ascending indices: "0-3,8,10-11"; "" for an empty list.
[[nodiscard]] Result<std::size_t> format_index_list(std::span<const std::uint32_t> ascending,
                                                    std::span<char> out);

// The CPU indices of `node` as a compact list; "none" when the node has no CPU.
[[nodiscard]] Result<std::size_t> format_cpu_list(const Topology& topo, std::uint16_t node,
                                                  std::span<char> out);

// `node id=N mem=0xSTART-0xEND[,0xSTART-0xEND...] cpus=LIST` (END exclusive; mem=none when the
// node has no memory range).
[[nodiscard]] Result<std::size_t> format_node_line(const Topology& topo, std::uint16_t node,
                                                   std::span<char> out);

// `cpu index=I apic=A node=N pxm=P`
[[nodiscard]] Result<std::size_t> format_cpu_line(const Topology& topo, std::uint32_t cpu,
                                                  std::span<char> out);

} // namespace myr::acpi
