#pragma once
// The neutral interface the generic CPU driver uses to reach x86 hardware.
#include <cstddef>
#include <cstdint>

namespace myr::arch {

// Serial port (COM1, 16550 UART).
void serial_init();
void serial_write(const char* s);
// Takes up to `max` bytes the UART has received (its FIFO holds 16), without waiting: 0 when none.
std::size_t serial_read(char* buf, std::size_t max);

// Direct map: physical address -> kernel pointer (valid for all RAM on every core).
template <typename T = void>
inline T* phys_to_virt(std::uint64_t phys) {
    return reinterpret_cast<T*>(phys + 0xFFFF800000000000ull);
}
std::uint64_t kernel_virt_to_phys_original(const void* p);  // the loaded image (boot core only)

// Per-core CPU state.
void load_gdt_tss();          // GDT, TSS (with a double-fault stack), segment registers
void load_idt();              // exception and interrupt vectors
void enable_syscalls();       // SYSCALL/SYSRET MSRs
// SMEP and SMAP where the CPU has them (CPUID leaf 7); says which are on.
struct SupervisorProtection { bool smep, smap; };
SupervisorProtection enable_smep_smap();
std::uint32_t socket_of_this_cpu();  // from CPUID topology leaves
std::uint32_t initial_apic_id();     // x2APIC id (CPUID 0xB) where the CPU reports one, else the 8-bit id

// Local APIC (SDM Vol. 3A ch. 11): lapic_init puts it in x2APIC mode (MSRs, 32-bit ids) when the
// CPU has it (CPUID.1:ECX[21]), else xAPIC (MMIO at `phys`, 8-bit ids).
void disable_legacy_pic();  // boot core, once
bool cpu_has_x2apic();
void lapic_init(std::uint64_t phys);
bool lapic_x2apic_mode();
std::uint32_t lapic_id();
void lapic_eoi();
void lapic_timer_periodic(std::uint64_t ticks_per_ms, std::uint32_t hz);
void lapic_timer_stop();
void lapic_send_ipi(std::uint32_t apic_id, std::uint8_t vector);
void lapic_send_init(std::uint32_t apic_id);
void lapic_send_sipi(std::uint32_t apic_id, std::uint8_t page);

// Calibration against the PIT (boot core only): TSC ticks and LAPIC timer ticks per millisecond.
struct Calibration { std::uint64_t tsc_per_ms; std::uint64_t lapic_per_ms; };
Calibration calibrate_timers();
void delay_us(std::uint64_t tsc_per_ms, std::uint64_t us);

// AP start: copy the trampoline to AP_TRAMPOLINE and fill the start table (one entry per AP,
// found by its APIC id, any 32-bit id). set_ap_start fails when the table is full.
void install_trampoline();
[[nodiscard]] bool set_ap_start(std::uint32_t apic_id, std::uint32_t cr3, std::uint64_t boot_block_virt);

// Ends the QEMU run through isa-debug-exit (falls back to halting).
[[noreturn]] void debug_exit(std::uint8_t code);

inline constexpr std::uint8_t vector_timer = 48;
inline constexpr std::uint8_t vector_wakeup = 49;
inline constexpr std::uint8_t vector_spurious = 255;

} // namespace myr::arch

extern "C" [[noreturn]] void switch_to_core(std::uint64_t cr3, void* boot_block);
