#pragma once
// System-call stubs for user programs (ABI: myr/abi/syscall.hpp).
#include <myr/abi/syscall.hpp>
#include <myr/format.hpp>

#include <cstdint>

namespace myr::user {

struct SysResult {
    Status status;
    std::uint64_t value;
};

inline SysResult syscall6(abi::Sys n, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                          std::uint64_t a3 = 0, std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
    std::uint64_t rax = static_cast<std::uint64_t>(n);
    register std::uint64_t r10 asm("r10") = a3;
    register std::uint64_t r8 asm("r8") = a4;
    register std::uint64_t r9 asm("r9") = a5;
    std::uint64_t rdx = a2;
    asm volatile("syscall"
                 : "+a"(rax), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9), "+D"(a0), "+S"(a1)
                 :
                 : "rcx", "r11", "memory");
    return {static_cast<Status>(static_cast<std::int32_t>(rax)), rdx};
}

// IPC with the register-only message.
struct Message {
    std::uint64_t badge;
    std::uint64_t w[abi::ipc_words];
    std::uint64_t cap_arrived;  // r9 on return: 1 when a capability came with the message / reply
};
inline Status ipc(abi::Sys n, std::uint64_t cptr, Message& m, std::uint64_t cap = abi::no_cap) {
    std::uint64_t rax = static_cast<std::uint64_t>(n);
    std::uint64_t rdi = cptr, rsi = m.w[0], rdx = m.w[1];
    register std::uint64_t r10 asm("r10") = m.w[2];
    register std::uint64_t r8 asm("r8") = m.w[3];
    register std::uint64_t r9 asm("r9") = cap;
    asm volatile("syscall"
                 : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                 :
                 : "rcx", "r11", "memory");
    m.badge = rdi;
    m.w[0] = rsi;
    m.w[1] = rdx;
    m.w[2] = r10;
    m.w[3] = r8;
    m.cap_arrived = r9;
    return static_cast<Status>(static_cast<std::int32_t>(rax));
}

inline Status debug_print(const char* s, std::uint64_t len) {
    return syscall6(abi::Sys::debug_print, reinterpret_cast<std::uint64_t>(s), len).status;
}
inline void yield() { (void)syscall6(abi::Sys::yield); }

// The serial console (console owner only, kernel option console=NAME): bytes received so far
// (value = how many, 0 when none; never blocks), and raw text out (no prefix, no newline added).
inline SysResult console_read(char* buf, std::uint64_t len) {
    return syscall6(abi::Sys::console_read, reinterpret_cast<std::uint64_t>(buf), len);
}
inline Status console_write(const char* s, std::uint64_t len) {
    return syscall6(abi::Sys::debug_print, reinterpret_cast<std::uint64_t>(s), len, abi::console_text).status;
}
[[noreturn]] inline void exit(std::uint64_t code) {
    (void)syscall6(abi::Sys::exit, code);
    __builtin_unreachable();
}

// A machine-readable line at column 0 of the log (monitors only: needs the kernel cap).
template <typename... Args>
void emit(const char* fmt, const Args&... args) {
    char buf[256];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, fmt, args...);
    (void)syscall6(abi::Sys::debug_print, reinterpret_cast<std::uint64_t>(out.c_str()), out.size(), 1);
}

template <typename... Args>
void print(const char* fmt, const Args&... args) {
    char buf[256];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, fmt, args...);
    (void)debug_print(out.c_str(), out.size());
}

} // namespace myr::user

