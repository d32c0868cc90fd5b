#pragma once
// Guest exit status, written by the kernel to QEMU's isa-debug-exit port and decoded by the host
// tools. QEMU exits with (code << 1) | 1. Wire format shared by kernel and host: defined once here.
#include <cstdint>

namespace myr {

inline constexpr std::uint16_t debug_exit_port = 0xf4;  // -device isa-debug-exit,iobase=0xf4,iosize=4

enum class GuestExit : std::uint8_t {
    success = 0x10,     // run plan / self-check finished and passed
    check_failed = 0x11,// the self-check or a run-plan step failed
    panic = 0x12,       // a CPU driver panicked (unrecoverable kernel error)
};

constexpr int qemu_exit_code(GuestExit e) { return (static_cast<int>(e) << 1) | 1; }

// Exit statuses of `myriad run` / `myriadctl run` (the host side), documented in README.
enum class RunExit : int {
    success = 0,
    check_failed = 1,
    panic = 2,
    timeout = 3,        // the host killed QEMU after the config's timeout
    no_status = 4,      // QEMU exited without a guest status (e.g. triple fault with -no-reboot)
    bad_config = 5,     // the config was refused before QEMU started
    qemu_failed = 6,    // QEMU could not be started or refused its command line
};

} // namespace myr
