// nameserv's pure parts (servers/nameserv): the table (add-if-absent, owner-only removal, a dead
// owner's names, paging), the orderer's log and replicas applying it in order (same changes,
// same order: same table, digest checked after each), and the interface's strict decoding.
#include <myr/nameserv/interface.hpp>
#include <myr/nameserv/table.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace myr {
namespace {

using namespace nameserv;

Name nm(const char* s) {
    Name n{};
    EXPECT_TRUE(n.assign_cstr(s));
    return n;
}

constexpr Address a1{1, 10}, a2{2, 20}, a3{1, 11};

TEST(NameservTable, AddIfAbsentOneWinner) {
    Table t;
    Address owner{};
    EXPECT_EQ(t.add(nm("svc"), a1, owner), Status::ok);
    EXPECT_EQ(owner, a1);
    EXPECT_EQ(t.add(nm("svc"), a2, owner), Status::exists);
    EXPECT_EQ(owner, a1);  // the loser learns who holds it
    EXPECT_EQ(t.lookup(nm("svc"), owner), Status::ok);
    EXPECT_EQ(owner, a1);
    EXPECT_EQ(t.lookup(nm("other"), owner), Status::not_found);
    EXPECT_EQ(t.size(), 1u);
}

TEST(NameservTable, InvalidNames) {
    Table t;
    Address owner{};
    EXPECT_EQ(t.add(Name{}, a1, owner), Status::invalid_argument);
    EXPECT_EQ(t.add(nm("has space"), a1, owner), Status::invalid_argument);
    Name ctl = nm("x");
    ctl.data[0] = 0x07;
    EXPECT_EQ(t.add(ctl, a1, owner), Status::invalid_argument);
    Name corrupt = nm("x");
    corrupt.size = max_name + 1;  // a struct over its limit never passes
    EXPECT_EQ(t.add(corrupt, a1, owner), Status::invalid_argument);
    EXPECT_TRUE(t.add(nm("abcdefghijklmnopqrstuvwxyz012345"), a1, owner) == Status::ok);  // exactly 32
}

TEST(NameservTable, OnlyTheOwnerRemoves) {
    Table t;
    Address owner{};
    ASSERT_EQ(t.add(nm("svc"), a1, owner), Status::ok);
    EXPECT_EQ(t.remove(nm("svc"), a3, owner), Status::permission_denied);  // same core, other domain
    EXPECT_EQ(owner, a1);
    EXPECT_EQ(t.remove(nm("svc"), a1, owner), Status::ok);
    EXPECT_EQ(t.remove(nm("svc"), a1, owner), Status::not_found);
    EXPECT_EQ(t.size(), 0u);
}

TEST(NameservTable, DropOwnerTakesOnlyItsNames) {
    Table t;
    Address owner{};
    ASSERT_EQ(t.add(nm("a"), a1, owner), Status::ok);
    ASSERT_EQ(t.add(nm("b"), a1, owner), Status::ok);
    ASSERT_EQ(t.add(nm("c"), a2, owner), Status::ok);
    EXPECT_EQ(t.drop_owner(a1), 2u);
    EXPECT_EQ(t.lookup(nm("a"), owner), Status::not_found);
    EXPECT_EQ(t.lookup(nm("c"), owner), Status::ok);
    EXPECT_EQ(t.drop_owner(a1), 0u);
}

TEST(NameservTable, FullTableIsOverflowAndDigestFollowsContents) {
    Table t, u;
    Address owner{};
    for (unsigned i = 0; i < Table::capacity; ++i) {
        char b[16];
        std::snprintf(b, sizeof b, "n%u", i);
        ASSERT_EQ(t.add(nm(b), a1, owner), Status::ok);
    }
    EXPECT_EQ(t.add(nm("one-more"), a1, owner), Status::overflow);
    // Same contents reached by different histories: same digest.
    ASSERT_EQ(u.add(nm("x"), a1, owner), Status::ok);
    ASSERT_EQ(u.add(nm("y"), a2, owner), Status::ok);
    Table v;
    ASSERT_EQ(v.add(nm("z"), a1, owner), Status::ok);
    ASSERT_EQ(v.add(nm("y"), a2, owner), Status::ok);
    ASSERT_EQ(v.add(nm("x"), a1, owner), Status::ok);
    ASSERT_EQ(v.remove(nm("z"), a1, owner), Status::ok);
    EXPECT_EQ(u.digest(), v.digest());
    ASSERT_EQ(v.remove(nm("y"), a2, owner), Status::ok);
    ASSERT_EQ(v.add(nm("y"), a3, owner), Status::ok);  // same name, other owner
    EXPECT_NE(u.digest(), v.digest());
}

TEST(NameservTable, ListPagesEveryName) {
    Table t;
    Address owner{};
    for (unsigned i = 0; i < 20; ++i) {
        char b[16];
        std::snprintf(b, sizeof b, "n%u", i);
        ASSERT_EQ(t.add(nm(b), a1, owner), Status::ok);
    }
    ASSERT_EQ(t.remove(nm("n3"), a1, owner), Status::ok);
    unsigned seen = 0;
    for (std::uint32_t from = 0; from < Table::capacity;) {
        ListReply r{};
        t.list(from, r);
        EXPECT_EQ(r.total, 19u);
        EXPECT_LE(r.entries.count, list_page);
        seen += r.entries.count;
        ASSERT_GT(r.next, from);
        from = r.next;
    }
    EXPECT_EQ(seen, 19u);
}

// Replicas fed the orderer's log in order, in pages of any size, end with its table; a page that
// does not continue a replica's log is refused whole.
TEST(NameservOrder, ReplicasFollowTheLog) {
    Orderer o;
    Address owner{};
    std::uint64_t seq = 0;
    EXPECT_EQ(o.order(Update{Kind::add, nm("race"), a1}, owner, seq), Status::ok);
    EXPECT_EQ(seq, 1u);
    EXPECT_EQ(o.order(Update{Kind::add, nm("race"), a2}, owner, seq), Status::exists);
    EXPECT_EQ(seq, 0u);  // nothing changed, nothing logged
    for (unsigned i = 0; i < 20; ++i) {
        char b[16];
        std::snprintf(b, sizeof b, "s%u", i);
        ASSERT_EQ(o.order(Update{Kind::add, nm(b), i % 2 ? a2 : a3}, owner, seq), Status::ok);
    }
    EXPECT_EQ(o.order(Update{Kind::remove, nm("race"), a2}, owner, seq), Status::permission_denied);
    EXPECT_EQ(o.order(Update{Kind::drop_owner, Name{}, a2}, owner, seq), Status::ok);
    EXPECT_EQ(o.order(Update{Kind::remove, nm("race"), a1}, owner, seq), Status::ok);

    Follower f;
    FetchReply page{};
    ASSERT_EQ(o.fetch(5, page), Status::ok);
    EXPECT_EQ(f.apply_page(5, page), Status::out_of_range);  // a gap: refused
    EXPECT_EQ(f.applied(), 0u);
    while (!f.caught_up() || f.applied() == 0) {
        ASSERT_EQ(o.fetch(f.applied() + 1, page), Status::ok);
        ASSERT_EQ(f.apply_page(f.applied() + 1, page), Status::ok);
    }
    EXPECT_EQ(f.applied(), o.last());
    EXPECT_EQ(f.diverged(), 0u);
    EXPECT_EQ(f.table().digest(), o.table().digest());
    EXPECT_EQ(f.table().size(), 10u);  // a3's names
    ASSERT_EQ(o.fetch(f.applied() + 1, page), Status::ok);
    EXPECT_EQ(page.entries.count, 0u);
    EXPECT_EQ(o.fetch(f.applied() + 2, page), Status::out_of_range);
    EXPECT_EQ(o.fetch(0, page), Status::out_of_range);
}

// A replica that applied something the orderer did not (a bug) sees the digest differ.
TEST(NameservOrder, DivergenceIsCounted) {
    Orderer o;
    Address owner{};
    std::uint64_t seq = 0;
    ASSERT_EQ(o.order(Update{Kind::add, nm("a"), a1}, owner, seq), Status::ok);
    FetchReply page{};
    ASSERT_EQ(o.fetch(1, page), Status::ok);
    page.entries.items[0].update.owner = a2;  // tampered in transit
    Follower f;
    ASSERT_EQ(f.apply_page(1, page), Status::ok);
    EXPECT_EQ(f.diverged(), 1u);
}

TEST(NameservOrder, OldEntriesLeaveTheLog) {
    Orderer o;
    Address owner{};
    std::uint64_t seq = 0;
    for (std::uint64_t i = 0; i < Orderer::log_capacity + 10; ++i) {
        ASSERT_EQ(o.order(Update{Kind::add, nm("x"), a1}, owner, seq), Status::ok);
        ASSERT_EQ(o.order(Update{Kind::remove, nm("x"), a1}, owner, seq), Status::ok);
    }
    FetchReply page{};
    EXPECT_EQ(o.fetch(1, page), Status::out_of_range);
    EXPECT_EQ(o.fetch(o.last() - Orderer::log_capacity + 1, page), Status::ok);
}

// Every request of the interface round-trips; a name over 32 bytes on the wire is refused.
TEST(NameservWire, StrictDecoding) {
    Register r{nm("svc.1")};
    std::uint8_t buf[rpc::max_frame];
    std::size_t len = 0;
    ASSERT_EQ(rpc::encode(r, buf, len), Status::ok);
    Register back{};
    ASSERT_EQ(rpc::decode(std::span<const std::uint8_t>(buf, len), back), Status::ok);
    EXPECT_TRUE(back.name_ == r.name_);
    EXPECT_EQ(rpc::decode(std::span<const std::uint8_t>(buf, len - 1), back), Status::bad_request);
    std::uint8_t over[2 + 33];
    over[0] = 33;
    over[1] = 0;
    std::memset(over + 2, 'n', 33);
    EXPECT_EQ(rpc::decode(std::span<const std::uint8_t>(over, sizeof over), back), Status::bad_request);
    Forward f{Update{static_cast<Kind>(9), nm("x"), a1}};
    ASSERT_EQ(rpc::encode(f, buf, len), Status::ok);
    Forward fb{};
    ASSERT_EQ(rpc::decode(std::span<const std::uint8_t>(buf, len), fb), Status::ok);
    Table t;
    Address owner{};
    EXPECT_EQ(t.apply(fb.update, owner), Status::invalid_argument);  // an unknown kind changes nothing
    EXPECT_EQ(t.size(), 0u);
    // A full page fits a frame.
    FetchReply page{};
    for (unsigned i = 0; i < fetch_page; ++i)
        (void)page.entries.push(LogEntry{Update{Kind::add, nm("abcdefghijklmnopqrstuvwxyz012345"), a1}, ~0ull});
    EXPECT_EQ(rpc::encode_frame(rpc::FrameHeader{1, Fetch::op, 0}, &page, buf, len), Status::ok);
    ListReply lr{};
    for (unsigned i = 0; i < list_page; ++i)
        (void)lr.entries.push(ListEntry{nm("abcdefghijklmnopqrstuvwxyz012345"), a1});
    EXPECT_EQ(rpc::encode_frame(rpc::FrameHeader{1, List::op, 0}, &lr, buf, len), Status::ok);
}

} // namespace
} // namespace myr
