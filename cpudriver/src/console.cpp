#include <arch/cpu.hpp>
#include <arch/platform.hpp>
#include <myr/exit_codes.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/percore.hpp>

#include <atomic>

namespace myr::kernel {
namespace {

// This core's view of the console (per core: a global of its own image copy).
ConsoleLock* console_lock = nullptr;
char prefix[24];  // "[cI/nN] "; empty on the boot core until it runs its own copy

} // namespace

void console_init() { arch::serial_init(); }

void format_console_prefix(char (&out)[24], std::uint32_t core, std::uint32_t node) {
    FixedBuffer buf(out, sizeof out);
    format_to(buf, "[c{}/n{}] ", core, node);
}

void console_attach(ConsoleLock* lock, const char (&from)[24]) {
    console_lock = lock;
    for (std::size_t i = 0; i < sizeof prefix; ++i) prefix[i] = from[i];
    prefix[sizeof prefix - 1] = '\0';
}

namespace {
void lock() {
    if (!console_lock) return;
    std::atomic_ref<std::uint32_t> held(console_lock->held);
    // Test and test-and-set: spin on a read (the line stays shared) and try the exchange only
    // when the lock looks free. Whoever runs first when it is released takes it.
    while (held.exchange(1, std::memory_order_acquire) != 0)
        while (held.load(std::memory_order_relaxed) != 0) arch::pause();
}
void unlock() {
    if (console_lock) std::atomic_ref<std::uint32_t>(console_lock->held).store(0, std::memory_order_release);
}

// Called under the lock before whole lines: a prompt or half-typed line of the console owner
// must not carry a log line away from column 0 (where tools look for the machine-readable ones).
void new_line_if_raw() {
    if (console_lock && console_lock->mid_line) {
        arch::serial_write("\n");
        console_lock->mid_line = 0;
    }
}
} // namespace

void console_line(const char* text, bool prefixed) {
    lock();
    new_line_if_raw();
    if (prefixed) arch::serial_write(prefix);
    arch::serial_write(text);
    arch::serial_write("\n");
    unlock();
}

void console_text(const char* text) {
    lock();
    new_line_if_raw();
    arch::serial_write(text);
    unlock();
}

void console_raw(const char* text) {
    if (!*text) return;
    lock();
    arch::serial_write(text);
    std::size_t n = 0;
    while (text[n]) ++n;
    if (console_lock) console_lock->mid_line = text[n - 1] != '\n';
    unlock();
}

const char* console_prefix() { return prefix; }

std::size_t console_read(char* buf, std::size_t max) {
    lock();
    const std::size_t n = arch::serial_read(buf, max);
    unlock();
    return n;
}

[[noreturn]] void panic_message(const char* msg) {
    emit("panic core={} msg={}", this_core.core, msg);
    arch::debug_exit(static_cast<std::uint8_t>(GuestExit::panic));
}

} // namespace myr::kernel
