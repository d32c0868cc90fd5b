// nameserv's replica 0 restarting and moving (servers/nameserv): its answers wait until another
// replica holds the change, a new replica 0 takes the furthest table the others held (a stop of
// its core), and its kept table across its crashes (keep.hpp).
#include "nameserv_cluster.hpp"

#include <myr/nameserv/keep.hpp>

#include <cstring>

namespace myr {
namespace {

// ---- Replica 0 moves (a stop of its core): its answers wait for another replica ----

// Replica 0 answers its own client's change only once another replica holds its entry: the
// replica's applied index comes up with its next exchange after the entry went down, so the
// change waits two exchanges; it is answered `timeout` after the limit, at once while no replica
// is linked, and never to a connection that closed. A replica cannot claim more than replica 0
// ordered, and an older, repeated request does not lower what it holds.
TEST(NameservMove, ReplicaZeroAnswersOnceAnotherReplicaHoldsTheChange) {
    Cluster c(3);
    Waiting<Table::Result> waiting;
    EXPECT_EQ(held_elsewhere(c.hub), no_replica);  // nobody linked: nothing to wait for
    ASSERT_EQ(c.exchange(1), Status::ok);
    EXPECT_EQ(held_elsewhere(c.hub), 0u);

    const rpc::Caller client{1, 10, 3, 1, 1};
    const Table::Result r = c.change(0, Table::add("zero", owner_of(a1)));
    const std::uint64_t entry = c.r[0]->applied_index();
    ASSERT_EQ(waiting.add(client, 1, r.status, r, entry, 0), Status::ok);
    std::vector<Status> answers;
    auto collect = [&](const auto& e, Status st) {
        EXPECT_EQ(e.caller.connection, client.connection);
        answers.push_back(st);
    };
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 1, 100, collect), 0u);
    ASSERT_EQ(c.exchange(1), Status::ok);  // the entry goes down; replica 1 said its old index
    Address holder{};
    EXPECT_EQ(lookup(c.r[1]->object(), nm("zero"), holder), Status::ok);
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 2, 100, collect), 0u);
    ASSERT_EQ(c.exchange(1), Status::ok);  // now replica 0 knows replica 1 holds it
    EXPECT_EQ(held_elsewhere(c.hub), entry);
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 3, 100, collect), 1u);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0], Status::ok);

    // Replica 2 links too but stays behind: the furthest replica is what counts.
    ASSERT_EQ(c.exchange(2), Status::ok);
    EXPECT_EQ(held_elsewhere(c.hub), entry);

    // A replica no other replica hears from: `timeout` after the limit, not before.
    (void)c.change(0, Table::add("slow", owner_of(a1)));
    ASSERT_EQ(waiting.add(client, 1, Status::ok, r, c.r[0]->applied_index(), 10), Status::ok);
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 109, 100, collect), 0u);
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 110, 100, collect), 1u);
    EXPECT_EQ(answers.back(), Status::timeout);

    // A closed connection's change is forgotten.
    (void)c.change(0, Table::add("gone", owner_of(a1)));
    ASSERT_EQ(waiting.add(client, 1, Status::ok, r, c.r[0]->applied_index(), 20), Status::ok);
    EXPECT_TRUE(waiting.holds(client));
    EXPECT_FALSE(waiting.holds(rpc::Caller{1, 10, 4}));
    waiting.forget(rpc::Caller{1, 10, 3});
    EXPECT_FALSE(waiting.holds(client));
    EXPECT_EQ(waiting.size(), 0u);

    // A replica claiming more than replica 0 ordered holds what replica 0 ordered, at most; a
    // repeated older request does not lower it.
    Exchange req{};
    c.up[1]->request(req, *c.r[1]);
    req.applied = 1000;
    ExchangeReply reply{};
    ASSERT_EQ(serve_exchange(*c.r[0], c.hub, 1, req, reply, [](const Line&) {}), Status::ok);
    EXPECT_EQ(c.hub.peers[1].applied, c.r[0]->applied_index());
    req.applied = 1;
    ASSERT_EQ(serve_exchange(*c.r[0], c.hub, 1, req, reply, [](const Line&) {}), Status::ok);
    EXPECT_EQ(c.hub.peers[1].applied, c.r[0]->applied_index());

    // Every replica gone (or none joined yet): answered at once.
    c.hub.peers[1].reset();
    c.hub.peers[2].reset();
    (void)c.change(0, Table::add("alone", owner_of(a1)));
    ASSERT_EQ(waiting.add(client, 1, Status::ok, r, c.r[0]->applied_index(), 30), Status::ok);
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 31, 100, collect), 1u);
    EXPECT_EQ(answers.back(), Status::ok);
}

