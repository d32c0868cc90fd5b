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

// One word of the kernel command line and where it came from, for messages: "config" (timer_hz=,
// config=), "kernel.options[I]", "replication", "system" ("system.plan" for its plan=), "--append".
struct KernelWord {
    std::string text;
    std::string from;
};

// "timer_hz=N config=NAME <kernel.options...> <repl=...> <[system] words...> <extra...>": the
// words in that order. Every path to the kernel's command line starts here, so the checks of
// kernel_word_problems see what the kernel will see.
[[nodiscard]] std::vector<KernelWord> kernel_command_words(const Config& c, const std::vector<std::string>& extra = {});
[[nodiscard]] std::string kernel_command_line(const Config& c, const std::vector<std::string>& extra = {});

// Problems with those words, each naming where its word came from (from: a config key, or
// "--append"); none when all is well. A plan= word longer than max_plan: the monitor reads its
// plan into 1 024 bytes and runs its default plan, without a word, in place of one that does not
// fit; max_plan keeps a margin below that. A repl= word longer than max_repl: the monitor reads
// the replication settings into 512 bytes and would run every object's default protocol. The config loader asks with no extra
// words; `myriadctl run` asks again with its --append words.
struct KernelWordProblem {
    std::string from;
    std::string problem;
};
[[nodiscard]] std::vector<KernelWordProblem> kernel_word_problems(const Config& c,
                                                                  const std::vector<std::string>& extra = {});

// argv, starting with the QEMU binary.
[[nodiscard]] std::vector<std::string> qemu_args(const Config& c, const QemuOptions& o);

// One line a shell can paste back (single-quotes words that need it).
[[nodiscard]] std::string shell_join(const std::vector<std::string>& argv);

} // namespace myr::config
