// Core membership with an elected coordinator (monitor/include/myr/monitor/election.hpp) in a
// deterministic simulation: N cores on a 4-node topology, FIFO lossless channels with random
// delays, crashes injected at every step of a run (each delivery and each timer pass is a step) of
// the coordinator, of the coordinator and its successor, of other cores, and a coordinator that
// only stalls. Checked throughout: at most one coordinator per term; views committed anywhere form
// one chain (one view per epoch, each later one a subset of the earlier); at a commit every live
// core of the view holds it. At the end every surviving core holds the same committed view, which
// is exactly the cores that did not crash (or stall: those halt).
#include "sim_network.hpp"

#include <myr/monitor/election.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace myr::monitor::election {
namespace {

struct Sim : sim::Network<Msg> {
    std::vector<Member> members;
    std::map<std::uint64_t, std::uint32_t> leader_of_term;
    std::map<std::uint64_t, CoreSet> committed;  // epoch -> the view committed at it, anywhere
    std::vector<std::uint64_t> seen_commit;      // per core: the epoch of the newest commit checked

    Sim(std::uint32_t n_nodes, std::uint32_t n_per_node, std::uint64_t seed, std::uint64_t delay = 3)
        : sim::Network<Msg>(n_nodes, n_per_node, seed, delay) {
        members.resize(cores);
        seen_commit.assign(cores, 1);
        const Topology t{distance, nodes, core_node};
        for (std::uint32_t c = 0; c < cores; ++c) EXPECT_EQ(members[c].init(c, t, Params{10, 4, 100, 150}, 0), Status::ok);
        committed[1] = CoreSet::first(cores);
    }

    // A line this returns true for is lost (a coordinator that stops while sending a view).
    std::function<bool(std::uint32_t from, std::uint32_t to, const Msg&)> lose;

    struct Out {
        Sim* sim;
        std::uint32_t from;
        void send(std::uint32_t to, const Msg& m) {
            if (sim->lose && sim->lose(from, to, m)) return;
            sim->Network::send(from, to, m);
        }
    };

    // After each step a live core took: the invariants.
    void check(std::uint32_t c) {
        const Member& m = members[c];
        if (m.is_coordinator()) {
            auto [it, fresh] = leader_of_term.try_emplace(m.term(), c);
            EXPECT_EQ(it->second, c) << "two coordinators of term " << m.term();
        }
        if (m.committed() == seen_commit[c]) return;
        seen_commit[c] = m.committed();
        const CoreSet& v = m.committed_view();
        auto [it, fresh] = committed.try_emplace(m.committed(), v);
        EXPECT_EQ(it->second, v) << "two views committed at epoch " << m.committed() << " (core " << c << ")";
        for (const auto& [e, w] : committed) {
            if (e < m.committed()) {
                EXPECT_TRUE(v.minus(w).empty()) << "epoch " << m.committed() << " has cores epoch " << e << " removed";
            }
            if (e > m.committed()) {
                EXPECT_TRUE(w.minus(v).empty()) << "epoch " << e << " has cores epoch " << m.committed() << " removed";
            }
        }
        if (m.is_coordinator()) {
            // It commits once every core of the view acknowledged it: each holds it or a newer one.
            for (std::uint32_t o = 0; o < cores; ++o)
                if (v.has(o) && !crashed[o] && o != c) {
                    const Member& x = members[o];
                    const bool holds = x.view_term() > m.view_term() || (x.view_term() == m.view_term() && x.epoch() >= m.epoch());
                    EXPECT_TRUE(holds) << "core " << o << " lacks the view core " << c << " committed at epoch " << m.committed();
                }
        }
    }

    void tick() {
        Network::tick(
            [&](const Wire& w) {
                Out out{this, w.to};
                if (members[w.to].on(w.from, w.msg, now, out) == Status::malformed) {
                    // Honest cores never send a line the receiver must call malformed (the
                    // monitors log those as an attack).
                    ADD_FAILURE() << "core " << w.to << " refused line kind " << static_cast<int>(w.msg.kind) << " term "
                                  << w.msg.term << " epoch " << w.msg.epoch << " from core " << w.from << " as malformed";
                }
                check(w.to);
            },
            [&](std::uint32_t c) {
                Out out{this, c};
                members[c].tick(now, out);
                check(c);
            });
    }

