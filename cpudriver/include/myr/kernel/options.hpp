#pragma once
// Kernel command line (multiboot cmdline, set by `myriad run` from the config's [kernel] table):
// space-separated words `key=value`. Unknown words are reported, not fatal. Pure, host-tested.
#include <cstdint>

namespace myr::kernel {

struct Options {
    // No default member initialisers: a kernel global must be all-zero (bss, see linker.ld);
    // parse_options() sets every field, defaults included.
    std::uint32_t timer_hz;        // LAPIC timer frequency on every core (default 100)
    std::int32_t selftest_fault;   // core that raises a page fault after it is up (-1: none)
    bool dump_acpi;                // print the raw ACPI tables as hex (fixture capture)
    char config[48];               // name of the config that booted us (for the log)
    char unknown[64];              // first unknown word, if any
};

Options parse_options(const char* cmdline);

} // namespace myr::kernel
