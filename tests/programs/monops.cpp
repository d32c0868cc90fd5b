// The monitor operations for user-space servers (docs/monitors.md, "Death feed, kill, list, bind
// by address"), one program per role (MYRIAD_MONOPS_ROLE):
//   deathwatch  arg 1: finds three workers on cores 2, 3, 4 with `list`, sees them alive, kills
//               the one on core 4, then follows the death feed until it saw all three end (killed,
//               exit code 42, fault vector 6) and `alive` says connection_lost for each;
//               arg 0: only follows the feed (another core's monitor must have heard them too)
//   dw_spin     arg 0: waits forever (killed); else exits 0 once a domain of every core in the
//               bit mask `arg` ended (the target of killhost and killpriv)
//   dw_exit     exits 42 once the feed showed a kill
//   dw_fault    executes ud2 (vector 6) once the feed showed an exit with code 42
//   bt_srv      accepts `arg` bindings by address and answers each client's line with the
//               service word it bound with
//   bt_cli      arg = count << 8 | first service: finds bt_srv (core 0) and bt_idle (core 5) with
//               `list`; binding to bt_idle (never accepts) is refused 20 times without ever being
//               charged; binds by name to bt_idle's export given up on at once (withdrawn at
//               both monitors: a later one is still answered ok); then binds to bt_srv with each
//               service word and checks the answer
//   bt_idle     exports "btidle" and never accepts; exits once two domains ended
//   killhost    hostile, not named by monitor.kill: every kill is refused (the monitors, dw_spin
//               on core 0, itself, a domain that never existed, 1000 tries), dw_spin stays alive
//   killpriv    named by monitor.kill: still may not kill a monitor or itself; a domain that never
//               existed is not_found; at most 2 remote kills open at once; 200 kills in a row
//   dw_ring     started after `arg` deaths: the feed from cursor 0 is overflow (deaths missed, where
//               to resume), then exactly the 64 newest deaths, then would_block
#include "expect.hpp"

#include <myr/user/args.hpp>
#include <myr/user/domains.hpp>

using namespace myr;
using namespace myr::user;
using myr::test::expect;

