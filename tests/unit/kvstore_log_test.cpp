// kvstore's log in kept memory (replication/include/myr/repl/primary_backup/log.hpp over
// kvstore's machine): what a replica
// restarted on its core recovers is exactly the state its predecessor had logged, whatever the
// moment of the crash: inside a record (at every byte of its writes), inside a checkpoint, with a
// full log, with records of older generations still in the block, or with a corrupt image.
#include <myr/kvstore/replica.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace myr {
namespace {

using namespace kvstore;

Key key(const std::string& s) {
    Key k{};
    EXPECT_TRUE(k.assign_cstr(s.c_str()));
    return k;
}
Value val(const std::string& s) {
    Value v{};
    EXPECT_TRUE(v.assign(s.data(), s.size()));
    return v;
}

// A replica's live state with its log over a block of kept memory.
struct Replica {
    Table table;
    Sessions sessions;
    Position at{1, 0};  // a history already begun, as a primary's is
    Log log;
    bool attach(std::uint8_t* block, std::size_t size = log_block_bytes) {
        return log.attach(block, size, &table, &sessions, &at);
    }
    // A put as the primary does it: the table, the sequence number, the kept answer, then the record.
    void put(const std::string& k, const std::string& v, std::uint32_t session = 1) {
        std::uint64_t version = 0;
        ASSERT_EQ(table.put(key(k), val(v), version), Status::ok);
        Txn t{};
        TxnOp op{};
        op.kind = TxnKind::put;
        op.key = key(k);
        op.value = val(v);
        ASSERT_TRUE(t.ops.push(op));
        ++at.seq;
        Answer a{};
        a.core = 1;
        a.domain = 2;
        a.session = session;
        a.request = static_cast<std::uint32_t>(at.seq);
        a.op = Put::op;
        a.slot = static_cast<std::uint16_t>(session % Sessions::capacity);
        a.reply.size = 8;
        std::memcpy(a.reply.data, &version, 8);
        sessions.keep(a);
        log.apply(at.seq, t, a);
    }
    void del(const std::string& k) {
        bool existed = false;
        ASSERT_EQ(table.del(key(k), existed), Status::ok);
        ASSERT_TRUE(existed);
        Txn t{};
        TxnOp op{};
        op.kind = TxnKind::del;
        op.key = key(k);
        ASSERT_TRUE(t.ops.push(op));
        ++at.seq;
        log.apply(at.seq, t, Answer{});
    }
};

struct Block {
    std::unique_ptr<std::uint64_t[]> words{new std::uint64_t[log_block_bytes / 8]()};
    std::uint8_t* bytes() { return reinterpret_cast<std::uint8_t*>(words.get()); }
    std::vector<std::uint8_t> copy() { return {bytes(), bytes() + log_block_bytes}; }
    void restore(const std::vector<std::uint8_t>& v) { std::memcpy(bytes(), v.data(), v.size()); }
};

struct Snapshot {
    std::uint64_t digest, clock, seq;
    std::size_t keys, answers;
    std::uint64_t history;
    bool operator==(const Snapshot&) const = default;
};
Snapshot snap(const Replica& r) {
    return {r.table.digest(), r.table.clock(), r.at.seq, r.table.size(), r.sessions.size(), r.at.history};
}
// What a restarted replica recovers from the block (a fresh process: new live objects).
bool recovered(std::uint8_t* block, Snapshot& out, std::uint64_t* replayed = nullptr) {
    auto r = std::make_unique<Replica>();
    EXPECT_TRUE(r->attach(block));
    const bool ok = r->log.recover();
    out = snap(*r);
    if (replayed) *replayed = r->log.counts().replayed;
    return ok;
}

TEST(KvstoreLog, AFreshBlockHoldsNothing) {
    Block b;
    Snapshot s{};
    EXPECT_FALSE(recovered(b.bytes(), s));
    EXPECT_EQ(s.keys, 0u);
    EXPECT_EQ(s.seq, 0u);
    auto r = std::make_unique<Replica>();
    EXPECT_FALSE(r->attach(b.bytes(), 64 * 1024)) << "too small for two images";
    EXPECT_FALSE(r->attach(b.bytes() + 4));  // misaligned
    // Not attached: nothing recovered, nothing written, the live state untouched.
    std::uint64_t v = 0;
    ASSERT_EQ(r->table.put(key("a"), val("1"), v), Status::ok);
    EXPECT_FALSE(r->log.recover());
    r->log.checkpoint();
    r->log.keep(Answer{});
    EXPECT_EQ(r->table.size(), 1u);
    EXPECT_EQ(r->log.counts().records + r->log.counts().checkpoints, 0u);
}

TEST(KvstoreLog, RecoversTheImageAndEveryRecord) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    for (int i = 0; i < 40; ++i) r->put("k" + std::to_string(i % 13), "v" + std::to_string(i), static_cast<std::uint32_t>(1 + i % 5));
    r->del("k3");
    Answer a{};
    a.core = 3;
    a.domain = 4;
    a.session = 9;
    a.request = 77;
    a.slot = 100;
    r->sessions.keep(a);
    r->log.keep(a);
    Snapshot s{};
    std::uint64_t replayed = 0;
    ASSERT_TRUE(recovered(b.bytes(), s, &replayed));
    EXPECT_EQ(s, snap(*r));
    EXPECT_EQ(replayed, 42u);  // 40 puts, a delete, an answer
    EXPECT_EQ(r->log.counts().checkpoints, 1u);
}

