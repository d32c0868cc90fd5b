#pragma once
// Kernel command line (multiboot cmdline, set by `myriad run` from the config's [kernel] table):
// space-separated words `key=value`. Unknown words are reported, not fatal. Pure, host-tested.
#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint32_t max_spawn = 16;
inline constexpr std::uint32_t max_serve = 4;

// `spawn=NAME@CORES[*K]`: run boot module NAME on each core in CORES ("all" or a list like
// "0-3,5"), K generations one after another (a new one when the previous exits; default 1).
struct SpawnSpec {
    char name[24];
    char cores[32];
    std::uint32_t generations;
};

// True when `core` is in CORES ("all" or a compact list); false for a malformed list.
bool core_in_list(const char* cores, std::uint32_t core);

struct Options {
    // No default member initialisers: a kernel global must be all-zero (bss, see linker.ld);
    // parse_options() sets every field, defaults included.
    std::uint32_t timer_hz;        // LAPIC timer frequency on every core (default 100)
    std::int32_t selftest_fault;   // core that raises a page fault after it is up (-1: none)
    std::int32_t selftest_stall;   // core that stops before it is up, to test the boot core's wait (-1: none)
    // `boot.stall_ms=N`: the boot core stops waiting for the other cores, and names those not up,
    // once none of them has changed state for this long (default 20000). Progress, not a deadline
    // per core: 240 cores under a loaded emulator take tens of seconds, and each still comes up
    // well within this of the one before.
    std::uint32_t boot_stall_ms;
    bool dump_acpi;                // print the raw ACPI tables as hex (fixture capture)
    char config[48];               // name of the config that booted us (for the log)
    char unknown[64];              // first unknown word, if any
    char monitor[24];              // `monitor=NAME`: boot module to run as every core's monitor
    std::uint32_t monitor_flags;   // `monitor.flags=N`: passed to monitors (bit 0: measure round trips)
    std::uint32_t num_spawn;
    SpawnSpec spawn[max_spawn];
    // `serve=NAME` (repeatable): domains running boot module NAME are their core's server: their
    // copy of the core endpoint (slot 4) may receive; every other domain's may only send.
    std::uint32_t num_serve;
    char serve[max_serve][24];
    // `console=NAME`: domains running boot module NAME own the serial console's input
    // (Sys::console_read) and may write raw text to it (debug_print flag console_text). Empty:
    // nobody. A name longer than a module name (23) is refused, not cut to another program's name.
    char console[24];
    // `memserv.pool=MiB`: the boot core sets aside that much RAM on every node with memory and
    // cores as the node's memserv pool (docs/servers.md, "memserv"). 0 (default): no pools.
    std::uint32_t memserv_pool_mib;
};

Options parse_options(const char* cmdline);

// The value of option `key` (key_len bytes, no '=') on `cmdline`: the LAST word `key=VALUE`, so a
// later word overrides an earlier one (myriadctl puts the config's words first and `--append`
// words last, docs/configs.md). `value` points into cmdline, `len` bytes up to the next space.
struct OptionValue {
    const char* value;
    std::uint64_t len;
    bool found;
};
OptionValue find_option(const char* cmdline, const char* key, std::uint64_t key_len);

} // namespace myr::kernel
