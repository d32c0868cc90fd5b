// Binding rings come back (docs/monitors.md, "Ring memory comes back"; qemu_ring_cycle): binds to
// the tutorial's counter, adds 1 and closes, N times (its argument: spawn:ring_cycle@CORE=N). Each binding takes a ring of this
// core's pool (120 rings) and one of the server core's, and a client may hold 8 at once: without
// the rings coming back this fails at the eighth cycle. Also: rings given back while their
// capabilities are kept lose those capabilities once the server closed its end too, and handles
// that are not the caller's are refused.
#include "expect.hpp"

#include <myr/counter/interface.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;
using test::expect;

namespace {

// connect(), waiting out a monitor that has not had the last binding's rings back yet (no_memory
// while this client's share is in use) or is short of slots (busy); how often it waited is counted.
Status connect(rpc::Client& c, std::uint64_t& waits) {
    for (user::Deadline limit(2000);;) {
        const Status s = c.connect("counter");
        if ((s != Status::no_memory && s != Status::busy) || limit.passed()) return s;
        ++waits;
        user::wait_event();
    }
}

} // namespace

extern "C" int main(std::uint64_t cycles) {
    const std::uint64_t core = rpc::own_core();

    // Handles that are not ours.
    for (const std::uint64_t h : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xff}, ~std::uint64_t{0}, std::uint64_t{5} << 16})
        expect("unbind_ring of a handle never given", user::unbind_ring(h), Status::not_found);

    std::uint64_t waits = 0, added = 0;
    {
        // One add on a connection closed normally first.
        rpc::Client c;
        expect("first connect", connect(c, waits), Status::ok);
        counter::Total t{};
        expect("first add", c.call(counter::Add{1}, t), Status::ok);
        const std::uint64_t rx = c.connection().channel.handle[0];
        c.close();
        expect("give back a ring close gave back", user::unbind_ring(rx), Status::not_found);
        ++added;
    }
    {
        // A domain that gives its rings back but keeps the capabilities (and the mappings): once
        // the server closed its end too, the kernel removes them, so the memory can be reused.
        user::Binding b{};
        Status s = Status::busy;
        for (user::Deadline limit(2000); (s == Status::busy || s == Status::not_found) && !limit.passed(); user::wait_event())
            s = user::bind("counter", b);
        expect("bind", s, Status::ok);
        rpc::Conn conn;
        expect("open", s == Status::ok ? conn.open_from(b, 2000) : s, Status::ok);
        const std::uint64_t rx = conn.channel.handle[0], tx = conn.channel.handle[1];
        expect("take_ring answered handles", rx && tx && rx != tx ? Status::ok : Status::not_found, Status::ok);
        expect("a handle with another serial", user::unbind_ring(rx + (std::uint64_t{1} << 16)), Status::not_found);
        // The server closes its end on our goodbye; nothing touches the rings after it (a ring
        // given back is gone from this core at once when nothing else here holds it).
        expect("goodbye", rpc::send_frame(conn, rpc::type_close, {}, 100), Status::ok);
        expect("give back the receive ring, keep its cap", user::unbind_ring(rx), Status::ok);
        expect("give back the send ring, keep its cap", user::unbind_ring(tx), Status::ok);
        expect("give back the receive ring again", user::unbind_ring(rx), Status::not_found);
        Status rx_cap = Status::ok, tx_cap = Status::ok;
        for (user::Deadline limit(1000); (rx_cap == Status::ok || tx_cap == Status::ok) && !limit.passed(); user::wait_event()) {
            rx_cap = user::syscall6(abi::Sys::cap_identify, conn.rx_slot).status;
            tx_cap = user::syscall6(abi::Sys::cap_identify, conn.tx_slot).status;
        }
        expect("the kept receive ring cap is removed", rx_cap, Status::not_found);
        expect("the kept send ring cap is removed", tx_cap, Status::not_found);
        conn.channel.handle[0] = conn.channel.handle[1] = 0;
        conn.release();  // the slots and the ring window
    }
    std::uint64_t done = 0;
    const std::uint64_t t0 = user::ticks();
    for (; done < cycles; ++done) {
        rpc::Client c;
        if (const Status s = connect(c, waits); s != Status::ok) {
            user::print("test-fail: ring_cycle core {}: connect {}: {}", core, done, to_string(s));
            ++test::failures;
            break;
        }
        counter::Total t{};
        if (const Status s = c.call(counter::Add{1}, t); s != Status::ok) {
            user::print("test-fail: ring_cycle core {}: add {}: {}", core, done, to_string(s));
            ++test::failures;
            break;
        }
        ++added;
        c.close();
        if ((done + 1) % 2000 == 0) user::print("ring_cycle: core {} at {} cycles, waits={}", core, done + 1, waits);
    }
    // ticks: timer ticks the loop took (./myriad bench servers turns them into time per cycle).
    user::print("ring_cycle: core {} cycles={} added={} waits={} checks={} failures={} ticks={}", core, done, added, waits,
                test::checks, test::failures, user::ticks() - t0);
    if (test::failures) return 1;
    user::print("test-pass: ring_cycle core {} cycles={}", core, done);
    return 0;
}