// A crash while a record is written: its payload, then its head, byte by byte. Every cut but the
// last byte recovers the state before it; all of it, the state after.
TEST(KvstoreLog, ARecordCutAtEveryByteIsNotReplayed) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    for (int i = 0; i < 5; ++i) r->put("a" + std::to_string(i), std::string(50, 'x'));
    const Snapshot before = snap(*r);
    const std::vector<std::uint8_t> b0 = b.copy();
    const std::size_t at = r->log.position();
    r->put("cut", std::string(120, 'y'), 2);
    const Snapshot after = snap(*r);
    const std::size_t end = r->log.position();
    const std::vector<std::uint8_t> b1 = b.copy();
    // The write order: payload (after the 24-byte head's place), then the head.
    std::vector<std::size_t> order;
    for (std::size_t i = at + 24; i < end; ++i) order.push_back(i);
    for (std::size_t i = at; i < at + 24; ++i) order.push_back(i);
    const auto base = static_cast<std::size_t>(r->log.log_area() - b.bytes());
    unsigned differing = 0;
    for (std::size_t cut = 0; cut <= order.size(); ++cut) {
        b.restore(b0);
        for (std::size_t k = 0; k < cut; ++k) b.bytes()[base + order[k]] = b1[base + order[k]];
        Snapshot s{};
        ASSERT_TRUE(recovered(b.bytes(), s)) << "cut " << cut;
        if (cut == order.size()) {
            EXPECT_EQ(s, after);
        } else {
            EXPECT_EQ(s, before) << "a record cut after " << cut << " of " << order.size() << " bytes was replayed";
        }
        differing += s == before ? 0u : 1u;
    }
    EXPECT_EQ(differing, 1u);
}

// A crash inside a checkpoint: the other image is written (wholly or in part), the switch is not.
// The old image and its records still hold the state.
TEST(KvstoreLog, ACheckpointCutBeforeItsSwitchKeepsTheOldState) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    for (int i = 0; i < 20; ++i) r->put("k" + std::to_string(i), "v" + std::to_string(i));
    const Snapshot want = snap(*r);
    const std::vector<std::uint8_t> b0 = b.copy();
    r->log.checkpoint();
    const std::vector<std::uint8_t> b1 = b.copy();
    // Every byte the checkpoint changed, but the header's state word (bytes 16..23).
    for (const std::size_t tenths : {std::size_t{0}, std::size_t{3}, std::size_t{10}}) {
        b.restore(b0);
        std::size_t changed = 0, total = 0;
        for (std::size_t i = 0; i < b1.size(); ++i) total += (b1[i] != b0[i] && (i < 16 || i >= 24)) ? 1u : 0u;
        for (std::size_t i = 0; i < b1.size() && changed * 10 < tenths * total; ++i)
            if (b1[i] != b0[i] && (i < 16 || i >= 24)) {
                b.bytes()[i] = b1[i];
                ++changed;
            }
        Snapshot s{};
        ASSERT_TRUE(recovered(b.bytes(), s)) << tenths;
        EXPECT_EQ(s, want) << "checkpoint written " << tenths << "/10, not switched";
    }
    b.restore(b1);
    Snapshot s{};
    std::uint64_t replayed = 1;
    ASSERT_TRUE(recovered(b.bytes(), s, &replayed));
    EXPECT_EQ(s, want);
    EXPECT_EQ(replayed, 0u);  // switched: the image holds it all, the old records are not replayed
}

