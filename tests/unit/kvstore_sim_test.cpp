// kvstore's replication under crashes at every step (docs/servers.md, "Histories and catching
// up"): the pure replica (replication/include/myr/repl/primary_backup/replica.hpp over kvstore's
// machine) that the server runs,
// here as K replicas whose messages are direct calls, each replica with its block of kept memory.
// A seeded random run mixes client writes, crashes of any replica (between steps, and before or
// after any message it is sent: in the middle of a write's forwarding, of a catch-up, of a table
// transfer, of a primary taking a backup's table), restarts, and the loss of a replica's kept
// memory (its core died: the replica comes back empty, elsewhere). The primary's side follows
// main.cpp: a restarted primary recovers from its log, or takes the fullest backup's table and
// begins a new history there; every pass, it catches up the backups it lost.
//
// Checked at every step: a backup that serves reads (not awaiting a catch-up) holds exactly the
// table the primary held at the same position of the same history; no history number is reused.
// At the end, with every replica up and caught up: every replica at the primary's position with
// its table, and every acknowledged write there (or a later write of the same key). Losing kept
// memory is injected only where the guarantee says nothing is lost: another replica that holds
// every acknowledged write keeps its state (for the primary's: a backup, up or down with its log;
// the restarted primary waits for every backup before it takes the fullest table, and its 5 s
// deadline is injected only where a backup that answers holds every write).
#include <myr/kvstore/replica.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace myr {
namespace {

using namespace kvstore;

constexpr unsigned max_k = 3;

struct Node {
    std::unique_ptr<std::uint64_t[]> block{new std::uint64_t[log_block_bytes / 8]()};
    std::unique_ptr<ReplicaState> inst;  // null: down
    std::uint64_t instance = 0;          // instances started so far
    bool holds_all = true;               // its state (up, or in its log) has every acknowledged write
    std::uint8_t* bytes() { return reinterpret_cast<std::uint8_t*>(block.get()); }
    void wipe() { std::fill(block.get(), block.get() + log_block_bytes / 8, 0); }
};

struct Sim;

// The primary's connection to one instance of a backup: fails once that instance is gone.
struct SimLink {
    Sim& sim;
    unsigned target;
    std::uint64_t instance;
    template <typename M, typename R>
    Status call(const M& m, R& reply);
};

struct Sim {
    explicit Sim(std::uint64_t seed, unsigned replicas) : rng(seed), k(replicas) {}

    std::mt19937_64 rng;
    unsigned k;
    Node nodes[max_k];
    // The primary's view.
    bool lost[max_k] = {};
    std::uint64_t bound[max_k] = {};  // the backup instance each connection goes to
    bool primary_ready = false;       // a restarted primary without its log: not until it took a table
    std::uint64_t next_history = 1000;
    // The checker's.
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> digest_at;  // (history, seq) -> the primary's table
    std::set<std::uint64_t> histories;
    struct KeyState {
        std::string acked;                // the last acknowledged value ("" none)
        std::vector<std::string> since;   // values written after it, not acknowledged
    };
    std::map<std::string, KeyState> keys;
    std::uint64_t beyond_fork = 0;
    std::uint64_t values = 0, acked = 0, crashes = 0, wipes = 0, catch_ups[4] = {}, tables_taken = 0;
    std::string failure;
    std::vector<std::string> trace;  // what happened, printed with a failure
    void note(const std::string& what) { trace.push_back(what); }
    static std::string pos(Position p) { return "(" + std::to_string(p.history) + "," + std::to_string(p.seq) + ")"; }

    bool chance(unsigned percent) { return rng() % 100 < percent; }
    void fail(const std::string& why) {
        if (failure.empty()) failure = why;
    }
    ReplicaState* primary() { return primary_ready ? nodes[0].inst.get() : nullptr; }

    // ---- Instances ----