// Core 0 stops: replica 0 and its table are gone. A new replica 0 takes the furthest table the
// other replicas held (their tables at the moment they lost it, as recover gives them), and
// every change anyone was answered is in it: replica 1's and 2's clients' (answered once the
// entry came back to them) and replica 0's client's (answered once replica 1 held it). Then the
// others join the new replica 0 and the log goes on from there. The last change, ordered but
// not yet held by anyone else, was never answered: it is gone, as it may be.
TEST(NameservMove, ANewReplicaZeroTakesTheFurthestReplicasTable) {
    Cluster c(3);
    Waiting<Table::Result> waiting;
    ASSERT_EQ(c.exchange(1), Status::ok);
    ASSERT_EQ(c.exchange(2), Status::ok);
    EXPECT_EQ(c.change(1, Table::add("one", owner_of(a1))).status, Status::ok);
    EXPECT_EQ(c.change(2, Table::add("two", owner_of(a2))).status, Status::ok);
    c.drain();
    EXPECT_EQ(c.change(1, Table::add("late", owner_of(a1))).status, Status::ok);  // replica 2 has not got it
    const rpc::Caller client{1, 10, 3, 1, 1};
    const Table::Result zr = c.change(0, Table::add("zero", owner_of(a3)));
    ASSERT_EQ(waiting.add(client, 1, zr.status, zr, c.r[0]->applied_index(), 0), Status::ok);
    ASSERT_EQ(c.exchange(1), Status::ok);
    ASSERT_EQ(c.exchange(1), Status::ok);
    unsigned answered = 0;
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 1, 100, [&](const auto&, Status st) {
        EXPECT_EQ(st, Status::ok);
        ++answered;
    }), 1u);
    const Table::Result ur = c.change(0, Table::add("unanswered", owner_of(a3)));
    ASSERT_EQ(waiting.add(client, 1, ur.status, ur, c.r[0]->applied_index(), 2), Status::ok);
    EXPECT_EQ(waiting.release(held_elsewhere(c.hub), 3, 100, [&](const auto&, Status) { ++answered; }), 0u);

    // Core 0 stops. What each replica holds, frozen.
    std::vector<std::vector<std::byte>> frozen(3, std::vector<std::byte>(repl::snapshot_bytes<Table>()));
    std::uint64_t best_applied = 0;
    unsigned best = 0;
    for (unsigned i = 1; i < 3; ++i) {
        const Result<std::size_t> n = c.r[i]->snapshot(frozen[i]);
        ASSERT_TRUE(n.ok());
        frozen[i].resize(*n);
        if (c.r[i]->applied_index() > best_applied) {
            best_applied = c.r[i]->applied_index();
            best = i;
        }
    }
    EXPECT_EQ(best, 1u);
    EXPECT_GT(c.r[1]->applied_index(), c.r[2]->applied_index());

    // The new replica 0, and the others joining it.
    for (Peer& p : c.hub.peers) p.reset();
    c.r[0] = std::make_unique<NameReplica>(c.setup.group, 0, c.hub);
    ASSERT_EQ(c.r[0]->restore(frozen[best]), Status::ok);
    EXPECT_EQ(c.r[0]->applied_index(), best_applied);
    for (unsigned i = 1; i < 3; ++i) c.rejoin(i);
    EXPECT_EQ(c.change(2, Table::add("after", owner_of(a2))).status, Status::ok);
    EXPECT_EQ(c.change(1, Table::add("zero", owner_of(a1))).status, Status::exists);  // still a3's
    c.drain();
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_EQ(c.r[i]->object().digest(), c.r[0]->object().digest()) << i;
        Address holder{};
        for (const char* n : {"one", "two", "late", "zero", "after"})
            EXPECT_EQ(lookup(c.r[i]->object(), nm(n), holder), Status::ok) << n << " at " << i;
        EXPECT_EQ(lookup(c.r[i]->object(), nm("unanswered"), holder), Status::not_found) << i;
    }
    EXPECT_EQ(c.r[0]->applied_index(), best_applied + 2);
}

