// Primary-backup replication from replication/ (replication/include/myr/repl/primary_backup/,
// docs/replication.md, "Primary-backup") with every catalogued object (object_machine.hpp), not
// only kvstore's machine (kvstore_sim_test has that one).
//
// A seeded run of three replicas whose messages are direct calls, each replica with a block of
// memory that outlives its crashes (its log), mixes client updates (the object's own sampled ops),
// crashes of any replica (between steps, in the middle of a write: after the primary logged it, or
// after it reached one backup only; and in the middle of a catch-up or a table transfer), restarts,
// and the loss of a replica's block (its core died). Replicas that were down join at run time:
// from their log, then by the writes they missed, a rebase, or the table. A client whose write was
// not answered sends it again (same client, same request) before anything else.
//
// Checked: each answer equals what a reference copy of the object gives when it applies the
// acknowledged writes in the order they were acknowledged (a write answered from a kept answer
// was done once, not twice); at every step, a backup that serves holds the state the primary held
// at the same position; at the end, with every replica up and caught up, every replica's digest is
// the reference's. Blocks are lost only where the guarantee says nothing is lost: a backup's while
// the primary is up, the primary's while every backup is up and holds every acknowledged write.
//
// Then hostile and torn input to a backup: writes out of order or of another history, table
// pages out of order or incomplete, a rebase or resume at the wrong position, a table taken from a
// replica that moved, and a log block another machine wrote.
#include <myr/repl/objects/catalog.hpp>
#include <myr/repl/primary_backup/object_machine.hpp>
#include <myr/repl/primary_backup/replica.hpp>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace myr::repl {
namespace {

template <typename Obj>
struct PbSim {
    using M = pb::ObjectMachine<Obj>;
    using R = pb::Replica<M>;
    static constexpr unsigned k = 3;
    static constexpr std::size_t block_bytes = pb::Log<M>::min_block_bytes() + 16 * 4096;

    struct Node {
        std::vector<std::uint64_t> block = std::vector<std::uint64_t>(block_bytes / 8, 0);
        std::unique_ptr<R> inst;  // null: down
        std::uint64_t instance = 0;
        std::uint8_t* bytes() { return reinterpret_cast<std::uint8_t*>(block.data()); }
    };

    // The primary's connection to one instance of a backup: fails once that instance is gone, and
    // now and then crashes it just before a message (a crash in the middle of a catch-up).
    struct Link {
        PbSim& sim;
        unsigned to;
        std::uint64_t instance;
        template <typename Msg, typename Reply>
        Status call(const Msg& m, Reply& reply) {
            Node& n = sim.nodes[to];
            if (!n.inst || n.instance != instance) return Status::connection_lost;
            if (sim.chance(sim.crash_in_transfer)) {
                sim.crash(to, "in a transfer");
                return Status::connection_lost;
            }
            ++sim.messages;
            return dispatch(*n.inst, m, reply);
        }
    };
    static Status dispatch(R& r, const typename M::Apply& m, typename M::ApplyReply& o) { return r.on_apply(m, o); }
    static Status dispatch(R& r, const typename M::Load& m, typename M::ApplyReply& o) { return r.on_load(m, o); }
    static Status dispatch(R& r, const typename M::KeepAnswer& m, typename M::ApplyReply& o) { return r.on_keep(m, o); }
    static Status dispatch(R& r, const typename M::Rebase& m, typename M::ApplyReply& o) { return r.on_rebase(m, o); }
    static Status dispatch(R& r, const typename M::Resume& m, typename M::ApplyReply& o) {
        bool rejoined = false;
        return r.on_resume(m, o, rejoined);
    }
    static Status dispatch(R& r, const typename M::Stats&, typename M::StatsReply& o) {
        r.position_of(o);
        return Status::ok;
    }
    static Status dispatch(R& r, const typename M::Dump& m, typename M::DumpReply& o) { return r.on_dump(m, o); }
    static Status dispatch(R& r, const typename M::DumpAnswers& m, typename M::DumpAnswersReply& o) {
        return r.on_dump_answers(m, o);
    }