    void run(std::uint64_t ticks) {
        for (std::uint64_t i = 0; i < ticks; ++i) tick();
    }

    CoreSet survivors() const {
        CoreSet s;
        for (std::uint32_t c = 0; c < cores; ++c)
            if (!crashed[c] && !members[c].excluded()) s.add(c);
        return s;
    }

    // Every live core in one view, committed, with one coordinator; the view = the cores alive.
    void expect_converged(const std::string& what) {
        const CoreSet alive = survivors();
        std::uint32_t leader = none;
        for (std::uint32_t c = 0; c < cores; ++c)
            if (alive.has(c) && members[c].is_coordinator()) {
                EXPECT_EQ(leader, none) << what << ": cores " << leader << " and " << c << " both coordinate";
                leader = c;
            }
        ASSERT_NE(leader, none) << what << ": no coordinator";
        const Member& co = members[leader];
        EXPECT_EQ(co.view(), alive) << what;
        if (slow == ~0u) {
            for (std::uint32_t c = 0; c < cores; ++c) {
                EXPECT_FALSE(members[c].excluded()) << what << ": live core " << c << " removed";
            }
        }
        for (std::uint32_t c = 0; c < cores; ++c) {
            if (!alive.has(c)) continue;
            EXPECT_EQ(members[c].term(), co.term()) << what << ": core " << c;
            EXPECT_EQ(members[c].epoch(), co.epoch()) << what << ": core " << c;
            EXPECT_EQ(members[c].view(), co.view()) << what << ": core " << c;
            EXPECT_EQ(members[c].committed(), co.epoch()) << what << ": core " << c << " never heard the commit";
            EXPECT_EQ(members[c].coordinator(), leader) << what << ": core " << c;
            // A core cut off anywhere is out of the view: no monitor talks to a core of the view
            // that another one cut off.
            EXPECT_TRUE(members[c].cut().minus(members[c].cut().minus(co.view())).empty())
                << what << ": core " << c << " cut off a core the view holds";
        }
    }
};

constexpr std::uint32_t kNodes = 4, kPerNode = 4;  // 16 cores: representatives 4, 8, 12

TEST(ElectionSim, NoCrashNoChange) {
    Sim sim(kNodes, kPerNode, 1);
    sim.run(800);
    sim.expect_converged("no crash");
    EXPECT_EQ(sim.members[0].term(), 0u);
    EXPECT_EQ(sim.members[0].epoch(), 1u);
    for (std::uint32_t c = 0; c < sim.cores; ++c) {
        EXPECT_EQ(sim.members[c].stats().elections, 0u) << c;
        EXPECT_EQ(sim.members[c].stats().ignored, 0u) << c;
    }
}

// The coordinator crashes at every step of a run: a core takes over, removes it, and every other
// core follows; the new coordinator beats and would remove the next core that stops.
TEST(ElectionSim, TheCoordinatorCrashesAtEveryStep) {
    for (std::uint64_t at = 1; at < 1500; at += 1) {
        Sim sim(kNodes, kPerNode, at * 37);
        sim.crash_step = at;
        sim.crash_victims = {0};
        sim.run(700);
        const std::string what = "coordinator crashed at step " + std::to_string(at);
        ASSERT_TRUE(sim.crashed[0]) << what;
        sim.expect_converged(what);
        EXPECT_GE(sim.members[1].term(), 1u) << what;
        if (HasFailure()) return;
    }
}

// The coordinator and its successor (the first to stand), the second some steps after the first:
// before the election, during it, or after the successor won.
TEST(ElectionSim, TheCoordinatorAndItsSuccessorCrash) {
    for (std::uint64_t at = 1; at < 1200; at += 7) {
        for (const std::uint64_t gap : {1u, 300u, 1500u, 3000u}) {
            Sim sim(kNodes, kPerNode, at * 131 + gap);
            sim.crash_step = at;
            sim.crash_victims = {0, 1};
            sim.crash_gap = gap;
            sim.run(1400);
            const std::string what = "cores 0, 1 at step " + std::to_string(at) + " gap " + std::to_string(gap);
            sim.expect_converged(what);
            if (HasFailure()) return;
        }
    }
}

// Other cores, with the coordinator alive: a leaf, a node's representative, and two in turn
// (the protocol of membership.hpp, one removal per view).
TEST(ElectionSim, OtherCoresCrashAtEveryStep) {
    const std::vector<std::vector<std::uint32_t>> cases = {{5}, {8}, {8, 9}, {5, 14}, {4, 0}};
    for (const auto& victims : cases) {
        for (std::uint64_t at = 1; at < 900; at += 5) {
            Sim sim(kNodes, kPerNode, at * 17 + victims[0]);
            sim.crash_step = at;
            sim.crash_victims = victims;
            sim.crash_gap = 40;
            sim.run(900);
            sim.expect_converged("victims from " + std::to_string(victims[0]) + " at step " + std::to_string(at));
            for (std::uint32_t v : victims) EXPECT_TRUE(sim.crashed[v]);
            if (HasFailure()) return;
        }
    }
}

// A coordinator that only stalls (its lines late beyond the timeouts) is replaced, and when the
// newer term reaches it, it is out and halts: no two coordinators ever commit side by side.
TEST(ElectionSim, AStalledCoordinatorIsReplacedAndHalts) {
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        Sim sim(kNodes, kPerNode, seed);
        sim.slow = 0;
        sim.slow_from = 50 + seed * 3;
        sim.slow_until = sim.slow_from + 400;
        sim.run(1400);
        const std::string what = "seed " + std::to_string(seed);
        EXPECT_FALSE(sim.crashed[0]) << what;
        EXPECT_TRUE(sim.members[0].excluded()) << what;
        sim.expect_converged(what);
        if (HasFailure()) return;
    }
}