// ---- Replica 0's kept table (keep.hpp) ----

// The block a monitor keeps, as 8-byte words (the guest's is page aligned).
struct KeptBlock {
    std::vector<std::uint64_t> words = std::vector<std::uint64_t>(KeptTable::bytes / 8 + 1, 0);
    std::span<std::byte> bytes() { return {reinterpret_cast<std::byte*>(words.data()), KeptTable::bytes}; }
};

// Replica 0 crashes with changes from every replica ordered and saved after each; its restarted
// instance takes the kept table back (names and log index), the other replicas join it again
// (rebuilt, as nameserv rebuilds them), and everything ordered before and after is everywhere.
TEST(NameservKept, ReplicaZeroRestartsFromItsKeptTable) {
    Cluster c(3);
    KeptBlock block;
    KeptTable kept;
    ASSERT_TRUE(kept.attach(block.bytes()));
    std::uint64_t kept_at = 0;
    auto persist = [&] {  // what nameserv does before any answer that tells of a change
        if (c.r[0]->applied_index() == kept_at) return;
        ASSERT_EQ(kept.save(*c.r[0]), Status::ok);
        kept_at = c.r[0]->applied_index();
    };
    const char* names[] = {"n0", "n1", "n2", "n3", "n4", "n5"};
    for (unsigned i = 0; i < 6; ++i) {
        EXPECT_EQ(c.change(i % 3, Table::add(names[i], owner_of(i % 2 ? a1 : a2))).status, Status::ok);
        persist();
    }
    EXPECT_EQ(c.change(1, Table::remove("n1", owner_of(a1))).status, Status::ok);
    persist();
    const std::uint64_t digest = c.r[0]->object().digest(), applied = c.r[0]->applied_index();
    EXPECT_GE(kept.saves(), 7u);

    // The crash: a new instance, a new hub, the same block.
    for (Peer& p : c.hub.peers) p.reset();
    c.r[0] = std::make_unique<NameReplica>(c.setup.group, 0, c.hub);
    KeptTable again;
    ASSERT_TRUE(again.attach(block.bytes()));
    ASSERT_EQ(again.load(*c.r[0]), Status::ok);
    EXPECT_EQ(c.r[0]->applied_index(), applied);
    EXPECT_EQ(c.r[0]->object().digest(), digest);
    EXPECT_EQ(again.generation(), kept.generation());

    // The others join the new instance.
    for (unsigned i = 1; i < 3; ++i) c.rejoin(i);
    EXPECT_EQ(c.change(2, Table::add("after", owner_of(a3))).status, Status::ok);
    EXPECT_EQ(c.change(1, Table::add("n0", owner_of(a3))).status, Status::exists);  // still n0's owner
    c.drain();
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_EQ(c.r[i]->object().digest(), c.r[0]->object().digest()) << i;
        Address holder{};
        for (const char* n : {"n0", "n2", "n3", "n4", "n5", "after"}) {
            EXPECT_EQ(lookup(c.r[i]->object(), nm(n), holder), Status::ok) << n;
        }
        EXPECT_EQ(lookup(c.r[i]->object(), nm("n1"), holder), Status::not_found);
    }
    // And the log goes on from where it was: the two adds after the restart (one refused, but
    // ordered all the same) are entries applied + 1 and + 2.
    EXPECT_EQ(c.r[0]->applied_index(), applied + 2);
}

