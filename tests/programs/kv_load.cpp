// Client load for the fault campaign (./myriad faults, docs/faults.md): one per core, writing
// while the campaign crashes kvstore's replicas. Argument: operations (default 200, at most 1000),
// half of them compare-and-swap increments of this client's counter `c<core>`, half puts to its
// 4 keys `p<core>-<k>` in turn (7 keys a client with the two of its transactions, and one all
// clients share: 16 clients fill 113 of the table's 128; a full table answers `overflow`, which
// this client reports as a test failure, since its writes would then test nothing). The runtime
// binds again and resends after a crash (docs/servers.md, "Retries").
// A call that still fails leaves its write uncertain (done or not). At the end the client checks
// what it was told against what the store holds:
//   - the counter equals the acknowledged increments, plus at most the uncertain ones (more is a
//     write done twice or a phantom; less is an acknowledged write lost);
//   - each put key holds the value of its last acknowledged put, or of an uncertain put after it;
//   - no swap failed (nobody else writes the counter: a failed swap is a write done twice);
//   - transactions (every 10th operation, besides it): two keys `ta<core>` and `tb<core>` start
//     at 1000 and 0 (absent); each transaction reads both in one transaction, then moves 1 from
//     ta to tb in another that checks both versions. Every read, during the run and at the end,
//     must see ta + tb = 1000 (a transaction half applied, by a crash mid-way or a replica that
//     took half of one, breaks it: `torn`); the units moved at the end must lie between the
//     acknowledged transactions and those plus the uncertain ones; a check that fails is a
//     transaction done twice (nobody else writes the two keys).
// Every 10th operation, besides, it puts to or reads the one key all clients share (`hist0`).
// Every call on every key (the shared one and its own: gets, puts, compare-and-swaps, and each
// transaction's reads and writes key by key) is timed with the time-stamp counter and printed as
// a `kvhist` line as it goes (tools/config's kv_history.hpp says the format): the campaign checks
// each key's history for linearizability (myriadctl check-history, docs/faults.md
// "Linearizability"). A write's start is printed before the call, so one cut short by this
// client's own death is still in the history, as one whose outcome is unknown. A shared put's
// value is unique (core, operation).
// Every 10th operation it also sends a malformed request on the same connection (an unknown
// operation, a request cut short, a key over its limit, trailing bytes, in turn), so they arrive
// under load and across crashes: each must be answered bad_request or go unanswered because the
// server died (connection_lost, timeout); any other answer is a failure, and the writes around
// them must all check out.
// Prints `kvload core=C ops=N acked=A uncertain=U counter=V puts=P lost=L wrong=W conflicts=X
// retried=R txns=T txn_uncertain=TU moved=MV torn=TN malformed=M refused=B`; a broken check is a
// `test-fail:` line.
#include "kv_numbers.hpp"

#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;
using kvtest::number_of;
using kvtest::value_of;