// Writes past the log area's end become checkpoints; records go on after them; and records of
// older generations left further on in the area are never replayed.
TEST(KvstoreLog, AFullLogCheckpointsAndOldGenerationsStayDead) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    int i = 0;
    while (r->log.counts().checkpoints < 4) {
        r->put("k" + std::to_string(i % 100), std::string(180, static_cast<char>('a' + i % 26)), static_cast<std::uint32_t>(1 + i % 50));
        ++i;
    }
    EXPECT_GT(i, 1000);  // ~200 KiB of ~230-byte records between checkpoints
    r->put("after", "the last checkpoint");
    Snapshot s{};
    ASSERT_TRUE(recovered(b.bytes(), s));
    EXPECT_EQ(s, snap(*r));
    // A deletion of a key written many times, right after a checkpoint: one short record in the new
    // generation, followed by the old generation's records.
    r->log.checkpoint();
    r->del("after");
    ASSERT_TRUE(recovered(b.bytes(), s));
    EXPECT_EQ(s, snap(*r));
}

// At the moment the header's state word is stored, everything the new state needs is in the
// block already: the block as a crash then leaves it recovers the old state, and with the word
// stored, the new one.
struct AtSwitch {
    Block* block;
    std::vector<std::uint8_t> copy;
    std::uint64_t word = 0;
    static void hook(void* arg, std::uint64_t new_state) {
        auto* self = static_cast<AtSwitch*>(arg);
        if (!self->copy.empty()) return;  // the first store of the state word
        self->copy = self->block->copy();
        self->word = new_state;
    }
};
TEST(KvstoreLog, TheSwitchIsTheLastStoreOfACheckpoint) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    for (int i = 0; i < 10; ++i) r->put("k" + std::to_string(i), "v");
    const Snapshot old_state = snap(*r);
    AtSwitch at{&b, {}, 0};
    r->log.set_store_hook(&AtSwitch::hook, &at);
    r->del("k0");  // the state moves on: the images differ
    r->log.checkpoint();
    const Snapshot new_state = snap(*r);
    ASSERT_FALSE(at.copy.empty());
    Block c;
    c.restore(at.copy);
    const std::vector<std::uint8_t> before = c.copy();
    // Without the word: the old image and its records, the delete included (it was logged).
    Snapshot s{};
    ASSERT_TRUE(recovered(c.bytes(), s));
    EXPECT_EQ(s, new_state) << "the old generation's records hold the delete too";
    (void)old_state;
    std::memcpy(c.bytes() + 16, &at.word, 8);
    ASSERT_TRUE(recovered(c.bytes(), s)) << "the new image was not in place when the switch was stored";
    EXPECT_EQ(s, new_state);
    std::uint64_t replayed = 1;
    ASSERT_TRUE(recovered(c.bytes(), s, &replayed));
    EXPECT_EQ(replayed, 0u);
}

// A backup given the primary's table (load) checkpoints it: records of its own older history that
// would follow on from the new image's sequence number are never replayed.
TEST(KvstoreLog, AnOlderGenerationsRecordsAreNotReplayed) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    for (int i = 0; i < 5; ++i) r->put("old" + std::to_string(i), "x");  // writes 1..5 of an older history
    r->table.clear();
    r->sessions.clear();
    r->at.seq = 0;  // the primary's table: empty, at write 0
    r->log.checkpoint();
    Snapshot s{};
    std::uint64_t replayed = 1;
    ASSERT_TRUE(recovered(b.bytes(), s, &replayed));
    EXPECT_EQ(replayed, 0u);
    EXPECT_EQ(s.keys, 0u);
    EXPECT_EQ(s.seq, 0u);
}

TEST(KvstoreLog, AGapInTheSequenceEndsTheReplay) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->log.checkpoint();
    r->put("a", "1");
    const Snapshot want = snap(*r);
    Txn t{};
    TxnOp op{};
    op.kind = TxnKind::put;
    op.key = key("b");
    op.value = val("2");
    ASSERT_TRUE(t.ops.push(op));
    r->log.apply(r->at.seq + 2, t, Answer{});  // not the next write
    Snapshot s{};
    std::uint64_t replayed = 0;
    ASSERT_TRUE(recovered(b.bytes(), s, &replayed));
    EXPECT_EQ(s, want);
    EXPECT_EQ(replayed, 1u);
}

