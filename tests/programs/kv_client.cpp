// kvstore client test (`kvclient`): binds to "kvstore" by name from whatever core it runs on and
// checks every operation and error the interface promises, then sends the server bad frames
// (unknown operation, truncated body, a key over its limit, a frame that is not a frame) and
// checks each gets bad_request while the same connection keeps working. Argument: bits 0-7 the
// number of replicas (with 2 or more it also reads its key back from "kvstore.1" once its write
// was acknowledged); bit 8: find kvstore through nameserv (lookup at this node's replica, then
// bind by address) instead of the monitors' bootstrap table.
#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;
using namespace myr::kvstore;

namespace {

std::uint64_t core;
unsigned failures;

void expect(bool ok, const char* what, Status s = Status::ok) {
    if (ok) return;
    ++failures;
    user::print("test-fail: kvclient core {}: {} (status: {})", core, what, to_string(s));
}

Key key_of(const char* prefix) {
    Key k{};
    char buf[32];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, "{}{}", prefix, core);
    (void)k.assign(out.c_str(), out.size());
    return k;
}
Value value_of(const char* text) {
    Value v{};
    std::size_t n = 0;
    while (text[n]) ++n;
    (void)v.assign(text, n);
    return v;
}

void basic(rpc::Client& kv) {
    const Key a = key_of("a"), b = key_of("b");
    GetReply g{};
    Status s = kv.call(Get{a}, g);
    expect(s == Status::not_found && !g.found, "get of a missing key is not_found", s);

    PutReply p{};
    s = kv.call(Put{a, value_of("one")}, p);
    expect(s == Status::ok && p.version > 0, "put", s);
    s = kv.call(Get{a}, g);
    expect(s == Status::ok && g.found && g.value == value_of("one") && g.version == p.version, "get after put", s);

    CasReply c{};
    s = kv.call(Cas{a, p.version + 1000, value_of("lost")}, c);
    expect(s == Status::ok && !c.swapped && c.version == p.version && c.value == value_of("one"),
           "cas with a wrong version does not swap and returns the current value", s);
    s = kv.call(Cas{a, p.version, value_of("two")}, c);
    expect(s == Status::ok && c.swapped && c.version > p.version, "cas with the right version swaps", s);
    s = kv.call(Cas{b, 0, value_of("new")}, c);
    expect(s == Status::ok && c.swapped, "cas with version 0 creates", s);

    // A transaction: check a's version, put b, delete a; then one whose check fails changes nothing.
    Txn t{};
    (void)t.ops.push(TxnOp{TxnKind::check, a, 0, {}});  // the version is filled in from a fresh get
    GetReply ga{};
    (void)kv.call(Get{a}, ga);
    t.ops.items[0].version = ga.version;
    (void)t.ops.push(TxnOp{TxnKind::put, b, 0, value_of("txn")});
    (void)t.ops.push(TxnOp{TxnKind::del, a, 0, {}});
    (void)t.ops.push(TxnOp{TxnKind::get, b, 0, {}});
    TxnReply tr{};
    s = kv.call(t, tr);
    expect(s == Status::ok && tr.committed && tr.results.count == 4 && tr.results.items[3].value == value_of("txn"),
           "transaction commits and reads its own write", s);
    s = kv.call(Get{a}, g);
    expect(s == Status::not_found, "the transaction deleted a", s);

    Txn bad_check{};
    (void)bad_check.ops.push(TxnOp{TxnKind::put, a, 0, value_of("never")});
    (void)bad_check.ops.push(TxnOp{TxnKind::check, b, 1, {}});  // b's version is not 1
    s = kv.call(bad_check, tr);
    expect(s == Status::ok && !tr.committed && tr.failed == 1, "a transaction with a failed check aborts", s);
    s = kv.call(Get{a}, g);
    expect(s == Status::not_found, "an aborted transaction wrote nothing", s);

    DeleteReply d{};
    s = kv.call(Delete{b}, d);
    expect(s == Status::ok && d.existed, "delete", s);
    s = kv.call(Delete{b}, d);
    expect(s == Status::ok && !d.existed, "delete of a missing key says so", s);
    s = kv.call(Put{Key{}, value_of("x")}, p);
    expect(s == Status::invalid_argument, "an empty key is invalid_argument", s);

    // Over the limits: the stub refuses to send a field longer than its limit.
    Put big{};
    big.key = a;
    big.value.size = max_value + 1;
    s = kv.call(big, p);
    expect(s == Status::invalid_argument, "a value over the limit is refused before sending", s);
}

