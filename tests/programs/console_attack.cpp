// Attacks on the console input (Sys::console_read) and the console owner's raw output
// (debug_print flag console_text). Two roles (MYRIAD_CONSOLE_ROLE):
//  0 consoleown: the owner (kernel option console=consoleown), on a core other than the boot core.
//    Bad buffers and lengths answer invalid_argument and take no byte from the UART: it prints the
//    prompt "ready> ", the host (myriadctl --input) sends "abc" and Enter, and the owner polls
//    with a bad buffer before every good read: all four bytes must still arrive, in order.
//    A log line after the prompt (mid-line) must start on a line of its own.
//  1 consolethief: any other program: permission_denied for reads (good or bad buffers) and raw writes.
#include "expect.hpp"

#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::test;

namespace {

constexpr std::uint64_t kernel_addr = 0xffffffff80100000ull;
constexpr std::uint64_t direct_map = 0xffff800000100000ull;
constexpr std::uint64_t unmapped = 0x10000000ull;
constexpr std::uint64_t stack_top = 0x0000'7ffe'0000'0000ull;  // nothing is mapped above it

Status read_at(std::uint64_t addr, std::uint64_t len) {
    return syscall6(abi::Sys::console_read, addr, len).status;
}

// Every refused buffer; none may take a byte.
void bad_reads(const char* when) {
    char buf[8];
    const auto here = reinterpret_cast<std::uint64_t>(buf);
    const auto text = reinterpret_cast<std::uint64_t>(&bad_reads);
    struct Case {
        const char* what;
        std::uint64_t addr, len;
    } cases[] = {
        {"kernel buffer", kernel_addr, 8},
        {"direct-map buffer", direct_map, 8},
        {"unmapped buffer", unmapped, 8},
        {"null buffer", 0, 8},
        {"read-only buffer (program text)", text, 8},
        {"buffer running past the stack top", stack_top - 8, 16},
        {"buffer at the end of user space", 0x7fffffffffffull, 1},
        {"non-canonical buffer", 0x8000000000000000ull, 1},
        {"length over console_read_max", here, abi::console_read_max + 1},
        {"length ~0", here, ~0ull},
        {"length wrapping the address space", here, 0ull - here},
    };
    for (const Case& c : cases) {
        const Status s = read_at(c.addr, c.len);
        ++checks;
        if (s != Status::invalid_argument) {
            ++failures;
            print("test-fail: {} ({}): got '{}', want 'invalid_argument'", c.what, when, to_string(s));
        }
    }
}

int owner() {
    char buf[abi::console_read_max];
    {
        const SysResult r = console_read(buf, 0);
        expect("read 0 bytes", r.status, Status::ok);
        ++checks;
        if (r.value != 0) { ++failures; print("test-fail: a 0-byte read returned {}", r.value); }
    }
    bad_reads("before input");
    expect("raw write, bad pointer", console_write(reinterpret_cast<const char*>(kernel_addr), 4), Status::invalid_argument);
    expect("debug_print flags 3", syscall6(abi::Sys::debug_print, reinterpret_cast<std::uint64_t>("x"), 1, 3).status,
           Status::invalid_argument);
    // Raw text: no prefix, no newline added; escape sequences are shown as '?', not obeyed.
    const char raw[] = "consoleown raw line\n\x1b[2Jcleared?\n";
    expect("raw write", console_write(raw, sizeof raw - 1), Status::ok);
    const char prompt[] = "ready> ";
    expect("prompt", console_write(prompt, sizeof prompt - 1), Status::ok);
    // The prompt left the cursor mid-line: a log line now must still start at column 0.
    print("a log line after the prompt");

    // "abc" + Enter from the host; a refused read before each good one must leave them waiting.
    char got[16];
    std::uint64_t n = 0;
    const std::uint64_t t0 = rdtsc();
    while (n < 4 && rdtsc() - t0 < 60ull * 1000 * 1000 * 1000) {  // ~20-60 s of TSC: plenty under TCG
        bad_reads("while input waits");
        const SysResult r = console_read(got + n, sizeof got - n);
        if (r.status != Status::ok) {
            expect("good read", r.status, Status::ok);
            break;
        }
        n += r.value;
        if (r.value == 0) wait_event();
    }
    (void)console_write("\n", 1);  // end the prompt's line in the log
    ++checks;
    if (n != 4 || got[0] != 'a' || got[1] != 'b' || got[2] != 'c' || got[3] != '\r') {
        ++failures;
        print("test-fail: owner read {} bytes, want exactly 'abc' and CR (a refused read took input?)", n);
    }
    if (failures) {
        print("test-fail: consoleown {} of {} checks failed", failures, checks);
        return 1;
    }
    print("test-pass: consoleown {} checks, input intact", checks);
    return 0;
}

int thief() {
    char buf[16];
    expect("read", console_read(buf, sizeof buf).status, Status::permission_denied);
    expect("read 0 bytes", console_read(buf, 0).status, Status::permission_denied);
    expect("read into the kernel", read_at(kernel_addr, 8), Status::permission_denied);
    expect("read, huge length", read_at(reinterpret_cast<std::uint64_t>(buf), ~0ull), Status::permission_denied);
    expect("raw write", console_write("stolen prompt> ", 15), Status::permission_denied);
    expect("plain print still works", debug_print("thief", 5), Status::ok);
    if (failures) {
        print("test-fail: consolethief {} of {} checks failed", failures, checks);
        return 1;
    }
    print("test-pass: consolethief {} checks", checks);
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t) { return MYRIAD_CONSOLE_ROLE == 0 ? owner() : thief(); }