    explicit PbSim(std::uint64_t seed) : rng(seed) {}

    std::mt19937_64 rng;
    Node nodes[k];
    bool lost[k] = {};         // the primary's view: not forwarded to until caught up
    bool holds_all[k] = {};    // the checker's: this replica's state (up, or in its block) has every acknowledged write
    bool primary_ready = false;
    std::uint64_t next_history = 100;
    Obj reference{};
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> digest_at;  // the primary's state at a position
    struct Pending {
        bool active = false;
        std::uint32_t client = 0, request = 0;
        typename Obj::Op op{};
    } pending;
    std::uint32_t requests[4] = {};
    unsigned crash_in_transfer = 0;
    std::uint64_t acked = 0, replayed = 0, crashes = 0, wipes = 0, joins[4] = {}, tables_taken = 0, messages = 0;
    std::string failure;
    std::vector<std::string> trace;

    bool chance(unsigned percent) { return rng() % 100 < percent; }
    void fail(const std::string& why) {
        if (failure.empty()) failure = why;
    }
    void note(const std::string& s) { trace.push_back(s); }
    R* primary() { return primary_ready ? nodes[0].inst.get() : nullptr; }
    Link link(unsigned b) { return Link{*this, b, nodes[b].instance}; }

    void start(unsigned r) {
        Node& n = nodes[r];
        n.inst = std::make_unique<R>();
        R& s = *n.inst;
        const bool restarted = n.instance++ > 0;
        if (!s.log.attach(n.bytes(), block_bytes, &s.table, &s.sessions, &s.at)) fail("attach");
        const bool from_log = restarted && s.log.recover();
        if (r == 0) {
            primary_ready = true;
            if (from_log && s.at.history != 0) s.fork = s.at;
            else if (restarted) primary_ready = false;  // takes the fullest backup's table first
            else begin(pb::Position{});
            for (unsigned b = 1; b < k; ++b) lost[b] = true;  // a new primary binds to each afresh
        } else {
            s.awaiting_table = restarted;
        }
        s.log.checkpoint();
        note("start " + std::to_string(r) + (from_log ? " from its log" : "") + " at " + std::to_string(s.at.seq));
    }
    void begin(pb::Position from) {
        R& p = *nodes[0].inst;
        p.begin_history(from, next_history++);
        digest_at[{p.at.history, p.at.seq}] = p.table.digest();
    }
    void crash(unsigned r, const char* where) {
        if (!nodes[r].inst) return;
        nodes[r].inst.reset();
        ++crashes;
        if (r == 0) primary_ready = false;
        else lost[r] = true;
        note("crash " + std::to_string(r) + " " + where);
    }
    // A replica's block is lost (its core died) where nothing acknowledged can go with it.
    void maybe_wipe(unsigned r) {
        bool safe = r == 0;
        for (unsigned b = 1; b < k && r == 0; ++b) safe = safe && nodes[b].inst && !lost[b] && holds_all[b];
        if (r != 0) safe = primary() != nullptr;
        if (!safe || nodes[r].inst || !chance(30)) return;
        std::fill(nodes[r].block.begin(), nodes[r].block.end(), 0);
        holds_all[r] = false;
        ++wipes;
        note("wipe " + std::to_string(r));
    }

