// The core-membership protocol (monitor/include/myr/monitor/membership.hpp) in a deterministic
// simulation: N members on a 4-node topology, FIFO lossless channels with random delays, and a
// crash injected at every step of a run (each delivery and each timer pass is a step), of a leaf,
// of a node's representative (an interior core of the tree), and of two cores in turn. After
// each run every surviving core must hold the same view, and that view must be exactly the cores
// that did not crash; views agree epoch by epoch; every crash is noticed within a bound.
#include "membership_sim.hpp"

namespace myr::monitor::membership {
namespace {

constexpr std::uint32_t kNodes = 4, kPerNode = 4;  // 16 cores: representatives 4, 8, 12

TEST(MembershipSim, NoCrashNoChange) {
    Sim sim(kNodes, kPerNode, 1);
    sim.run(500);
    sim.expect_converged("no crash");
    EXPECT_EQ(sim.members[0].epoch(), 1u);
    EXPECT_GT(sim.members[0].stats().beats, 40u);
    for (std::uint32_t c = 1; c < sim.cores; ++c) EXPECT_EQ(sim.members[c].stats().ignored, 0u) << c;
}

// A leaf (core 5), a node's representative (core 8: its node's cores hear beats through it), and
// a core of the coordinator's node (core 2): crashed at every step of the first 1500.
TEST(MembershipSim, OneCrashAtEveryStep) {
    for (const std::uint32_t victim : {5u, 8u, 2u}) {
        for (std::uint64_t at = 1; at < 1500; at += 1) {
            Sim sim(kNodes, kPerNode, at * 31 + victim);
            sim.crash_step = at;
            sim.crash_victims = {victim};
            sim.run(220);
            const std::string what = "victim " + std::to_string(victim) + " at step " + std::to_string(at);
            ASSERT_TRUE(sim.crashed[victim]) << what;
            sim.expect_converged(what);
            // Noticed within (misses + 2) beats plus delays after the crash: here by 220 ticks.
            EXPECT_FALSE(sim.members[0].view().has(victim)) << what;
            if (HasFailure()) return;
        }
    }
}

// Two cores: a representative and one of its node's cores, and two leaves of different nodes,
// the second crash some steps after the first (inside the first view change, or after it).
TEST(MembershipSim, TwoCrashesAtEveryStep) {
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs = {{8, 9}, {9, 8}, {5, 14}, {4, 12}};
    for (const auto& [a, b] : pairs) {
        for (std::uint64_t at = 1; at < 900; at += 7) {
            for (const std::uint64_t gap : {1u, 40u, 300u}) {
                Sim sim(kNodes, kPerNode, at * 131 + gap + a);
                sim.crash_step = at;
                sim.crash_victims = {a, b};
                sim.crash_gap = gap;
                sim.run(400);
                const std::string what = "victims " + std::to_string(a) + "," + std::to_string(b) + " at step " +
                                         std::to_string(at) + " gap " + std::to_string(gap);
                sim.expect_converged(what);
                EXPECT_FALSE(sim.members[0].view().has(a)) << what;
                EXPECT_FALSE(sim.members[0].view().has(b)) << what;
                if (HasFailure()) return;
            }
        }
    }
}

// A core that only stalls (its lines late by more than the timeouts) is removed and, when the
// view reaches it, halts: no core works on with a membership that dropped it.
TEST(MembershipSim, ASlowCoreIsRemovedAndHalts) {
    Sim sim(kNodes, kPerNode, 7);
    sim.slow = 6;
    sim.slow_from = 50;
    sim.slow_until = 200;
    sim.run(500);
    EXPECT_FALSE(sim.crashed[6]);
    EXPECT_TRUE(sim.members[6].excluded());
    EXPECT_FALSE(sim.members[0].view().has(6));
    sim.expect_converged("slow core 6");
}

// Crashes detected: the removed cores reach every live monitor once per commit (the coordinator's
// starts their servers elsewhere, and each reports them in its death feed only then).
TEST(MembershipSim, CommitReportsTheRemovedCores) {
    Sim sim(kNodes, kPerNode, 3);
    sim.crash_step = 200;
    sim.crash_victims = {13};
    sim.run(300);
    CoreSet want;
    want.add(13);
    for (std::uint32_t c = 0; c < sim.cores; ++c) {
        if (c == 13) continue;
        CoreSet removed;
        std::uint64_t epoch = 0;
        ASSERT_TRUE(sim.members[c].take_commit(removed, epoch)) << "core " << c;
        EXPECT_EQ(epoch, 2u) << "core " << c;
        EXPECT_EQ(removed, want) << "core " << c;
        EXPECT_FALSE(sim.members[c].take_commit(removed, epoch)) << "core " << c;
    }
}

// Two crashes, the second inside the first view change: a member whose first view was replaced
// before its commit hears only the second commit, which reports both cores.
TEST(MembershipSim, AReplacedViewsRemovalsComeWithTheNextCommit) {
    unsigned merged = 0;
    for (std::uint64_t at = 150; at < 400; at += 3) {
        Sim sim(kNodes, kPerNode, at);
        sim.crash_step = at;
        sim.crash_victims = {9, 14};
        sim.crash_gap = 25;
        sim.run(500);
        sim.expect_converged("victims 9, 14 at step " + std::to_string(at));
        for (std::uint32_t c = 0; c < sim.cores; ++c) {
            if (c == 9 || c == 14) continue;
            CoreSet all, removed;
            std::uint64_t epoch = 0;
            unsigned commits = 0;
            while (sim.members[c].take_commit(removed, epoch)) {  // take_commit reports once per commit heard
                all.merge(removed);
                ++commits;
            }
            CoreSet want;
            want.add(9);
            want.add(14);
            EXPECT_EQ(all, want) << "core " << c << " at step " << at;
            merged += commits == 1 && removed == want;
        }
        if (HasFailure()) return;
    }
    EXPECT_GT(merged, 0u) << "no run had a view replaced before its commit: the case was not reached";
}

// A hostile monitor cannot have another core removed, install a view, or feed beats out of the
// tree: each such line is ignored and counted.
TEST(Membership, HostileLinesAreIgnored) {
    Sim sim(kNodes, kPerNode, 9);
    sim.run(30);
    Member& co = sim.members[0];
    Sim::Out out{&sim, 0};
    const std::uint64_t e = co.epoch();
    // Core 5 is a child of 4, not of 9: 9 cannot suspect it.
    EXPECT_EQ(co.on(9, Msg{Kind::suspect, e, 5, {}}, sim.now, out), Status::malformed);
    // The coordinator cannot be suspected; nor a core outside the machine.
    EXPECT_EQ(co.on(4, Msg{Kind::suspect, e, 0, {}}, sim.now, out), Status::malformed);
    EXPECT_EQ(co.on(4, Msg{Kind::suspect, e, 200, {}}, sim.now, out), Status::malformed);
    // A suspect of an old epoch, a view_ack of no pending view.
    EXPECT_EQ(co.on(4, Msg{Kind::suspect, e + 5, 5, {}}, sim.now, out), Status::out_of_range);
    EXPECT_EQ(co.on(4, Msg{Kind::view_ack, e, 0, {}}, sim.now, out), Status::out_of_range);
    // A view from anyone but the coordinator; one that adds cores; one without the coordinator.
    Member& m = sim.members[7];
    Sim::Out out7{&sim, 7};
    CoreSet v = m.view();
    v.remove(3);
    EXPECT_EQ(m.on(4, Msg{Kind::view, e + 1, 0, v}, sim.now, out7), Status::malformed);
    CoreSet bigger = m.view();
    bigger.add(100);
    EXPECT_EQ(m.on(0, Msg{Kind::view, e + 1, 0, bigger}, sim.now, out7), Status::malformed);
    CoreSet headless = m.view();
    headless.remove(0);
    EXPECT_EQ(m.on(0, Msg{Kind::view, e + 1, 0, headless}, sim.now, out7), Status::malformed);
    // A beat from a core that is not its parent, and a forged beat_ack from a non-child.
    EXPECT_EQ(m.on(5, Msg{Kind::beat, e, 1000, {}}, sim.now, out7), Status::malformed);
    EXPECT_EQ(co.on(6, Msg{Kind::beat_ack, e, 1, {}}, sim.now, out), Status::malformed);
    // A commit from anyone but the coordinator, of a view not installed, or of one committed already.
    EXPECT_EQ(m.on(4, Msg{Kind::commit, e, 0, {}}, sim.now, out7), Status::malformed);
    EXPECT_EQ(m.on(0, Msg{Kind::commit, e + 1, 0, {}}, sim.now, out7), Status::malformed);
    EXPECT_EQ(m.on(0, Msg{Kind::commit, e, 0, {}}, sim.now, out7), Status::out_of_range);
    EXPECT_EQ(co.on(4, Msg{Kind::commit, e, 0, {}}, sim.now, out), Status::malformed);
    EXPECT_EQ(m.epoch(), e);
    sim.run(300);
    sim.expect_converged("after hostile lines");
    EXPECT_EQ(co.epoch(), e) << "a hostile line changed the membership";
}

TEST(Membership, BadParametersAreRefused) {
    const std::vector<std::uint8_t> d = {10};
    const std::vector<std::uint16_t> one = {0, 0};
    Member m;
    EXPECT_EQ(m.init(2, Topology{d, 1, one}, Params{}, 0), Status::invalid_argument);
    EXPECT_EQ(m.init(0, Topology{d, 1, one}, Params{0, 4, 100}, 0), Status::invalid_argument);
    EXPECT_EQ(m.init(0, Topology{d, 1, {}}, Params{}, 0), Status::invalid_argument);
    const std::vector<std::uint16_t> bad_node = {0, 3};
    EXPECT_NE(m.init(0, Topology{d, 1, bad_node}, Params{}, 0), Status::ok);
}

} // namespace
} // namespace myr::monitor::membership
