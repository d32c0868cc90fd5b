// libFuzzer target for nameserv's request decoding (servers/nameserv): arbitrary bytes as request
// frames through the interface's dispatch into a handler over replica 0 of a 3-replica group
// (the same decisions the server makes: changes through the sequencer, `exchange` through the
// hub), with the caller alternating between a client and replica 2's address (so fuzzed
// replication lines reach the replica as from a real peer). Replica 1 is fed honestly by
// `exchange` after every input and must end with replica 0's digest at replica 0's index; the
// same bytes decoded as an exchange reply go to a throwaway replica, which must stay consistent,
// and as a snapshot to join with, which must be refused or give a valid table. `join` from
// replica 2's address takes replica 0's snapshot (and resets its lines) at offset 0.
// Nothing may read or write out of bounds (ASan/UBSan); every reply must be a well-formed frame.
#include <myr/nameserv/interface.hpp>
#include <myr/nameserv/table.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using namespace myr;
using namespace myr::nameserv;

void require(bool ok) {
    if (!ok) std::abort();
}

GroupSetup setup;
HubTransport hub;
Uplink up1, junk_up;
bool built = [] {
    hub.count = 3;
    return setup.build(3) == Status::ok;
}();
NameReplica r0(setup.group, 0, hub), r1(setup.group, 1, up1.transport);
std::uint64_t token = 0;
std::byte snapshot[repl::snapshot_bytes<Table>()];  // replica 2's join, as nameserv serves it
std::uint32_t snapshot_len = 0;

Status change(Kind kind, const Name& n, Address who, OwnerReply& out) {
    Table::Op op{};
    if (const Status s = make_op(kind, n, who, op); s != Status::ok) return s;
    const std::uint64_t t = ++token;
    if (const Status s = r0.submit(op, t); s != Status::ok) return s;
    repl::Completion<Table> c{};
    bool hit = false;
    while (r0.take_completion(c))
        if (c.token == t) {
            out.owner = address_of(c.result.owner);
            hit = true;
            if (c.result.status != Status::ok) return c.result.status;
        }
    require(hit);  // replica 0 orders its own changes at once
    return Status::ok;
}

struct Handler {
    Status handle(const rpc::Caller& c, const Register& r, OwnerReply& out) {
        return change(Kind::add, r.name_, Address{c.core, c.domain}, out);
    }
    Status handle(const rpc::Caller&, const Lookup& r, OwnerReply& out) { return lookup(r0.object(), r.name_, out.owner); }
    Status handle(const rpc::Caller& c, const Unregister& r, OwnerReply& out) {
        return change(Kind::remove, r.name_, Address{c.core, c.domain}, out);
    }
    Status handle(const rpc::Caller&, const List& r, ListReply& out) {
        list(r0.object(), r.from, out);
        return Status::ok;
    }
    Status handle(const rpc::Caller& c, const Exchange& r, ExchangeReply& out) {
        const std::uint16_t from = (c.core == 5 && c.domain == 5) ? 2 : 0;
        return serve_exchange(r0, hub, from, r, out, [](const Line&) {});
    }
    Status handle(const rpc::Caller&, const Hello&, rpc::Empty&) { return Status::permission_denied; }
    Status handle(const rpc::Caller& c, const Join& r, JoinReply& out) {
        const std::uint16_t from = (c.core == 5 && c.domain == 5) ? 2 : 0;
        if (from == 0) return Status::permission_denied;
        if (r.offset == 0) {
            const Result<std::size_t> n = start_join(r0, hub, from, snapshot);
            if (!n.ok()) return n.status();
            snapshot_len = static_cast<std::uint32_t>(*n);
        }
        if (snapshot_len == 0 || r.offset >= snapshot_len) return Status::out_of_range;
        const std::uint32_t n = snapshot_len - r.offset < join_page ? snapshot_len - r.offset : join_page;
        out.applied = r0.applied_index();
        out.total = snapshot_len;
        require(out.bytes.assign(snapshot + r.offset, n));
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        out = {r0.object().size(), r0.applied_index(), r0.object().digest(), 0, 0, 0, true};
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Recover&, JoinReply&) { return Status::permission_denied; }  // replica 0's answer
};

Handler handler;  // kept across inputs: state built by earlier inputs is attacked by later ones

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    require(built);
    // Several frames per input: a length byte, then the frame; the caller alternates between a
    // client and replica 2.
    std::size_t pos = 0;
    unsigned n = 0;
    while (pos < size) {
        const std::size_t len = data[pos++];
        const std::size_t take = len < size - pos ? len : size - pos;
        const std::span<const std::uint8_t> frame(data + pos, take);
        pos += take;
        const rpc::Caller caller = (n++ % 2) ? rpc::Caller{5, 5, 0} : rpc::Caller{1, 2, 1};
        std::uint8_t out[rpc::max_frame];
        std::size_t out_len = 0;
        require(rpc::dispatch(Interface{}, handler, caller, frame, out, out_len) == Status::ok);
        rpc::FrameHeader h{};
        std::span<const std::uint8_t> body;
        require(rpc::split_frame(std::span<const std::uint8_t>(out, out_len), h, body) == Status::ok);
        // Any bytes as an exchange reply: the replica refuses what does not continue its log.
        ExchangeReply junk{};
        if (rpc::decode(frame, junk) == Status::ok) {
            static NameReplica r_junk(setup.group, 1, junk_up.transport);
            (void)junk_up.take(r_junk, junk);
            require(r_junk.object().valid_state());
        }
        // Replica 0's completions are taken by change(); nothing else completes there.
        repl::Completion<Table> c{};
        require(!r0.take_completion(c));
    }
    require(r0.object().valid_state());
    // The same bytes as a snapshot to join with: refused, or a valid table.
    static Uplink snap_up;
    static NameReplica r_snap(setup.group, 1, snap_up.transport);
    if (finish_join(r_snap, snap_up, std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size)) == Status::ok)
        require(r_snap.object().valid_state());
    // Replica 1, fed honestly, reaches replica 0's index and digest.
    for (unsigned round = 0; round < 1000 && !(up1.caught_up && hub.peers[1].out.unacked() == 0); ++round) {
        Exchange req{};
        up1.request(req, r1);
        ExchangeReply reply{};
        if (serve_exchange(r0, hub, 1, req, reply, [](const Line&) {}) == Status::out_of_range) return 0;  // dropped
        require(up1.take(r1, reply) == Status::ok);
    }
    if (!hub.peers[1].dropped) {
        require(r1.applied_index() == r0.applied_index());
        require(r1.object().digest() == r0.object().digest());
        require(up1.diverged == 0);
    }
    return 0;
}
