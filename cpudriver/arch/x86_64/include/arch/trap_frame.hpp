#pragma once
// The register frame every kernel entry builds (entry.S): general registers, then vector and
// error code, then what the CPU pushes for an interrupt (SDM Vol. 3A §6.14.1). Interrupts and
// exceptions build it on the kernel stack; the syscall path builds the same frame by hand,
// straight into the running domain's save area (its vector and error words unwritten), so the
// same exits (iretq, sysretq) serve all.
// What every entry guarantees before C++ runs, and what every exit to ring 3 enforces:
// docs/user-space.md, "Kernel entry and exit".
#include <arch/entry.h>

#include <cstddef>
#include <cstdint>

namespace myr::arch {

struct TrapFrame {
    std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    std::uint64_t vector, error;
    std::uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(TrapFrame) == 22 * 8);
static_assert(offsetof(TrapFrame, vector) == 15 * 8, "entry.S pushes 15 registers first");
static_assert(sizeof(TrapFrame) == FRAME_SIZE && offsetof(TrapFrame, rip) == FRAME_RIP &&
              offsetof(TrapFrame, cs) == FRAME_CS && offsetof(TrapFrame, rflags) == FRAME_RFLAGS &&
              offsetof(TrapFrame, rsp) == FRAME_RSP && offsetof(TrapFrame, ss) == FRAME_SS);

inline constexpr std::uint64_t user_cs = USER_CS;       // GDT index 4, RPL 3
inline constexpr std::uint64_t user_ss = USER_SS;       // GDT index 3, RPL 3
inline constexpr std::uint64_t rflags_if = 1u << 9;
// RFLAGS bits the kernel needs clear whatever ring 3 left (SDM Vol. 1 §3.4.3): TF (single-step),
// DF (string instructions count down: the compiler's memcpy/memset and struct copies), NT (iretq
// with NT set raises #GP), AC (with SMAP on, AC set lets ring 0 touch user pages).
inline constexpr std::uint64_t rflags_tf = 1u << 8, rflags_df = 1u << 10, rflags_nt = 1u << 14,
                               rflags_ac = 1u << 18;
inline constexpr std::uint64_t rflags_kernel_clear = rflags_tf | rflags_df | rflags_nt | rflags_ac;
static_assert((RFLAGS_SYSCALL_MASK & rflags_kernel_clear) == rflags_kernel_clear);
static_assert((RFLAGS_USER_MASK & ((3u << 12) | (1u << 17) | rflags_if)) == 0, "never IOPL, VM or IF from the frame");

inline bool from_user(const TrapFrame& f) { return (f.cs & 3) == 3; }

// A domain's data segment selectors. Ring 3 may load any it is allowed to (the user data
// selector, or a null one with any RPL); no entry or exit changes them and the kernel never uses
// them (64-bit mode ignores ds and es bases; the kernel has no TLS and no stack protector, so it
// never uses fs or gs), so they stay in the registers and are switched with the x87/SSE state,
// only when a different domain runs (domain.cpp). The bases stay 0: every descriptor has base 0,
// CR4.FSGSBASE is clear and the kernel never writes the FS/GS base MSRs.
// Packed ds | es << 16 | fs << 32 | gs << 48: read and compared as one word on every switch.
struct UserSegments {
    std::uint64_t packed;
    bool operator==(const UserSegments&) const = default;
};
inline UserSegments save_user_segments() {
    // A move from a segment register to a 64-bit register zero-extends (SDM Vol. 2B MOV).
    std::uint64_t v, t;
    asm volatile("mov %%gs, %0\n\tshl $16, %0\n\tmov %%fs, %1\n\tor %1, %0\n\tshl $16, %0\n\t"
                 "mov %%es, %1\n\tor %1, %0\n\tshl $16, %0\n\tmov %%ds, %1\n\tor %1, %0"
                 : "=&r"(v), "=&r"(t));
    return {v};
}
// Loading in ring 0 what ring 3 had loaded cannot fault: a null selector, or the user data
// descriptor, whose DPL 3 ring 0 may load.
inline void load_user_segments(const UserSegments& s) {
    const auto ds = static_cast<std::uint16_t>(s.packed), es = static_cast<std::uint16_t>(s.packed >> 16),
               fs = static_cast<std::uint16_t>(s.packed >> 32), gs = static_cast<std::uint16_t>(s.packed >> 48);
    asm volatile("mov %0, %%ds\n\tmov %1, %%es\n\tmov %2, %%fs\n\tmov %3, %%gs"
                 ::"r"(ds), "r"(es), "r"(fs), "r"(gs) : "memory");
}

} // namespace myr::arch

// Leaves the kernel through the frame (copied to the top of the kernel stack): never returns.
extern "C" [[noreturn]] void resume_frame(const myr::arch::TrapFrame* frame);
// The same through sysretq, for a user frame whose last entry was `syscall` (rcx/r11 are dead).
extern "C" [[noreturn]] void resume_sysret(const myr::arch::TrapFrame* frame);

// Where syscall_entry pushes the next system call's registers (entry.S): the end of a frame.
extern "C" std::uint64_t syscall_save_top;
extern "C" myr::arch::TrapFrame syscall_spare_frame;

namespace myr::arch {
// The running domain's save area: its next system call's registers go straight there. Every
// switch to a domain sets it before leaving the kernel; spare_save_area() when none runs.
inline void set_syscall_save_area(TrapFrame& f) { syscall_save_top = reinterpret_cast<std::uint64_t>(&f + 1); }
inline void spare_save_area() { set_syscall_save_area(syscall_spare_frame); }
inline bool is_syscall_save_area(const TrapFrame& f) { return syscall_save_top == reinterpret_cast<std::uint64_t>(&f + 1); }

// rip must be canonical for sysret (a non-canonical rcx faults in ring 0 on Intel CPUs).
[[noreturn]] inline void resume_user(const TrapFrame& f, bool after_syscall) {
    if (after_syscall && f.rip < 0x0000'7fff'ffff'f000ull) resume_sysret(&f);
    resume_frame(&f);
}
} // namespace myr::arch