void replays(rpc::Client& kv);

void hostile(rpc::Client& kv) {
    rpc::FrameHeader h{};
    // Unknown operation.
    std::uint8_t frame[rpc::max_frame] = {};
    std::size_t len = 0;
    (void)rpc::encode_frame<rpc::Empty>(rpc::FrameHeader{77, 99, 0}, nullptr, frame, len);
    Status s = kv.call_raw(std::span<const std::uint8_t>(frame, len), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::bad_request) && h.id == 77,
           "an unknown operation is bad_request", s);
    // A get whose body ends inside the key.
    Get g{key_of("t")};
    (void)rpc::encode_frame(rpc::FrameHeader{78, Get::op, 0}, &g, frame, len);
    s = kv.call_raw(std::span<const std::uint8_t>(frame, len - 2), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::bad_request), "a truncated request is bad_request", s);
    // A key whose length field says 33 (over max_key), with the bytes there. The header: id 79,
    // op, status 0, session 0 (rpc::header_bytes); then the key's u16 length and its bytes.
    static_assert(rpc::header_bytes == 12);
    for (std::size_t i = 0; i < rpc::header_bytes; ++i) frame[i] = 0;
    frame[0] = 79;
    frame[4] = Get::op;
    frame[12] = 33;
    frame[13] = 0;
    for (unsigned i = 0; i < 33; ++i) frame[14 + i] = 'k';
    s = kv.call_raw(std::span<const std::uint8_t>(frame, 14 + 33), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::bad_request), "a key over its limit is bad_request", s);
    // Trailing bytes after a complete request.
    (void)rpc::encode_frame(rpc::FrameHeader{80, Get::op, 0}, &g, frame, len);
    frame[len] = 0xee;
    s = kv.call_raw(std::span<const std::uint8_t>(frame, len + 1), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::bad_request), "trailing bytes are bad_request", s);
    // Shorter than a frame header.
    s = kv.call_raw(std::span<const std::uint8_t>(frame, 3), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::bad_request) && h.id == 0,
           "a frame shorter than its header is bad_request", s);
    // The connection still works.
    PutReply p{};
    s = kv.call(Put{key_of("after"), value_of("fine")}, p);
    expect(s == Status::ok, "the connection works after bad requests", s);
    replays(kv);
}