namespace {

constexpr std::uint64_t service_base = 0x5e41ce00;

[[maybe_unused]] std::uint64_t my_core() { return syscall6(abi::Sys::domain_info).value >> 32; }
[[maybe_unused]] std::uint64_t my_domain() { return syscall6(abi::Sys::domain_info).value & 0xffffffff; }

[[maybe_unused]] int finish(const char* who) {
    if (myr::test::failures) {
        print("{}: {} of {} checks failed", who, myr::test::failures, myr::test::checks);
        return 1;
    }
    print("test-pass: {} {} checks", who, myr::test::checks);
    return 0;
}

// The domain running `prog` on `core`, waiting (bounded) until the monitor started it.
[[maybe_unused]] std::uint64_t find(std::uint64_t core, const char* prog) {
    std::uint64_t d = 0;
    for (unsigned t = 0; t < 2000; ++t) {
        const Status s = find_program(core, prog, d);
        if (s == Status::ok) return d;
        if (s != Status::not_found) {
            print("test-fail: list core {} looking for {}: {}", core, prog, to_string(s));
            return 0;
        }
        wait_event();
    }
    print("test-fail: {} never showed on core {}", prog, core);
    return 0;
}

// Follows the feed from `cursor` until `pred(death)` holds (bounded); false on timeout.
template <typename Pred>
bool watch(std::uint64_t& cursor, Pred pred, std::uint64_t tries = 6000) {
    for (Deadline limit(tries); !limit.passed();) {
        Death d{};
        const Status s = next_death(cursor, d);
        if (s == Status::ok) {
            cursor = d.cursor;
            if (pred(d)) return true;
            continue;
        }
        if (s == Status::overflow) {
            print("test-fail: the death feed overflowed (resume at {})", d.cursor);
            cursor = d.cursor;
            continue;
        }
        if (s != Status::would_block) {
            print("test-fail: deaths: {}", to_string(s));
            return false;
        }
        wait_event();
    }
    return false;
}

#if MYRIAD_MONOPS_ROLE == 0
const char* how_name(abi::DomainStatus h) {
    switch (h) {
    case abi::DomainStatus::exited: return "exited";
    case abi::DomainStatus::faulted: return "faulted";
    case abi::DomainStatus::killed: return "killed";
    default: return "unknown";
    }
}

int deathwatch(bool active) {
    const std::uint64_t core = my_core();
    std::uint64_t spin = 0, ex = 0, fa = 0;
    if (active) {
        spin = find(4, "dw_spin");
        ex = find(2, "dw_exit");
        fa = find(3, "dw_fault");
        std::uint64_t d = 0;
        char name[17];
        expect("list past the end of core 4", list(4, 99, d, name), Status::not_found);
        expect("list of a core that does not exist", list(99, 0, d, name), Status::invalid_argument);
        expect("list own core", find_program(core, "deathwatch", d), Status::ok);
        expect("it is us", d == my_domain() ? Status::ok : Status::invalid_argument, Status::ok);
        expect("alive dw_spin", alive(4, spin), Status::ok);
        expect("alive dw_exit", alive(2, ex), Status::ok);
        expect("alive dw_fault", alive(3, fa), Status::ok);
        expect("kill dw_spin on core 4", kill(4, spin), Status::ok);
    }
    // Every death from the start of the feed: the three workers, each once, how it ended.
    bool seen_kill = false, seen_exit = false, seen_fault = false;
    std::uint32_t cores_seen[3] = {};
    std::uint64_t cursor = 0;
    const bool all = watch(cursor, [&](const Death& d) {
        print("deathwatch core {}: core {} domain {} {} code {}", core, d.core, d.domain, how_name(d.how), d.code);
        if (d.how == abi::DomainStatus::killed && d.core == 4 && !seen_kill) {
            seen_kill = true;
            cores_seen[0] = d.domain;
        } else if (d.how == abi::DomainStatus::exited && d.code == 42 && d.core == 2 && !seen_exit) {
            seen_exit = true;
            cores_seen[1] = d.domain;
        } else if (d.how == abi::DomainStatus::faulted && d.code == 6 && d.core == 3 && !seen_fault) {
            seen_fault = true;
            cores_seen[2] = d.domain;
        } else {
            print("test-fail: deathwatch: a death nobody expected");
        }
        return seen_kill && seen_exit && seen_fault;
    });
    expect("the feed showed killed, exit 42, fault 6", all ? Status::ok : Status::timeout, Status::ok);
    if (active) {
        expect("the killed one is dw_spin", cores_seen[0] == spin ? Status::ok : Status::invalid_argument, Status::ok);
        expect("the exited one is dw_exit", cores_seen[1] == ex ? Status::ok : Status::invalid_argument, Status::ok);
        expect("the faulted one is dw_fault", cores_seen[2] == fa ? Status::ok : Status::invalid_argument, Status::ok);
        expect("kill dw_spin again", kill(4, spin), Status::not_found);
        std::uint64_t d = 0;
        expect("dw_spin is no longer listed", find_program(4, "dw_spin", d), Status::not_found);
    }
    expect("alive dw_spin after", alive(4, cores_seen[0]), Status::connection_lost);
    expect("alive dw_exit after", alive(2, cores_seen[1]), Status::connection_lost);
    expect("alive dw_fault after", alive(3, cores_seen[2]), Status::connection_lost);
    // Nothing newer but, maybe, the other watcher's clean exit (core 1 or 6).
    Death d{};
    const Status s = next_death(cursor, d);
    const bool other = s == Status::ok && (d.core == 1 || d.core == 6) && d.how == abi::DomainStatus::exited && d.code == 0;
    expect("nothing newer in the feed", s == Status::would_block || other ? Status::ok : s, Status::ok);
    if (other) cursor = d.cursor;
    expect("a cursor from the future", next_death(cursor + 5, d), Status::invalid_argument);
    return finish(active ? "deathwatch active" : "deathwatch passive");
}
#endif

#if MYRIAD_MONOPS_ROLE == 4
int bt_srv(std::uint64_t count) {
    constexpr std::uint64_t ring_base = 0x2000'0000;
    TableSlots tables{58, 64};
    for (std::uint64_t i = 0; i < count && i < 8;) {
        Binding b{};
        const Status s = try_accept_service(b);
        if (s == Status::would_block) {
            wait_event();
            continue;
        }
        if (s != Status::ok) {
            print("test-fail: bt_srv accept: {}", to_string(s));
            return 1;
        }
        Channel c{};
        if (const Status o = open_channel(b, 10 + 2 * i, 11 + 2 * i, ring_base + i * 2 * bind_ring_bytes, tables, c); o != Status::ok) {
            print("test-fail: bt_srv opening binding {}: {}", b.id, to_string(o));
            return 1;
        }
        urpc::Message m{};
        std::uint64_t t = 0;
        while (c.rx.try_recv(m) != Status::ok && t++ < 200000) wait_event();
        if (m.header.type != 1) {
            print("test-fail: bt_srv: no line from core {} domain {}", b.peer_core, b.peer_domain);
            return 1;
        }
        print("bt_srv: binding from core {} domain {} service {:#x}", b.peer_core, b.peer_domain, b.service);
        const std::uint64_t words[urpc::payload_words] = {b.service, m.words[0] + 1, b.peer_core, b.peer_domain};
        while (c.tx.try_send(2, words) == Status::would_block) {}
        ++i;
    }
    print("test-pass: bt_srv served {} bindings by address", count);
    return 0;
}
#endif

#if MYRIAD_MONOPS_ROLE == 5
int bt_cli(std::uint64_t arg) {
    const std::uint64_t count = arg >> 8, first = arg & 0xff, core = my_core();
    const std::uint64_t idle = find(5, "bt_idle"), srv = find(0, "bt_srv");
    Binding b{};
    expect("bind_to a core that does not exist", bind_to(99, srv, 1, b), Status::invalid_argument);
    expect("bind_to domain 0", bind_to(0, 0, 1, b), Status::invalid_argument);
    expect("bind_to a monitor", bind_to(0, 1, 1, b), Status::not_found);
    expect("bind_to a domain that never existed", bind_to(0, 9999, 1, b), Status::not_found);
    // More than the budgets (2 pending, 8 rings): a refusal must cost nothing.
    for (unsigned i = 0; i < 20; ++i) expect("bind_to bt_idle (never accepts)", bind_to(5, idle, 7, b), Status::not_found);
    // Binds by name to bt_idle's export (it never accepts), each given up at once: poll_binding
    // withdraws the ticket, and the withdrawal must reach bt_idle's monitor too, else its two
    // requests per client not yet accepted fill and the next bind is refused busy there.
    Status named = Status::not_found;
    for (unsigned t = 0; t < 4000 && named == Status::not_found; ++t) {
        named = bind("btidle", b, 0);  // not_found until the export reached our monitor
        if (named == Status::not_found) wait_event();
    }
    expect("bind to btidle given up on at once", named, Status::timeout);
    for (unsigned i = 0; i < 3; ++i) expect("bind to btidle given up on at once", bind("btidle", b, 0), Status::timeout);
    expect("bind to btidle after the given-up ones", bind("btidle", b, 2000), Status::ok);
    expect("withdraw it (never accepted)", cancel_bind(b.id), Status::ok);
    constexpr std::uint64_t ring_base = 0x3000'0000;
    TableSlots tables{50, 64};
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t service = service_base + first + i;
        Status s = Status::not_found;
        // bt_srv may not have called accept yet: not_found until it did.
        for (unsigned t = 0; t < 2000 && s == Status::not_found; ++t) {
            s = bind_to(0, srv, service, b);
            if (s == Status::not_found) wait_event();
        }
        expect("bind_to bt_srv", s, Status::ok);
        if (s != Status::ok) break;
        expect("bound to bt_srv's address", b.peer_core == 0 && b.peer_domain == srv ? Status::ok : Status::invalid_argument,
               Status::ok);
        Channel c{};
        s = open_channel(b, 10 + 2 * i, 11 + 2 * i, ring_base + i * 2 * bind_ring_bytes, tables, c);
        expect("open the channel", s, Status::ok);
        if (s != Status::ok) break;
        const std::uint64_t words[urpc::payload_words] = {100 + i};
        while (c.tx.try_send(1, words) == Status::would_block) {}
        urpc::Message m{};
        std::uint64_t t = 0;
        while (c.rx.try_recv(m) != Status::ok && t++ < 200000) wait_event();
        expect("the server saw our service word", m.words[0] == service ? Status::ok : Status::invalid_argument, Status::ok);
        expect("and our line", m.words[1] == 101 + i && m.words[2] == core && m.words[3] == my_domain() ? Status::ok
                                                                                                          : Status::invalid_argument,
               Status::ok);
        if (m.words[0] == service) print("bt_cli core {}: service {:#x} reached bt_srv", core, service);
    }
    return finish("bt_cli");
}
#endif

