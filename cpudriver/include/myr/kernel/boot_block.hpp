#pragma once
// The one-shot hand-over from the boot core to every core it starts (DESIGN.md §2 step 2), and
// the only kernel memory two cores write: the boot core fills a block before starting the core;
// the core writes back its state and audit result once. Wire format: defined once, here.
#include <myr/acpi/topology.hpp>

#include <cstddef>
#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint64_t boot_block_magic = 0x4d59524941440001ull;  // "MYRIAD" v1
inline constexpr std::size_t cmdline_max = 1024;
inline constexpr std::size_t boot_report_max = 1024;

enum class CoreState : std::uint32_t {
    not_started = 0,
    entered = 1,    // reached core_main in its own copy
    up = 2,         // fully initialised (GDT, IDT, TSS, LAPIC, timer ticking, audit done)
    failed = 3,     // could not initialise; see its log
};

// Per-core result of walking its own page tables over the kernel image (the "share nothing"
// audit). Written by the core, read by the boot core after the core is up.
struct Audit {
    std::uint64_t phys_start;   // lowest physical page backing the kernel image
    std::uint64_t phys_end;     // end (exclusive) of the highest one
    std::uint32_t pages;        // 4 KiB pages mapped over [__image_start, __image_end)
    std::uint32_t contiguous;   // 1 when those pages are phys_start.. in order
    std::uint32_t node_local;   // 1 when every page lies in the memory of the core's memory node
    std::uint32_t table_frames; // page-table frames reachable from its CR3
    std::uint32_t tables_own;   // 1 when all of them are its own node-local frames
};

// Lock for whole log lines on the shared serial port: the documented exception to "no shared
// writable kernel data", like Barrelfish's print lock. A test-and-set lock, not a fair one: a
// ticket lock hands the port to one particular waiter, and on an emulator that runs all vCPUs
// on one host thread every other vCPU then takes its turn until that one is scheduled again
// (console.cpp has the numbers).
struct ConsoleLock {
    alignas(64) std::uint32_t held;  // 0 free, 1 taken
    std::uint32_t pad;
};

struct alignas(64) BootBlock {
    std::uint64_t magic;
    // Written by the boot core before the start IPI.
    std::uint32_t core;          // CPU index (MADT order)
    std::uint32_t apic_id;
    std::uint32_t node;          // node of the CPU
    std::uint32_t mem_node;      // node whose memory holds its copy (nearest with memory)
    std::uint32_t num_cores;
    std::uint32_t boot_core;
    std::uint64_t kernel_phys;   // physical base of its CPU-driver copy
    std::uint64_t kernel_size;
    std::uint64_t pml4_phys;     // its page tables, node-local (the trampoline may start on a low copy)
    std::uint64_t tables_phys;   // [tables_phys, pool_phys): its page-table frames
    std::uint64_t pool_phys;     // node-local memory it owns from now on
    std::uint64_t pool_size;
    std::uint64_t user_pool_phys; // node-local RAM for this core's user domains
    std::uint64_t user_pool_size;
    std::uint64_t inbox_phys;    // this core's monitor inbox: one URPC channel per sending core,
    std::uint64_t inbox_size;    //   in its own node's memory (receiver-local)
    std::uint64_t channel_bytes;
    std::uint64_t chan_pool_phys; // URPC ring memory its monitor hands out to bound domains
    std::uint64_t chan_pool_size; //   (receiver-local: a domain's receive rings come from here)
    std::uint64_t modules_phys;  // the boot modules (an array of Module), read-only after boot
    std::uint32_t num_modules;
    std::uint32_t pad0;
    std::uint64_t topology_phys; // the parsed topology, read-only after boot: each core copies it
    std::uint64_t boot_blocks_phys; // the array of all boot blocks (the boot core reads them)
    std::uint64_t console_lock_phys;
    std::uint64_t tsc_per_ms;    // calibrated once by the boot core against the PIT
    std::uint64_t lapic_ticks_per_ms;
    std::uint64_t boot_tsc;      // TSC at kernel entry on the boot core
    char cmdline[cmdline_max];
    // Written by the core itself, once.
    alignas(64) volatile CoreState state;
    std::uint32_t socket;        // from its own CPUID
    Audit audit;
    // Written by the core when all its domains are gone (boot core sums them up).
    volatile std::uint32_t domains_done;
    std::uint32_t domains_started;
    std::uint32_t domains_exited;    // exited with code 0
    std::uint32_t domains_failed;    // exited with a non-zero code
    std::uint32_t domains_faulted;   // killed by a CPU exception
    // Written by the core once, before it sets `up`: its boot lines (core-up, audit, ...), whole
    // lines with their prefixes. The boot core prints them: a core that comes up goes idle at
    // once instead of queueing for the serial port behind every other core.
    alignas(64) char report[boot_report_max];
};

static_assert(sizeof(BootBlock) % 64 == 0);
static_assert(offsetof(BootBlock, state) % 64 == 0, "core-written fields start on their own line");

} // namespace myr::kernel