    void start(unsigned r) {
        Node& n = nodes[r];
        n.inst = std::make_unique<ReplicaState>();
        ReplicaState& s = *n.inst;
        const bool restarted = n.instance++ > 0;
        if (!s.log.attach(n.bytes(), log_block_bytes, &s.table, &s.sessions, &s.at)) fail("attach");
        const bool from_log = restarted && s.log.recover();
        if (r == 0) {
            primary_ready = true;
            if (from_log && s.at.history != 0) s.fork = s.at;
            else if (restarted && k > 1) primary_ready = false;  // takes a backup's table first (recover)
            else begin(Position{});
            for (unsigned b = 1; b < k; ++b) lost[b] = true;  // a new instance binds to each afresh
        } else {
            s.awaiting_table = restarted;
        }
        s.log.checkpoint();
        note("start " + std::to_string(r) + (restarted ? " restarted" : "") + (from_log ? " from its log" : "") + " at " +
             pos(s.at) + (r == 0 && !primary_ready ? " (to take a table)" : ""));
    }
    void begin(Position from) {
        ReplicaState& s = *nodes[0].inst;
        const std::uint64_t h = next_history++;
        s.begin_history(from, h);
        if (!histories.insert(s.at.history).second) fail("a history number was used twice");
        digest_at[{s.at.history, s.at.seq}] = s.table.digest();
    }
    void crash(unsigned r, bool wipe) {
        Node& n = nodes[r];
        if (!n.inst) return;
        n.inst.reset();
        ++crashes;
        note("crash " + std::to_string(r) + (wipe ? " and its kept memory" : ""));
        if (r == 0) primary_ready = false;
        if (wipe) {
            n.wipe();
            n.holds_all = false;
            ++wipes;
        }
    }
    // Whether losing r's kept memory is within the guarantee.
    bool may_wipe(unsigned r) const {
        if (r == 0) {
            // A restarted primary without its log waits for every backup and takes the fullest
            // table: one backup that holds every acknowledged write, up or down with its log,
            // is enough (not one in the middle of taking a table: its state is its log's then,
            // which a restart would bring back, but it answers with no history while it runs).
            for (unsigned b = 1; b < k; ++b)
                if (nodes[b].holds_all && (!nodes[b].inst || nodes[b].inst->loading == ReplicaState::Loading::none))
                    return true;
            return false;
        }
        for (unsigned o = 0; o < k; ++o)
            if (o != r && nodes[o].holds_all) return true;
        return false;
    }

    bool up_backup_holds_all() const {
        for (unsigned b = 1; b < k; ++b)
            if (nodes[b].inst && nodes[b].holds_all && nodes[b].inst->loading == ReplicaState::Loading::none) return true;
        return false;
    }

    // ---- The primary ----

    // A restarted primary without its log: once every backup answered (main.cpp waits for
    // them), the fullest one with a history, its table. `late`: main.cpp's 5 s passed, so the
    // fullest of those that answer. `wait_for_all` off: the rule before, the fullest of those
    // up at once (a test shows what it loses).
    bool wait_for_all = true;
    void recover(bool late = false) {
        unsigned best = 0, answered = 0;
        StatsReply best_st{};
        for (unsigned b = 1; b < k; ++b) {
            if (!nodes[b].inst) continue;
            StatsReply st{};
            SimLink link{*this, b, nodes[b].instance};
            if (link.call(Stats{}, st) != Status::ok) continue;
            ++answered;
            if (st.applied > best_st.applied && st.history != 0) {
                best = b;
                best_st = st;
            }
        }
        if (wait_for_all && !late && answered + 1 < k) return;  // one down may be the only one with every write
        if (best == 0) {
            // No backup holds anything acknowledged (no write yet, or none holds them all): the
            // empty state, as main.cpp after 5 s. Else it waits for one that does.
            bool any = false;
            for (unsigned b = 1; b < k; ++b) any = any || nodes[b].holds_all;
            if ((!any || acked == 0) && nodes[0].inst) {
                begin(Position{});
                primary_ready = true;
            }
            return;
        }
        if (!nodes[0].inst) return;
        SimLink link{*this, best, nodes[best].instance};
        std::uint64_t calls = 0;
        ReplicaState& s = *nodes[0].inst;
        const std::uint64_t h = next_history++;
        if (s.take_table(link, Position{best_st.history, best_st.applied}, h, calls) != Status::ok) return;
        if (!nodes[0].inst) return;  // (a crash injected meanwhile takes the primary too? never: links crash targets)
        if (!histories.insert(s.at.history).second) fail("a history number was used twice");
        // The adopted table must be the one the old history had at that position.
        const auto it = digest_at.find({best_st.history, best_st.applied});
        if (it != digest_at.end() && it->second != s.table.digest()) fail("took a table unlike its history's");
        digest_at[{s.at.history, s.at.seq}] = s.table.digest();
        nodes[0].holds_all = nodes[best].holds_all;
        ++tables_taken;
        note("primary took backup " + std::to_string(best) + "'s table at " + pos(Position{best_st.history, best_st.applied}) +
             ": now " + pos(s.at));
        primary_ready = true;
    }

