// Hostile CPU state at kernel entry: each variant (MYRIAD_ENTRY, see CMakeLists.txt) leaves ring 3
// with state a well-behaved program never has, and lets the kernel find it on every entry path:
// timer ticks and wake-up IPIs while it spins, system calls, and a fault. The kernel must
// establish its own assumptions whatever it finds (docs/user-space.md, "Kernel entry and exit"),
// keep this domain's state as the domain left it, and never let it reach another domain or the
// kernel.
//
//   df      std, then spin through ticks and yields: the kernel's struct copies (rep movs) must
//           not run backwards (on the unfixed kernel the tick's frame copy wrote below the
//           domain's save area, over the domain table: the next remote spawn to the core failed)
//   df_ud   std, then #UD: the fault path (report, free the domain) with DF set
//   ac      AC set (what SMAP reads as "user access allowed"), then spin through ticks and yields
//   nt      NT set, then yield to a sibling that was preempted: an iretq with NT set in the
//           kernel raises #GP in ring 0
//   segs    ds/es/fs/gs loaded with odd legal selectors, two instances on one core with
//           different values: each must get its own back after every tick and system call
//   tf      single-step (TF) set right before a system call: #DB must come in ring 3 after sysret
//           (the domain is killed with vector 1), never in the kernel
//   int48   `int $48` (the timer vector): refused by the gate's DPL, #GP with the IDT error code
//   sysenter  not an entry of this kernel: #GP or #UD, never a kernel entry
//   rip_end a system call in the last bytes of the canonical user half would leave rcx
//           non-canonical for sysret/iretq; the kernel must never let a page be mapped there
#include <myr/user/syscall.hpp>

#include <cstdint>

using namespace myr;

// Operands of the spin live in globals named in the asm text: the asm block pushes onto the stack,
// so no operand may be addressed through %rsp (it reserves the red zone, which user code has, first).
extern "C" {
std::uint64_t spin_cycles, spin_threshold, spin_gaps, spin_yields, flags_inside, sentinels[4];
}

