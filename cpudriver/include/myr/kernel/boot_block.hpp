#pragma once
// The one-shot hand-over from the boot core to every core it starts (README, "How a boot goes" step 3): the
// boot core fills a block before starting the core; the core copies what it needs into its own
// memory and writes back its state and audit result once (and its state once more if it dies of
// an exception). Nothing reads or writes a block after boot (docs/share-nothing.md). Wire
// format: defined once, here.
#include <myr/acpi/topology.hpp>
#include <myr/boot_limits.hpp>

#include <cstddef>
#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint64_t boot_block_magic = 0x4d59524941440001ull;  // "MYRIAD" v1
// Each core's copy of the command line: all of it (a copy cut short would drop the end of the
// plan, as the 1024-byte copy once did once the boot loader's limit was raised).
inline constexpr std::size_t cmdline_max = kernel_cmdline_bytes;
// Slots of each kernel report channel (one per core, into the boot core's node): a core sends
// one report per run, so the minimum ring is plenty.
inline constexpr std::uint32_t report_slots = 2;
// Report types on those channels (payload words: started, exited, failed, faulted).
inline constexpr std::uint8_t report_type_domains_done = 1;

enum class CoreState : std::uint32_t {
    not_started = 0,
    entered = 1,    // reached core_main in its own copy
    up = 2,         // fully initialised (GDT, IDT, TSS, LAPIC, timer ticking, audit done)
    failed = 3,     // could not initialise; see its log
    // Steps between entered and up, so the boot core's wait sees progress while many cores
    // initialise at once (under TCG that takes seconds per step at 240 CPUs).
    described = 4,  // GDT, IDT, LAPIC set up
    audited = 5,    // its page tables walked (the share-nothing audit)
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
    // 4 KiB frames of other cores' kernels that its page tables map writable (must be 0):
    // see foreign_kernel_ranges() in core.cpp for which frames those are.
    std::uint64_t foreign_writable;
};

// Lock for whole log lines on the shared serial port: the documented exception to "no shared
// writable kernel data", like Barrelfish's print lock. A test-and-set lock, not a fair one: a
// ticket lock hands the port to one particular waiter, and on an emulator that runs all vCPUs
// on one host thread every other vCPU then takes its turn until that one is scheduled again
// (console.cpp has the numbers).
struct ConsoleLock {
    alignas(64) std::uint32_t held;  // 0 free, 1 taken
    // 1 while the console owner's raw text (console_raw) has left the cursor mid-line: the next
    // log line starts with a newline, so machine-readable lines stay at column 0. Under the lock.
    std::uint32_t mid_line;
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
    std::uint64_t ram_pool_phys;  // the memserv pool of its memory node (0, 0: none), which
    std::uint64_t ram_pool_size;  //   Sys::cap_create_ram may name; in no core's region
    std::uint64_t region_phys;   // its kernel region: the 2 MiB-aligned allocation holding its copy,
    std::uint64_t region_size;   //   page tables, kernel pool and user pool (other direct maps omit it)
    std::uint64_t report_phys;   // the kernel report channels, core c's at report_phys + c * report_bytes
    std::uint64_t report_bytes;
    std::uint64_t modules_phys;  // the boot modules (an array of Module): each core copies it at boot
    std::uint32_t num_modules;
    std::uint32_t pad0;
    std::uint64_t topology_phys; // the parsed topology, read-only after boot: each core copies it
    std::uint64_t boot_blocks_phys; // all boot blocks: each core copies their channel addresses at
                                    //   boot, the boot core reads states and audits until boot-complete
    std::uint64_t console_lock_phys;
    std::uint64_t tsc_per_ms;    // calibrated once by the boot core against the PIT
    std::uint64_t lapic_ticks_per_ms;
    std::uint64_t boot_tsc;      // TSC at kernel entry on the boot core
    std::uint64_t options_phys;  // the parsed kernel options (kernel::Options), read-only after boot:
                                 //   each core copies them (no core parses the command line again)
    char console_prefix[24];     // "[cI/nN] ", the prefix of this core's log lines
    char cmdline[cmdline_max];
    // Written by the core itself, once.
    alignas(64) volatile CoreState state;
    std::uint32_t socket;        // from its own CPUID
    Audit audit;
    // Written by the core once, before it sets `up`: what its boot lines (core-up, audit, ...)
    // say, as numbers. The boot core formats and prints them (print_boot_report in core.cpp):
    // a core that comes up goes idle at once instead of queueing for the serial port behind every
    // other core, and runs no text formatting code while it comes up (under TCG every code page a
    // core runs costs a scan of every vCPU's TLB: docs/scaling.md).
    std::uint64_t up_ms;         // ms since the boot core entered the kernel, when it was up
    std::uint8_t smep, smap;     // supervisor protection it turned on (1) or could not (0)
    std::uint8_t reported;       // 1 once it has printed these lines itself (the fault self-test core)
};

static_assert(sizeof(BootBlock) % 64 == 0);
static_assert(offsetof(BootBlock, state) % 64 == 0, "core-written fields start on their own line");

} // namespace myr::kernel
