// nsload: names registered while core 0 stops are not lost (docs/servers.md, "nameserv",
// "Replica 0 moves"; test qemu_core0_nameserv). Registers ld.<core>.0 .. ld.<core>.N-1 through
// its node's nameserv replica, a few ticks apart, across the stop of core 0 (replica 0, the
// sequencer, with it): each register is acknowledged (ok, ours), uncertain (connection_lost,
// timeout or busy: the change took effect or not), or wrong. Then it waits until the name
// "nameserv" names a domain off core 0 (the moved replica 0 serves and our node's replica
// joined it) and checks every name: each acknowledged one must still be ours (else lost), each
// uncertain one ours or absent (else wrong). Prints one line:
//   nsload core=C names=N acked=A uncertain=U lost=L wrong=W ticks_median=M ticks_max=X
// (timer ticks from a register's call to its `ok`, over the acknowledged ones).
// Argument: the number of names (1-32; 0 means 16) in bits 0-7; bit 8: do not wait for
// replica 0 to move (check at once).
#include <myr/nameserv/client.hpp>

using namespace myr;
using namespace myr::nameserv;

namespace {

void name_of(std::uint32_t core, std::uint32_t i, char (&out)[32]) {
    FixedBuffer b(out, sizeof out);
    format_to(b, "ld.{}.{}", core, i);
}

constexpr std::uint64_t long_wait = 12000;  // timer ticks (about 2 min of guest time)
constexpr std::uint32_t max_names = 32;

void pause_ticks(std::uint64_t n) {
    for (user::Deadline limit(n); !limit.passed();) user::wait_event();
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    const Address self{static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info)};
    std::uint32_t names = static_cast<std::uint32_t>(arg & 0xff);
    if (names == 0) names = 16;
    if (names > max_names) names = max_names;
    const bool wait_move = (arg & 0x100) == 0;
    Session& ns = session();
    bool acked[max_names] = {}, uncertain[max_names] = {};
    unsigned n_acked = 0, n_uncertain = 0, wrong = 0, lost = 0;
    std::uint64_t took[max_names] = {};
    for (std::uint32_t i = 0; i < names; ++i) {
        char n[32];
        name_of(self.core, i, n);
        Address owner{};
        Status s = ns.open();
        const std::uint64_t t0 = user::ticks();
        if (s == Status::ok) s = ns.register_name(n, owner);
        if (s == Status::ok && owner == self) {
            acked[i] = true;
            took[n_acked++] = user::ticks() - t0;
        } else if (s == Status::connection_lost || s == Status::timeout || s == Status::busy) {
            uncertain[i] = true;
            ++n_uncertain;
            ns.close();  // connect again (to the moved replica 0 on node 0)
        } else {
            ++wrong;
            user::print("test-fail: nsload core {}: register {}: {} (owner core {} domain {})", self.core, n, to_string(s),
                        owner.core, owner.domain);
        }
        pause_ticks(4);
    }
    // Replica 0 moved off core 0 and our node's replica follows it: "nameserv" names it.
    if (wait_move) {
        bool moved = false;
        for (user::Deadline limit(long_wait); !limit.passed() && !moved;) {
            Address a{};
            if (ns.open() != Status::ok) {
                pause_ticks(10);
                continue;
            }
            const Status s = ns.lookup("nameserv", a);
            moved = s == Status::ok && a.core != 0;
            if (s == Status::connection_lost) ns.close();
            if (!moved) pause_ticks(10);
        }
        if (!moved) {
            user::print("test-fail: nsload core {}: replica 0 never served off core 0", self.core);
            return 1;
        }
    }
    for (std::uint32_t i = 0; i < names; ++i) {
        if (!acked[i] && !uncertain[i]) continue;
        char n[32];
        name_of(self.core, i, n);
        Address owner{};
        Status s = Status::busy;
        for (user::Deadline limit(long_wait); !limit.passed();) {
            if ((s = ns.open()) == Status::ok) s = ns.lookup(n, owner);
            if (s == Status::ok || s == Status::not_found) break;
            ns.close();
            pause_ticks(10);
        }
        const bool ours = s == Status::ok && owner == self;
        if (acked[i] && !ours) {
            ++lost;
            user::print("test-fail: nsload core {}: acknowledged {} is lost ({}, owner core {} domain {})", self.core, n,
                        to_string(s), owner.core, owner.domain);
        } else if (uncertain[i] && !ours && s != Status::not_found) {
            ++wrong;
            user::print("test-fail: nsload core {}: uncertain {}: {} (owner core {} domain {})", self.core, n, to_string(s),
                        owner.core, owner.domain);
        }
    }
    for (unsigned a = 1; a < n_acked; ++a)  // insertion sort: at most 32
        for (unsigned b = a; b > 0 && took[b - 1] > took[b]; --b) {
            const std::uint64_t t = took[b];
            took[b] = took[b - 1];
            took[b - 1] = t;
        }
    user::print("nsload core={} names={} acked={} uncertain={} lost={} wrong={} ticks_median={} ticks_max={}", self.core,
                names, n_acked, n_uncertain, lost, wrong, n_acked ? took[n_acked / 2] : 0, n_acked ? took[n_acked - 1] : 0);
    return lost == 0 && wrong == 0 ? 0 : 1;
}