TEST(KvstoreLog, ACorruptImageOrAnotherLayoutHoldsNothing) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->put("a", "1");  // no checkpoint yet: nothing to recover
    Snapshot s{};
    EXPECT_FALSE(recovered(b.bytes(), s));
    r->log.checkpoint();
    ASSERT_TRUE(recovered(b.bytes(), s));
    EXPECT_EQ(s.keys, 1u);
    const std::vector<std::uint8_t> good = b.copy();
    // A flipped bit in each image (at 4 KiB: image 0, in use after an even number of checkpoints;
    // 156 KiB further: image 1, in use now): the one in use is refused as a whole.
    bool any_refused = false;
    for (std::size_t off : {std::size_t{4096 + 100}, std::size_t{4096 + 160000}}) {
        b.restore(good);
        b.bytes()[off] ^= 0x40;
        const bool ok = recovered(b.bytes(), s);
        if (!ok) {
            any_refused = true;
            EXPECT_EQ(s.keys, 0u);
        } else {
            EXPECT_EQ(s.keys, 1u);  // the flip hit the image not in use
        }
    }
    EXPECT_TRUE(any_refused);
    b.restore(good);
    b.bytes()[8] ^= 1;  // the layout word
    EXPECT_FALSE(recovered(b.bytes(), s));
}

} // namespace
} // namespace myr

namespace myr {
namespace {

// A header naming a generation no honest log reaches (a predecessor that wrote junk over it,
// matching the image's number) is refused: the next checkpoint's number would overflow the state
// word and wrap to 0, which recovers as nothing (fuzz_kvstore_log found it). One below the limit
// recovers; its next checkpoint reaches the limit, which the recover after refuses.
TEST(KvstoreLog, AnAbsurdGenerationIsRefused) {
    for (const std::uint64_t gen : {Log::max_generation - 2, Log::max_generation - 1, Log::max_generation, ~std::uint64_t{0} >> 1}) {
        Block b;
        auto r = std::make_unique<Replica>();
        ASSERT_TRUE(r->attach(b.bytes()));
        r->put("a", "1");
        r->log.checkpoint();  // the first checkpoint: image 1
        std::uint64_t* words = reinterpret_cast<std::uint64_t*>(b.bytes());
        words[2] = gen << 1 | 1;  // the state word: generation, image 1
        words[4] = gen;           // image 1's generation
        Snapshot s{};
        const bool ok = recovered(b.bytes(), s);
        EXPECT_EQ(ok, gen < Log::max_generation) << gen;
        if (!ok) continue;
        EXPECT_EQ(s.keys, 1u);
        auto again = std::make_unique<Replica>();
        ASSERT_TRUE(again->attach(b.bytes()));
        ASSERT_TRUE(again->log.recover());
        again->log.checkpoint();
        EXPECT_EQ(recovered(b.bytes(), s), gen + 1 < Log::max_generation) << gen;
    }
}

// A replica without a log (no kept memory, log=off) calls the same methods: they do nothing.
TEST(KvstoreLog, AnUnattachedLogDoesNothing) {
    Log log;
    log.apply(1, Txn{}, Answer{});
    log.keep(Answer{});
    log.checkpoint();
    EXPECT_FALSE(log.recover());
    EXPECT_EQ(log.suffix(0, [](const Apply&) { return true; }), Status::not_found);
    EXPECT_EQ(log.counts().records, 0u);
}

// The history travels with the state: in the image and in every record; a record of another
// history is not replayed onto this one.
TEST(KvstoreLog, TheHistoryIsRecoveredWithTheState) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->at.history = 77;
    r->log.checkpoint();
    r->put("a", "1");
    r->put("b", "2");
    Snapshot s{};
    ASSERT_TRUE(recovered(b.bytes(), s));
    EXPECT_EQ(s, snap(*r));
    EXPECT_EQ(s.history, 77u);
    // A record of history 78 that would follow on by number: the replay ends before it.
    const Snapshot want = snap(*r);
    r->at.history = 78;
    r->put("c", "3");
    std::uint64_t replayed = 0;
    ASSERT_TRUE(recovered(b.bytes(), s, &replayed));
    EXPECT_EQ(s, want);
    EXPECT_EQ(replayed, 2u);
}

// The primary reads back the writes a backup missed: every one after the asked number, in order,
// as long as no checkpoint came since; the rest is refused, so the primary sends the table.
TEST(KvstoreLog, TheSuffixIsEveryWriteAfterTheAskedOne) {
    Block b;
    auto r = std::make_unique<Replica>();
    ASSERT_TRUE(r->attach(b.bytes()));
    r->put("early", "0");
    r->log.checkpoint();  // image at write 1
    EXPECT_EQ(r->log.oldest(), 1u);
    for (int i = 0; i < 6; ++i) r->put("k" + std::to_string(i), std::to_string(i));  // writes 2..7
    r->del("k0");                                                                       // write 8
    std::vector<std::uint64_t> got;
    const auto take = [&](const Apply& a) {
        EXPECT_EQ(a.history, r->at.history);
        got.push_back(a.seq);
        return true;
    };
    EXPECT_EQ(r->log.suffix(4, take), Status::ok);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{5, 6, 7, 8}));
    got.clear();
    EXPECT_EQ(r->log.suffix(1, take), Status::ok);
    EXPECT_EQ(got.size(), 7u);
    got.clear();
    EXPECT_EQ(r->log.suffix(8, take), Status::ok) << "a backup that is current is sent nothing";
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(r->log.suffix(0, take), Status::not_found) << "write 1 is in the image only";
    EXPECT_EQ(r->log.suffix(9, take), Status::out_of_range) << "a backup ahead of the primary";
    EXPECT_TRUE(got.empty());
    // The sender stops: so does the suffix.
    int calls = 0;
    EXPECT_EQ(r->log.suffix(2, [&](const Apply&) { return ++calls < 2; }), Status::connection_lost);
    EXPECT_EQ(calls, 2);
    // A backup that holds what the primary held at write 4 (the same writes), given the suffix
    // from write 4 on, ends where the primary is.
    auto upto4 = std::make_unique<Replica>();
    Block b4;
    ASSERT_TRUE(upto4->attach(b4.bytes()));
    upto4->put("early", "0");
    upto4->log.checkpoint();
    for (int i = 0; i < 3; ++i) upto4->put("k" + std::to_string(i), std::to_string(i));
    ASSERT_EQ(upto4->at.seq, 4u);
    EXPECT_EQ(r->log.suffix(4, [&](const Apply& a) {
        TxnReply ignored{};
        if (!follows_on(upto4->at, a.history, a.seq) || upto4->table.txn(a.write, ignored) != Status::ok) return false;
        upto4->sessions.keep(a.answer);
        upto4->at.seq = a.seq;
        return true;
    }), Status::ok);
    EXPECT_EQ(snap(*upto4), snap(*r));
    // After a checkpoint the earlier writes are gone from the log.
    r->log.checkpoint();
    EXPECT_EQ(r->log.oldest(), 8u);
    EXPECT_EQ(r->log.suffix(4, take), Status::not_found);
    EXPECT_EQ(r->log.suffix(8, take), Status::ok);
}

