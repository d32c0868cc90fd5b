#pragma once
// The serial console: whole lines, one core at a time. Human lines carry a `[cI/nN] ` prefix;
// machine-readable lines (node, core-up, audit, boot-complete, exception, panic) start at column
// 0 and are documented in README.md. Tools parse them: keep them stable.
#include <myr/format.hpp>
#include <myr/kernel/boot_block.hpp>

namespace myr::kernel {

void console_init();                                 // boot core, before anything prints
void console_attach(ConsoleLock* lock, std::uint32_t core, std::uint32_t node);
void console_line(const char* text, bool prefixed);  // writes text + "\n" under the lock

inline constexpr std::size_t line_max = 320;

template <typename... Args>
void log(const char* fmt, const Args&... args) {
    char buf[line_max];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, fmt, args...);
    console_line(out.c_str(), true);
}

template <typename... Args>
void emit(const char* fmt, const Args&... args) {
    char buf[line_max];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, fmt, args...);
    console_line(out.c_str(), false);
}

// Unrecoverable kernel error: prints `panic core=I msg=...` and ends the run with GuestExit::panic.
[[noreturn]] void panic_message(const char* msg);
template <typename... Args>
[[noreturn]] void panic(const char* fmt, const Args&... args) {
    char buf[200];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, fmt, args...);
    panic_message(out.c_str());
}

} // namespace myr::kernel
