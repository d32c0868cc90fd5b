#pragma once
// The state of this core's CPU driver. It is an ordinary global of the image, yet per core by
// construction: every core runs its own copy of the image, so each has its own instance at the
// same virtual address (docs/share-nothing.md). Nothing here is ever written by another core.
#include <myr/acpi/topology.hpp>
#include <myr/kernel/boot_block.hpp>
#include <myr/kernel/multiboot.hpp>
#include <myr/kernel/options.hpp>
#include <myr/kernel/phys_memory.hpp>

#include <cstdint>

namespace myr::kernel {

// Another core's memory that this core may need after boot: channel memory only (its monitor
// inbox, which the monitors map; its channel pool, whose rings cap_create_remote may name).
struct PeerMemory {
    std::uint64_t inbox_phys;
    std::uint64_t chan_pool_phys;
    std::uint64_t chan_pool_size;
};

// All members zero-initialised (it lives in bss: linker.ld forbids .data).
struct PerCore {
    std::uint32_t core;
    std::uint32_t node;
    std::uint32_t apic_id;
    bool is_boot_core;
    std::uint32_t boot_apic;    // where to send wake-ups for the boot core
    // This core's boot block (direct map): the one-shot hand-over. Written back once at boot
    // (state, audit) and once more if the core dies of an exception; read from it only at boot.
    BootBlock* boot;
    BootBlock* all_boots; // boot core only, while it starts the others: every block
    // Copies taken from the hand-over in core_main, before the core reports up: what it needs
    // at run time lives in its own memory (docs/share-nothing.md).
    BootBlock info;                       // its boot block as the boot core filled it
    std::uint32_t num_modules;
    Module modules[max_modules];          // the boot modules' table (the files stay where loaded)
    PeerMemory peers[acpi::max_cpus];     // every core's channel memory
    PhysRange ram_pools[acpi::max_nodes]; // every node's memserv pool (empty: none), by node
    Options options;
    volatile std::uint64_t ticks;
    volatile std::uint64_t wakeups;
    acpi::Topology topology;        // this core's own replica
};

extern PerCore this_core;

}  // namespace myr::kernel
namespace myr::arch { struct TrapFrame; }
namespace myr::kernel {

// Called from interrupt context by the arch layer. They may not return (switch to a domain).
void on_timer_tick(arch::TrapFrame& frame);
void on_wakeup_ipi(arch::TrapFrame& frame);
// A system call of the running domain (its registers in frame, its own save area). Never returns
// (every exit leaves the kernel); not declared [[noreturn]], which measured 2 instructions
// cheaper per call (syscall.cpp).
void on_syscall(arch::TrapFrame& frame);
// A CPU exception raised by a user domain: kill it alone, report, run the others.
[[noreturn]] void on_user_exception(arch::TrapFrame& frame, std::uint64_t cr2);
// A CPU exception in this core's kernel: report it and stop this core only.
[[noreturn]] void on_exception(std::uint64_t vector, std::uint64_t error, std::uint64_t rip,
                               std::uint64_t cr2);

} // namespace myr::kernel