// A core that stalls while the coordinator lives cannot depose it: its vote requests find cores
// that hear the coordinator; it is removed and halts, and the coordinator stays.
TEST(ElectionSim, AStalledCoreDoesNotDeposeTheCoordinator) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Sim sim(kNodes, kPerNode, seed);
        sim.slow = 6;
        sim.slow_from = 50;
        sim.slow_until = 600;
        sim.run(1200);
        const std::string what = "seed " + std::to_string(seed);
        EXPECT_TRUE(sim.members[6].excluded()) << what;
        EXPECT_FALSE(sim.members[0].excluded()) << what;
        EXPECT_TRUE(sim.members[0].is_coordinator()) << what;
        sim.expect_converged(what);
        if (HasFailure()) return;
    }
}

// The lowest core after the coordinator stands first: stalled (its lines late) past its election
// time, it must not raise the term under the live coordinator (its pre-vote finds every core
// hearing the coordinator), and so takes the coordinator's view that removes it, and halts. Taking
// the term outright, it ignored that view (of an older term) and ran on, cut off by the others.
TEST(ElectionSim, AStalledFirstSuccessorIsRemovedAndHalts) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Sim sim(kNodes, kPerNode, seed);
        sim.slow = 1;
        sim.slow_from = 50;
        sim.slow_until = 600;
        sim.run(1500);
        const std::string what = "seed " + std::to_string(seed);
        EXPECT_TRUE(sim.members[1].excluded()) << what;
        EXPECT_TRUE(sim.members[0].is_coordinator()) << what;
        EXPECT_EQ(sim.members[0].term(), 0u) << what;
        sim.expect_converged(what);
        if (HasFailure()) return;
    }
}

