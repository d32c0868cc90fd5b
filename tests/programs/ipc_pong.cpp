// IPC server: answers every call on the core endpoint with (w0 + 1, w1 * 2, badge, received-cap
// type). It must be its core's server (kernel option serve=ipc_pong): no other domain may receive
// there. Exits when a caller sends w0 = quit.
#include <myr/user/syscall.hpp>

using namespace myr;

namespace {
constexpr std::uint64_t quit = ~0ull;
constexpr std::uint64_t recv_slot = 10;
} // namespace

extern "C" int main(std::uint64_t) {
    user::Message m{};
    m.w[0] = recv_slot;  // ipc_recv: rsi = where a transferred capability may land
    Status s = user::ipc(abi::Sys::ipc_recv, user::cap::endpoint, m, abi::no_cap);
    std::uint64_t served = 0;
    for (;;) {
        if (s != Status::ok) {
            user::print("test-fail: receive failed: {}", to_string(s));
            return 1;
        }
        if (m.w[0] == quit) break;
        std::uint64_t cap_type = 0;
        if (m.w[3] == 1) {  // the caller says it sent a capability
            const auto id = user::cap_identify(recv_slot);
            cap_type = id.status == Status::ok ? id.value >> 32 : 0xdead;
            (void)user::cap_delete(recv_slot);
        }
        const std::uint64_t badge = m.badge;
        m.w[0] = m.w[0] + 1;
        m.w[1] = m.w[1] * 2;
        m.w[2] = badge;
        m.w[3] = cap_type;
        ++served;
        s = user::ipc(abi::Sys::ipc_reply_recv, user::cap::endpoint, m, recv_slot);
    }
    user::print("test-pass: pong served {} calls", served);
    return 0;
}
