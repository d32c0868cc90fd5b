#pragma once
// Checking a captured serial log against the config it booted: did every node and core appear
// as configured, is every CPU driver copy in node-local memory and private, did boot finish.
// The kernel's machine-readable lines are documented in docs/configs.md ("Boot log").
#include <myr/config/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace myr::config {

struct BootLogOptions {
    // How much less memory a node may report than configured: firmware keeps the legacy hole
    // (0xA0000-0x100000) and a few reserved pages (ACPI tables, SeaBIOS) out of node 0.
    std::uint64_t memory_tolerance = 8 * mib;
    // Kernel command-line words added at run time (myriadctl run --append): selftest.fault=I
    // there counts like one in kernel.options.
    std::vector<std::string> extra_kernel_words;
};

// Every problem found, each a full sentence; empty means the log passes.
[[nodiscard]] std::vector<std::string> check_boot_log(const Config& c, std::string_view log,
                                                      const BootLogOptions& options = {});

// Core indices named by `selftest.fault=I` words in kernel.options (and `extra` words): the cores
// that are expected to take one CPU exception on purpose.
[[nodiscard]] std::vector<unsigned> expected_fault_cores(const Config& c, const std::vector<std::string>& extra = {});

} // namespace myr::config