// The coordinator stops while sending a view that removes core 5 (stalled): only cores 6 and 7
// get it, and cut core 5 off. The successor, elected without that view (a majority never held it),
// proposes its own view, which holds core 5 again: cores 6 and 7 must say that they cut it, and it
// is removed and halts. Without that, core 5 stays in the view that cores 6 and 7 no longer talk
// to (expect_converged's cut check; shown once).
TEST(ElectionSim, ACoreCutOffByAViewNeverChosenIsRemoved) {
    unsigned reached = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Sim sim(kNodes, kPerNode, seed);
        sim.slow = 5;
        sim.slow_from = 40;
        sim.slow_until = 400;
        bool sent = false;
        sim.lose = [&](std::uint32_t from, std::uint32_t to, const Msg& m) {
            if (from != 0 || m.kind != Kind::view || m.members.has(5)) return false;
            sent = true;
            sim.crashed[0] = true;  // stops while sending: what it sends after this is lost
            return to != 6 && to != 7;
        };
        sim.run(2500);
        const std::string what = "seed " + std::to_string(seed);
        ASSERT_TRUE(sent) << what << ": the coordinator never proposed removing core 5";
        reached += sim.members[6].cut().has(5) && sim.members[1].term() > 0;
        EXPECT_TRUE(sim.members[5].excluded()) << what;
        sim.expect_converged(what);
        if (HasFailure()) return;
    }
    EXPECT_GT(reached, 0u);
}

// A candidate that lacks the newest view loses: the coordinator stops while sending the view that
// removes core 13 (crashed), and every core gets it but core 1, the first to stand. Core 1 asks
// for pre-votes with its older view; the others hold a newer one and refuse it, so it never takes
// a term of its own, and core 2 (next to stand, holding the newest view) is elected and commits
// it: the view a majority held is never undone. Without the newer-view check in the votes core 1
// wins with its old view (it re-adds core 13 until suspected again: shown once).
TEST(ElectionSim, ACandidateMissingTheNewestViewLoses) {
    unsigned reached = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Sim sim(kNodes, kPerNode, seed);
        sim.crash_step = 30;
        sim.crash_victims = {13};
        bool sent = false;
        sim.lose = [&](std::uint32_t from, std::uint32_t to, const Msg& m) {
            if (from != 0 || m.kind != Kind::view || m.members.has(13)) return false;
            sent = true;
            sim.crashed[0] = true;  // stops while sending: every line but the one to core 1 left
            return to == 1;
        };
        sim.run(3000);
        const std::string what = "seed " + std::to_string(seed);
        ASSERT_TRUE(sent) << what << ": the coordinator never proposed removing core 13";
        EXPECT_EQ(sim.members[1].stats().won, 0u) << what << ": core 1 won with an older view";
        reached += sim.members[1].stats().prevotes > 0;
        sim.expect_converged(what);
        EXPECT_NE(sim.members[2].coordinator(), 1u) << what;
        EXPECT_FALSE(sim.members[2].view().has(13)) << what;
        if (HasFailure()) return;
    }
    EXPECT_GT(reached, 0u) << "core 1 never stood: the case was not reached";
}

// Without a majority there is no takeover: core 1 alone is not a majority of {0, 1}. With three
// cores, the two left are.
TEST(ElectionSim, ATakeoverNeedsAMajority) {
    {
        Sim sim(1, 2, 5);
        sim.crash_step = 30;
        sim.crash_victims = {0};
        sim.run(2000);
        EXPECT_FALSE(sim.members[1].is_coordinator());
        EXPECT_EQ(sim.members[1].committed(), 1u);
        EXPECT_TRUE(sim.members[1].view().has(0));
        // It keeps asking for a pre-vote, and never raises the term: no majority would elect it.
        EXPECT_GT(sim.members[1].stats().prevotes, 3u);
        EXPECT_EQ(sim.members[1].stats().elections, 0u);
        EXPECT_EQ(sim.members[1].term(), 0u);
    }
    {
        Sim sim(1, 3, 5);
        sim.crash_step = 30;
        sim.crash_victims = {0};
        sim.run(1000);
        sim.expect_converged("3 cores, core 0 crashed");
        EXPECT_TRUE(sim.members[1].is_coordinator());
    }
    // Half of four cores (0 and 1 at once): 2 keeps asking (3 pre-votes for it) and never stands;
    // with five, the three left remove 0, then 1.
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Sim sim(1, 4, seed);
        sim.crash_step = 30;
        sim.crash_victims = {0, 1};
        sim.crash_gap = 1;
        sim.run(2000);
        for (const std::uint32_t c : {2u, 3u}) {
            EXPECT_FALSE(sim.members[c].is_coordinator()) << "seed " << seed << ": core " << c << " took over with half";
            EXPECT_EQ(sim.members[c].committed(), 1u) << "seed " << seed;
        }
        EXPECT_GT(sim.members[2].stats().prevotes, 3u) << "seed " << seed;
        EXPECT_EQ(sim.members[2].stats().elections, 0u) << "seed " << seed;
        Sim five(1, 5, seed);
        five.crash_step = 30;
        five.crash_victims = {0, 1};
        five.crash_gap = 1;
        five.run(2000);
        five.expect_converged("5 cores, 0 and 1 crashed, seed " + std::to_string(seed));
        if (HasFailure()) return;
    }
}