    // The primary's background pass: catch up every lost backup that is up.
    void rejoin() {
        for (unsigned b = 1; b < k; ++b) {
            // An instance that ended is lost (main.cpp asks its monitor: alive).
            if (!lost[b] && (!nodes[b].inst || nodes[b].instance != bound[b])) lost[b] = true;
            if (!primary() || !lost[b] || !nodes[b].inst) continue;
            bound[b] = nodes[b].instance;
            SimLink link{*this, b, bound[b]};
            ReplicaState::CatchUpReport rep{};
            const Position fork = primary()->fork;
            const Status s = primary()->catch_up(link, rep);
            if (fork.history != primary()->at.history && rep.them.history == fork.history && rep.them.seq > fork.seq)
                ++beyond_fork;  // a backup holding a write the new history never had
            if (s != Status::ok) continue;
            lost[b] = false;
            ++catch_ups[static_cast<unsigned>(rep.plan)];
            note("caught up " + std::to_string(b) + " from " + pos(rep.them) + " by " + to_string(rep.plan) + " to " +
                 pos(primary()->at));
            if (nodes[b].inst && nodes[b].instance == bound[b] && nodes[0].holds_all) nodes[b].holds_all = true;
        }
    }

    // A client's put of key `key`: decided, ordered, forwarded; acknowledged when every backup
    // not lost took it (a backup that does not is lost from then on).
    // A client's put, decided and ordered by the primary: what it forwards. false: refused.
    bool order_put(const std::string& key, const std::string& value, Apply& msg) {
        ReplicaState* p = primary();
        Key kk{};
        Value vv{};
        (void)kk.assign_cstr(key.c_str());
        (void)vv.assign(value.data(), value.size());
        std::uint64_t version = 0;
        if (p->table.put(kk, vv, version) != Status::ok) return false;
        Txn t{};
        TxnOp op{};
        op.kind = TxnKind::put;
        op.key = kk;
        op.value = vv;
        (void)t.ops.push(op);
        Answer a{};
        a.core = 1;
        a.domain = 7;
        a.session = 1;
        a.request = static_cast<std::uint32_t>(values);
        a.op = Put::op;
        a.slot = 0;
        msg = p->order(t, a);
        digest_at[{p->at.history, p->at.seq}] = p->table.digest();
        keys[key].since.push_back(value);
        return true;
    }
    void write() {
        if (!primary()) return;
        const std::string key = "k" + std::to_string(rng() % 24);
        const std::string value = "v" + std::to_string(++values);
        Apply msg{};
        if (!order_put(key, value, msg)) return;
        for (unsigned b = 1; b < k; ++b) {
            if (chance(forward_crash_percent)) {  // the primary crashes in the middle of forwarding: never acknowledged
                note("write " + key + "=" + value + " at " + pos(msg.history == 0 ? Position{} : Position{msg.history, msg.seq}) +
                     " not acknowledged");
                crash(0, chance(30) && may_wipe(0));  // its core may die with it
                return;
            }
            if (lost[b]) {
                nodes[b].holds_all = false;
                continue;
            }
            ApplyReply ar{};
            SimLink link{*this, b, bound[b]};
            if (link.call(msg, ar) != Status::ok) {
                lost[b] = true;
                nodes[b].holds_all = false;
            }
        }
        note("write " + key + "=" + value + " at " + pos(Position{msg.history, msg.seq}) + " acknowledged");
        KeyState& ks = keys[key];
        ks.acked = value;
        ks.since.clear();
        ++acked;
    }

    // ---- Checks ----