    // A client's update: answered from the kept answer when the primary has one for this
    // request, else applied, ordered, logged and forwarded to every backup not lost. `crash_at`:
    // 0 none, 1 the primary crashes after logging it, 2 after forwarding it to backup 1 only.
    void write(std::uint32_t client, std::uint32_t request, const typename Obj::Op& op, unsigned crash_at) {
        R& p = *nodes[0].inst;
        const typename M::Answer* kept = p.sessions.find(client);
        typename Obj::Result result{};
        if (kept && kept->request == request) {
            result = kept->result;
            ++replayed;
        } else {
            result = p.table.obj.apply(op);
            const typename M::Apply a = p.order(op, typename M::Answer{client, request, result});
            digest_at[{p.at.history, p.at.seq}] = p.table.digest();
            for (unsigned b = 1; b < k; ++b) {
                if (crash_at == 1 || (crash_at == 2 && b > 1)) break;
                if (lost[b]) continue;
                auto l = link(b);
                typename M::ApplyReply ar{};
                if (l.call(a, ar) != Status::ok) lost[b] = true;
            }
            if (crash_at != 0) {
                pending = Pending{true, client, request, op};
                crash(0, crash_at == 1 ? "after logging a write" : "after forwarding a write to backup 1");
                return;
            }
        }
        pending.active = false;
        const typename Obj::Result want = reference.apply(op);
        if (!(result == want)) fail("write " + std::to_string(request) + " of client " + std::to_string(client) +
                                    " answered unlike the reference");
        ++acked;
        holds_all[0] = true;
        for (unsigned b = 1; b < k; ++b) holds_all[b] = nodes[b].inst && !lost[b];
    }

    // The primary's pass: a primary without its log takes the fullest live backup's table, then
    // every lost backup that is up is caught up.
    void pass() {
        if (!nodes[0].inst) return;
        R& p = *nodes[0].inst;
        if (!primary_ready) {
            unsigned best = 0;
            typename M::StatsReply st{}, best_st{};
            for (unsigned b = 1; b < k; ++b) {
                if (!nodes[b].inst) continue;
                nodes[b].inst->position_of(st);
                if (st.history != 0 && (best == 0 || st.applied > best_st.applied)) best = b, best_st = st;
            }
            if (best == 0) return;
            auto l = link(best);
            std::uint64_t calls = 0;
            const Status s = p.take_table(l, pb::Position{best_st.history, best_st.applied}, next_history++, calls);
            if (s != Status::ok) return;
            ++tables_taken;
            primary_ready = true;
            holds_all[0] = holds_all[best];
            digest_at[{p.at.history, p.at.seq}] = p.table.digest();
            note("primary took backup " + std::to_string(best) + "'s table");
        }
        for (unsigned b = 1; b < k; ++b) {
            if (!lost[b] || !nodes[b].inst) continue;
            auto l = link(b);
            typename R::CatchUpReport rep{};
            if (p.catch_up(l, rep) != Status::ok) continue;
            lost[b] = false;
            holds_all[b] = holds_all[0];
            ++joins[static_cast<unsigned>(rep.plan)];
        }
    }

    // A backup that serves holds exactly the primary's state at its position.
    void check() {
        for (unsigned b = 1; b < k; ++b) {
            const R* s = nodes[b].inst.get();
            if (!s || s->awaiting_table || s->loading != R::Loading::none) continue;
            const auto it = digest_at.find({s->at.history, s->at.seq});
            if (it != digest_at.end() && it->second != s->table.digest())
                fail("backup " + std::to_string(b) + " serves a state the primary never had at its position");
        }
    }

    void step() {
        const unsigned roll = static_cast<unsigned>(rng() % 100);
        if (roll < 55) {
            if (!primary()) return;
            const unsigned crash_at = chance(6) ? 1 + static_cast<unsigned>(rng() % 2) : 0;
            if (pending.active) return write(pending.client, pending.request, pending.op, crash_at);
            typename Obj::Op op{};
            do {
                op = Obj::sample(rng(), SampleContext{static_cast<std::uint16_t>(rng() % 4), 4, false});
            } while (Obj::is_read(op));
            const std::uint32_t client = 1 + static_cast<std::uint32_t>(rng() % 4);
            write(client, ++requests[client - 1], op, crash_at);
        } else if (roll < 65) {
            const unsigned r = static_cast<unsigned>(rng() % k);
            crash(r, "between steps");
            maybe_wipe(r);
        } else if (roll < 80) {
            const unsigned r = static_cast<unsigned>(rng() % k);
            if (!nodes[r].inst) start(r);
        } else {
            pass();
        }
    }