#if MYRIAD_MONOPS_ROLE == 9
int dw_ring(std::uint64_t want) {
    constexpr std::uint64_t ring = 64;  // monitor/deaths.hpp ring_size
    Death d{};
    Status s = Status::ok;
    // The last deaths may still be on their way from other cores' monitors.
    for (unsigned t = 0; t < 6000; ++t) {
        s = next_death(0, d);
        if (s == Status::overflow && d.cursor + ring >= want) break;
        wait_event();
    }
    expect("the feed from 0 after more deaths than the ring holds", s, Status::overflow);
    const std::uint64_t resume = d.cursor;
    print("dw_ring: overflow, resume at cursor {}", resume);
    std::uint64_t cursor = resume, got = 0;
    while (next_death(cursor, d) == Status::ok) {
        if (d.cursor != cursor + 1) expect("cursors count up by one", Status::invalid_argument, Status::ok);
        cursor = d.cursor;
        if (d.how != abi::DomainStatus::exited || d.code != 0) {
            print("dw_ring: death {} of core {} domain {}: how {} code {}", d.cursor, d.core, d.domain,
                  static_cast<std::uint32_t>(d.how), d.code);
            expect("every death a clean exit", Status::invalid_argument, Status::ok);
        }
        ++got;
    }
    print("dw_ring: {} deaths held after the overflow, newest cursor {}", got, cursor);
    expect("the ring holds the 64 newest", got == ring ? Status::ok : Status::invalid_argument, Status::ok);
    expect("then nothing newer", next_death(cursor, d), Status::would_block);
    expect("a cursor one before the oldest still held", next_death(resume, d), Status::ok);
    expect("a cursor one older than that", next_death(resume - 1, d), Status::overflow);
    return finish("dw_ring");
}
#endif

