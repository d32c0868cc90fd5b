#pragma once
// The serial console: whole lines, one core at a time. Human lines carry a `[cI/nN] ` prefix;
// machine-readable lines (node, core-up, audit, boot-complete, exception, panic) start at column
// 0 and are documented in README.md. Tools parse them: keep them stable.
#include <myr/format.hpp>
#include <myr/kernel/boot_block.hpp>

namespace myr::kernel {

void console_init();                                 // boot core, before anything prints
// The prefix of core `core`'s log lines ("[cI/nN] "), written by the boot core into each boot block.
void format_console_prefix(char (&out)[24], std::uint32_t core, std::uint32_t node);
// From the hand-over: the shared lock and this core's prefix (copied, no formatting on the way).
void console_attach(ConsoleLock* lock, const char (&prefix)[24]);
void console_line(const char* text, bool prefixed);  // writes text + "\n" under the lock
void console_text(const char* text);                 // writes text (whole lines) under the lock
// The console owner's raw text (prompt, echo): written as it is, no newline added. A log line
// that follows while it left the cursor mid-line starts on a new line.
void console_raw(const char* text);
const char* console_prefix();                        // this core's "[cI/nN] "
// Bytes the serial port has received (up to max, 0 when none), taken under the console lock: any
// core may ask (there is one COM1; port I/O reaches it from every core), one at a time.
std::size_t console_read(char* buf, std::size_t max);

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

// Lines kept for later instead of printed now (the boot report, boot_block.hpp): the same
// formats as log() and emit(), appended with their newlines, printed whole by console_text.
// A line that does not fit is left out whole: a cut machine-readable line would mislead.
class LineBuffer {
public:
    // `prefix`: what log() puts before each line (default: this core's, console_prefix()).
    LineBuffer(char* data, std::size_t capacity, const char* prefix = nullptr)
        : m_data(data), m_capacity(capacity), m_prefix(prefix) {
        if (m_capacity) m_data[0] = '\0';
    }
    template <typename... Args>
    void log(const char* fmt, const Args&... args) { add(true, fmt, args...); }
    template <typename... Args>
    void emit(const char* fmt, const Args&... args) { add(false, fmt, args...); }
    [[nodiscard]] const char* c_str() const { return m_data; }

private:
    template <typename... Args>
    void add(bool prefixed, const char* fmt, const Args&... args) {
        char buf[line_max];
        FixedBuffer line(buf, sizeof buf);
        if (prefixed) line.put(m_prefix ? m_prefix : console_prefix());
        format_to(line, fmt, args...);
        line.put('\n');
        if (m_len + line.size() + 1 > m_capacity) return;
        for (std::size_t i = 0; i < line.size(); ++i) m_data[m_len++] = buf[i];
        m_data[m_len] = '\0';
    }
    char* m_data;
    std::size_t m_capacity;
    const char* m_prefix;
    std::size_t m_len = 0;
};

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
