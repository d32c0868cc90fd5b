// A call that has to queue on an endpoint wakes its receiver, never the caller (qemu_wake_self):
// a caller that polls its monitor (call, would_block, wait_event) must sleep in its wait_event
// until something happens, not find a wake-up its own call left pending. With that bug a client
// polling for a binding and its monitor switched back and forth at full speed until the answer
// came from the other core, and under single-threaded TCG they starved that core too.
//
// Each round: an `alive` call to the monitor (answered here, no message, no wake-up of anyone),
// then wait_event. The monitor sleeps between rounds, so each call queues and wakes it. With the
// bug every wait_event returns at once and the rounds take no tick at all; without it each one
// sleeps until an interrupt of this core (a tick, or a line for its monitor): at least a tick for
// every few rounds.
#include "expect.hpp"

#include <myr/user/monitor_call.hpp>

using namespace myr;

extern "C" int main(std::uint64_t) {
    constexpr std::uint64_t rounds = 40;
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    const std::uint64_t core = info >> 32, me = info & 0xffff'ffff;
    // Let the monitor settle into its loop first.
    for (const std::uint64_t t = user::ticks(); user::ticks() < t + 3;) user::wait_event();
    const std::uint64_t t0 = user::ticks();
    std::uint64_t same_tick = 0;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        user::Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::alive);
        m.w[1] = core;
        m.w[2] = me;
        test::expect("alive (ourselves)", user::monitor_call(m), Status::ok);
        const std::uint64_t before = user::ticks();
        user::wait_event();
        if (user::ticks() == before) ++same_tick;
    }
    const std::uint64_t took = user::ticks() - t0;
    user::print("wake_self: {} rounds took {} ticks, {} woke within the tick they slept in", rounds, took, same_tick);
    if (took < rounds / 4) {
        ++test::failures;
        user::print("test-fail: wake_self: wait_event after a call to the monitor returned at once ({} ticks for {} rounds)",
                    took, rounds);
    }
    if (test::failures) return 1;
    user::print("test-pass: wake_self checks={}", test::checks);
    return 0;
}
