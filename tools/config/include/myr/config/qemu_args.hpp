#pragma once
// Config -> QEMU command line. Pure: the host facts that influence it (KVM usable, host cores)
// are resolved beforehand (accel.hpp) and passed in, so every line is unit-testable.
#include <myr/config/config.hpp>

#include <string>
#include <vector>

namespace myr::config {

struct QemuOptions {
    std::string qemu = "qemu-system-x86_64";
    std::string kernel;                      // path given to -kernel
    std::string initrd;                      // multiboot modules; empty: no -initrd
    Accel accel = Accel::tcg;                // resolved: tcg or kvm (automatic is treated as tcg)
    bool tcg_multi = false;                  // resolved thread=multi|single
    bool gdb = false;                        // -s -S: gdb stub on :1234, CPUs halted at start
    std::string serial = "stdio";            // QEMU -serial argument
    std::vector<std::string> extra_append;   // more kernel command-line words (myriadctl --append)
    std::vector<std::string> extra_qemu;     // raw QEMU arguments appended last (myriadctl --qemu-arg)
};

// "timer_hz=N config=NAME <kernel.options...> <repl=...> <[system] words...> <extra...>"
[[nodiscard]] std::string kernel_command_line(const Config& c, const std::vector<std::string>& extra = {});

// argv, starting with the QEMU binary.
[[nodiscard]] std::vector<std::string> qemu_args(const Config& c, const QemuOptions& o);

// One line a shell can paste back (single-quotes words that need it).
[[nodiscard]] std::string shell_join(const std::vector<std::string>& argv);

} // namespace myr::config