// Safety under schedules far worse than the timeouts allow for: delays up to 60 ticks (beats 10,
// view acknowledgements 100, elections from 150), several cores crashing or stalling at random,
// coordinators among them. Live cores may then be removed (and halt), and a machine left without
// a majority stops changing; but every check of check() holds at every step: one coordinator per
// term, one chain of committed views, each committed only once every live core of it held it.
TEST(ElectionSim, RandomSchedulesKeepOneChain) {
    unsigned takeovers = 0;
    for (std::uint64_t seed = 1; seed <= 400; ++seed) {
        std::mt19937_64 r(seed);
        Sim sim(seed % 2 ? 2u : 4u, 4, seed, 3 + r() % 58);
        const std::uint32_t n = 1 + static_cast<std::uint32_t>(r() % 3);
        for (std::uint32_t i = 0; i < n; ++i) sim.crash_victims.push_back(i == 0 && r() % 2 ? 0 : static_cast<std::uint32_t>(r() % sim.cores));
        sim.crash_step = 1 + r() % 3000;
        sim.crash_gap = r() % 2000;
        sim.slow = static_cast<std::uint32_t>(r() % sim.cores);
        sim.slow_from = r() % 400;
        sim.slow_until = sim.slow_from + r() % 500;
        sim.run(2500);
        for (std::uint32_t c = 0; c < sim.cores; ++c) takeovers += static_cast<unsigned>(sim.members[c].stats().won);
        if (HasFailure()) {
            ADD_FAILURE() << "seed " << seed;
            return;
        }
    }
    EXPECT_GT(takeovers, 100u) << "the schedules rarely elected anyone: the case was not reached";
}

// Two candidates in one term (cores 1 and 2 ask for pre-votes at once after core 0 stopped, both
// get them, and stand in the same term): each other core votes once, so at most one wins the term
// (check()), and the machine ends with one coordinator. A voter that voted for both would let both
// win (shown once).
TEST(ElectionSim, TwoCandidatesInOneTermSplitTheVotes) {
    unsigned contested = 0;
    for (std::uint64_t seed = 1; seed <= 60; ++seed) {
        Sim sim(1, 5, seed);
        sim.run(30);
        sim.crashed[0] = true;
        sim.now += 2000;  // every core's election time has come
        Sim::Out o1{&sim, 1}, o2{&sim, 2};
        sim.members[1].tick(sim.now, o1);
        sim.members[2].tick(sim.now, o2);
        ASSERT_EQ(sim.members[1].term(), sim.members[2].term()) << "seed " << seed;
        const std::uint64_t term = sim.members[1].term() + 1;  // the one both stand in
        sim.run(2000);
        const std::string what = "seed " + std::to_string(seed);
        sim.expect_converged(what);
        // Nobody won that term, though both stood in it: the votes split.
        contested += sim.leader_of_term.count(term) == 0 && sim.members[1].stats().elections > 0 &&
                     sim.members[2].stats().elections > 0;
        if (HasFailure()) return;
    }
    EXPECT_GT(contested, 0u) << "no run split a term's votes: the case was not reached";
}