// Hostile use of the ids a retry is recognised by (docs/servers.md, "Retried writes"): a client
// that sends another write under an id it already used gets the first answer and its new write
// is not done; an older id is a late copy, refused and not done. Both harm only the sender: the
// session is keyed by our own core and domain, whatever session number we claim. First every
// client writes under 12 made-up sessions at once: each domain's writes push out only its own
// kept answers (Sessions::per_domain), so every client's test below still finds its answer
// kept however the clients interleave.
void replays(rpc::Client& kv) {
    std::uint8_t frame[rpc::max_frame] = {};
    std::size_t len = 0;
    rpc::FrameHeader h{};
    for (std::uint32_t spray = 0; spray < 12; ++spray) {
        Put p{key_of("spray"), value_of("s")};
        (void)rpc::encode_frame(rpc::FrameHeader{1, Put::op, 0, 0x8000 + spray}, &p, frame, len);
        Status s = kv.call_raw(std::span<const std::uint8_t>(frame, len), h);
        expect(s == Status::ok && h.status == 0, "a write under a made-up session is done", s);
    }
    constexpr std::uint32_t session = 0x7777;  // not our Client objects' (1, 2): theirs would go stale
    Put one{key_of("replay"), value_of("one")};
    (void)rpc::encode_frame(rpc::FrameHeader{5000, Put::op, 0, session}, &one, frame, len);
    Status s = kv.call_raw(std::span<const std::uint8_t>(frame, len), h);
    expect(s == Status::ok && h.status == 0, "a raw put with session and id is done", s);
    Put two{key_of("replay"), value_of("two")};
    (void)rpc::encode_frame(rpc::FrameHeader{5000, Put::op, 0, session}, &two, frame, len);
    s = kv.call_raw(std::span<const std::uint8_t>(frame, len), h);
    expect(s == Status::ok && h.status == 0, "another write under a used id gets the first answer", s);
    (void)rpc::encode_frame(rpc::FrameHeader{4999, Put::op, 0, session}, &two, frame, len);
    s = kv.call_raw(std::span<const std::uint8_t>(frame, len), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::out_of_range),
           "an older id is refused as a late copy", s);
    GetReply g{};
    s = kv.call(Get{key_of("replay")}, g);
    expect(s == Status::ok && g.value == value_of("one"), "neither replayed write was done", s);
    // kept answers come from the primary only: a client cannot plant one.
    KeepAnswer k{};
    k.answer.session = session;
    k.answer.request = 6000;
    k.answer.op = Put::op;
    ApplyReply ar{};
    s = kv.call(k, ar);
    expect(s == Status::permission_denied, "the primary refuses keep_answer from a client", s);
    s = kv.call(Rebase{1, 0, 2}, ar);
    expect(s == Status::permission_denied, "the primary refuses rebase", s);
    s = kv.call(Resume{1, 0}, ar);
    expect(s == Status::permission_denied, "the primary refuses resume", s);
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t replicas = arg & 0xff;
    const bool via_nameserv = (arg & 0x100) != 0;
    core = user::syscall6(abi::Sys::domain_info).value >> 32;
    rpc::Client kv;
    // With nameserv in the config kvstore's names live there only: the monitors' table must not
    // hold them (a bind by name there is refused at once).
    if (via_nameserv) {
        expect(nameserv::present(), "the monitor says the config runs nameserv", Status::not_found);
        user::Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind);
        user::pack_name16(service, m.w[1], m.w[2]);
        const Status bs = user::monitor_call(m);
        expect(bs == Status::not_found, "kvstore is not in the monitors' table", bs);
    }
    if (const Status s = nameserv::connect(kv, service); s != Status::ok) {
        user::print("test-fail: kvclient core {}: connect kvstore: {}", core, to_string(s));
        return 1;
    }
    basic(kv);
    hostile(kv);
    if (replicas >= 2) {
        // The write was acknowledged, so the backup holds it.
        rpc::Client backup;
        Status s = nameserv::connect(backup, "kvstore.1");
        expect(s == Status::ok, "connect to the backup", s);
        GetReply g{};
        if (s == Status::ok) {
            s = backup.call(Get{key_of("after")}, g);
            expect(s == Status::ok && g.value == value_of("fine"), "the backup holds an acknowledged write", s);
            PutReply p{};
            s = backup.call(Put{key_of("x"), value_of("y")}, p);
            expect(s == Status::permission_denied, "a backup refuses client writes", s);
            // Hostile: a client posing as the primary. apply and load are taken only from the
            // domain that holds the name "kvstore" (nameserv, or the monitors' table).
            Apply forged{};
            forged.seq = g.version + 1000;
            ApplyReply ar{};
            s = backup.call(forged, ar);
            expect(s == Status::permission_denied, "a backup refuses apply from a client", s);
            Load load{};
            load.first = load.last = true;
            s = backup.call(load, ar);
            expect(s == Status::permission_denied, "a backup refuses load from a client", s);
            KeepAnswer k{};
            k.answer.session = 1;
            k.answer.request = 1;
            k.answer.op = Put::op;
            s = backup.call(k, ar);
            expect(s == Status::permission_denied, "a backup refuses keep_answer from a client", s);
            // The catch-up steps, forged with the backup's own position (which stats tells
            // anyone): moving it to another history, or telling it that it is current.
            StatsReply before{};
            s = backup.call(Stats{}, before);
            expect(s == Status::ok && before.history != 0, "the backup has a history", s);
            s = backup.call(Rebase{before.history, before.applied, before.history ^ 0x5a5a}, ar);
            expect(s == Status::permission_denied, "a backup refuses rebase from a client", s);
            s = backup.call(Resume{before.history ^ 0x5a5a, before.applied}, ar);
            expect(s == Status::permission_denied, "a backup refuses resume from a client", s);
            StatsReply after{};
            s = backup.call(Stats{}, after);
            expect(s == Status::ok && after.history == before.history && after.applied >= before.applied,
                   "the backup's history is unchanged after the forgeries", s);
            s = backup.call(Get{key_of("after")}, g);
            expect(s == Status::ok && g.value == value_of("fine"), "the backup still holds the write after forgeries", s);
            backup.close();
        }
    }
    kv.close();
    if (failures) return 1;
    user::print("test-pass: kvclient core {} served by core {} domain {}{}", core, kv.peer_core(), kv.peer_domain(),
                via_nameserv ? " (found through nameserv)" : "");
    return 0;
}
