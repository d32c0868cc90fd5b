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

void console_attach(ConsoleLock* lock, std::uint32_t core, std::uint32_t node) {
    console_lock = lock;
    FixedBuffer out(prefix, sizeof prefix);
    format_to(out, "[c{}/n{}] ", core, node);
}

void console_line(const char* text, bool prefixed) {
    // Window shared with other cores: the ticket lock below, held for one line.
    std::uint32_t ticket = 0;
    if (console_lock) {
        std::atomic_ref<std::uint32_t> next(console_lock->next);
        std::atomic_ref<std::uint32_t> serving(console_lock->serving);
        ticket = next.fetch_add(1, std::memory_order_relaxed);
        while (serving.load(std::memory_order_acquire) != ticket) arch::pause();
    }
    if (prefixed) arch::serial_write(prefix);
    arch::serial_write(text);
    arch::serial_write("\n");
    if (console_lock) {
        std::atomic_ref<std::uint32_t> serving(console_lock->serving);
        serving.store(ticket + 1, std::memory_order_release);
    }
}

[[noreturn]] void panic_message(const char* msg) {
    emit("panic core={} msg={}", this_core.core, msg);
    arch::debug_exit(static_cast<std::uint8_t>(GuestExit::panic));
}

} // namespace myr::kernel
