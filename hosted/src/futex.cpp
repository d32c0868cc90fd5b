#include <myr/hosted/futex.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace myr::hosted {

namespace {
// The doorbell word is a lock-free 32-bit atomic (static_assert in channel_layout.hpp), which
// has the representation of a plain uint32_t: what the futex syscall reads.
std::uint32_t* futex_address(std::atomic<std::uint32_t>& word) {
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
    return reinterpret_cast<std::uint32_t*>(&word);
}
} // namespace

void futex_block(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
    // Channels live in one process: the private futex avoids the shared-mapping hash lookup.
    syscall(SYS_futex, futex_address(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word) {
    syscall(SYS_futex, futex_address(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

urpc::WakeHook futex_wake_hook() {
    return urpc::WakeHook{[](std::atomic<std::uint32_t>& word, void*) { futex_wake(word); },
                          nullptr};
}

} // namespace myr::hosted
