// IPC client: calls the pong server on its own core many times and checks every reply; sends
// one endpoint capability along (created from its own RAM) and checks the server saw it; then
// tells the server to quit. Measures the call round trip in TSC ticks.
#include <myr/user/syscall.hpp>

using namespace myr;

extern "C" int main(std::uint64_t) {
    const auto info = user::syscall6(abi::Sys::domain_info);
    const std::uint64_t my_serial = info.value & 0xffffffff;
    constexpr std::uint64_t calls = 2000;
    const std::uint64_t t0 = user::rdtsc();
    for (std::uint64_t i = 0; i < calls; ++i) {
        user::Message m{};
        m.w[0] = i;
        m.w[1] = i + 7;
        const Status s = user::ipc(abi::Sys::ipc_call, user::cap::endpoint, m);
        if (s != Status::ok || m.w[0] != i + 1 || m.w[1] != (i + 7) * 2 || m.w[2] != my_serial) {
            user::print("test-fail: call {} got status {} words {} {} badge {}", i, to_string(s), m.w[0], m.w[1], m.w[2]);
            return 1;
        }
    }
    const std::uint64_t t1 = user::rdtsc();
    // Capability transfer: make an endpoint from our RAM and send it with a call.
    if (const Status s = user::retype(user::cap::ram, user::captype::endpoint, 0, 12, 1); s != Status::ok) {
        user::print("test-fail: retype endpoint: {}", to_string(s));
        return 1;
    }
    user::Message m{};
    m.w[3] = 1;
    const Status s = user::ipc(abi::Sys::ipc_call, user::cap::endpoint, m, 12);
    if (s != Status::ok || m.w[3] != user::captype::endpoint) {
        user::print("test-fail: cap transfer: status {} type {}", to_string(s), m.w[3]);
        return 1;
    }
    user::Message q{};
    q.w[0] = ~0ull;
    (void)user::ipc(abi::Sys::ipc_send, user::cap::endpoint, q);
    user::print("test-pass: ping {} calls ok, cap transferred; {} ticks per round trip", calls, (t1 - t0) / calls);
    return 0;
}