// Commits report the removed cores, once each, on every core; across a takeover too.
TEST(ElectionSim, CommitsReportTheRemovedCores) {
    Sim sim(kNodes, kPerNode, 3);
    sim.crash_step = 200;
    sim.crash_victims = {0, 13};
    sim.crash_gap = 2000;
    sim.run(1500);
    sim.expect_converged("cores 0 and 13");
    CoreSet want;
    want.add(0);
    want.add(13);
    for (std::uint32_t c = 1; c < sim.cores; ++c) {
        if (c == 13) continue;
        CoreSet all, removed;
        std::uint64_t epoch = 0;
        while (sim.members[c].take_commit(removed, epoch)) all.merge(removed);
        EXPECT_EQ(all, want) << "core " << c;
        EXPECT_EQ(epoch, sim.members[c].epoch()) << "core " << c;
        EXPECT_FALSE(sim.members[c].take_commit(removed, epoch)) << "core " << c;
    }
}

// Hostile lines: a view or beat from a core that is not the coordinator, a view that adds cores or
// leaves out its sender, a suspect from a core not the suspect's parent, a vote request while the
// coordinator is heard, a commit of a view not held: each ignored and counted.
TEST(Election, HostileLinesAreIgnored) {
    Sim sim(kNodes, kPerNode, 9);
    sim.run(40);
    Member& co = sim.members[0];
    Member& m = sim.members[7];
    Sim::Out out{&sim, 0}, out7{&sim, 7};
    const std::uint64_t t = co.term(), e = co.epoch();
    CoreSet v = m.view();
    v.remove(3);
    EXPECT_EQ(m.on(4, Msg{Kind::view, t, e + 1, t, v}, sim.now, out7), Status::malformed);
    CoreSet bigger = m.view();
    bigger.add(100);
    EXPECT_EQ(m.on(0, Msg{Kind::view, t, e + 1, t, bigger}, sim.now, out7), Status::malformed);
    CoreSet headless = m.view();
    headless.remove(0);
    EXPECT_EQ(m.on(0, Msg{Kind::view, t, e + 1, t, headless}, sim.now, out7), Status::malformed);
    EXPECT_EQ(m.on(5, Msg{Kind::beat, t, e, 1000, {}}, sim.now, out7), Status::malformed);
    EXPECT_EQ(co.on(9, Msg{Kind::suspect, t, e, 5, {}}, sim.now, out), Status::malformed);
    EXPECT_EQ(co.on(6, Msg{Kind::beat_ack, t, e, 1, {}}, sim.now, out), Status::malformed);
    EXPECT_EQ(m.on(0, Msg{Kind::commit, t, e + 1, t, {}}, sim.now, out7), Status::out_of_range);
    // A vote request of a newer term while the coordinator is heard: ignored, the term kept.
    EXPECT_EQ(m.on(9, Msg{Kind::vote_req, t + 5, e, t, {}}, sim.now, out7), Status::busy);
    EXPECT_EQ(co.on(9, Msg{Kind::vote_req, t + 5, e, t, {}}, sim.now, out), Status::busy);
    // A pre-vote asked while the coordinator is heard: refused, nothing changes.
    EXPECT_EQ(m.on(9, Msg{Kind::prevote_req, t + 1, e, t, {}}, sim.now, out7), Status::busy);
    // A cut-off report of a core outside the view, or with stray bits: refused.
    EXPECT_EQ(co.on(9, Msg{Kind::suspect, t, e, 200 | suspect_cut, {}}, sim.now, out), Status::malformed);
    EXPECT_EQ(co.on(9, Msg{Kind::suspect, t, e, 5 | suspect_cut | std::uint64_t{1} << 40, {}}, sim.now, out), Status::malformed);
    EXPECT_EQ(m.term(), t);
    EXPECT_EQ(m.epoch(), e);
    sim.run(500);
    sim.expect_converged("after hostile lines");
    EXPECT_EQ(co.term(), t) << "a hostile line deposed the coordinator";
    EXPECT_EQ(co.epoch(), e) << "a hostile line changed the membership";
}

// What a core's answers to vote requests and views rest on, line by line: one vote per term; no
// vote for a candidate whose view is older than ours ((term, epoch) in that order); a view of a
// newer term replaces ours whatever its epoch.
struct Capture {
    std::vector<std::pair<std::uint32_t, Msg>> sent;
    void send(std::uint32_t to, const Msg& m) { sent.emplace_back(to, m); }
    std::uint64_t vote_to(std::uint32_t to) const {
        for (auto it = sent.rbegin(); it != sent.rend(); ++it)
            if (it->first == to && it->second.kind == Kind::vote) return it->second.value;
        return ~0ull;
    }
};

