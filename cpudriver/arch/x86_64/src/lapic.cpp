// Local APIC in xAPIC (MMIO) mode and PIT-based calibration. SDM Vol. 3A ch. 11.
#include <arch/cpu.hpp>
#include <arch/platform.hpp>

namespace myr::arch {
namespace {

// Register offsets, SDM Vol. 3A Table 11-1.
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

volatile std::uint32_t* lapic_base = nullptr;  // per core: this copy's global

std::uint32_t rd(std::uint32_t reg) { return lapic_base[reg / 4]; }
void wr(std::uint32_t reg, std::uint32_t v) { lapic_base[reg / 4] = v; }

void send_icr(std::uint32_t apic_id, std::uint32_t low) {
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

void lapic_init(std::uint64_t phys) {
    // Enable the APIC globally (IA32_APIC_BASE bit 11) at the firmware's address, then softly
    // through the spurious-vector register.
    const std::uint64_t base = rdmsr(msr_apic_base);
    wrmsr(msr_apic_base, base | (1u << 11));
    lapic_base = phys_to_virt<volatile std::uint32_t>(phys);
    wr(reg_svr, 0x100u | vector_spurious);
}

std::uint32_t lapic_id() { return rd(reg_id) >> 24; }
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

// INIT, level assert (SDM Vol. 3A §11.6.1, §9.4.4.1), followed by the de-assert older CPUs need.
void lapic_send_init(std::uint32_t apic_id) {
    send_icr(apic_id, 0x4500);
    send_icr(apic_id, 0x8500);
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