namespace {

constexpr std::uint64_t flag_tf = 1u << 8, flag_df = 1u << 10, flag_nt = 1u << 14, flag_ac = 1u << 18;

constexpr std::uint64_t s12 = 0x1212'5a5a'0f0f'1212, s13 = 0x1313'a5a5'f0f0'1313, s14 = 0x1414'c3c3'3c3c'1414,
                        s15 = 0x1515'9696'6969'1515;

// Sets `flags` in RFLAGS, then spins for spin_cycles TSC cycles with sentinels in r12-r15, making
// a yield system call every 64Ki iterations and counting TSC gaps over spin_threshold (ticks,
// other domains' slices). Everything between setting and clearing the flags is in this one asm
// block: the compiler assumes DF clear around its own code.
template <std::uint64_t Flags>
void spin_with_flags() {
    asm volatile(
        "sub $128, %%rsp\n\t"
        "pushfq\n\t"
        "orq %[set], (%%rsp)\n\t"
        "popfq\n\t"
        "movabs %[v12], %%r12\n\t"
        "movabs %[v13], %%r13\n\t"
        "movabs %[v14], %%r14\n\t"
        "movabs %[v15], %%r15\n\t"
        "rdtsc\n\t"
        "shl $32, %%rdx\n\t"
        "or %%rdx, %%rax\n\t"
        "mov %%rax, %%r8\n\t"  // start
        "mov %%rax, %%r9\n\t"  // previous sample
        "xor %%r10d, %%r10d\n\t"
        "1:\n\t"
        "inc %%r10\n\t"
        "test $0xffff, %%r10d\n\t"
        "jnz 2f\n\t"
        "mov %[yield], %%eax\n\t"
        "syscall\n\t"
        "incq spin_yields(%%rip)\n\t"
        "2:\n\t"
        "rdtsc\n\t"
        "shl $32, %%rdx\n\t"
        "or %%rdx, %%rax\n\t"
        "mov %%rax, %%rcx\n\t"
        "sub %%r9, %%rcx\n\t"
        "mov %%rax, %%r9\n\t"
        "cmp spin_threshold(%%rip), %%rcx\n\t"
        "jb 3f\n\t"
        "incq spin_gaps(%%rip)\n\t"
        "3:\n\t"
        "sub %%r8, %%rax\n\t"
        "cmp spin_cycles(%%rip), %%rax\n\t"
        "jb 1b\n\t"
        "pushfq\n\t"
        "popq flags_inside(%%rip)\n\t"
        "pushfq\n\t"
        "andq %[clear], (%%rsp)\n\t"
        "popfq\n\t"
        "add $128, %%rsp\n\t"
        "mov %%r12, sentinels(%%rip)\n\t"
        "mov %%r13, sentinels+8(%%rip)\n\t"
        "mov %%r14, sentinels+16(%%rip)\n\t"
        "mov %%r15, sentinels+24(%%rip)\n\t"
        :
        : [set] "i"(Flags), [clear] "i"(~Flags), [yield] "i"(static_cast<std::uint32_t>(abi::Sys::yield)),
          [v12] "i"(s12), [v13] "i"(s13), [v14] "i"(s14), [v15] "i"(s15)
        : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cc", "memory");
}

int failures = 0;

template <typename... Args>
void fail(const char* fmt, const Args&... args) {
    ++failures;
    char buf[200];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, fmt, args...);
    user::print("test-fail: {}", out.c_str());
}

// One spin with `Flags` set: the flags must still be set when the spin ends (they are the
// domain's own state: the kernel keeps them through every entry and exit), and r12-r15 intact.
template <std::uint64_t Flags>
void spin_and_check(const char* what) {
    // About 0.1 s of TSC at 2-3 GHz: with timer_hz=1000 that is dozens of ticks in ring 3.
    spin_cycles = 300'000'000;
    spin_threshold = 20'000;
    spin_gaps = spin_yields = 0;
    spin_with_flags<Flags>();
    if ((flags_inside & Flags) != Flags) fail("{}: rflags {:#x} lost {:#x} on the way", what, flags_inside, Flags);
    if (sentinels[0] != s12 || sentinels[1] != s13 || sentinels[2] != s14 || sentinels[3] != s15)
        fail("{}: registers changed under the domain: r12={:#x} r13={:#x} r14={:#x} r15={:#x}", what, sentinels[0],
             sentinels[1], sentinels[2], sentinels[3]);
}

[[maybe_unused]] std::uint64_t serial() { return user::syscall6(abi::Sys::domain_info).value & 0xffffffff; }

struct Selectors {
    std::uint16_t ds, es, fs, gs;
};

[[maybe_unused]] Selectors read_selectors() {
    Selectors s{};
    asm volatile("mov %%ds, %0\n\tmov %%es, %1\n\tmov %%fs, %2\n\tmov %%gs, %3"
                 : "=r"(s.ds), "=r"(s.es), "=r"(s.fs), "=r"(s.gs));
    return s;
}

[[maybe_unused]] void load_selectors(const Selectors& s) {
    asm volatile("mov %0, %%ds\n\tmov %1, %%es\n\tmov %2, %%fs\n\tmov %3, %%gs"
                 ::"r"(s.ds), "r"(s.es), "r"(s.fs), "r"(s.gs) : "memory");
}

} // namespace

