// Per-core descriptor tables and interrupt entry. Every object here is a global of the image and
// therefore private to the core running this copy. SDM Vol. 3A ch. 3 (segments), ch. 6
// (interrupts), §8.7 (TSS in 64-bit mode).
#include <arch/cpu.hpp>
#include <arch/fpu.hpp>
#include <arch/layout.h>
#include <arch/platform.hpp>
#include <arch/trap_frame.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/elf.hpp>
#include <myr/kernel/percore.hpp>

#include <cstddef>

extern "C" const std::uint64_t isr_stub_table[35];
extern "C" const char trampoline_start[], trampoline_end[];
extern "C" char __image_start[];
extern "C" char boot_stack_top[];
extern "C" void syscall_entry();

namespace myr::arch {
namespace {

struct [[gnu::packed]] Tss {
    std::uint32_t reserved0;
    std::uint64_t rsp[3];
    std::uint64_t reserved1;
    std::uint64_t ist[7];
    std::uint64_t reserved2;
    std::uint16_t reserved3;
    std::uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] IdtEntry {
    std::uint16_t offset_low;
    std::uint16_t selector;
    std::uint8_t ist;
    std::uint8_t type_attr;
    std::uint16_t offset_mid;
    std::uint32_t offset_high;
    std::uint32_t zero;
};
static_assert(sizeof(IdtEntry) == 16);

struct [[gnu::packed]] DescriptorPointer {
    std::uint16_t limit;
    std::uint64_t base;
};

constexpr std::uint16_t sel_kernel_code = 0x08;
constexpr std::uint16_t sel_kernel_data = 0x10;
constexpr std::uint16_t sel_tss = 0x28;

alignas(16) std::uint64_t gdt[7];
alignas(16) Tss tss;
alignas(16) IdtEntry idt[256];
alignas(16) std::uint8_t double_fault_stack[4096];
alignas(16) std::uint8_t nmi_stack[4096];

void set_gate(std::uint8_t vector, std::uint64_t handler, std::uint8_t ist) {
    IdtEntry& e = idt[vector];
    e.offset_low = static_cast<std::uint16_t>(handler);
    e.selector = sel_kernel_code;
    e.ist = ist;
    e.type_attr = 0x8e;  // present, DPL 0, 64-bit interrupt gate
    e.offset_mid = static_cast<std::uint16_t>(handler >> 16);
    e.offset_high = static_cast<std::uint32_t>(handler >> 32);
    e.zero = 0;
}

} // namespace

void load_gdt_tss() {
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull;  // kernel code, 64-bit
    gdt[2] = 0x00CF92000000FFFFull;  // kernel data
    gdt[3] = 0x00CFF2000000FFFFull;  // user data (DPL 3), for sysret later
    gdt[4] = 0x00AFFA000000FFFFull;  // user code, 64-bit (DPL 3)
    tss = {};
    tss.ist[0] = reinterpret_cast<std::uint64_t>(double_fault_stack + sizeof double_fault_stack);
    tss.ist[1] = reinterpret_cast<std::uint64_t>(nmi_stack + sizeof nmi_stack);
    tss.rsp[0] = reinterpret_cast<std::uint64_t>(boot_stack_top);  // entries from ring 3
    tss.iomap_base = sizeof(Tss);  // no I/O bitmap: every port is privileged
    const auto base = reinterpret_cast<std::uint64_t>(&tss);
    const std::uint64_t limit = sizeof(Tss) - 1;
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;
    const DescriptorPointer p{sizeof gdt - 1, reinterpret_cast<std::uint64_t>(gdt)};
    asm volatile("lgdt %0" ::"m"(p));
    asm volatile(
        "pushq %[cs]\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "mov %[ds], %%ds\n"
        "mov %[ds], %%es\n"
        "mov %[ds], %%ss\n"
        :
        : [cs] "i"(sel_kernel_code), [ds] "r"(static_cast<std::uint32_t>(sel_kernel_data))
        : "rax", "memory");
    asm volatile("ltr %0" ::"r"(sel_tss));
}

void load_idt() {
    for (std::uint8_t v = 0; v < 32; ++v)
        set_gate(v, isr_stub_table[v], v == 8 ? 1 : (v == 2 ? 2 : 0));
    set_gate(vector_timer, isr_stub_table[32], 0);
    set_gate(vector_wakeup, isr_stub_table[33], 0);
    set_gate(vector_spurious, isr_stub_table[34], 0);
    const DescriptorPointer p{sizeof idt - 1, reinterpret_cast<std::uint64_t>(idt)};
    asm volatile("lidt %0" ::"m"(p));
}

// SYSCALL/SYSRET set-up (SDM Vol. 3A §5.8.8): STAR selects the kernel (0x08) and user (0x10 + 16 =
// 0x20 code, 0x10 + 8 = 0x18 data) segments; SFMASK clears every flag but bit 1 on entry
// (RFLAGS_SYSCALL_MASK, arch/entry.h). NT in particular: a domain may set it with popf, and a
// system call that ends by switching to another domain leaves through iretq, which raises #GP in
// ring 0 when NT is set.
void enable_syscalls() {
    constexpr std::uint32_t msr_efer = 0xc0000080, msr_star = 0xc0000081, msr_lstar = 0xc0000082,
                            msr_sfmask = 0xc0000084;
    wrmsr(msr_efer, rdmsr(msr_efer) | 1u);  // SCE
    wrmsr(msr_star, (0x10ull << 48) | (0x08ull << 32));
    spare_save_area();  // before any system call can come
    wrmsr(msr_lstar, reinterpret_cast<std::uint64_t>(&syscall_entry));
    wrmsr(msr_sfmask, RFLAGS_SYSCALL_MASK);
}

// x87 and SSE for user domains (SDM Vol. 3A §2.5 control registers, §13.1.3 SSE set-up).
// CR0: EM off (no emulation: x87/SSE instructions execute), MP on (WAIT honours TS), NE on
// (unmasked x87 exceptions raise #MF, vector 16, not the legacy FERR# interrupt), TS off (state
// is switched eagerly, so #NM never happens). CR4: OSFXSR (FXSAVE/FXRSTOR cover the XMM
// registers; SSE instructions enabled), OSXMMEXCPT (unmasked SIMD exceptions raise #XM, vector
// 19, instead of #UD). Both faults from ring 3 kill only the faulting domain (domain.cpp).
bool enable_fpu() {
    constexpr std::uint64_t cr0_mp = 1u << 1, cr0_em = 1u << 2, cr0_ts = 1u << 3, cr0_ne = 1u << 5;
    constexpr std::uint64_t cr4_osfxsr = 1u << 9, cr4_osxmmexcpt = 1u << 10;
    constexpr std::uint32_t cpuid1_edx_fxsr = 1u << 24, cpuid1_edx_sse2 = 1u << 26;
    const CpuidRegs r = cpuid(1);
    // Every x86-64 CPU has both (AMD64 baseline); checked so a strange emulator fails loudly.
    if ((r.edx & cpuid1_edx_fxsr) == 0 || (r.edx & cpuid1_edx_sse2) == 0) return false;
    write_cr0((read_cr0() & ~(cr0_em | cr0_ts)) | cr0_mp | cr0_ne);
    write_cr4(read_cr4() | cr4_osfxsr | cr4_osxmmexcpt);
    return true;
}

// SMEP (CR4 bit 20: ring 0 never executes a user page) and SMAP (CR4 bit 21: ring 0 never reads
// or writes a user page while RFLAGS.AC is clear), where CPUID leaf 7 (EBX bits 7 and 20) has them
// (SDM Vol. 3A §4.6). The kernel never touches a user virtual address: copy_from_user and
// copy_to_user (domain.cpp) walk the domain's page tables and copy through the direct map, which
// is a supervisor mapping. So there is no stac anywhere, and with SMAP on any kernel access to a
// user page is a kernel bug that faults at once. Entry stubs clear AC (and DF) with POPF, on every
// CPU, SMAP or not (entry.S).
SupervisorProtection enable_smep_smap() {
    constexpr std::uint64_t cr4_smep = 1u << 20, cr4_smap = 1u << 21;
    constexpr std::uint32_t cpuid7_ebx_smep = 1u << 7, cpuid7_ebx_smap = 1u << 20;
    SupervisorProtection p{};
    if (cpuid(0).eax < 7) return p;
    const CpuidRegs r = cpuid(7, 0);
    p.smep = (r.ebx & cpuid7_ebx_smep) != 0;
    p.smap = (r.ebx & cpuid7_ebx_smap) != 0;
    // AC is clear here (the kernel never sets it), so turning SMAP on changes nothing the kernel
    // does now.
    write_cr4(read_cr4() | (p.smep ? cr4_smep : 0) | (p.smap ? cr4_smap : 0));
    return p;
}

// The same id the trampoline searches the start table for (trampoline.S).
std::uint32_t initial_apic_id() {
    if (cpuid(0).eax >= 0xb) {
        const CpuidRegs r = cpuid(0xb, 0);
        if (r.ebx != 0) return r.edx;
    }
    return cpuid(1).ebx >> 24;
}

// Package = APIC id >> (bits of the SMT and core levels). CPUID leaf 0xB reports the shift per
// level (SDM Vol. 2A, CPUID EAX=0BH); QEMU fills it in for every CPU model. Without the leaf, the
// legacy count in CPUID.1:EBX[23:16] rounded up to a power of two gives the package width.
std::uint32_t socket_of_this_cpu() {
    const std::uint32_t apic = initial_apic_id();
    if (cpuid(0).eax >= 0xb) {
        std::uint32_t shift = 0;
        for (std::uint32_t sub = 0; sub < 8; ++sub) {
            const CpuidRegs r = cpuid(0xb, sub);
            const std::uint32_t type = (r.ecx >> 8) & 0xff;
            if (type == 0) break;
            shift = r.eax & 0x1f;
        }
        if (shift) return apic >> shift;
    }
    std::uint32_t logical = (cpuid(1).ebx >> 16) & 0xff;
    std::uint32_t shift = 0;
    while ((1u << shift) < logical) ++shift;
    return apic >> shift;
}

void install_trampoline() {
    auto* dst = phys_to_virt<char>(AP_TRAMPOLINE);
    const auto n = static_cast<std::size_t>(trampoline_end - trampoline_start);
    for (std::size_t i = 0; i < n; ++i) dst[i] = trampoline_start[i];
    auto* table = phys_to_virt<std::uint64_t>(AP_TABLE);
    for (std::size_t i = 0; i < AP_TABLE_ENTRIES * AP_TABLE_ENTRY / 8; ++i) table[i] = 0;
}

// The entry for `apic_id` (a new one, or the one it has): ids are 32 bits, so the table is
// searched, not indexed (trampoline.S does the same search).
bool set_ap_start(std::uint32_t apic_id, std::uint32_t cr3, std::uint64_t boot_block_virt) {
    static_assert(AP_TABLE + AP_TABLE_ENTRIES * AP_TABLE_ENTRY <= AP_TRAMPOLINE, "start table runs into the trampoline");
    if (cr3 == 0) return false;  // 0 marks a free entry
    for (std::uint64_t i = 0; i < AP_TABLE_ENTRIES; ++i) {
        auto* e = phys_to_virt<std::uint32_t>(AP_TABLE + AP_TABLE_ENTRY * i);
        if (e[1] != 0 && e[0] != apic_id) continue;
        e[0] = apic_id;
        *phys_to_virt<std::uint64_t>(AP_TABLE + AP_TABLE_ENTRY * i + 8) = boot_block_virt;
        e[1] = cr3;
        return true;
    }
    return false;
}

std::uint64_t kernel_virt_to_phys_original(const void* p) {
    return reinterpret_cast<std::uint64_t>(p) - KERNEL_VBASE;
}

} // namespace myr::arch