// plan_catch_up: what a primary sends a backup, case by case. The fork cases are the point: a
// backup whose log holds writes of another history is never sent a suffix or allowed to follow on,
// even when its number fits.
TEST(KvstoreHistories, ThePrimaryChoosesWhatToSend) {
    const Position p{10, 50}, no_fork{10, 50};
    const std::uint64_t table = 100;  // calls the whole table would take
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{10, 50}, table), CatchUp::current);
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{10, 30}, table), CatchUp::suffix);
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{10, 20}, table), CatchUp::suffix) << "the image's write";
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{10, 19}, table), CatchUp::table) << "before the log";
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{10, 51}, table), CatchUp::table) << "ahead";
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, false, Position{10, 30}, table), CatchUp::table) << "no log";
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{10, 30}, 19), CatchUp::table) << "the table is shorter";
    // Another history at any number, the same one included: the table.
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{9, 50}, table), CatchUp::table);
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{9, 30}, table), CatchUp::table);
    EXPECT_EQ(plan_catch_up(p, no_fork, 20, true, Position{0, 0}, table), CatchUp::table);
    // A primary whose history began at write 40 of history 9 (it took a backup's table there):
    // a backup standing exactly there is rebased; one behind or beyond it in history 9 (beyond:
    // a write of the old primary that was never acknowledged) takes the table.
    const Position fork{9, 40};
    EXPECT_EQ(plan_catch_up(p, fork, 40, true, Position{9, 40}, table), CatchUp::rebase);
    EXPECT_EQ(plan_catch_up(p, fork, 40, true, Position{9, 41}, table), CatchUp::table);
    EXPECT_EQ(plan_catch_up(p, fork, 40, true, Position{9, 39}, table), CatchUp::table);
    EXPECT_EQ(plan_catch_up(p, fork, 41, true, Position{9, 40}, table), CatchUp::table)
        << "the log no longer reaches back to the fork";
    // No writes since the fork: the rebase needs no log (a primary without one that took this
    // backup's table, or a fresh boot's).
    EXPECT_EQ(plan_catch_up(Position{10, 40}, fork, 0, false, Position{9, 40}, table), CatchUp::rebase);
    EXPECT_EQ(plan_catch_up(Position{10, 0}, Position{}, 0, false, Position{}, table), CatchUp::rebase);
    EXPECT_EQ(plan_catch_up(Position{10, 41}, fork, 0, false, Position{9, 40}, table), CatchUp::table);
    // A fresh boot: the history began from the empty state, which a backup never written holds.
    const Position fresh{10, 3};
    EXPECT_EQ(plan_catch_up(fresh, Position{}, 0, true, Position{}, table), CatchUp::rebase);
    EXPECT_EQ(plan_catch_up(fresh, Position{}, 0, true, Position{0, 2}, table), CatchUp::table);
}

