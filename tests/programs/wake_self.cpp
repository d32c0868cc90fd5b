// A call that has to queue on an endpoint wakes that endpoint's receiver and nobody else
// (qemu_wake_self). Its argument picks the role:
//
// 0 (self): a caller that polls its monitor (call, would_block, wait_event) must sleep in its
//   wait_event until something happens, not find a wake-up its own call left pending. With that
//   bug a client polling for a binding and its monitor switched back and forth at full speed until
//   the answer came from the other core, and under single-threaded TCG they starved that core too.
//   Each round: an `alive` call to the monitor (answered here, no message, no wake-up of anyone),
//   then wait_event. With the bug every wait_event returns at once and the 40 rounds take no tick;
//   without it each one sleeps until an interrupt of this core (a tick, or a line for its
//   monitor): at least a tick for every few rounds.
// 1 (flooder, hostile): calls the monitor as fast as it can for 40 ticks.
// 2 (bystander, on the flooder's core): sleeps in wait_event for 30 ticks and counts how often it
//   woke. Another domain's calls to the monitor are none of its business: it must wake about as
//   often as a core's interrupts come (a tick, the monitors' lines), not once per call. When a
//   queueing call woke every domain of the core, the flooder woke it thousands of times.
#include "expect.hpp"

#include <myr/user/monitor_call.hpp>

using namespace myr;

namespace {

Status alive_call(std::uint64_t core, std::uint64_t me) {
    user::Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::alive);
    m.w[1] = core;
    m.w[2] = me;
    return user::monitor_call(m);
}

int self(std::uint64_t core, std::uint64_t me) {
    constexpr std::uint64_t rounds = 40;
    // Let the monitor settle into its loop first.
    for (const std::uint64_t t = user::ticks(); user::ticks() < t + 3;) user::wait_event();
    const std::uint64_t t0 = user::ticks();
    std::uint64_t same_tick = 0;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        test::expect("alive (ourselves)", alive_call(core, me), Status::ok);
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
    return 0;
}

int flood(std::uint64_t core, std::uint64_t me) {
    std::uint64_t calls = 0;
    for (const std::uint64_t end = user::ticks() + 40; user::ticks() < end; ++calls)
        if (alive_call(core, me) != Status::ok) ++test::failures;
    user::print("wake_self: flooder made {} calls to its monitor", calls);
    ++test::checks;
    return 0;
}

int bystander() {
    constexpr std::uint64_t window = 30;
    std::uint64_t wakes = 0;
    const std::uint64_t t0 = user::ticks();
    while (user::ticks() < t0 + window) {
        user::wait_event();
        ++wakes;
    }
    const std::uint64_t took = user::ticks() - t0;
    user::print("wake_self: bystander woke {} times in {} ticks", wakes, took);
    ++test::checks;
    if (wakes > 4 * took + 20) {
        ++test::failures;
        user::print("test-fail: wake_self: a bystander woke {} times in {} ticks while another domain called the monitor",
                    wakes, took);
    }
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t role) {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    const std::uint64_t core = info >> 32, me = info & 0xffff'ffff;
    if (role == 1) flood(core, me);
    else if (role == 2) bystander();
    else self(core, me);
    if (test::failures) return 1;
    user::print("test-pass: wake_self role {} checks={}", role, test::checks);
    return 0;
}