namespace {
// What every entry stub must have cleared before any C++ runs (entry.S). Not reachable while the
// stubs are right: a user program that sets these flags (tests/programs/entry_state.cpp) makes
// this line appear on a kernel whose stubs do not clear them, so the qemu tests can see it.
[[gnu::cold]] void entry_flags_left_set(std::uint64_t vector, std::uint64_t rflags) {
    myr::kernel::emit("entry-rflags core={} vector={} rflags={:#x}: left set by the entry stub",
                      myr::kernel::this_core.core, vector, rflags);
    asm volatile("cld" ::: "memory");
}
} // namespace

// Every user rip the kernel returns to was a user instruction's (or the instruction after a
// syscall), so it lies at most at user_space_end: nothing can be mapped above it (map and
// map_table refuse). That keeps it canonical and below the limit resume_user needs for sysret.
static_assert(myr::kernel::user_space_end <= 0x0000'7fff'ffff'f000ull);

// A system call, its registers already in the running domain's save area (entry.S).
// Never returns (on_syscall leaves the kernel); entry.S halts after the call should it ever.
extern "C" void syscall_dispatch(myr::arch::TrapFrame* f) { myr::kernel::on_syscall(*f); }

extern "C" void interrupt_dispatch(myr::arch::TrapFrame* f) {
    using namespace myr;
    const std::uint64_t v = f->vector;
    // The syscall path's flags come from SFMASK (hardware); the others' from isr_common.
    if (const std::uint64_t fl = arch::read_rflags(); fl & arch::rflags_kernel_clear) [[unlikely]]
        entry_flags_left_set(v, fl);
    if (v < 32) {
        if (arch::from_user(*f)) kernel::on_user_exception(*f, arch::read_cr2());
        kernel::on_exception(v, f->error, f->rip, arch::read_cr2());
    }
    if (v == arch::vector_spurious) return;  // no EOI for spurious (SDM §11.9)
    arch::lapic_eoi();  // before the handlers: they may switch to another domain and not return
    if (v == arch::vector_timer) kernel::on_timer_tick(*f);
    else if (v == arch::vector_wakeup) kernel::on_wakeup_ipi(*f);
}