TEST(KvstoreHistories, ABackupAppliesOnlyTheNextWriteOfItsHistory) {
    EXPECT_TRUE(follows_on(Position{5, 7}, 5, 8));
    EXPECT_FALSE(follows_on(Position{5, 7}, 5, 9));
    EXPECT_FALSE(follows_on(Position{5, 7}, 5, 7));
    EXPECT_FALSE(follows_on(Position{5, 7}, 6, 8)) << "the fork: the number fits, the history does not";
    EXPECT_FALSE(follows_on(Position{0, 0}, 5, 1)) << "no history yet: a rebase or a table first";
}

// A backup's side of the catch-up refuses, changing nothing, every step that does not fit where
// it stands (what a confused or hostile primary could send; the server checks the sender first).
TEST(KvstoreHistories, ABackupRefusesStepsThatDoNotFitWhereItStands) {
    auto b = std::make_unique<ReplicaState>();
    b->at = Position{7, 3};
    ApplyReply ar{};
    bool back = false;
    EXPECT_EQ(b->on_rebase(Rebase{7, 2, 9}, ar), Status::out_of_range) << "not at the fork point";
    EXPECT_EQ(b->on_rebase(Rebase{6, 3, 9}, ar), Status::out_of_range) << "another history";
    EXPECT_EQ(b->on_rebase(Rebase{7, 3, 0}, ar), Status::out_of_range) << "onto no history";
    EXPECT_EQ(b->on_resume(Resume{7, 4}, ar, back), Status::out_of_range) << "not at that write";
    EXPECT_EQ(b->on_resume(Resume{8, 3}, ar, back), Status::out_of_range) << "not of that history";
    EXPECT_EQ(b->on_resume(Resume{0, 3}, ar, back), Status::out_of_range);
    Load page{};
    EXPECT_EQ(b->on_load(page, ar), Status::out_of_range) << "a page without the first";
    Apply other{};
    other.history = 8;
    other.seq = 4;
    EXPECT_EQ(b->on_apply(other, ar), Status::out_of_range) << "another history's next write";
    EXPECT_EQ(b->at, (Position{7, 3}));
    EXPECT_FALSE(b->awaiting_table);
    // In the middle of a table: no rebase, no apply; resume only at the table's write.
    page.first = true;
    page.last = true;
    page.seq = 5;
    ASSERT_EQ(b->on_load(page, ar), Status::ok);
    EXPECT_TRUE(b->awaiting_table);
    EXPECT_EQ(b->on_rebase(Rebase{0, 5, 9}, ar), Status::out_of_range);
    other.history = 0;
    other.seq = 6;
    EXPECT_EQ(b->on_apply(other, ar), Status::out_of_range);
    EXPECT_EQ(b->on_resume(Resume{9, 4}, ar, back), Status::out_of_range);
    EXPECT_TRUE(b->awaiting_table);
    ASSERT_EQ(b->on_resume(Resume{9, 5}, ar, back), Status::ok);
    EXPECT_TRUE(back);
    EXPECT_EQ(b->at, (Position{9, 5}));
    EXPECT_FALSE(b->awaiting_table);
}

TEST(KvstoreHistories, NewHistoriesDiffer) {
    std::vector<std::uint64_t> seen;
    for (std::uint64_t who = 0; who < 8; ++who)
        for (std::uint64_t ticks = 0; ticks < 8; ++ticks)
            for (std::uint64_t restarts = 0; restarts < 4; ++restarts) {
                const std::uint64_t h = new_history(who << 32 | 5, ticks, restarts);
                EXPECT_NE(h, 0u);
                seen.push_back(h);
            }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

} // namespace
} // namespace myr
