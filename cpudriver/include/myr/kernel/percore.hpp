#pragma once
// The state of this core's CPU driver. It is an ordinary global of the image, yet per core by
// construction: every core runs its own copy of the image, so each has its own instance at the
// same virtual address (DESIGN.md §3). Nothing here is ever written by another core.
#include <myr/acpi/topology.hpp>
#include <myr/kernel/boot_block.hpp>
#include <myr/kernel/options.hpp>

#include <cstdint>

namespace myr::kernel {

// All members zero-initialised (it lives in bss: linker.ld forbids .data).
struct PerCore {
    std::uint32_t core;
    std::uint32_t node;
    std::uint32_t apic_id;
    bool is_boot_core;
    std::uint32_t boot_apic;    // where to send wake-ups for the boot core
    BootBlock* boot;      // this core's boot block (direct map)
    BootBlock* all_boots; // boot core only: every block
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
void on_syscall(arch::TrapFrame& frame);
// A CPU exception raised by a user domain: kill it alone, report, run the others.
[[noreturn]] void on_user_exception(arch::TrapFrame& frame, std::uint64_t cr2);
// A CPU exception in this core's kernel: report it and stop this core only.
[[noreturn]] void on_exception(std::uint64_t vector, std::uint64_t error, std::uint64_t rip,
                               std::uint64_t cr2);

} // namespace myr::kernel