// A crash at every point of a save (the body byte by byte, then the header word by word in the
// order save writes them): the next load gives the last complete save or the one being written,
// never anything else, and never nothing.
TEST(NameservKept, ACrashDuringASaveLeavesTheLastCompleteOne) {
    Cluster c(1);
    KeptBlock block;
    KeptTable kept;
    ASSERT_TRUE(kept.attach(block.bytes()));
    (void)c.change(0, Table::add("first", owner_of(a1)));
    ASSERT_EQ(kept.save(*c.r[0]), Status::ok);
    (void)c.change(0, Table::add("second", owner_of(a1)));
    ASSERT_EQ(kept.save(*c.r[0]), Status::ok);
    const std::uint64_t done_digest = c.r[0]->object().digest();
    (void)c.change(0, Table::add("third", owner_of(a2)));
    const std::uint64_t new_digest = c.r[0]->object().digest();

    const std::vector<std::uint64_t> before = block.words;
    ASSERT_EQ(kept.save(*c.r[0]), Status::ok);
    const std::vector<std::uint64_t> after = block.words;
    // The slot the third save wrote: the first one again (saves alternate).
    const std::size_t slot = 0, hdr = sizeof(KeptTable::SlotHeader), body = KeptTable::snapshot_size;
    std::vector<std::size_t> order;  // byte offsets within the block, in the order save writes them
    for (std::size_t b = 0; b < body; ++b) order.push_back(slot * KeptTable::slot_bytes + hdr + b);
    for (std::size_t word : {0u, 1u, 3u, 2u})  // magic, length, reserved, generation
        for (std::size_t b = 0; b < 8; ++b) order.push_back(slot * KeptTable::slot_bytes + word * 8 + b);
    const auto* new_bytes = reinterpret_cast<const std::uint8_t*>(after.data());
    unsigned saw_old = 0, saw_new = 0;
    KeptBlock cut;
    for (std::size_t done = 0; done <= order.size(); done += (done < body ? 97 : 1)) {
        cut.words = before;
        auto* out = reinterpret_cast<std::uint8_t*>(cut.words.data());
        for (std::size_t k = 0; k < done && k < order.size(); ++k) out[order[k]] = new_bytes[order[k]];
        Cluster fresh(1);
        KeptTable t;
        ASSERT_TRUE(t.attach(cut.bytes()));
        ASSERT_EQ(t.load(*fresh.r[0]), Status::ok) << "crash after " << done << " bytes";
        const std::uint64_t d = fresh.r[0]->object().digest();
        ASSERT_TRUE(d == done_digest || d == new_digest) << done;
        (d == done_digest ? saw_old : saw_new)++;
        if (done == order.size()) {
            EXPECT_EQ(d, new_digest);
        }
    }
    EXPECT_GT(saw_old, 0u);
    EXPECT_GT(saw_new, 0u);
}

// A fresh (zeroed) block and one full of junk hold no table; a block too small is not used; a
// save into a junk block is then found by the next load.
TEST(NameservKept, JunkAndFreshBlocksHoldNothing) {
    Cluster c(1);
    (void)c.change(0, Table::add("x", owner_of(a1)));
    KeptBlock zero;
    KeptTable t;
    ASSERT_TRUE(t.attach(zero.bytes()));
    Cluster fresh(1);
    EXPECT_EQ(t.load(*fresh.r[0]), Status::not_found);
    std::vector<std::byte> small(KeptTable::bytes - 1);
    KeptTable too_small;
    EXPECT_FALSE(too_small.attach(small));
    EXPECT_EQ(too_small.save(*c.r[0]), Status::not_found);
    std::mt19937_64 rng(7);
    for (unsigned round = 0; round < 50; ++round) {
        KeptBlock junk;
        for (auto& w : junk.words) w = rng();
        if (round % 2) {  // junk that looks like a slot: the magic, the length, a large generation
            junk.words[0] = KeptTable::magic;
            junk.words[1] = KeptTable::snapshot_size;
            junk.words[2] = ~0ull >> 1;
        }
        KeptTable j;
        ASSERT_TRUE(j.attach(junk.bytes()));
        Cluster f(1);
        EXPECT_EQ(j.load(*f.r[0]), Status::not_found);
        EXPECT_EQ(f.r[0]->applied_index(), 0u);
        ASSERT_EQ(j.save(*c.r[0]), Status::ok);
        Cluster g(1);
        KeptTable back;
        ASSERT_TRUE(back.attach(junk.bytes()));
        ASSERT_EQ(back.load(*g.r[0]), Status::ok);
        EXPECT_EQ(g.r[0]->object().digest(), c.r[0]->object().digest());
    }
}

// Every request of the interface round-trips; a name over 24 bytes on the wire is refused; full
// exchange pages and list pages fit a frame.
} // namespace
} // namespace myr