    void run(unsigned steps) {
        for (unsigned b = 0; b < k; ++b) holds_all[b] = true;
        for (unsigned b = 0; b < k; ++b) start(b);
        crash_in_transfer = 2;
        for (unsigned i = 0; i < steps && failure.empty(); ++i) {
            step();
            check();
        }
        // Everything up, caught up, and the last unanswered write answered.
        crash_in_transfer = 0;
        for (unsigned round = 0; round < 10; ++round) {
            for (unsigned b = 0; b < k; ++b)
                if (!nodes[b].inst) start(b);
            pass();
        }
        if (!primary()) return fail("no primary at the end");
        if (pending.active) write(pending.client, pending.request, pending.op, 0);
        pass();
        const std::uint64_t want = reference.digest();
        for (unsigned b = 0; b < k; ++b) {
            if (b > 0 && lost[b]) fail("backup " + std::to_string(b) + " not caught up at the end");
            if (nodes[b].inst->table.digest() != want)
                fail("replica " + std::to_string(b) + " differs from the reference at the end");
        }
    }
};

template <typename Obj>
class PrimaryBackupEveryObject : public ::testing::Test {};
template <typename L>
struct AsTypes;
template <Catalogued... Os>
struct AsTypes<ObjectList<Os...>> {
    using type = ::testing::Types<Os...>;
};
using Catalogue = AsTypes<Objects>::type;
TYPED_TEST_SUITE(PrimaryBackupEveryObject, Catalogue);

TYPED_TEST(PrimaryBackupEveryObject, NothingAcknowledgedIsLostAcrossCrashesJoinsAndLostBlocks) {
    std::uint64_t acked = 0, crashes = 0, wipes = 0, tables = 0, joins[4] = {}, replayed = 0;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        PbSim<TypeParam> sim(seed);
        sim.run(600);
        if (!sim.failure.empty()) {
            std::string t;
            for (std::size_t i = sim.trace.size() > 30 ? sim.trace.size() - 30 : 0; i < sim.trace.size(); ++i)
                t += "  " + sim.trace[i] + "\n";
            FAIL() << TypeParam::name << " seed " << seed << ": " << sim.failure << "\n" << t;
        }
        acked += sim.acked;
        crashes += sim.crashes;
        wipes += sim.wipes;
        tables += sim.tables_taken;
        replayed += sim.replayed;
        for (int i = 0; i < 4; ++i) joins[i] += sim.joins[i];
    }
    // The run reached what it claims to test: every way of joining, lost blocks, replayed answers.
    EXPECT_GT(acked, 4000u);
    EXPECT_GT(crashes, 1000u);
    EXPECT_GT(wipes, 20u);
    EXPECT_GT(tables, 5u);
    EXPECT_GT(replayed, 5u);
    for (const pb::CatchUp c : {pb::CatchUp::current, pb::CatchUp::suffix, pb::CatchUp::rebase, pb::CatchUp::table})
        EXPECT_GT(joins[static_cast<unsigned>(c)], 0u) << TypeParam::name << ": no join by " << pb::to_string(c);
}

// ---- Hostile and torn input, on a key-value map ----

using M = pb::ObjectMachine<KvMap>;
using R = pb::Replica<M>;

// A backup at (history 7, write 2) after two writes of the primary's.
std::unique_ptr<R> backup_at_two() {
    auto b = std::make_unique<R>();
    const R empty;
    M::ApplyReply ar{};
    for (std::uint32_t from = 0, first = 1;; first = 0) {  // an empty object's table, page by page
        M::DumpReply page{};
        empty.table.dump(from, page);
        M::Load l{};
        l.first = first != 0;
        l.last = page.done;
        l.entries = page.entries;
        EXPECT_EQ(b->on_load(l, ar), Status::ok);
        if (page.done) break;
        from = page.next;
    }
    bool rejoined = false;
    EXPECT_EQ(b->on_resume(M::Resume{7, 0}, ar, rejoined), Status::ok);
    for (std::uint64_t s = 1; s <= 2; ++s)
        EXPECT_EQ(b->on_apply(M::Apply{7, s, KvMap::put(s, s), M::Answer{}}, ar), Status::ok);
    return b;
}