namespace myr::user {

// Capability slots every domain starts with (cpudriver/src/cspace.hpp).
namespace cap {
inline constexpr std::uint64_t self_cnode = 1;
inline constexpr std::uint64_t self_domain = abi::self_domain_slot;  // domain cap to itself (read, write)
inline constexpr std::uint64_t ram = 3;
inline constexpr std::uint64_t endpoint = abi::core_endpoint_slot;  // send + grant; receive only for serve= programs
inline constexpr std::uint64_t monitor = 7;  // send + grant to this core's monitor (myr/user/bind.hpp)
inline constexpr std::uint64_t first_free = 8;
inline constexpr std::uint64_t slots = 64;
} // namespace cap

// Capability types and rights (cpudriver/caps/include/myr/caps/cap.hpp; values are the ABI).
namespace captype {
inline constexpr std::uint64_t untyped = 1, frame = 2, page_table = 3, endpoint = 5, notification = 6, domain = 7,
                               channel_memory = 10;
}
namespace rights {
inline constexpr std::uint64_t read = 1, write = 2, execute = 4, grant = 8, send = 16, receive = 32, retype = 64,
                               map = 128;
}

inline SysResult cap_identify(std::uint64_t cptr) { return syscall6(abi::Sys::cap_identify, cptr); }
inline Status cap_copy(std::uint64_t src, std::uint64_t dest, std::uint64_t r) {
    return syscall6(abi::Sys::cap_copy, src, dest, r).status;
}
inline Status cap_mint(std::uint64_t src, std::uint64_t dest, std::uint64_t r, std::uint64_t badge) {
    return syscall6(abi::Sys::cap_mint, src, dest, r, badge).status;
}
inline Status cap_delete(std::uint64_t cptr) { return syscall6(abi::Sys::cap_delete, cptr).status; }
inline Status cap_revoke(std::uint64_t cptr) { return syscall6(abi::Sys::cap_revoke, cptr).status; }
inline Status retype(std::uint64_t untyped, std::uint64_t type, std::uint64_t bits, std::uint64_t dest,
                     std::uint64_t count) {
    return syscall6(abi::Sys::retype, untyped, type, bits, dest, count).status;
}
inline Status map(std::uint64_t frame, std::uint64_t vaddr, std::uint64_t flags) {
    return syscall6(abi::Sys::map, frame, vaddr, flags).status;
}
inline Status unmap(std::uint64_t frame) { return syscall6(abi::Sys::unmap, frame).status; }
// Installs a page table (retyped with size_bits = level: 1 PT, 2 PD, 3 PDPT) at the level for
// vaddr in the caller's own address space. map_with_tables (myr/user/vspace.hpp) does it for you.
inline SysResult map_table(std::uint64_t pt, std::uint64_t vaddr, std::uint64_t level) {
    return syscall6(abi::Sys::map_table, pt, vaddr, level);
}
inline Status unmap_table(std::uint64_t pt) { return syscall6(abi::Sys::unmap_table, pt).status; }
// Sleep until an IPI reaches this core or the next timer tick.
inline void wait_event() { (void)syscall6(abi::Sys::wait_event); }
// This core's timer ticks (timer_hz per second, 100 by default).
inline std::uint64_t ticks() { return syscall6(abi::Sys::ticks).value; }
// A time limit for loops that poll and sleep in wait_event, in timer ticks. Counted in ticks, not
// in wake-ups: wait_event returns at once for a wake-up that came while the domain ran, so a core
// busy with IPIs (doorbells, other domains' monitor calls) would use up a count of wake-ups long
// before its time.
// The clock starts at the first passed(), so a loop that finishes without waiting (an RPC answered
// during its spin) never asks for the time: no system call on the fast path.
class Deadline {
public:
    explicit Deadline(std::uint64_t n) : m_n(n) {}
    [[nodiscard]] bool passed() {
        if (!m_started) {
            m_started = true;
            m_end = ticks() + m_n;
            return m_n == 0;
        }
        return ticks() >= m_end;
    }

private:
    std::uint64_t m_n, m_end = 0;
    bool m_started = false;
};
// value: abi::DomainStatus in the low 32 bits, the exit code / vector / killer in the high 32.
inline SysResult domain_status(std::uint64_t domain) { return syscall6(abi::Sys::domain_status, domain); }
inline Status domain_kill(std::uint64_t domain) { return syscall6(abi::Sys::domain_kill, domain).status; }

// A tiny deterministic generator for test programs (xorshift64*).
struct Rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545f4914f6cdd1dull;
    }
};

inline std::uint64_t rdtsc() {
    std::uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

} // namespace myr::user