    void check_served() {
        for (unsigned b = 1; b < k; ++b) {
            const ReplicaState* s = nodes[b].inst.get();
            if (!s || s->awaiting_table) continue;
            if (s->at.history == 0 && s->at.seq == 0) {
                if (s->table.size() != 0) fail("a backup with no history serves a table");
                continue;
            }
            const auto it = digest_at.find({s->at.history, s->at.seq});
            if (it == digest_at.end())
                fail("backup " + std::to_string(b) + " serves a position the primary never held");
            else if (it->second != s->table.digest())
                fail("backup " + std::to_string(b) + " serves a table unlike the primary's at its position (history " +
                     std::to_string(s->at.history) + ", write " + std::to_string(s->at.seq) + ")");
        }
    }

    void step() {
        switch (rng() % 10) {
        case 0: case 1: case 2: case 3: write(); break;
        case 4: {
            const unsigned r = static_cast<unsigned>(rng() % k);
            crash(r, chance(25) && may_wipe(r));
            break;
        }
        case 5: case 6:
            for (unsigned r = 0; r < k; ++r)
                if (!nodes[r].inst && chance(50)) start(r);
            break;
        default:
            // main.cpp's 5 s pass with a backup down: only where a backup that answers holds
            // every acknowledged write (else losing writes is what the deadline risks, and says).
            if (nodes[0].inst && !primary_ready) recover(chance(30) && up_backup_holds_all());
            rejoin();
            break;
        }
        check_served();
    }

