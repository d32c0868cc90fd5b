#pragma once
// What the CPU driver's boot path takes, shared with the host tools that build its input.
#include <cstddef>

namespace myr {

// The kernel command line, with its terminating NUL (the boot loader puts the kernel's path and a
// space in front of what `-append` gives). A longer one is refused at boot (`multiboot information
// unusable: overflow`); the config loader and `myriadctl run` refuse it before that.
inline constexpr std::size_t kernel_cmdline_bytes = 4096;
// What a config's own words may take of it: the rest is for the kernel's path and --append words.
inline constexpr std::size_t config_cmdline_bytes = 3584;

} // namespace myr