TEST(Election, OneVotePerTermAndOnlyForANewerView) {
    Sim sim(1, 5, 2);
    sim.crash_step = 20;
    sim.crash_victims = {4};
    sim.run(300);  // core 4 removed: every core holds (term 0, epoch 2)
    Member& m = sim.members[3];
    ASSERT_EQ(m.epoch(), 2u);
    ASSERT_EQ(m.view_term(), 0u);
    const std::uint64_t later = sim.now + 1000;  // the coordinator unheard long enough
    Capture out;
    EXPECT_EQ(m.on(1, Msg{Kind::vote_req, 1, 1, 0, {}}, later, out), Status::ok);
    EXPECT_EQ(out.vote_to(1), 0u) << "a vote for a candidate whose view is older";
    EXPECT_EQ(m.on(1, Msg{Kind::vote_req, 2, 2, 0, {}}, later, out), Status::ok);
    EXPECT_EQ(out.vote_to(1), 1u);
    EXPECT_EQ(m.on(2, Msg{Kind::vote_req, 2, 2, 0, {}}, later, out), Status::ok);
    EXPECT_EQ(out.vote_to(2), 0u) << "two votes in term 2";
    // A view of term 1 at epoch 1 is newer than (term 0, epoch 2): the term counts first.
    EXPECT_EQ(m.on(2, Msg{Kind::vote_req, 3, 1, 1, {}}, later, out), Status::ok);
    EXPECT_EQ(out.vote_to(2), 1u) << "(term 1, epoch 1) is newer than (term 0, epoch 2)";
    EXPECT_EQ(m.term(), 3u);
}

TEST(Election, AViewOfANewerTermReplacesOursWhateverItsEpoch) {
    Sim sim(1, 5, 2);
    sim.crash_step = 20;
    sim.crash_victims = {4};
    sim.run(300);
    Member& m = sim.members[3];
    ASSERT_EQ(m.epoch(), 2u);
    Capture out;
    // Core 1, coordinator of term 1, holds an older view (epoch 1, never chosen with core 4 out
    // as far as it knows) and proposes it under its term: core 3 takes it and acknowledges.
    const CoreSet all = CoreSet::first(5);
    EXPECT_EQ(m.on(1, Msg{Kind::view, 1, 1, 1, all}, sim.now, out), Status::ok);
    EXPECT_EQ(m.epoch(), 1u);
    EXPECT_EQ(m.view_term(), 1u);
    EXPECT_EQ(m.coordinator(), 1u);
    ASSERT_EQ(out.sent.size(), 2u);
    EXPECT_EQ(out.sent[0].second.kind, Kind::view_ack);
    // It had cut core 4 off (epoch 2), and this view holds it again: it tells the coordinator.
    EXPECT_EQ(out.sent[1].first, 1u);
    EXPECT_EQ(out.sent[1].second.kind, Kind::suspect);
    EXPECT_EQ(out.sent[1].second.value, 4u | suspect_cut);
    // The same term's view from any other core is a lie.
    EXPECT_EQ(m.on(2, Msg{Kind::view, 1, 2, 1, all}, sim.now, out), Status::malformed);
    // An older term's view is stale.
    EXPECT_EQ(m.on(0, Msg{Kind::view, 0, 3, 0, all}, sim.now, out), Status::out_of_range);
}

TEST(Election, BadParametersAreRefused) {
    const std::vector<std::uint8_t> d = {10};
    const std::vector<std::uint16_t> two = {0, 0};
    Member m;
    EXPECT_EQ(m.init(2, Topology{d, 1, two}, Params{}, 0), Status::invalid_argument);
    EXPECT_EQ(m.init(0, Topology{d, 1, two}, Params{10, 4, 100, 0}, 0), Status::invalid_argument);
    EXPECT_EQ(m.init(0, Topology{d, 1, {}}, Params{}, 0), Status::invalid_argument);
}

} // namespace
} // namespace myr::monitor::election