TEST(PrimaryBackupHostile, WritesOutOfOrderOrOfAnotherHistoryAreRefusedAndChangeNothing) {
    auto b = backup_at_two();
    ASSERT_EQ(b->at, (pb::Position{7, 2}));
    const std::uint64_t d = b->table.digest();
    M::ApplyReply ar{};
    EXPECT_EQ(b->on_apply(M::Apply{7, 4, KvMap::put(9, 9), {}}, ar), Status::out_of_range);  // a gap
    EXPECT_EQ(b->on_apply(M::Apply{7, 2, KvMap::put(9, 9), {}}, ar), Status::out_of_range);  // a repeat
    EXPECT_EQ(b->on_apply(M::Apply{8, 3, KvMap::put(9, 9), {}}, ar), Status::out_of_range);  // another history
    EXPECT_EQ(b->on_apply(M::Apply{7, 3, KvMap::get(1), {}}, ar), Status::invalid_argument);  // a read is no write
    M::Apply junk{7, 3, {}, {}};
    junk.write.kind = static_cast<KvMap::Kind>(0x7f);
    EXPECT_EQ(b->on_apply(junk, ar), Status::invalid_argument);
    EXPECT_EQ(ar.applied, 2u);
    EXPECT_EQ(b->table.digest(), d);
    EXPECT_EQ(b->at, (pb::Position{7, 2}));
    // A fresh replica (no history yet) takes no write at all.
    R fresh;
    EXPECT_EQ(fresh.on_apply(M::Apply{0, 1, KvMap::put(1, 1), {}}, ar), Status::out_of_range);
}

TEST(PrimaryBackupHostile, TablePagesOutOfOrderOrIncompleteAreNeverServed) {
    R primary;
    for (std::uint64_t i = 1; i <= 20; ++i) (void)primary.table.obj.apply(KvMap::put(i, i * 3));
    M::DumpReply p0{}, p1{};
    primary.table.dump(0, p0);
    primary.table.dump(p0.next, p1);
    ASSERT_FALSE(p1.done);
    M::ApplyReply ar{};
    bool rejoined = false;

    auto b = backup_at_two();
    M::Load l{};
    l.entries = p1.entries;  // a page that is not a first, with no first before it
    EXPECT_EQ(b->on_load(l, ar), Status::out_of_range);
    EXPECT_EQ(b->at, (pb::Position{7, 2}));

    l.first = true;  // the second page's chunks as the first: not at offset 0
    EXPECT_EQ(b->on_load(l, ar), Status::invalid_argument);
    l = M::Load{};
    l.first = true;
    l.entries = p0.entries;
    EXPECT_EQ(b->on_load(l, ar), Status::ok);
    l = M::Load{};
    l.last = true;  // the table ends after its first page: incomplete
    l.seq = 5;
    EXPECT_EQ(b->on_load(l, ar), Status::malformed);
    EXPECT_EQ(b->on_resume(M::Resume{9, 5}, ar, rejoined), Status::out_of_range);
    EXPECT_TRUE(b->awaiting_table);  // serves nothing meanwhile

    // A chunk that runs past the object.
    M::Entry over = p0.entries.items[0];
    over.offset = static_cast<std::uint32_t>(sizeof(KvMap) - 8);
    over.size = static_cast<std::uint32_t>(M::chunk);
    M::State st{};
    st.clear();
    EXPECT_EQ(st.load(p0.entries.items[0]), Status::ok);
    EXPECT_EQ(st.load(over), Status::invalid_argument);
}

