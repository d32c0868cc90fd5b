// A well-behaved neighbour: yields and prints for a while, then checks its own memory is intact
// (a faulting domain beside it must not have disturbed it) and exits 0.
#include <myr/user/syscall.hpp>

using namespace myr;

namespace {
std::uint64_t pattern[512];
}

extern "C" int main(std::uint64_t arg) {
    for (std::uint64_t i = 0; i < 512; ++i) pattern[i] = i * 0x9e3779b97f4a7c15ull ^ arg;
    for (int round = 0; round < 20; ++round) user::yield();
    for (std::uint64_t i = 0; i < 512; ++i) {
        if (pattern[i] != (i * 0x9e3779b97f4a7c15ull ^ arg)) {
            user::print("test-fail: memory changed at {}", i);
            return 1;
        }
    }
    user::print("test-pass: worker intact after 20 rounds");
    return 0;
}
