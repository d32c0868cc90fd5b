// nameserv client tests (docs/servers.md, "nameserv"). `nsclient` runs on every core but 0 and talks
// to its node's replica; `nsdier` registers names and ends without unregistering them (they must
// go everywhere once its death is known). Argument: number of cores in bits 0-15, the dier's
// core in bits 16-31.
//
// nsclient: registers "svc.<core>" (and again: exists, itself), races every other client for
// "race" (exactly one must win: the qemu test counts), waits for every other client's name and
// checks its owner from its own node's replica, binds to "nameserv" through nameserv (bind by
// address), waits for the dier's "late", then for the dier's names to disappear, unregisters its
// own name, sends bad requests (each gets its error, the connection keeps working) and lists.
#include <myr/nameserv/client.hpp>

using namespace myr;
using namespace myr::nameserv;

namespace {

std::uint32_t core, cores, dier_core;
Address self;
unsigned failures;

void expect(bool ok, const char* what, Status s = Status::ok) {
    if (ok) return;
    ++failures;
    user::print("test-fail: nsclient core {}: {} (status: {})", core, what, to_string(s));
}

void name_of(const char* prefix, std::uint32_t n, char (&out)[32]) {
    FixedBuffer b(out, sizeof out);
    format_to(b, "{}{}", prefix, n);
}

constexpr std::uint64_t long_wait = 6000;  // wake-ups (about a minute at 100 Hz)

#if MYRIAD_NS_ROLE == 1
int dier() {
    Session& ns = session();
    Address a{};
    Status s = ns.register_name("dier.a", a);
    if (s == Status::ok) s = ns.register_name("dier.b", a);
    for (std::uint32_t c = 1; c < cores && s == Status::ok; ++c) {
        char n[32];
        name_of("svc.", c, n);
        s = ns.wait_for(n, a, long_wait);
    }
    if (s == Status::ok) s = ns.register_name("late", a);
    // Stay until every client saw "late", then end without a goodbye: a death, not a close.
    for (std::uint32_t c = 1; c < cores && s == Status::ok; ++c) {
        char n[32];
        name_of("saw.", c, n);
        s = ns.wait_for(n, a, long_wait);
    }
    if (s != Status::ok) {
        user::print("test-fail: nsdier core {}: {}", core, to_string(s));
        return 1;
    }
    user::print("nsdier core {} ends holding dier.a dier.b late", core);
    return 0;
}
#endif

// An `exchange` carrying a sequencer request line (kind 0x41) that would add "spoofed" for
// another domain: permission_denied, and the name must not appear.
void spoof_exchange(rpc::Client& rc, const char* what) {
    Exchange x{};
    x.first = 1;
    Line l{};
    l.type = 0x41;
    l.w[0] = 1;  // object 1, origin 0, root 0, from 0
    const char n[] = "spoofed";
    l.w[3] = 2 | (7ull << 8);  // add, length 7, core 0
    for (unsigned i = 0; i < 7; ++i) l.w[4] |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(n[i])) << (8 * i);
    (void)x.lines.push(l);
    ExchangeReply xr{};
    const Status s = rc.call(x, xr);
    expect(s == Status::permission_denied, what, s);
    Address a{};
    const Status ls = session().lookup("spoofed", a);
    expect(ls == Status::not_found, "a refused replication line is not applied", ls);
}

void hostile(rpc::Client& rc) {
    rpc::FrameHeader h{};
    std::uint8_t frame[rpc::max_frame] = {};
    std::size_t len = 0;
    const auto bad = static_cast<std::int16_t>(Status::bad_request);
    (void)rpc::encode_frame<rpc::Empty>(rpc::FrameHeader{77, 99, 0}, nullptr, frame, len);
    Status s = rc.call_raw(std::span<const std::uint8_t>(frame, len), h);
    expect(s == Status::ok && h.status == bad && h.id == 77, "an unknown operation is bad_request", s);
    Lookup l{};
    (void)l.name_.assign_cstr("svc.1");
    (void)rpc::encode_frame(rpc::FrameHeader{78, Lookup::op, 0}, &l, frame, len);
    s = rc.call_raw(std::span<const std::uint8_t>(frame, len - 2), h);
    expect(s == Status::ok && h.status == bad, "a truncated request is bad_request", s);
    // A name whose length says 25 (over max_name, 24), with the bytes there.
    const std::uint8_t head[] = {79, 0, 0, 0, Register::op, 0, 0, 0, 25, 0};
    for (unsigned i = 0; i < sizeof head; ++i) frame[i] = head[i];
    for (unsigned i = 0; i < 25; ++i) frame[sizeof head + i] = 'n';
    s = rc.call_raw(std::span<const std::uint8_t>(frame, sizeof head + 25), h);
    expect(s == Status::ok && h.status == bad, "a name over 24 bytes is bad_request", s);
    (void)rpc::encode_frame(rpc::FrameHeader{80, Lookup::op, 0}, &l, frame, len);
    frame[len] = 0xee;
    s = rc.call_raw(std::span<const std::uint8_t>(frame, len + 1), h);
    expect(s == Status::ok && h.status == bad, "trailing bytes are bad_request", s);
    s = rc.call_raw(std::span<const std::uint8_t>(frame, 3), h);
    expect(s == Status::ok && h.status == bad && h.id == 0, "a frame shorter than its header is bad_request", s);
    // Well-formed but refused.
    OwnerReply o{};
    s = rc.call(Register{}, o);
    expect(s == Status::invalid_argument, "an empty name is invalid_argument", s);
    Register sp{};
    (void)sp.name_.assign_cstr("has space");
    s = rc.call(sp, o);
    expect(s == Status::invalid_argument, "a name with a space is invalid_argument", s);
    // A client is not a replica: its replication lines are refused (permission_denied) by
    // whichever replica it reaches, and never applied.
    spoof_exchange(rc, "a client may not send replication lines to its replica");
    // Nor join: a snapshot is for replicas replica 0 found by their bootstrap names, and a join
    // at offset 0 would reset that replica's lines (the replicas' agreement is checked at exit).
    for (const std::uint32_t off : {0u, 1024u, ~0u}) {
        JoinReply jr{};
        s = rc.call(Join{off}, jr);
        expect(s == Status::permission_denied && jr.total == 0, "a client may not join", s);
    }
    // Nor recover: replica 0 refuses it (permission_denied), and a replica that still has its
    // link to replica 0 has no frozen table to give (busy); nothing is read either way.
    for (const std::uint32_t off : {0u, ~0u}) {
        JoinReply jr{};
        s = rc.call(Recover{off}, jr);
        const Status want = my_node() == 0 ? Status::permission_denied : Status::busy;
        expect(s == want && jr.total == 0 && jr.bytes.size == 0, "recover from a replica that serves gives nothing", s);
    }
    // The connection still works.
    Address a{};
    s = session().lookup("nameserv", a);
    expect(s == Status::ok && a.core == 0, "the connection works after bad requests", s);
}

