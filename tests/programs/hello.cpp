// The smallest user program: prints where it runs and exits 0.
#include <myr/user/syscall.hpp>

using namespace myr;

extern "C" int main(std::uint64_t arg) {
    const auto info = user::syscall6(abi::Sys::domain_info);
    user::print("hello from core {} (domain {}), arg {}", info.value >> 32, info.value & 0xffffffff, arg);
    return 0;
}
