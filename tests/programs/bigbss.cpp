// Holds 4 MiB of its own memory (bss), touches every page, exits. Spawned many more times than
// the core's pool could hold at once: passes only if each exit returns all its frames.
#include <myr/user/syscall.hpp>

using namespace myr;

namespace {
volatile std::uint8_t big[4 << 20];  // volatile: the stores must really happen
}

extern "C" int main(std::uint64_t) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < sizeof big; i += 4096) {
        big[i] = static_cast<std::uint8_t>(i >> 12);
        sum += big[i];
    }
    return sum == 0 ? 1 : 0;
}
