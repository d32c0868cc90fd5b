// Local APIC, in x2APIC mode (MSRs) when the CPU has it, else xAPIC (MMIO), and PIT-based
// calibration. SDM Vol. 3A ch. 11 (§11.12 x2APIC). x2APIC ids are 32 bits wide: machines with
// more than 255 CPUs (APIC ids above 254) need it; xAPIC ids are 8 bits.
#include <arch/cpu.hpp>
#include <arch/platform.hpp>

namespace myr::arch {
namespace {

// Register offsets, SDM Vol. 3A Table 11-1. In x2APIC mode register R is MSR 0x800 + R/16
// (Table 11-6).
constexpr std::uint32_t reg_id = 0x20;
constexpr std::uint32_t reg_eoi = 0xb0;
constexpr std::uint32_t reg_svr = 0xf0;
constexpr std::uint32_t reg_icr_low = 0x300;
constexpr std::uint32_t reg_icr_high = 0x310;
constexpr std::uint32_t reg_lvt_timer = 0x320;
constexpr std::uint32_t reg_timer_initial = 0x380;
constexpr std::uint32_t reg_timer_current = 0x390;
constexpr std::uint32_t reg_timer_divide = 0x3e0;
constexpr std::uint32_t icr_pending = 1u << 12;
constexpr std::uint32_t msr_apic_base = 0x1b;
constexpr std::uint64_t apic_base_enable = 1u << 11;
constexpr std::uint64_t apic_base_x2apic = 1u << 10;
constexpr std::uint32_t msr_x2apic_first = 0x800;
constexpr std::uint32_t cpuid1_ecx_x2apic = 1u << 21;

// Per core: this copy's globals.
volatile std::uint32_t* lapic_base = nullptr;
bool x2apic = false;

std::uint32_t rd(std::uint32_t reg) {
    if (x2apic) return static_cast<std::uint32_t>(rdmsr(msr_x2apic_first + reg / 16));
    return lapic_base[reg / 4];
}
void wr(std::uint32_t reg, std::uint32_t v) {
    if (x2apic) wrmsr(msr_x2apic_first + reg / 16, v);
    else lapic_base[reg / 4] = v;
}

// x2APIC: one 64-bit ICR MSR, destination in bits 63:32, no delivery-status bit to wait on
// (§11.12.9). xAPIC: destination in ICR high bits 31:24, then the low half sends.
void send_icr(std::uint32_t apic_id, std::uint32_t low) {
    if (x2apic) {
        wrmsr(msr_x2apic_first + reg_icr_low / 16, (std::uint64_t{apic_id} << 32) | low);
        return;
    }
    while (rd(reg_icr_low) & icr_pending) pause();
    wr(reg_icr_high, apic_id << 24);
    wr(reg_icr_low, low);
    while (rd(reg_icr_low) & icr_pending) pause();
}

// PIT channel 2 one-shot of `ms` milliseconds, gated through port 0x61 (8254 data sheet; the
// classic calibration loop). Returns when the output goes high.
void pit_wait_ms(std::uint32_t ms) {
    const std::uint32_t count = 1193182u * ms / 1000u;
    outb(0x61, static_cast<std::uint8_t>((inb(0x61) & 0xfd) | 0x01));  // gate on, speaker off
    outb(0x43, 0xb0);                                                   // ch2, lo/hi, mode 0
    outb(0x42, static_cast<std::uint8_t>(count & 0xff));
    outb(0x42, static_cast<std::uint8_t>(count >> 8));
    const std::uint8_t gate = inb(0x61);
    outb(0x61, static_cast<std::uint8_t>(gate & 0xfe));  // restart the count: gate low, high
    outb(0x61, static_cast<std::uint8_t>(gate | 0x01));
    while (!(inb(0x61) & 0x20)) pause();
}

} // namespace

// The legacy 8259 PICs still deliver the BIOS's PIT interrupts at vectors 8-15, where they would
// look like CPU exceptions. Remap them to 0x20-0x2f and mask every line (8259A data sheet ICWs).
void disable_legacy_pic() {
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, 0x20);
    outb(0xa1, 0x28);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

bool cpu_has_x2apic() { return (cpuid(1).ecx & cpuid1_ecx_x2apic) != 0; }

void lapic_init(std::uint64_t phys) {
    // Enable the APIC globally (IA32_APIC_BASE bit 11) at the firmware's address, then x2APIC
    // (bit 10) when the CPU has it: the only legal way there is through xAPIC mode (§11.12.5,
    // Figure 11-27), and a core already in x2APIC mode must not be sent back. Every core decides
    // the same way (same CPUID), so IPIs never cross modes. Then enable it softly through the
    // spurious-vector register.
    const bool use_x2apic = cpu_has_x2apic();
    const std::uint64_t base = rdmsr(msr_apic_base);
    if ((base & apic_base_x2apic) == 0) {
        wrmsr(msr_apic_base, base | apic_base_enable);
        if (use_x2apic) wrmsr(msr_apic_base, base | apic_base_enable | apic_base_x2apic);
    }
    x2apic = use_x2apic || (base & apic_base_x2apic) != 0;
    lapic_base = phys_to_virt<volatile std::uint32_t>(phys);
    wr(reg_svr, 0x100u | vector_spurious);
}

bool lapic_x2apic_mode() { return x2apic; }

// xAPIC: the id is in bits 31:24; x2APIC: the whole register (§11.12.5.1).
std::uint32_t lapic_id() { return x2apic ? rd(reg_id) : rd(reg_id) >> 24; }
void lapic_eoi() { wr(reg_eoi, 0); }

void lapic_timer_periodic(std::uint64_t ticks_per_ms, std::uint32_t hz) {
    wr(reg_timer_divide, 0x3);  // divide by 16 (the calibration used the same)
    wr(reg_lvt_timer, (1u << 17) | vector_timer);  // periodic
    std::uint64_t initial = ticks_per_ms * 1000u / hz;
    if (initial == 0) initial = 1;
    if (initial > 0xffffffffu) initial = 0xffffffffu;
    wr(reg_timer_initial, static_cast<std::uint32_t>(initial));
}

void lapic_timer_stop() {
    wr(reg_timer_initial, 0);  // a zero initial count stops the timer (SDM Vol. 3A §11.5.4)
    wr(reg_lvt_timer, (1u << 16) | vector_timer);  // and masked, in case one was in flight
}

void lapic_send_ipi(std::uint32_t apic_id, std::uint8_t vector) { send_icr(apic_id, 0x4000u | vector); }

// INIT, level assert (SDM Vol. 3A §11.6.1, §9.4.4.1), followed by the de-assert older CPUs need
// (x2APIC mode has no INIT level de-assert: §11.12.9).
void lapic_send_init(std::uint32_t apic_id) {
    send_icr(apic_id, 0x4500);
    if (!x2apic) send_icr(apic_id, 0x8500);
}
void lapic_send_sipi(std::uint32_t apic_id, std::uint8_t page) { send_icr(apic_id, 0x4600u | page); }

Calibration calibrate_timers() {
    wr(reg_timer_divide, 0x3);
    wr(reg_lvt_timer, 1u << 16);  // masked one-shot
    wr(reg_timer_initial, 0xffffffffu);
    const std::uint64_t t0 = rdtsc();
    constexpr std::uint32_t ms = 10;
    pit_wait_ms(ms);
    const std::uint64_t t1 = rdtsc();
    const std::uint32_t left = rd(reg_timer_current);
    wr(reg_timer_initial, 0);
    return {(t1 - t0) / ms, (0xffffffffu - left) / ms};
}

void delay_us(std::uint64_t tsc_per_ms, std::uint64_t us) {
    const std::uint64_t end = rdtsc() + tsc_per_ms * us / 1000u;
    while (rdtsc() < end) pause();
}

} // namespace myr::arch
