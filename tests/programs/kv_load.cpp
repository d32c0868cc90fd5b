// Client load for the fault campaign (./myriad faults, docs/faults.md): one per core, writing
// while the campaign crashes kvstore's replicas. Argument: operations (default 200, at most 1000),
// half of them compare-and-swap increments of this client's counter `c<core>`, half puts to its
// 8 keys `p<core>-<k>` in turn (9 keys a client: the table holds 128). The runtime binds again and resends after a crash (docs/servers.md, "Retries").
// A call that still fails leaves its write uncertain (done or not). At the end the client checks
// what it was told against what the store holds:
//   - the counter equals the acknowledged increments, plus at most the uncertain ones (more is a
//     write done twice or a phantom; less is an acknowledged write lost);
//   - each put key holds the value of its last acknowledged put, or of an uncertain put after it;
//   - no swap failed (nobody else writes the counter: a failed swap is a write done twice).
// Every 10th operation it also sends a malformed request on the same connection (an unknown
// operation, a request cut short, a key over its limit, trailing bytes, in turn), so they arrive
// under load and across crashes: each must be answered bad_request or go unanswered because the
// server died (connection_lost, timeout); any other answer is a failure, and the writes around
// them must all check out.
// Prints `kvload core=C ops=N acked=A uncertain=U counter=V puts=P lost=L wrong=W conflicts=X
// retried=R malformed=M refused=B`; a broken check is a `test-fail:` line.
#include "kv_numbers.hpp"

#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;
using kvtest::number_of;
using kvtest::value_of;

namespace {

constexpr unsigned max_ops = 1000;
constexpr unsigned put_keys = 8;

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

kvstore::Key key_of(const char* prefix, std::uint64_t core, std::int64_t j) {
    char b[24];
    FixedBuffer f(b, sizeof b);
    if (j < 0) format_to(f, "{}{}", prefix, core);
    else format_to(f, "{}{}-{}", prefix, core, j);
    kvstore::Key k{};
    (void)k.assign_cstr(f.c_str());
    return k;
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

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t ops = arg == 0 || arg > max_ops ? 200 : arg;
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
    static rpc::Client kv;
    if (const Status s = nameserv::connect(kv, kvstore::service); s != Status::ok) {
        user::print("test-fail: kvload: find kvstore: {}", to_string(s));
        return 1;
    }
    const kvstore::Key counter = key_of("c", core, -1);
    std::uint64_t acked = 0, uncertain = 0, conflicts = 0;
    static PutKey put[put_keys];
    std::uint64_t puts = 0, malformed = 0, refused = 0, served_malformed = 0;
    for (std::uint64_t j = 0; j < ops; ++j) {
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
            kvstore::PutReply p{};
            if (kv.call(kvstore::Put{key_of("p", core, static_cast<std::int64_t>((j / 2) % put_keys)), value_of(j)}, p) ==
                Status::ok) {
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
            Status s = kv.call(kvstore::Get{counter}, g);
            if (s != Status::ok && s != Status::not_found) {
                ++uncertain;  // not even read: this increment is not attempted; counted as uncertain (0 or 1 is fine)
                break;
            }
            kvstore::Cas c{};
            c.key = counter;
            c.expected = g.found ? g.version : 0;
            c.value = value_of((g.found ? number_of(g.value) : 0) + 1);
            kvstore::CasReply r{};
            s = kv.call(c, r);
            if (s != Status::ok) {
                ++uncertain;
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
    for (unsigned tries = 0; tries < 5 && s != Status::ok && s != Status::not_found; ++tries) s = kv.call(kvstore::Get{counter}, g);
    const std::uint64_t value = s == Status::ok ? number_of(g.value) : 0;
    std::uint64_t lost = 0, wrong = 0;
    for (unsigned i = 0; i < put_keys; ++i) {
        const PutKey& k = put[i];
        if (k.acked == 0 && k.n_uncertain == 0 && !k.overflowed) continue;  // never written
        kvstore::GetReply pg{};
        const Status ps = kv.call(kvstore::Get{key_of("p", core, i)}, pg);
        const bool absent = ps == Status::not_found || (ps == Status::ok && !pg.found);
        if (absent) {
            if (k.acked != 0) ++lost;  // an acknowledged put is gone
        } else if (ps != Status::ok || !k.allows(number_of(pg.value))) {
            ++wrong;
        }
    }
    const bool counter_ok = (s == Status::ok || (s == Status::not_found && acked == 0)) && value >= acked &&
                            value <= acked + uncertain;
    user::print("kvload core={} ops={} acked={} uncertain={} counter={} puts={} lost={} wrong={} conflicts={} retried={} "
                "malformed={} refused={}",
                core, ops, acked, uncertain, value, puts, lost, wrong, conflicts, kv.retried(), malformed, refused);
    kv.close();
    if (!counter_ok || lost || wrong || conflicts || served_malformed) {
        user::print("test-fail: kvload core={}: counter {} for {} acknowledged and {} uncertain increments ({}), {} "
                    "acknowledged puts lost, {} wrong, {} swaps failed",
                    core, value, acked, uncertain, to_string(s), lost, wrong, conflicts);
        return 1;
    }
    return 0;
}