TEST(PrimaryBackupHostile, RebaseAndResumeOnlyWhereTheBackupStands) {
    auto b = backup_at_two();
    M::ApplyReply ar{};
    bool rejoined = false;
    EXPECT_EQ(b->on_rebase(M::Rebase{7, 1, 9}, ar), Status::out_of_range);  // not at the fork point
    EXPECT_EQ(b->on_rebase(M::Rebase{6, 2, 9}, ar), Status::out_of_range);
    EXPECT_EQ(b->on_rebase(M::Rebase{7, 2, 0}, ar), Status::out_of_range);  // to no history
    EXPECT_EQ(b->on_resume(M::Resume{7, 3}, ar, rejoined), Status::out_of_range);
    EXPECT_EQ(b->on_resume(M::Resume{8, 2}, ar, rejoined), Status::out_of_range);
    EXPECT_EQ(b->at, (pb::Position{7, 2}));
    EXPECT_EQ(b->on_rebase(M::Rebase{7, 2, 9}, ar), Status::ok);
    EXPECT_EQ(b->at, (pb::Position{9, 2}));
    EXPECT_EQ(b->on_apply(M::Apply{9, 3, KvMap::put(5, 5), {}}, ar), Status::ok);
}

// A primary taking a table from a replica that takes a write meanwhile gets nothing from it.
TEST(PrimaryBackupHostile, ATableFromAReplicaThatMovedIsNotTaken) {
    auto b = backup_at_two();
    for (std::uint64_t s = 3; s <= 12; ++s) {
        M::ApplyReply ar{};
        ASSERT_EQ(b->on_apply(M::Apply{7, s, KvMap::put(100 + s, s), {}}, ar), Status::ok);
    }
    struct Moving {
        R& b;
        int pages = 0;
        Status call(const M::Dump& d, M::DumpReply& r) {
            if (++pages == 2) {  // a write lands between two pages
                M::ApplyReply ar{};
                (void)b.on_apply(M::Apply{7, b.at.seq + 1, KvMap::put(1, 1), {}}, ar);
            }
            return b.on_dump(d, r);
        }
        Status call(const M::DumpAnswers& d, M::DumpAnswersReply& r) { return b.on_dump_answers(d, r); }
        Status call(const M::Stats&, M::StatsReply& r) {
            b.position_of(r);
            return Status::ok;
        }
    } link{*b};
    R p;
    std::uint64_t calls = 0;
    EXPECT_EQ(p.take_table(link, pb::Position{7, 12}, 20, calls), Status::out_of_range);
    EXPECT_EQ(p.at, pb::Position{});
    EXPECT_EQ(p.table.digest(), KvMap{}.digest());
}

// A block that another machine wrote (kvstore's layout is not a counter's), or junk, holds nothing.
TEST(PrimaryBackupHostile, ALogBlockOfAnotherMachineOrJunkHoldsNothing) {
    using MC = pb::ObjectMachine<Counter>;
    constexpr std::size_t bytes = pb::Log<M>::min_block_bytes() + 8 * 4096;
    std::vector<std::uint64_t> block(bytes / 8, 0);
    auto* raw = reinterpret_cast<std::uint8_t*>(block.data());
    {
        R kv;
        ASSERT_TRUE(kv.log.attach(raw, bytes, &kv.table, &kv.sessions, &kv.at));
        kv.log.checkpoint();
        kv.at = pb::Position{3, 0};
        kv.log.checkpoint();
        (void)kv.table.obj.apply(KvMap::put(1, 2));
        kv.order(KvMap::put(1, 2), M::Answer{1, 1, {}});
    }
    pb::Replica<MC> c;
    ASSERT_TRUE(c.log.attach(raw, bytes, &c.table, &c.sessions, &c.at));
    EXPECT_FALSE(c.log.recover());
    EXPECT_EQ(c.at, pb::Position{});
    R again;  // the machine that wrote it reads it back
    ASSERT_TRUE(again.log.attach(raw, bytes, &again.table, &again.sessions, &again.at));
    EXPECT_TRUE(again.log.recover());
    EXPECT_EQ(again.at, (pb::Position{3, 1}));
    std::mt19937_64 rng(5);
    for (auto& w : block) w = rng();
    R junk;
    ASSERT_TRUE(junk.log.attach(raw, bytes, &junk.table, &junk.sessions, &junk.at));
    EXPECT_FALSE(junk.log.recover());
    EXPECT_EQ(junk.at, pb::Position{});
}

} // namespace
} // namespace myr::repl
