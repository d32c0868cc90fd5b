// nameserv's pure parts (servers/nameserv): the table (repl::NameTable: add-if-absent, owner-only
// removal, a dead owner's names, paging, 24-byte names), the link that carries the sequencer's
// lines between replicas over `exchange` calls (numbered lines, acknowledged prefixes: a repeated
// call neither loses nor duplicates a line; gaps, spoofed senders and non-replicas refused; a
// replica whose buffer overflows is dropped), whole replica groups driven through the link with
// lost replies, and the interface's strict decoding. Replica 0's restarts and moves:
// nameserv_restart_test.cpp.
#include "nameserv_cluster.hpp"

#include <cstdio>
#include <cstring>

namespace myr {
namespace {

// The table as the server uses it: requests -> ops (owner = the caller), results back.
Status add(Table& t, const Name& n, Address who, Address& owner) {
    Table::Op op{};
    if (const Status s = make_op(Kind::add, n, who, op); s != Status::ok) return s;
    const Table::Result r = t.apply(op);
    owner = address_of(r.owner);
    return r.status;
}
Status remove(Table& t, const Name& n, Address who, Address& owner) {
    Table::Op op{};
    if (const Status s = make_op(Kind::remove, n, who, op); s != Status::ok) return s;
    const Table::Result r = t.apply(op);
    owner = address_of(r.owner);
    return r.status;
}

TEST(NameservTable, AddIfAbsentOneWinner) {
    Table t;
    Address owner{};
    EXPECT_EQ(add(t, nm("svc"), a1, owner), Status::ok);
    EXPECT_EQ(owner, a1);
    EXPECT_EQ(add(t, nm("svc"), a2, owner), Status::exists);
    EXPECT_EQ(owner, a1);  // the loser learns who holds it
    EXPECT_EQ(lookup(t, nm("svc"), owner), Status::ok);
    EXPECT_EQ(owner, a1);
    EXPECT_EQ(lookup(t, nm("other"), owner), Status::not_found);
    EXPECT_EQ(t.size(), 1u);
}

TEST(NameservTable, InvalidNamesAndOps) {
    Table t;
    Address owner{};
    EXPECT_EQ(add(t, Name{}, a1, owner), Status::invalid_argument);
    EXPECT_EQ(add(t, nm("has space"), a1, owner), Status::invalid_argument);
    Name ctl = nm("x");
    ctl.data[0] = 0x07;
    EXPECT_EQ(add(t, ctl, a1, owner), Status::invalid_argument);
    Name corrupt = nm("x");
    corrupt.size = max_name + 1;  // a struct over its limit never passes
    EXPECT_EQ(add(t, corrupt, a1, owner), Status::invalid_argument);
    EXPECT_EQ(add(t, nm("abcdefghijklmnopqrstuvwx"), a1, owner), Status::ok);  // exactly 24
    EXPECT_EQ(t.size(), 1u);
    // Ops from the wire are checked whole: bytes past the length, a drop_owner with a name, a
    // lookup with an owner, an unknown kind are all refused and change nothing.
    Table::Op op = Table::add("ab", {1, 2});
    op.name[5] = 'z';
    EXPECT_FALSE(Table::valid(op));
    EXPECT_EQ(t.apply(op).status, Status::invalid_argument);
    op = Table::drop_owner({1, 2});
    op.name[0] = 'a';
    EXPECT_FALSE(Table::valid(op));
    op = Table::lookup("ab");
    op.domain = 3;
    EXPECT_FALSE(Table::valid(op));
    op = Table::add("ab", {1, 2});
    op.kind = static_cast<Kind>(9);
    EXPECT_FALSE(Table::valid(op));
    EXPECT_FALSE(Table::valid(Table::add("abcdefghijklmnopqrstuvwxy", {1, 2})));  // 25: length 0
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(t.valid_state());
}

TEST(NameservTable, OnlyTheOwnerRemoves) {
    Table t;
    Address owner{};
    ASSERT_EQ(add(t, nm("svc"), a1, owner), Status::ok);
    EXPECT_EQ(remove(t, nm("svc"), a3, owner), Status::permission_denied);  // same core, other domain
    EXPECT_EQ(owner, a1);
    EXPECT_EQ(remove(t, nm("svc"), a1, owner), Status::ok);
    EXPECT_EQ(remove(t, nm("svc"), a1, owner), Status::not_found);
    EXPECT_EQ(t.size(), 0u);
}

TEST(NameservTable, DropOwnerTakesOnlyItsNames) {
    Table t;
    Address owner{};
    ASSERT_EQ(add(t, nm("a"), a1, owner), Status::ok);
    ASSERT_EQ(add(t, nm("b"), a1, owner), Status::ok);
    ASSERT_EQ(add(t, nm("c"), a2, owner), Status::ok);
    EXPECT_TRUE(t.holds_names_of(owner_of(a1)));
    EXPECT_EQ(t.apply(Table::drop_owner(owner_of(a1))).status, Status::ok);
    EXPECT_EQ(lookup(t, nm("a"), owner), Status::not_found);
    EXPECT_EQ(lookup(t, nm("c"), owner), Status::ok);
    EXPECT_FALSE(t.holds_names_of(owner_of(a1)));
    EXPECT_EQ(t.apply(Table::drop_owner(owner_of(a1))).status, Status::not_found);
    EXPECT_EQ(t.size(), 1u);
}

TEST(NameservTable, FullTableIsOverflowAndDigestFollowsContents) {
    Table t;
    Address owner{};
    for (unsigned i = 0; i < Table::capacity; ++i) {
        char b[16];
        std::snprintf(b, sizeof b, "n%u", i);
        ASSERT_EQ(add(t, nm(b), a1, owner), Status::ok);
    }
    EXPECT_EQ(add(t, nm("one-more"), a1, owner), Status::overflow);
    EXPECT_TRUE(t.valid_state());
    // Same contents reached by different histories: same digest.
    Table u, v;
    ASSERT_EQ(add(u, nm("x"), a1, owner), Status::ok);
    ASSERT_EQ(add(u, nm("y"), a2, owner), Status::ok);
    ASSERT_EQ(add(v, nm("z"), a1, owner), Status::ok);
    ASSERT_EQ(add(v, nm("y"), a2, owner), Status::ok);
    ASSERT_EQ(add(v, nm("x"), a1, owner), Status::ok);
    ASSERT_EQ(remove(v, nm("z"), a1, owner), Status::ok);
    EXPECT_EQ(u.digest(), v.digest());
    ASSERT_EQ(remove(v, nm("y"), a2, owner), Status::ok);
    ASSERT_EQ(add(v, nm("y"), a3, owner), Status::ok);  // same name, other owner
    EXPECT_NE(u.digest(), v.digest());
}

// A snapshot whose bytes were changed is refused by valid_state (the framework's restore).
TEST(NameservTable, CorruptStateIsRefused) {
    Table t;
    Address owner{};
    ASSERT_EQ(add(t, nm("x"), a1, owner), Status::ok);
    ASSERT_EQ(add(t, nm("y"), a2, owner), Status::ok);
    ASSERT_TRUE(t.valid_state());
    unsigned char bytes[sizeof(Table)];
    std::memcpy(bytes, &t, sizeof t);
    // The first entry's name's first byte (used, length, core, domain come first).
    bytes[8] = 'y';  // "y" twice: duplicate names
    Table bad;
    std::memcpy(&bad, bytes, sizeof bad);
    EXPECT_FALSE(bad.valid_state());
}

TEST(NameservTable, ListPagesEveryName) {
    Table t;
    Address owner{};
    for (unsigned i = 0; i < 20; ++i) {
        char b[16];
        std::snprintf(b, sizeof b, "n%u", i);
        ASSERT_EQ(add(t, nm(b), a1, owner), Status::ok);
    }
    ASSERT_EQ(remove(t, nm("n3"), a1, owner), Status::ok);
    unsigned seen = 0;
    for (std::uint32_t from = 0; from < Table::capacity;) {
        ListReply r{};
        list(t, from, r);
        EXPECT_EQ(r.total, 19u);
        EXPECT_LE(r.entries.count, list_page);
        for (std::uint16_t i = 0; i < r.entries.count; ++i) {
            EXPECT_TRUE(valid_name(r.entries.items[i].name_));
            EXPECT_EQ(r.entries.items[i].owner, a1);
        }
        seen += r.entries.count;
        ASSERT_GT(r.next, from);
        from = r.next;
    }
    EXPECT_EQ(seen, 19u);
}

// ---- The link ----

Line line(std::uint64_t tag) {
    Line l{};
    l.type = 0x42;
    l.w[0] = tag;
    return l;
}

TEST(NameservLink, RepeatedCallsNeitherLoseNorDuplicate) {
    Outbox<8> out;
    Inbox in;
    for (std::uint64_t i = 1; i <= 5; ++i) ASSERT_EQ(out.push(0x42, line(i).w), Status::ok);
    std::vector<std::uint64_t> got;
    auto deliver = [&](const Line& l) { got.push_back(l.w[0]); };
    rpc::Array<Line, exchange_lines> lines;
    bool more = false;
    std::uint64_t first = out.fill(lines, more);
    EXPECT_EQ(first, 1u);
    EXPECT_FALSE(more);
    ASSERT_EQ(in.take(first, lines, deliver), Status::ok);
    // The acknowledgement was lost: the same lines come again, plus a new one.
    ASSERT_EQ(out.push(0x42, line(6).w), Status::ok);
    first = out.fill(lines, more);
    EXPECT_EQ(first, 1u);
    ASSERT_EQ(in.take(first, lines, deliver), Status::ok);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
    ASSERT_EQ(out.ack(in.received), Status::ok);
    EXPECT_EQ(out.unacked(), 0u);
    EXPECT_EQ(out.ack(3), Status::ok);  // an old acknowledgement changes nothing
    EXPECT_EQ(out.unacked(), 0u);
    EXPECT_EQ(out.ack(7), Status::invalid_argument);  // beyond what was sent
    // Full: overflow, and nothing is overwritten.
    for (std::uint64_t i = 7; i <= 14; ++i) ASSERT_EQ(out.push(0x42, line(i).w), Status::ok);
    EXPECT_EQ(out.push(0x42, line(15).w), Status::overflow);
    first = out.fill(lines, more);
    EXPECT_EQ(first, 7u);
    EXPECT_EQ(lines.items[0].w[0], 7u);
    // A gap is refused and nothing after it taken.
    Inbox fresh;
    got.clear();
    EXPECT_EQ(fresh.take(2, lines, deliver), Status::invalid_argument);
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(fresh.take(0, lines, deliver), Status::invalid_argument);
}

TEST(NameservGroup, ReplicasAgreeThroughLostReplies) {
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        Cluster c(4);
        std::mt19937_64 rng(seed);
        const char* names[] = {"race", "a", "b", "c"};
        for (unsigned step = 0; step < 120; ++step) {
            const unsigned i = static_cast<unsigned>(rng() % c.k);
            const Address who{i, static_cast<std::uint32_t>(1 + rng() % 2)};
            const char* n = names[rng() % 4];
            const unsigned what = static_cast<unsigned>(rng() % 10);
            Table::Op op = what < 5 ? Table::add(n, owner_of(who))
                         : what < 9 ? Table::remove(n, owner_of(who))
                                    : Table::drop_owner(owner_of(who));
            const Table::Result res = c.change(i, op, &rng);
            if (what < 5) {
                // Read your writes at the origin: the holder it was told is what it now reads.
                Address holder{};
                ASSERT_EQ(lookup(c.r[i]->object(), nm(n), holder), Status::ok) << "seed " << seed;
                EXPECT_EQ(holder, address_of(res.owner));
            }
            if (rng() % 4 == 0) {
                const unsigned j = 1 + static_cast<unsigned>(rng() % (c.k - 1));
                ASSERT_EQ(c.exchange(j, rng() % 3 == 0), Status::ok);
            }
        }
        c.drain();
        for (unsigned i = 1; i < c.k; ++i) {
            EXPECT_EQ(c.r[i]->applied_index(), c.r[0]->applied_index()) << "seed " << seed;
            EXPECT_EQ(c.r[i]->object().digest(), c.r[0]->object().digest()) << "seed " << seed;
            EXPECT_EQ(c.up[i]->diverged, 0u);
            EXPECT_GT(c.up[i]->compared, 0u);
            EXPECT_EQ(c.r[i]->stats().rejected, 0u);
            EXPECT_EQ(c.r[i]->stats().orphans, 0u);
        }
        EXPECT_EQ(c.r[0]->stats().rejected, 0u);
        EXPECT_EQ(c.r[0]->stats().send_failures, 0u);
    }
}

// The digest check can fail: a reply whose digest differs from ours at our own log index (a
// replica 0 whose copy went another way) is counted as diverged.
TEST(NameservGroup, DivergenceIsCounted) {
    Cluster c(2);
    (void)c.change(1, Table::add("x", owner_of(a1)));
    c.drain();
    EXPECT_EQ(c.up[1]->diverged, 0u);
    Exchange req{};
    c.up[1]->request(req, *c.r[1]);
    ExchangeReply reply{};
    ASSERT_EQ(serve_exchange(*c.r[0], c.hub, 1, req, reply, [](const Line&) {}), Status::ok);
    ASSERT_EQ(reply.applied, c.r[1]->applied_index());
    reply.digest ^= 1;
    ASSERT_EQ(c.up[1]->take(*c.r[1], reply), Status::ok);
    EXPECT_EQ(c.up[1]->diverged, 1u);
}

// Only replicas exchange: replica 0 refuses a caller it does not know as a replica (index 0:
// nameserv maps every other caller there), and a line whose sender field names another replica
// than the caller is refused by the Replica and not applied.
TEST(NameservGroup, SpoofedLinesAreRefused) {
    Cluster c(3);
    Exchange req{};
    req.first = 1;
    Line l{};
    l.type = static_cast<std::uint8_t>(repl::Kind::seq_request);
    repl::Packet p{};
    p.kind = repl::Kind::seq_request;
    p.object = 1;
    p.origin = 2;
    p.root = 0;
    p.from = 2;  // claims to be replica 2
    p.id = repl::make_id(2, 1);
    repl::to_words(Table::add("spoof", owner_of(a1)), p.body);
    repl::encode(p, l.w);
    (void)req.lines.push(l);
    ExchangeReply reply{};
    EXPECT_EQ(serve_exchange(*c.r[0], c.hub, 0, req, reply, [](const Line&) {}), Status::permission_denied);
    EXPECT_EQ(serve_exchange(*c.r[0], c.hub, 7, req, reply, [](const Line&) {}), Status::permission_denied);
    EXPECT_EQ(c.r[0]->applied_index(), 0u);
    // Sent by replica 1 (the caller's address says so), claiming replica 2: refused.
    EXPECT_EQ(serve_exchange(*c.r[0], c.hub, 1, req, reply, [](const Line&) {}), Status::ok);
    EXPECT_EQ(c.r[0]->applied_index(), 0u);
    EXPECT_EQ(c.r[0]->stats().rejected, 1u);
    Address owner{};
    EXPECT_EQ(lookup(c.r[0]->object(), nm("spoof"), owner), Status::not_found);
    // The same line from replica 2 itself is ordered.
    EXPECT_EQ(serve_exchange(*c.r[0], c.hub, 2, req, reply, [](const Line&) {}), Status::ok);
    EXPECT_EQ(c.r[0]->applied_index(), 1u);
    // An acknowledgement beyond what was sent, or lines that skip ahead: refused.
    Exchange ack{};
    ack.received = 5;
    EXPECT_EQ(serve_exchange(*c.r[0], c.hub, 1, ack, reply, [](const Line&) {}), Status::invalid_argument);
    req.first = 4;
    EXPECT_EQ(serve_exchange(*c.r[0], c.hub, 1, req, reply, [](const Line&) {}), Status::invalid_argument);
}

// A replica that never calls while more than hub_buffer changes happen is dropped: its exchange
// answers out_of_range (nameserv then stops serving there) and replica 0 keeps going.
TEST(NameservGroup, ABufferOverflowDropsTheReplica) {
    Cluster c(3);
    for (std::size_t i = 0; i < hub_buffer / 2 + 1; ++i) {
        EXPECT_EQ(c.change(0, Table::add("x", owner_of(a1))).status, Status::ok);
        EXPECT_EQ(c.change(0, Table::remove("x", owner_of(a1))).status, Status::ok);
        if (i % 8 == 0) {
            ASSERT_EQ(c.exchange(1), Status::ok);  // replica 1 keeps up, replica 2 never calls
        }
    }
    EXPECT_FALSE(c.hub.peers[1].dropped);
    EXPECT_TRUE(c.hub.peers[2].dropped);
    EXPECT_EQ(c.exchange(2), Status::out_of_range);
    EXPECT_GT(c.r[0]->stats().send_failures, 0u);
    for (unsigned round = 0; round < 100 && !c.up[1]->caught_up; ++round) ASSERT_EQ(c.exchange(1), Status::ok);
    EXPECT_EQ(c.r[1]->applied_index(), c.r[0]->applied_index());
    EXPECT_EQ(c.r[1]->object().digest(), c.r[0]->object().digest());
}

// A replica that died and came back (or was moved) joins: a new instance with an empty Replica
// and uplink takes replica 0's snapshot, replica 0 having forgotten what it queued for the old
// one (here more than its buffer: the old instance was dropped), and from then on takes the
// entries ordered after the snapshot. It must end with replica 0's table and log index, refuse
// nothing, and agree at every compared index. Without the reset at replica 0 the new instance's
// exchanges are refused (the old one's stream: dropped, numbered for it).
TEST(NameservGroup, ARestartedReplicaJoinsWithASnapshot) {
    for (const bool reset_at_hub : {true, false}) {
        Cluster c(3);
        (void)c.change(2, Table::add("before", owner_of(a1)));
        c.drain();
        // Replica 2 dies; the others go on, past its buffer at replica 0.
        for (std::size_t i = 0; i < hub_buffer / 2 + 4; ++i) {
            EXPECT_EQ(c.change(1, Table::add("x", owner_of(a1))).status, Status::ok);
            EXPECT_EQ(c.change(0, Table::remove("x", owner_of(a1))).status, Status::ok);
        }
        (void)c.change(1, Table::add("while-down", owner_of(a1)));
        EXPECT_TRUE(c.hub.peers[2].dropped);
        // Its successor: fresh state, then the join.
        c.up[2] = std::make_unique<Uplink>();
        c.r[2] = std::make_unique<NameReplica>(c.setup.group, 2, c.up[2]->transport);
        std::vector<std::byte> snap(repl::snapshot_bytes<Table>());
        if (reset_at_hub) {
            const Result<std::size_t> n = start_join(*c.r[0], c.hub, 2, snap);
            ASSERT_TRUE(n.ok());
            snap.resize(*n);
        } else {
            const Result<std::size_t> n = c.r[0]->snapshot(snap);  // the snapshot alone
            ASSERT_TRUE(n.ok());
        }
        ASSERT_EQ(finish_join(*c.r[2], *c.up[2], snap), Status::ok);
        EXPECT_EQ(c.r[2]->applied_index(), c.r[0]->applied_index());
        if (!reset_at_hub) {
            EXPECT_NE(c.exchange(2), Status::ok);  // the old instance's numbering (and dropped)
            continue;
        }
        // Changes after the join, some from the new instance itself.
        (void)c.change(1, Table::add("after", owner_of(a1)));
        EXPECT_EQ(c.change(2, Table::add("mine", owner_of(a1))).status, Status::ok);
        c.drain();
        EXPECT_EQ(c.r[2]->applied_index(), c.r[0]->applied_index());
        EXPECT_EQ(c.r[2]->object().digest(), c.r[0]->object().digest());
        for (const char* n : {"before", "while-down", "after", "mine"}) {
            Address holder{};
            EXPECT_EQ(lookup(c.r[2]->object(), nm(n), holder), Status::ok) << n;
        }
        EXPECT_GT(c.up[2]->compared, 0u);
        EXPECT_EQ(c.up[2]->diverged, 0u);
        EXPECT_EQ(c.r[2]->stats().rejected, 0u);
        EXPECT_FALSE(c.hub.peers[2].dropped);
    }
}

// A snapshot cut short or altered is refused by the joining replica, which keeps its state.
TEST(NameservGroup, ABadSnapshotIsRefused) {
    Cluster c(2);
    (void)c.change(0, Table::add("x", owner_of(a1)));
    std::vector<std::byte> snap(repl::snapshot_bytes<Table>());
    const Result<std::size_t> n = start_join(*c.r[0], c.hub, 1, snap);
    ASSERT_TRUE(n.ok());
    std::vector<std::byte> cut(snap.begin(), snap.begin() + static_cast<std::ptrdiff_t>(*n / 2));
    EXPECT_NE(finish_join(*c.r[1], *c.up[1], cut), Status::ok);
    std::vector<std::byte> flipped = snap;
    flipped[16] ^= std::byte{0x40};  // the header's digest
    EXPECT_NE(finish_join(*c.r[1], *c.up[1], flipped), Status::ok);
    EXPECT_EQ(c.r[1]->applied_index(), 0u);
    EXPECT_EQ(start_join(*c.r[0], c.hub, 0, snap).status(), Status::permission_denied);
    EXPECT_EQ(start_join(*c.r[0], c.hub, 2, snap).status(), Status::permission_denied);
}

TEST(NameservWire, StrictDecoding) {
    Register r{nm("svc.1")};
    std::uint8_t buf[rpc::max_frame];
    std::size_t len = 0;
    ASSERT_EQ(rpc::encode(r, buf, len), Status::ok);
    Register back{};
    ASSERT_EQ(rpc::decode(std::span<const std::uint8_t>(buf, len), back), Status::ok);
    EXPECT_TRUE(back.name_ == r.name_);
    EXPECT_EQ(rpc::decode(std::span<const std::uint8_t>(buf, len - 1), back), Status::bad_request);
    std::uint8_t over[2 + 25];
    over[0] = 25;
    over[1] = 0;
    std::memset(over + 2, 'n', 25);
    EXPECT_EQ(rpc::decode(std::span<const std::uint8_t>(over, sizeof over), back), Status::bad_request);
    over[0] = 24;  // exactly 24 decodes
    EXPECT_EQ(rpc::decode(std::span<const std::uint8_t>(over, sizeof over - 1), back), Status::ok);
    Register longer{};
    EXPECT_FALSE(longer.name_.assign_cstr("abcdefghijklmnopqrstuvwxy"));  // 25 bytes do not fit
    // Full pages fit a frame.
    ExchangeReply page{};
    Exchange req{};
    for (unsigned i = 0; i < exchange_lines; ++i) {
        Line l{};
        l.type = 0xff;
        for (auto& w : l.w) w = ~0ull;
        (void)page.lines.push(l);
        (void)req.lines.push(l);
    }
    page.received = page.first = page.applied = page.digest = ~0ull;
    EXPECT_EQ(rpc::encode_frame(rpc::FrameHeader{1, Exchange::op, 0}, &page, buf, len), Status::ok);
    EXPECT_EQ(rpc::encode_frame(rpc::FrameHeader{1, Exchange::op, 0}, &req, buf, len), Status::ok);
    ListReply lr{};
    for (unsigned i = 0; i < list_page; ++i) (void)lr.entries.push(ListEntry{nm("abcdefghijklmnopqrstuvwx"), a1});
    EXPECT_EQ(rpc::encode_frame(rpc::FrameHeader{1, List::op, 0}, &lr, buf, len), Status::ok);
}

} // namespace
} // namespace myr
