// nskeep: names survive a restart of nameserv's replica 0, the sequencer (docs/servers.md,
// "nameserv", "Replica 0 restarts"; test qemu_nameserv_restart0). Argument: the other nskeep's
// core. Registers keep.<core>.0..3 and stays alive holding them; waits until the name "nameserv"
// names another domain (replica 0 crashed, restarted, took its kept table back and registered
// itself again); then checks, at its own node's replica, that its four names are still its own,
// registers after.<core>, and waits for the other nskeep's after.<core> and keep.<core>.0 (on
// node 1 that needs replica 1 to have joined the new replica 0).
#include <myr/nameserv/client.hpp>

using namespace myr;
using namespace myr::nameserv;

namespace {

std::uint32_t core;
unsigned failures;

void expect(bool ok, const char* what, Status s = Status::ok) {
    if (ok) return;
    ++failures;
    user::print("test-fail: nskeep core {}: {} (status: {})", core, what, to_string(s));
}

void name_of(const char* prefix, std::uint32_t c, std::uint32_t i, char (&out)[32]) {
    FixedBuffer b(out, sizeof out);
    if (i == ~0u) format_to(b, "{}{}", prefix, c);
    else format_to(b, "{}{}.{}", prefix, c, i);
}

constexpr std::uint64_t long_wait = 9000;  // timer ticks (about 90 s of guest time)
constexpr std::uint32_t kept_names = 4;

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    const Address self{static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info)};
    core = self.core;
    const auto other = static_cast<std::uint32_t>(arg >> 16);
    Session& ns = session();
    Status s = ns.open();
    expect(s == Status::ok, "open", s);
    Address a{};
    for (std::uint32_t i = 0; i < kept_names && failures == 0; ++i) {
        char n[32];
        name_of("keep.", core, i, n);
        s = ns.register_name(n, a);
        expect(s == Status::ok && a == self, "register a name to keep", s);
    }
    Address first{};
    s = ns.lookup("nameserv", first);
    expect(s == Status::ok, "lookup nameserv", s);
    if (failures) return 1;
    user::print("nskeep core {} holds {} names; replica 0 is domain {} on core {}", core, kept_names, first.domain, first.core);

    // Replica 0 restarts: its name moves to the new instance. Meanwhile calls may be lost
    // (connection_lost: the session connects again next time), time out, or find the replica busy.
    bool moved = false;
    Address now{};
    user::Backoff pause;
    for (user::Deadline limit(long_wait); !limit.passed() && !moved;) {
        s = ns.lookup("nameserv", now);
        moved = s == Status::ok && !(now == first);
        if (!moved) pause.wait();
    }
    expect(moved, "replica 0 came back under the name nameserv", s);
    if (failures) return 1;
    unsigned kept = 0;
    for (std::uint32_t i = 0; i < kept_names; ++i) {
        char n[32];
        name_of("keep.", core, i, n);
        Address owner{};
        const Status ls = ns.wait_for(n, owner, long_wait);
        if (ls == Status::ok && owner == self) ++kept;
        else expect(false, "a name registered before replica 0's crash is still ours", ls);
    }
    char mine[32], theirs[32], their_kept[32];
    name_of("after.", core, ~0u, mine);
    name_of("after.", other, ~0u, theirs);
    name_of("keep.", other, 0, their_kept);
    s = ns.register_name(mine, a);
    expect(s == Status::ok && a == self, "register after the restart", s);
    s = ns.wait_for(theirs, a, long_wait);
    expect(s == Status::ok && a.core == other, "the other client's name registered after the restart", s);
    s = ns.wait_for(their_kept, a, long_wait);
    expect(s == Status::ok && a.core == other, "the other client's name registered before the restart", s);
    const Address peer = a;
    // Stay until the other saw ours too (our names must outlive its checks): its seen.<core>, or
    // its end (it ends only after it saw our seen.<core>, and its names go with it: waiting for
    // the name alone raced with that).
    char seen[32], their_seen[32];
    name_of("seen.", core, ~0u, seen);
    name_of("seen.", other, ~0u, their_seen);
    s = ns.register_name(seen, a);
    expect(s == Status::ok, "register seen", s);
    bool done = false;
    for (user::Deadline limit(long_wait); !limit.passed() && !done;) {
        done = ns.lookup(their_seen, a) == Status::ok || user::alive(peer.core, peer.domain) == Status::connection_lost;
        if (!done) pause.wait();
    }
    expect(done, "the other saw our names", Status::timeout);
    if (failures) return 1;
    user::print("test-pass: nskeep core {} kept={} after the restart of replica 0 (now domain {})", core, kept, now.domain);
    return 0;
}