namespace {

constexpr unsigned max_ops = 1000;
constexpr unsigned put_keys = 4;
constexpr std::uint64_t transfer_total = 1000;

// What we were told about one put key: the last acknowledged value (0: none yet) and the
// uncertain puts after it (a later acknowledged put replaces them).
struct PutKey {
    std::uint64_t acked = 0;
    std::uint64_t uncertain[8] = {};
    unsigned n_uncertain = 0;
    bool overflowed = false;  // more uncertain puts than kept: the check accepts any value then
    bool allows(std::uint64_t v) const {
        if (v == acked || overflowed) return true;
        for (unsigned i = 0; i < n_uncertain; ++i)
            if (uncertain[i] == v) return true;
        return false;
    }
};

// A key's name: `<prefix><core>`, or `<prefix><core>-<j>`.
struct Name {
    char text[24];
};
Name name_of(const char* prefix, std::uint64_t core, std::int64_t j) {
    Name n{};
    FixedBuffer f(n.text, sizeof n.text);
    if (j < 0) format_to(f, "{}{}", prefix, core);
    else format_to(f, "{}{}-{}", prefix, core, j);
    return n;
}
kvstore::Key key_of(const Name& n) {
    kvstore::Key k{};
    (void)k.assign_cstr(n.text);
    return k;
}
kvstore::Key key_of(const char* prefix, std::uint64_t core, std::int64_t j) { return key_of(name_of(prefix, core, j)); }

// ---- The history of this client's own keys (kv_history.hpp), every call printed ----

std::uint64_t g_core = 0;

// A read's line: what it found (0: absent), or nothing when the call failed.
void hist_get(const Name& k, Status s, bool found, std::uint64_t value, std::uint64_t inv, std::uint64_t res) {
    if (s == Status::ok && found)
        user::print("kvhist core={} key={} op=get value={} result=ok inv={} res={}", g_core, k.text, value, inv, res);
    else if (s == Status::ok || s == Status::not_found)
        user::print("kvhist core={} key={} op=get value=0 result=absent inv={} res={}", g_core, k.text, inv, res);
}
// A write's start (before the call) and end. `expect` < 0: a put; else a compare-and-swap that
// expects that value (0: absent).
void hist_start(const Name& k, std::int64_t expect, std::uint64_t value, std::uint64_t inv) {
    if (expect < 0) user::print("kvhist core={} key={} op=put value={} inv={}", g_core, k.text, value, inv);
    else user::print("kvhist core={} key={} op=cas expect={} value={} inv={}", g_core, k.text, expect, value, inv);
}
// The end: `result` as kv_history.hpp says, or null when the call was refused (the start stays
// open: harmless, a write that never happened may be placed never).
void hist_end(const Name& k, std::int64_t expect, std::uint64_t value, const char* result, std::uint64_t inv,
              std::uint64_t res) {
    if (!result) return;
    if (expect < 0)
        user::print("kvhist core={} key={} op=put value={} result={} inv={} res={}", g_core, k.text, value, result, inv, res);
    else
        user::print("kvhist core={} key={} op=cas expect={} value={} result={} inv={} res={}", g_core, k.text, expect, value,
                    result, inv, res);
}
// What a write's call status says of its outcome: ok (applied, or for a swap `swapped`),
// unknown (failed after the runtime's retries), or nothing (refused: not applied).
const char* outcome(Status s, bool swapped = true) {
    if (s == Status::ok) return swapped ? "ok" : "failed";
    if (s == Status::timeout || s == Status::connection_lost) return "unknown";
    return nullptr;
}

// One malformed request of kind `kind` (0-3); what the server made of it. The frames carry id 1,
// below every id the client's own calls use, so a late answer to one is skipped as stale.
Status send_malformed(rpc::Client& kv, unsigned kind, rpc::FrameHeader& answer) {
    static std::uint8_t frame[rpc::max_frame];
    std::size_t len = 0;
    const kvstore::Get g{key_of("m", 0, -1)};
    switch (kind) {
    case 0:  // an operation kvstore does not have
        (void)rpc::encode_frame<rpc::Empty>(rpc::FrameHeader{1, 99, 0}, nullptr, frame, len);
        break;
    case 1:  // a get whose body ends inside its key
        (void)rpc::encode_frame(rpc::FrameHeader{1, kvstore::Get::op, 0}, &g, frame, len);
        len -= 2;
        break;
    case 2:  // a key whose length field says 33 (over the limit), the bytes there
        static_assert(rpc::header_bytes == 12);
        for (std::size_t i = 0; i < rpc::header_bytes; ++i) frame[i] = 0;
        frame[0] = 1;
        frame[4] = kvstore::Get::op;
        frame[12] = 33;
        frame[13] = 0;
        for (unsigned i = 0; i < 33; ++i) frame[14 + i] = 'k';
        len = 14 + 33;
        break;
    default:  // a complete get and one byte more
        (void)rpc::encode_frame(rpc::FrameHeader{1, kvstore::Get::op, 0}, &g, frame, len);
        frame[len++] = 0xee;
        break;
    }
    return kv.call_raw(std::span<const std::uint8_t>(frame, len), answer);
}

// One call on the shared key, printed as it happens (kv_history.hpp in tools/config says the
// format): a put's start first, so a put cut short by this client's own death (a killed client, a
// stopped core) is still in the history, as one whose outcome is unknown. Puts to (even turns) or
// reads (odd turns) the key; a put the server refused and a read that failed say nothing about
// the key and are not printed (a refused put's start is, and counts as unknown: harmless).
void shared_call(rpc::Client& kv, std::uint64_t core, std::uint64_t j) {
    const kvstore::Key key = key_of("hist", 0, -1);
    const bool put = (j / 10) % 2 == 0;
    const std::uint64_t inv = user::rdtsc();
    if (put) {
        const std::uint64_t value = core * 10'000 + j + 1;
        user::print("kvhist core={} op=put value={} inv={}", core, value, inv);
        kvstore::PutReply p{};
        const Status s = kv.call(kvstore::Put{key, value_of(value)}, p);
        if (s != Status::ok && s != Status::timeout && s != Status::connection_lost) return;  // refused: not done
        user::print("kvhist core={} op=put value={} result={} inv={} res={}", core, value, s == Status::ok ? "ok" : "unknown",
                    inv, user::rdtsc());
        return;
    }
    kvstore::GetReply g{};
    const Status s = kv.call(kvstore::Get{key}, g);
    const std::uint64_t res = user::rdtsc();
    if (s == Status::ok && g.found)
        user::print("kvhist core={} op=get value={} result=ok inv={} res={}", core, number_of(g.value), inv, res);
    else if (s == Status::ok || s == Status::not_found)
        user::print("kvhist core={} op=get value=0 result=absent inv={} res={}", core, inv, res);
}

// The two keys of the transactions: (value, version) of each as one transaction read them; an
// absent key is ta = 1000 / tb = 0 at version 0.
struct Pair {
    std::uint64_t a = transfer_total, b = 0, va = 0, vb = 0;
    bool intact() const { return a + b == transfer_total; }
};
Status read_pair(rpc::Client& kv, std::uint64_t core, Pair& out) {
    const Name ta = name_of("ta", core, -1), tb = name_of("tb", core, -1);
    kvstore::Txn t{};
    (void)t.ops.push(kvstore::TxnOp{kvstore::TxnKind::get, key_of(ta), 0, {}});
    (void)t.ops.push(kvstore::TxnOp{kvstore::TxnKind::get, key_of(tb), 0, {}});
    kvstore::TxnReply r{};
    const std::uint64_t inv = user::rdtsc();
    if (const Status s = kv.call(t, r); s != Status::ok) return s;
    const std::uint64_t res = user::rdtsc();
    if (!r.committed || r.results.count != 2) return Status::bad_request;
    out = Pair{};
    if (r.results.items[0].version) out.a = number_of(r.results.items[0].value), out.va = r.results.items[0].version;
    if (r.results.items[1].version) out.b = number_of(r.results.items[1].value), out.vb = r.results.items[1].version;
    hist_get(ta, Status::ok, out.va != 0, out.a, inv, res);
    hist_get(tb, Status::ok, out.vb != 0, out.b, inv, res);
    return Status::ok;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t ops = arg == 0 || arg > max_ops ? 200 : arg;
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
    g_core = core;
    static rpc::Client kv;
    // The first bind may meet a primary that ends before it accepts us (its core stopped while a
    // loaded machine was still taking the boot's binds: qemu_core0_failure in a CI run): find
    // the name again, for up to 30 s, as the runtime's rebind does later.
    Status found = Status::connection_lost;
    user::Backoff pause;
    for (user::Deadline limit(3000); found == Status::connection_lost && !limit.passed();) {
        found = nameserv::connect(kv, kvstore::service);
        if (found == Status::connection_lost) pause.wait();
    }
    if (found != Status::ok) {
        user::print("test-fail: kvload: find kvstore: {}", to_string(found));
        return 1;
    }
    const Name counter_name = name_of("c", core, -1);
    const kvstore::Key counter = key_of(counter_name);
    std::uint64_t acked = 0, uncertain = 0, conflicts = 0, full = 0;
    static PutKey put[put_keys];
    std::uint64_t puts = 0, malformed = 0, refused = 0, served_malformed = 0;
    std::uint64_t txns = 0, txn_uncertain = 0, torn = 0;
    for (std::uint64_t j = 0; j < ops; ++j) {
        if (j % 10 == 3) shared_call(kv, core, j);
        if (j % 10 == 7) {
            Pair p{};
            if (const Status rs = read_pair(kv, core, p); rs != Status::ok) {
                if (rs == Status::bad_request) ++torn;  // a read transaction that did not commit
            } else if (!p.intact()) {
                ++torn;
                user::print("test-fail: kvload core={}: transaction keys read {} + {} (want {})", core, p.a, p.b, transfer_total);
            } else {
                const Name ta = name_of("ta", core, -1), tb = name_of("tb", core, -1);
                kvstore::Txn t{};
                (void)t.ops.push(kvstore::TxnOp{kvstore::TxnKind::check, key_of(ta), p.va, {}});
                (void)t.ops.push(kvstore::TxnOp{kvstore::TxnKind::check, key_of(tb), p.vb, {}});
                (void)t.ops.push(kvstore::TxnOp{kvstore::TxnKind::put, key_of(ta), 0, value_of(p.a - 1)});
                (void)t.ops.push(kvstore::TxnOp{kvstore::TxnKind::put, key_of(tb), 0, value_of(p.b + 1)});
                // Per key, a compare-and-swap from the value read (0: absent) to the new one.
                const std::int64_t ea = p.va ? static_cast<std::int64_t>(p.a) : 0, eb = p.vb ? static_cast<std::int64_t>(p.b) : 0;
                const std::uint64_t inv = user::rdtsc();
                hist_start(ta, ea, p.a - 1, inv);
                hist_start(tb, eb, p.b + 1, inv);
                kvstore::TxnReply r{};
                const Status ws = kv.call(t, r);
                const std::uint64_t res = user::rdtsc();
                // Not committed: failed on the key whose check failed, and nothing to the other.
                const bool both = ws != Status::ok || r.committed;
                hist_end(ta, ea, p.a - 1, both || r.failed == 0 ? outcome(ws, r.committed) : "void", inv, res);
                hist_end(tb, eb, p.b + 1, both || r.failed == 1 ? outcome(ws, r.committed) : "void", inv, res);
                if (ws != Status::ok) ++txn_uncertain;
                else if (r.committed) ++txns;
                else ++conflicts;  // only this client writes ta/tb: a check failed by a resent transaction done twice
            }
        }
        if (j % 10 == 5) {
            rpc::FrameHeader h{};
            const Status s = send_malformed(kv, static_cast<unsigned>((j / 10) % 4), h);
            ++malformed;
            // Answered: it must be bad_request. A frame with another id is the late answer to an
            // earlier call that timed out (ours then comes later and is skipped as stale), and a
            // server that died never answers: neither is a verdict on the malformed request.
            if (s == Status::ok && h.id == 1 && h.status == static_cast<std::int16_t>(Status::bad_request)) {
                ++refused;
            } else if ((s == Status::ok && h.id == 1) || (s != Status::ok && s != Status::connection_lost && s != Status::timeout)) {
                ++served_malformed;
                user::print("test-fail: kvload core={}: malformed request {} answered {} / status {}", core, (j / 10) % 4,
                            to_string(s), h.status);
            }
        }
        if (j % 2 == 1) {
            PutKey& k = put[(j / 2) % put_keys];
            const Name pk = name_of("p", core, static_cast<std::int64_t>((j / 2) % put_keys));
            kvstore::PutReply p{};
            const std::uint64_t inv = user::rdtsc();
            hist_start(pk, -1, j, inv);
            const Status ps = kv.call(kvstore::Put{key_of(pk), value_of(j)}, p);
            hist_end(pk, -1, j, outcome(ps), inv, user::rdtsc());
            if (ps == Status::overflow && full++ == 0)
                user::print("test-fail: kvload core={}: kvstore's table is full (overflow): more clients than its keys hold", core);
            if (ps == Status::ok) {
                k.acked = j;
                k.n_uncertain = 0;
                k.overflowed = false;
                ++puts;
            } else if (k.n_uncertain < 8) {
                k.uncertain[k.n_uncertain++] = j;
            } else {
                k.overflowed = true;
            }
            continue;
        }
        for (;;) {
            kvstore::GetReply g{};
            std::uint64_t inv = user::rdtsc();
            Status s = kv.call(kvstore::Get{counter}, g);
            hist_get(counter_name, s, g.found, number_of(g.value), inv, user::rdtsc());
            if (s != Status::ok && s != Status::not_found) {
                ++uncertain;  // not even read: this increment is not attempted; counted as uncertain (0 or 1 is fine)
                break;
            }
            kvstore::Cas c{};
            c.key = counter;
            c.expected = g.found ? g.version : 0;
            c.value = value_of((g.found ? number_of(g.value) : 0) + 1);
            kvstore::CasReply r{};
            const std::int64_t expect = g.found ? static_cast<std::int64_t>(number_of(g.value)) : 0;
            inv = user::rdtsc();
            hist_start(counter_name, expect, static_cast<std::uint64_t>(expect) + 1, inv);
            s = kv.call(c, r);
            hist_end(counter_name, expect, static_cast<std::uint64_t>(expect) + 1, outcome(s, r.swapped), inv, user::rdtsc());
            if (s != Status::ok) {
                ++uncertain;
                if (s == Status::overflow && full++ == 0)
                    user::print("test-fail: kvload core={}: kvstore's table is full (overflow): more clients than its keys hold", core);
                break;
            }
            if (r.swapped) {
                ++acked;
                break;
            }
            ++conflicts;  // only this client writes c<core>: a resent swap that was done twice
        }
    }
    // The check: what the store holds against what we were told.
    kvstore::GetReply g{};
    Status s = Status::busy;
    for (unsigned tries = 0; tries < 5 && s != Status::ok && s != Status::not_found; ++tries) {
        const std::uint64_t inv = user::rdtsc();
        s = kv.call(kvstore::Get{counter}, g);
        hist_get(counter_name, s, g.found, number_of(g.value), inv, user::rdtsc());
    }
    const std::uint64_t value = s == Status::ok ? number_of(g.value) : 0;
    std::uint64_t lost = 0, wrong = 0;
    for (unsigned i = 0; i < put_keys; ++i) {
        const PutKey& k = put[i];
        if (k.acked == 0 && k.n_uncertain == 0 && !k.overflowed) continue;  // never written
        kvstore::GetReply pg{};
        const Name pk = name_of("p", core, i);
        const std::uint64_t inv = user::rdtsc();
        const Status ps = kv.call(kvstore::Get{key_of(pk)}, pg);
        hist_get(pk, ps, pg.found, number_of(pg.value), inv, user::rdtsc());
        const bool absent = ps == Status::not_found || (ps == Status::ok && !pg.found);
        if (absent) {
            if (k.acked != 0) ++lost;  // an acknowledged put is gone
        } else if (ps != Status::ok || !k.allows(number_of(pg.value))) {
            ++wrong;
        }
    }
    const bool counter_ok = (s == Status::ok || (s == Status::not_found && acked == 0)) && value >= acked &&
                            value <= acked + uncertain;
    Pair end{};
    Status ts = Status::busy;
    for (unsigned tries = 0; tries < 5 && ts != Status::ok; ++tries) ts = read_pair(kv, core, end);
    const std::uint64_t moved = transfer_total - end.a;
    if (ts == Status::ok && !end.intact()) ++torn;
    const bool txns_ok = ts == Status::ok && end.a <= transfer_total && moved >= txns && moved <= txns + txn_uncertain;
    user::print("kvload core={} ops={} acked={} uncertain={} counter={} puts={} lost={} wrong={} conflicts={} retried={} "
                "txns={} txn_uncertain={} moved={} torn={} malformed={} refused={}",
                core, ops, acked, uncertain, value, puts, lost, wrong, conflicts, kv.retried(), txns, txn_uncertain, moved,
                torn, malformed, refused);
    kv.close();
    if (!counter_ok || lost || wrong || conflicts || served_malformed || torn || !txns_ok) {
        user::print("test-fail: kvload core={}: counter {} for {} acknowledged and {} uncertain increments ({}), {} "
                    "acknowledged puts lost, {} wrong, {} swaps or checks failed; {} moved for {} acknowledged and {} "
                    "uncertain transactions ({}), {} torn",
                    core, value, acked, uncertain, to_string(s), lost, wrong, conflicts, moved, txns, txn_uncertain,
                    to_string(ts), torn);
        return 1;
    }
    return 0;
}