[[maybe_unused]] int client() {
    Session& ns = session();
    if (const Status s = ns.open(); s != Status::ok) {
        user::print("test-fail: nsclient core {}: open: {}", core, to_string(s));
        return 1;
    }
    char mine[32];
    name_of("svc.", core, mine);
    Address a{};
    Status s = ns.register_name(mine, a);
    expect(s == Status::ok && a == self, "register", s);
    s = ns.register_name(mine, a);
    expect(s == Status::exists && a == self, "register again is exists, held by us", s);

    Address race{};
    const Status rs = ns.register_name("race", race);
    expect(rs == Status::ok || rs == Status::exists, "race: ok or exists", rs);
    const bool won = rs == Status::ok;
    expect(won == (race == self), "race: the holder is us exactly when we won");
    if (!won) {
        Address h{};
        s = ns.unregister("race", h);
        expect(s == Status::permission_denied && h == race, "unregister of another's name is permission_denied", s);
    }

    // Every client's name, from this node's replica, with the right owner.
    for (std::uint32_t c = 1; c < cores; ++c) {
        char n[32];
        name_of("svc.", c, n);
        s = ns.wait_for(n, a, long_wait);
        expect(s == Status::ok && a.core == c, "wait_for another client's name: found, on its core", s);
    }
    s = ns.lookup("race", a);
    expect(s == Status::ok && a == race, "every replica names the same race winner", s);

    // Bind through nameserv by address: "nameserv" is registered by the orderer itself.
    {
        rpc::Client svc;
        s = connect(svc, "nameserv");
        expect(s == Status::ok && svc.peer_core() == 0, "connect by a nameserv name (bind_to)", s);
        StatsReply st{};
        if (s == Status::ok) {
            s = svc.call(Stats{}, st);
            expect(s == Status::ok && st.ready, "stats over the connection made by address", s);
            spoof_exchange(svc, "a client may not send replication lines to replica 0");
        }
        svc.close();
    }

    s = ns.wait_for("late", a, long_wait);
    expect(s == Status::ok && a.core == dier_core, "wait_for sees a name registered later", s);
    char saw[32];
    name_of("saw.", core, saw);
    s = ns.register_name(saw, a);
    expect(s == Status::ok, "register saw", s);
    // The dier ends once every client saw "late": its names must then go from our replica too.
    bool gone = false;
    for (std::uint64_t t = 0; t < long_wait && !gone; ++t) {
        Address x{};
        gone = ns.lookup("late", x) == Status::not_found && ns.lookup("dier.a", x) == Status::not_found &&
               ns.lookup("dier.b", x) == Status::not_found;
        if (!gone) user::wait_event();
    }
    expect(gone, "the names of a domain that ended are removed");

    s = ns.unregister(mine, a);
    expect(s == Status::ok, "unregister our own name", s);
    s = ns.lookup(mine, a);
    expect(s == Status::not_found, "lookup after unregister is not_found (read your writes)", s);
    s = ns.unregister(mine, a);
    expect(s == Status::not_found, "unregister again is not_found", s);

    hostile(ns.rpc());

    // Paging through the list finds our "saw" name.
    bool listed = false;
    unsigned names = 0;
    for (std::uint32_t from = 0; from < 1000;) {
        ListReply lr{};
        s = ns.list(from, lr);
        if (s != Status::ok) break;
        for (std::uint16_t i = 0; i < lr.entries.count; ++i) {
            ++names;
            char n[33];
            lr.entries.items[i].name_.copy_cstr(n, sizeof n);
            bool same = true;
            for (unsigned k = 0; same && (n[k] || saw[k]); ++k) same = n[k] == saw[k];
            listed |= same && lr.entries.items[i].owner == self;
        }
        if (lr.next <= from || lr.next >= 128) break;
        from = lr.next;
    }
    expect(s == Status::ok && listed, "list shows our name", s);

    ns.close();
    if (failures) return 1;
    user::print("test-pass: nsclient core {} race={} names={}", core, won ? "won" : "lost", names);
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    core = static_cast<std::uint32_t>(info >> 32);
    self = Address{core, static_cast<std::uint32_t>(info)};
    cores = static_cast<std::uint32_t>(arg & 0xffff);
    dier_core = static_cast<std::uint32_t>((arg >> 16) & 0xffff);
#if MYRIAD_NS_ROLE == 1
    return dier();
#else
    return client();
#endif
}