#if MYRIAD_MONOPS_ROLE == 7 || MYRIAD_MONOPS_ROLE == 8
// A kill call without polling: the first answer (would_block for a remote core).
Status kill_once(std::uint64_t core, std::uint64_t domain) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::kill);
    m.w[1] = core;
    m.w[2] = domain;
    return monitor_call(m);
}

int killer(bool privileged) {
    const std::uint64_t core = my_core(), self = my_domain();
    const std::uint64_t srv = find(0, "dw_spin");
    const Status denied = Status::permission_denied;
    expect("kill the monitor of core 0", kill(0, 1), denied);
    expect("kill our own monitor", kill(core, 1), denied);
    expect("kill ourselves", kill(core, self), denied);
    expect("kill on a core that does not exist", kill(99, srv), Status::invalid_argument);
    if (!privileged) {
        expect("kill dw_spin on core 0", kill(0, srv), denied);
        expect("kill a domain that never existed", kill(0, 9999), denied);
        for (unsigned i = 0; i < 1000; ++i) {
            const Status s = kill_once(i % 2 ? 0 : core, i % 3 ? srv : 9000 + i);
            if (s != denied) expect("spam kill", s, denied);
        }
        // Nor may it start a program that holds the privilege (it would run with arguments of
        // our choosing): refused here and on another core, nothing started.
        Spawned sp{};
        expect("start killpriv here", spawn("killpriv", core, "", sp), denied);
        expect("start killpriv on core 0", spawn("killpriv", 0, "", sp), denied);
    } else {
        expect("kill a domain that never existed (core 0)", kill(0, 9999), Status::not_found);
        expect("kill a domain that never existed (here)", kill(core, 9999), Status::not_found);
        // At most two remote kills open per caller: the third is refused until one was answered.
        expect("open kill 1", kill_once(0, 9001), Status::would_block);
        expect("open kill 2", kill_once(1, 9002), Status::would_block);
        expect("open kill 3 (over the quota)", kill_once(2, 9003), Status::busy);
        expect("answer of kill 1", kill(0, 9001), Status::not_found);
        expect("answer of kill 2", kill(1, 9002), Status::not_found);
        expect("kill 3 now", kill(2, 9003), Status::not_found);
        for (unsigned i = 0; i < 200; ++i) {
            const Status s = kill(1 + i % 2, 8000 + i);
            if (s != Status::not_found) expect("spam kill (privileged)", s, Status::not_found);
        }
    }
    std::uint64_t d = 0;
    expect("dw_spin still alive", alive(0, srv), Status::ok);
    expect("dw_spin still listed", find_program(0, "dw_spin", d), Status::ok);
    return finish(privileged ? "killpriv" : "killhost");
}
#endif

} // namespace