extern "C" int main(std::uint64_t) {
#if MYRIAD_ENTRY == 1  // df
    spin_and_check<flag_df>("df");
    user::print("test-pass: entry_df domain {} kept DF through {} gaps, {} yields", serial(), spin_gaps, spin_yields);
#elif MYRIAD_ENTRY == 2  // df_ud
    user::print("about to fault with DF set");
    asm volatile("std\n\tud2");
#elif MYRIAD_ENTRY == 3  // ac
    spin_and_check<flag_ac>("ac");
    user::print("test-pass: entry_ac domain {} kept AC through {} gaps, {} yields", serial(), spin_gaps, spin_yields);
#elif MYRIAD_ENTRY == 4  // nt
    spin_and_check<flag_nt>("nt");
    user::print("test-pass: entry_nt domain {} kept NT through {} gaps, {} yields", serial(), spin_gaps, spin_yields);
#elif MYRIAD_ENTRY == 5  // segs
    // Odd instances and even ones load different legal selectors: 0x1b is the user data segment,
    // 0-3 are null selectors (any RPL).
    const std::uint64_t me = serial();
    const Selectors mine = me % 2 ? Selectors{0x1b, 0, 3, 0x1b} : Selectors{0, 0x1b, 0x1b, 1};
    std::uint64_t rounds = 0, gaps = 0;
    const std::uint64_t start = user::rdtsc();
    while (user::rdtsc() - start < 600'000'000 || rounds < 8) {
        load_selectors(mine);
        // A tick or a yield in here hands the core to the sibling, which loads its own.
        spin_cycles = 20'000'000;
        spin_threshold = 20'000;
        spin_gaps = spin_yields = 0;
        spin_with_flags<0>();
        user::yield();
        gaps += spin_gaps;
        const Selectors now = read_selectors();
        // Null selectors may read back with RPL 0 on some CPUs (the RPL of a null is ignored).
        const auto same = [](std::uint16_t a, std::uint16_t b) { return a == b || (a < 4 && b < 4); };
        if (!same(now.ds, mine.ds) || !same(now.es, mine.es) || !same(now.fs, mine.fs) || !same(now.gs, mine.gs)) {
            load_selectors(Selectors{0, 0, 0, 0});
            fail("segs: domain {} round {}: ds={:#x} es={:#x} fs={:#x} gs={:#x}, loaded {:#x} {:#x} {:#x} {:#x}", me,
                 rounds, now.ds, now.es, now.fs, now.gs, mine.ds, mine.es, mine.fs, mine.gs);
            break;
        }
        ++rounds;
    }
    if (failures == 0)
        user::print("test-pass: entry_segs domain {} kept ds/es/fs/gs through {} rounds, {} gaps", me, rounds, gaps);
#elif MYRIAD_ENTRY == 6  // tf
    user::print("about to single-step into a system call");
    std::uint64_t rax = static_cast<std::uint64_t>(abi::Sys::domain_info);
    asm volatile("sub $128, %%rsp\n\t"
                 "pushfq\n\t"
                 "orq %[tf], (%%rsp)\n\t"
                 "popfq\n\t"
                 "syscall\n\t"
                 "nop\n\t"
                 "add $128, %%rsp"
                 : "+a"(rax)
                 : [tf] "i"(flag_tf)
                 : "rcx", "rdx", "r11", "memory", "cc");
#elif MYRIAD_ENTRY == 7  // int48
    user::print("about to raise the timer vector by hand");
    asm volatile("int $48");
#elif MYRIAD_ENTRY == 8  // sysenter
    user::print("about to try sysenter");
    asm volatile("sysenter" ::: "memory");
#elif MYRIAD_ENTRY == 9  // rip_end
    // The last page of the lower canonical half: a 2-byte syscall at its end leaves
    // rip = 0x800000000000 (non-canonical), which sysret and iretq would fault on in ring 0.
    constexpr std::uint64_t last_page = 0x0000'7fff'ffff'f000ull;
    constexpr std::uint64_t frame = 20;
    if (user::retype(user::cap::ram, user::captype::frame, 12, frame, 1) != Status::ok) {
        fail("rip_end: no frame to try with");
        return 1;
    }
    const Status st = user::map(frame, last_page, abi::map_write | abi::map_exec);
    if (st != Status::ok) {
        user::print("test-pass: entry_rip_end: the last user page cannot be mapped ({})", to_string(st));
        return 0;
    }
    // Should the kernel ever allow it: the kernel must kill this domain, not fault itself.
    auto* code = reinterpret_cast<volatile std::uint8_t*>(last_page);
    for (unsigned i = 0; i < 4094; ++i) code[i] = 0x90;  // nop slide
    code[4094] = 0x0f;
    code[4095] = 0x05;  // syscall
    user::print("the last user page is mapped: system call at its end");
    asm volatile("jmp *%0" ::"r"(last_page), "a"(static_cast<std::uint64_t>(abi::Sys::domain_info)) : "memory");
#else
#error "MYRIAD_ENTRY must name a variant"
#endif
#if MYRIAD_ENTRY == 2 || (MYRIAD_ENTRY >= 6 && MYRIAD_ENTRY <= 8)
    fail("survived the attack");
    return 1;
#else
    return failures ? 1 : 0;
#endif
}
