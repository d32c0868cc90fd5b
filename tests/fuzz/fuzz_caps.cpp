// libFuzzer target for the capability core: the input is a sequence of 7-byte operations
// (retype, copy, mint, move, remove, revoke, lookup on raw slot indices, see
// myr/caps/harness.hpp); after each one the harness checks every CapTable invariant, that failed
// operations change nothing, and that freed reports are exact. Any violation traps.
#include <myr/caps/harness.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    myr::caps::testing::Harness h;
    if (!h.run(data, size)) {
        std::fprintf(stderr, "caps invariant broken: %s\n", h.error().c_str());
        __builtin_trap();
    }
    return 0;
}