extern "C" int main(std::uint64_t arg) {
#if MYRIAD_MONOPS_ROLE == 0
    return deathwatch(arg == 1);
#elif MYRIAD_MONOPS_ROLE == 1
    if (arg == 0)
        for (;;) wait_event();
    std::uint64_t cursor = 0, seen = 0;
    if (!watch(cursor, [&](const Death& d) {
            if (d.core < 64) seen |= std::uint64_t{1} << d.core;
            return (seen & arg) == arg;
        }))
        return 1;
    print("test-pass: dw_spin outlived its attackers");
    return 0;
#elif MYRIAD_MONOPS_ROLE == 2
    (void)arg;
    std::uint64_t cursor = 0;
    if (!watch(cursor, [](const Death& d) { return d.how == abi::DomainStatus::killed; })) return 1;
    return 42;
#elif MYRIAD_MONOPS_ROLE == 3
    (void)arg;
    std::uint64_t cursor = 0;
    if (!watch(cursor, [](const Death& d) { return d.how == abi::DomainStatus::exited && d.code == 42; })) return 1;
    asm volatile("ud2");
    return 1;
#elif MYRIAD_MONOPS_ROLE == 4
    return bt_srv(arg);
#elif MYRIAD_MONOPS_ROLE == 5
    return bt_cli(arg);
#elif MYRIAD_MONOPS_ROLE == 6
    (void)arg;
    expect("export btidle", export_name("btidle"), Status::ok);  // bound by name, never accepted
    std::uint64_t cursor = 0;
    unsigned ended = 0;
    if (!watch(cursor, [&](const Death&) { return ++ended == 2; })) return 1;
    print("test-pass: bt_idle was never bound");
    return 0;
#elif MYRIAD_MONOPS_ROLE == 7
    (void)arg;
    return killer(false);
#elif MYRIAD_MONOPS_ROLE == 8
    (void)arg;
    return killer(true);
#elif MYRIAD_MONOPS_ROLE == 9
    return dw_ring(arg);
#endif
}