    // Everything up, no more crashes, every backup caught up.
    void settle() {
        crash_percent = 0;
        for (unsigned round = 0; round < 8; ++round) {
            for (unsigned r = 0; r < k; ++r)
                if (!nodes[r].inst) start(r);
            if (!primary_ready) recover();
            rejoin();
        }
        check_served();
        ReplicaState* p = primary();
        if (!p) return fail("the primary never came back");
        for (unsigned b = 1; b < k; ++b) {
            const ReplicaState& s = *nodes[b].inst;
            if (lost[b] || s.awaiting_table || !(s.at == p->at) || s.table.digest() != p->table.digest())
                fail("backup " + std::to_string(b) + " not at the primary's state after settling");
        }
        for (const auto& [key, ks] : keys) {
            Key kk{};
            (void)kk.assign_cstr(key.c_str());
            GetReply g{};
            const bool found = p->table.get(kk, g) == Status::ok && g.found;
            const std::string have = found ? std::string(reinterpret_cast<const char*>(g.value.data), g.value.size) : "";
            bool fine = have == ks.acked;
            for (const std::string& v : ks.since) fine = fine || have == v;
            if (!fine) fail("acknowledged write lost: " + key + " holds '" + have + "', acknowledged '" + ks.acked + "'");
        }
    }
    unsigned crash_percent = 2;          // per message, before and after it is handled
    unsigned forward_crash_percent = 3;  // per backup a write goes to: the primary crashes first
};

template <typename M, typename R>
Status dispatch(ReplicaState& s, const M& m, R& reply) {
    if constexpr (std::is_same_v<M, Stats>) {
        s.position_of(reply);
        return Status::ok;
    } else if constexpr (std::is_same_v<M, Apply>) {
        return s.on_apply(m, reply);
    } else if constexpr (std::is_same_v<M, Load>) {
        return s.on_load(m, reply);
    } else if constexpr (std::is_same_v<M, KeepAnswer>) {
        return s.on_keep(m, reply);
    } else if constexpr (std::is_same_v<M, Rebase>) {
        return s.on_rebase(m, reply);
    } else if constexpr (std::is_same_v<M, Resume>) {
        bool back = false;
        return s.on_resume(m, reply, back);
    } else if constexpr (std::is_same_v<M, Dump>) {
        return s.on_dump(m, reply);
    } else {
        static_assert(std::is_same_v<M, DumpAnswers>);
        return s.on_dump_answers(m, reply);
    }
}

template <typename M, typename R>
Status SimLink::call(const M& m, R& reply) {
    Node& n = sim.nodes[target];
    if (!n.inst || n.instance != instance) return Status::connection_lost;
    if (sim.chance(sim.crash_percent)) {  // before it is handled
        sim.crash(target, false);
        return Status::connection_lost;
    }
    const Status s = dispatch(*n.inst, m, reply);
    sim.check_served();
    if (sim.chance(sim.crash_percent)) {  // after: the reply is lost
        sim.crash(target, false);
        return Status::connection_lost;
    }
    return s;
}

std::unique_ptr<Sim> run(std::uint64_t seed, unsigned k, unsigned steps) {
    auto sim = std::make_unique<Sim>(seed, k);
    for (unsigned r = 0; r < k; ++r) sim->start(r);
    sim->rejoin();
    for (unsigned i = 0; i < steps && sim->failure.empty(); ++i) sim->step();
    if (sim->failure.empty()) sim->settle();
    return sim;
}

// The case histories exist for, step by step: the primary forwards write S+1 to backup 1 only
// and dies with its core; backup 1 is still down when the restarted primary's 5 s wait for it
// ends, so it takes backup 2's table at S and begins a new history there. Backup 1 comes back holding S+1, which nobody acknowledged
// and the new history does not have: it must get the table, not a suffix or a rebase, or it
// would hold a different table under the same numbers from then on.
TEST(KvstoreSim, ABackupBeyondTheForkTakesTheTable) {
    Sim sim(5, 3);
    sim.crash_percent = 0;
    sim.forward_crash_percent = 0;
    for (unsigned r = 0; r < 3; ++r) sim.start(r);
    sim.rejoin();
    for (unsigned i = 0; i < 6; ++i) sim.write();
    ASSERT_EQ(sim.acked, 6u);
    const Position old = sim.nodes[0].inst->at;
    Apply msg{};
    ASSERT_TRUE(sim.order_put("k1", "beyond", msg));
    ApplyReply ar{};
    SimLink to1{sim, 1, sim.bound[1]};
    ASSERT_EQ(to1.call(msg, ar), Status::ok);
    sim.crash(0, true);
    sim.crash(1, false);
    sim.start(0);
    sim.recover();
    EXPECT_FALSE(sim.primary_ready) << "waits for backup 1";
    sim.recover(true);  // backup 1 stays down past the primary's 5 s: backup 2's table
    ReplicaState& p = *sim.nodes[0].inst;
    ASSERT_TRUE(sim.primary_ready);
    EXPECT_EQ(p.fork, old) << "took backup 2's table at the last acknowledged write";
    EXPECT_NE(p.at.history, old.history);
    sim.start(1);
    EXPECT_EQ(sim.nodes[1].inst->at, (Position{old.history, old.seq + 1})) << "backup 1 holds the write nobody acknowledged";
    const std::uint64_t tables = sim.catch_ups[static_cast<unsigned>(CatchUp::table)];
    const std::uint64_t rebases = sim.catch_ups[static_cast<unsigned>(CatchUp::rebase)];
    sim.rejoin();
    EXPECT_EQ(sim.catch_ups[static_cast<unsigned>(CatchUp::table)], tables + 1) << "backup 1 gets the table";
    EXPECT_EQ(sim.catch_ups[static_cast<unsigned>(CatchUp::rebase)], rebases + 1) << "backup 2, at the fork, is rebased";
    for (unsigned i = 0; i < 4; ++i) sim.write();
    sim.settle();
    EXPECT_TRUE(sim.failure.empty()) << sim.failure;
    for (unsigned r = 0; r < 3; ++r) {
        GetReply g{};
        Key k1{};
        ASSERT_TRUE(k1.assign_cstr("k1"));
        const bool found = sim.nodes[r].inst->table.get(k1, g) == Status::ok && g.found;
        EXPECT_FALSE(found && std::string(reinterpret_cast<const char*>(g.value.data), g.value.size) == "beyond")
            << "replica " << r << " holds the write the new history never had";
    }
}

// A restarted primary without its log must not take the table of the only backup it reaches
// when another, down for now, holds writes the first missed: backup 1 crashes, three writes are
// acknowledged with backup 2 alone, backup 2 crashes (its log holds them), backup 1 comes back
// from its older log, and the primary's core dies. The primary waits for backup 2 and takes its
// table. With the rule before (the fullest backup up), it takes backup 1's and the three writes
// are lost: the check catches that.
std::unique_ptr<Sim> stale_backup_run(bool wait_for_all) {
    auto sim = std::make_unique<Sim>(11, 3);
    sim->crash_percent = 0;
    sim->forward_crash_percent = 0;
    sim->wait_for_all = wait_for_all;
    for (unsigned r = 0; r < 3; ++r) sim->start(r);
    sim->rejoin();
    for (unsigned i = 0; i < 4; ++i) sim->write();
    sim->crash(1, false);
    for (unsigned i = 0; i < 3; ++i) sim->write();
    EXPECT_EQ(sim->acked, 7u);
    EXPECT_FALSE(sim->nodes[1].holds_all);
    sim->crash(2, false);
    sim->start(1);
    EXPECT_TRUE(sim->may_wipe(0)) << "backup 2, down, holds every acknowledged write in its log";
    sim->crash(0, true);
    sim->start(0);
    EXPECT_FALSE(sim->primary_ready);
    sim->recover();
    return sim;
}

TEST(KvstoreSim, ARestartedPrimaryWaitsForEveryBackup) {
    const std::unique_ptr<Sim> sim = stale_backup_run(true);
    EXPECT_FALSE(sim->primary_ready) << "backup 2 is down: the primary waits for it";
    sim->start(2);
    sim->recover();
    ASSERT_TRUE(sim->primary_ready);
    EXPECT_EQ(sim->nodes[0].inst->fork.seq, 7u) << "took backup 2's table, at the last acknowledged write";
    sim->settle();
    EXPECT_TRUE(sim->failure.empty()) << sim->failure;

    const std::unique_ptr<Sim> before = stale_backup_run(false);
    ASSERT_TRUE(before->primary_ready) << "the rule before takes the table of the backup that is up";
    EXPECT_EQ(before->nodes[0].inst->fork.seq, 4u);
    before->settle();
    EXPECT_NE(before->failure.find("acknowledged write lost"), std::string::npos)
        << "the check must catch the writes the rule before loses: " << before->failure;
}

TEST(KvstoreSim, NoAcknowledgedWriteIsLostAndNoHistoriesMix) {
    std::uint64_t acked = 0, crashes = 0, wipes = 0, tables = 0, beyond = 0, plans[4] = {};
    for (unsigned k = 2; k <= 3; ++k)
        for (std::uint64_t seed = 1; seed <= 150; ++seed) {
            const std::unique_ptr<Sim> sim = run(seed * 7919 + k, k, 400);
            if (!sim->failure.empty()) {
                const std::size_t from = sim->trace.size() > 60 ? sim->trace.size() - 60 : 0;
                for (std::size_t i = from; i < sim->trace.size(); ++i) std::printf("  %s\n", sim->trace[i].c_str());
            }
            ASSERT_TRUE(sim->failure.empty()) << "seed " << seed << ", " << k << " replicas: " << sim->failure;
            acked += sim->acked;
            crashes += sim->crashes;
            wipes += sim->wipes;
            tables += sim->tables_taken;
            beyond += sim->beyond_fork;
            for (unsigned p = 0; p < 4; ++p) plans[p] += sim->catch_ups[p];
        }
    // The runs reach every path: suffixes, rebases and tables, primaries taking tables, lost memory.
    EXPECT_GT(acked, 10000u);
    EXPECT_GT(crashes, 5000u);
    EXPECT_GT(wipes, 100u);
    EXPECT_GT(tables, 50u);
    EXPECT_GT(beyond, 0u) << "no backup held a write beyond the fork its primary's history began from";
    for (unsigned p = 0; p < 4; ++p) EXPECT_GT(plans[p], 20u) << to_string(static_cast<CatchUp>(p));
    std::printf("kvstore sim: %llu writes acknowledged, %llu crashes, %llu kept blocks lost, %llu tables taken by a "
                "primary, %llu backups beyond the fork; catch-ups: %llu current, %llu suffix, %llu rebase, %llu table\n",
                static_cast<unsigned long long>(acked), static_cast<unsigned long long>(crashes),
                static_cast<unsigned long long>(wipes), static_cast<unsigned long long>(tables),
                static_cast<unsigned long long>(beyond),
                static_cast<unsigned long long>(plans[0]), static_cast<unsigned long long>(plans[1]),
                static_cast<unsigned long long>(plans[2]), static_cast<unsigned long long>(plans[3]));
}

} // namespace
} // namespace myr
