// Membership change and the placement of lost server instances simulated together: the
// membership protocol of 16 monitors (tests/unit/membership_sim.hpp, the pure Member of
// monitor/include/myr/monitor/membership.hpp) with server instances on their cores; the
// coordinator, at each commit it hears, moves the instances of the removed cores with the pure
// placement::move_lost (monitor/include/myr/monitor/placement.hpp), the same code the guest's
// monitor 0 runs, and sends each chosen core a start line that takes its own random delay. Cores
// crash at every step of a run (one, two in turn, a whole node), including the core an instance
// was just moved to, and one only stalls (removed while it still runs its instance). Checked after
// every step:
// - no instance runs on two cores that live monitors still talk to: a copy on a removed core
//   that still runs (a stalled core, until it hears it was removed and halts) must be cut off by
//   every other live monitor's view before a new copy starts elsewhere;
// and once the membership settled and every start line landed:
// - every instance of a restarted server runs exactly once, on a live core of the view, the one
//   the coordinator's table names; it stayed on its own node while any core of that node lived;
// - every core it left was removed (nothing moves off a live core);
// - an instance of a server that is never restarted is reported lost once and runs nowhere.
#include "membership_sim.hpp"

#include <myr/monitor/placement.hpp>

#include <set>

namespace myr::monitor {
namespace {

using membership::CoreSet;
using membership::Sim;
using placement::Move;
using placement::no_core;

constexpr std::uint32_t kNodes = 4, kPerNode = 4;  // cores 0-3 node 0 (0: the coordinator), 4-7 node 1, ...

struct Server {
    bool restarts;
    std::vector<std::uint16_t> homes;  // boot placement
};
// kv: three replicas, two on node 1; one instance on node 2's representative (8); one that is
// never restarted (13); one on the coordinator's node and one on node 3.
const std::vector<Server> kServers = {{true, {5, 6, 9}}, {true, {8}}, {false, {13}}, {true, {2, 14}}};

struct World {
    Sim sim;
    std::uint64_t seed;
    std::mt19937_64 rng;
    std::vector<Server> table;  // the coordinator's: placement reads and updates it
    struct Start {
        std::uint32_t to;
        std::uint64_t due;
        unsigned s, i;
    };
    std::vector<Start> starts;  // start lines from the coordinator, not landed yet
    std::map<std::pair<unsigned, unsigned>, std::set<std::uint32_t>> running;  // cores that started each instance
    std::map<std::pair<unsigned, unsigned>, std::vector<std::uint32_t>> left;  // cores each instance moved off
    std::map<std::pair<unsigned, unsigned>, unsigned> lost;
    unsigned moves = 0;
    std::string failure;
    bool move_at_install = false;  // what the check must catch: moving before every monitor applied the view
    std::uint64_t seen_epoch = 1;

    struct Table {
        World* w;
        [[nodiscard]] unsigned servers() const { return static_cast<unsigned>(w->table.size()); }
        [[nodiscard]] unsigned count(unsigned s) const { return static_cast<unsigned>(w->table[s].homes.size()); }
        [[nodiscard]] bool restarts(unsigned s) const { return w->table[s].restarts; }
        std::uint16_t& home(unsigned s, unsigned i) { return w->table[s].homes[i]; }
    };

    explicit World(std::uint64_t seed_) : sim(kNodes, kPerNode, seed_), seed(seed_), rng(seed_ * 7 + 1), table(kServers) {
        for (unsigned s = 0; s < table.size(); ++s)
            for (unsigned i = 0; i < table[s].homes.size(); ++i) running[{s, i}].insert(table[s].homes[i]);
        sim.after_step = [this](std::uint32_t c) {
            if (c == membership::coordinator) coordinate();
            check();
        };
    }

    void fail(const std::string& why) {
        if (failure.empty()) failure = why + " (seed " + std::to_string(seed) + ")";
    }
    [[nodiscard]] bool runs(std::uint32_t c) const { return !sim.crashed[c] && !sim.members[c].excluded(); }

    // What monitor 0 does (monitor/liveness.cpp, committed(); monitor/supervise.cpp, cores_lost).
    void coordinate() {
        CoreSet removed;
        std::uint64_t epoch = 0;
        membership::Member& co = sim.members[membership::coordinator];
        if (move_at_install) {
            if (co.epoch() == seen_epoch) return;
            seen_epoch = co.epoch();
            removed = CoreSet{};
            for (const auto& [inst, _] : running)
                if (const std::uint16_t h = table[inst.first].homes[inst.second]; !co.view().has(h)) removed.add(h);
            move(removed);
            return;
        }
        while (co.take_commit(removed, epoch)) move(removed);
    }
    void move(const CoreSet& removed) {
        const membership::Member& co = sim.members[membership::coordinator];
        const placement::Topology t{sim.cores, sim.nodes, sim.core_node.data(), sim.distance.data()};
        Table tab{this};
        placement::move_lost(
            tab, t, [&](std::uint32_t c) { return removed.has(c); }, [&](std::uint32_t c) { return co.view().has(c); },
            [&](const Move& m) {
                if (co.view().has(m.from)) fail("core " + std::to_string(m.from) + " is in the view, yet its instances moved");
                left[{m.server, m.index}].push_back(m.from);
                if (m.never || m.to == no_core) {
                    ++lost[{m.server, m.index}];
                    return;
                }
                if (!co.view().has(m.to)) fail("an instance moved to core " + std::to_string(m.to) + ", not in the view");
                ++moves;
                starts.push_back({m.to, sim.now + 1 + rng() % 4, m.server, m.index});
            });
    }

    // Start lines that are due land, each at its core's monitor (a stopped core reads nothing).
    void land_starts() {
        for (auto it = starts.begin(); it != starts.end();) {
            if (it->due > sim.now) {
                ++it;
                continue;
            }
            if (runs(it->to)) running[{it->s, it->i}].insert(it->to);
            it = starts.erase(it);
            check();
        }
    }

    // At most one copy of each instance on a core that some other live monitor still talks to.
    void check() {
        for (const auto& [inst, cores] : running) {
            unsigned live = 0;
            for (const std::uint32_t x : cores) live += runs(x) ? 1u : 0u;
            if (live < 2) continue;
            unsigned reachable = 0;
            for (const std::uint32_t x : cores) {
                if (!runs(x)) continue;
                bool cut_off = true;
                for (std::uint32_t y = 0; y < sim.cores && cut_off; ++y)
                    if (y != x && runs(y) && sim.members[y].view().has(x)) cut_off = false;
                reachable += cut_off ? 0u : 1u;
            }
            if (reachable > 1)
                fail("instance " + std::to_string(inst.second) + " of server " + std::to_string(inst.first) + " runs on " +
                     std::to_string(reachable) + " cores the live monitors talk to, at tick " + std::to_string(sim.now));
        }
    }

    void run(std::uint64_t ticks) {
        for (std::uint64_t k = 0; k < ticks && failure.empty(); ++k) {
            sim.tick();
            land_starts();
        }
    }

    // The end state (after the membership settled and every start landed).
    void expect_placed(const std::string& what) {
        if (!failure.empty()) return fail(what + ": " + failure);
        if (!starts.empty()) return fail(what + ": start lines still under way");
        const membership::Member& co = sim.members[membership::coordinator];
        for (unsigned s = 0; s < table.size(); ++s)
            for (unsigned i = 0; i < table[s].homes.size(); ++i) {
                const std::pair<unsigned, unsigned> inst{s, i};
                const std::string name = what + ": instance " + std::to_string(i) + " of server " + std::to_string(s);
                std::vector<std::uint32_t> live;
                for (const std::uint32_t x : running[inst])
                    if (runs(x)) live.push_back(x);
                for (const std::uint32_t from : left[inst])
                    if (co.view().has(from)) fail(name + " left core " + std::to_string(from) + ", which is in the view");
                const std::uint32_t boot = kServers[s].homes[i];
                if (!table[s].restarts) {
                    const bool gone = !co.view().has(boot);
                    if (gone && (!live.empty() || lost[inst] != 1))
                        fail(name + ": never restarted, its core removed, yet it runs on " + std::to_string(live.size()) +
                             " cores and was reported lost " + std::to_string(lost[inst]) + " times");
                    continue;
                }
                if (lost[inst] != 0) fail(name + " was reported lost while cores were left");
                if (live.size() != 1 || live[0] != table[s].homes[i] || !co.view().has(live[0])) {
                    fail(name + " runs on " + std::to_string(live.size()) + " live cores; the table says " +
                         std::to_string(table[s].homes[i]));
                    continue;
                }
                bool node_left = false;
                for (std::uint32_t c = 0; c < sim.cores; ++c)
                    node_left = node_left || (sim.core_node[c] == sim.core_node[boot] && runs(c));
                if (node_left && sim.core_node[live[0]] != sim.core_node[boot])
                    fail(name + " left its node " + std::to_string(sim.core_node[boot]) + " for core " + std::to_string(live[0]) +
                         " while a core of it lived");
            }
    }
};

// One core at every step of the first 1200: the cores of two kv replicas (5: its node keeps three
// cores; 9), node 2's representative (8, holding an instance: node 2's cores hear beats through
// it), the never-restarted instance's core (13), and the core that receives 5's replica (4: a
// crash before its removal was committed, or after).
TEST(PlacementSim, OneCrashAtEveryStep) {
    unsigned moved = 0;
    for (const std::uint32_t victim : {5u, 9u, 8u, 13u, 4u}) {
        for (std::uint64_t at = 1; at < 1200; at += 3) {
            World w(at * 37 + victim);
            w.sim.crash_step = at;
            w.sim.crash_victims = {victim};
            w.run(260);
            w.sim.expect_converged("victim " + std::to_string(victim) + " at step " + std::to_string(at));
            w.expect_placed("victim " + std::to_string(victim) + " at step " + std::to_string(at));
            ASSERT_EQ(w.failure, "");
            moved += w.moves;
            if (HasFailure()) return;
        }
    }
    EXPECT_GT(moved, 1000u) << "the runs moved few instances: the crashes were not noticed";
}

// Two cores in turn, the second 1, 300 or 6000 steps after the first (the last after the first
// removal was committed and its instances moved: about 45 steps a tick): the core an instance went
// to (5's replica goes to 4, the least loaded core of node 1; 8's to 10), two of a node's cores
// holding replicas of one server (5, 6), and a representative with a core of its node (8, 9).
TEST(PlacementSim, TwoCrashesAtEveryStep) {
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs = {{5, 4}, {8, 10}, {5, 6}, {8, 9}, {14, 2}};
    unsigned moved_twice = 0;
    for (const auto& [a, b] : pairs) {
        for (std::uint64_t at = 1; at < 900; at += 11) {
            for (const std::uint64_t gap : {1u, 300u, 6000u}) {
                World w(at * 131 + gap + a * 7 + b);
                w.sim.crash_step = at;
                w.sim.crash_victims = {a, b};
                w.sim.crash_gap = gap;
                w.run(500);
                const std::string what = "victims " + std::to_string(a) + "," + std::to_string(b) + " at step " +
                                         std::to_string(at) + " gap " + std::to_string(gap);
                w.sim.expect_converged(what);
                w.expect_placed(what);
                ASSERT_EQ(w.failure, "");
                for (const auto& [inst, from] : w.left) moved_twice += from.size() >= 2 ? 1u : 0u;
                if (HasFailure()) return;
            }
        }
    }
    EXPECT_GT(moved_twice, 50u) << "no instance was moved off a core it had been moved to";
}

// A whole node goes (node 1: cores 4-7, holding two kv replicas), one core after another: its
// instances go to the nearest node by the distances (Sim: 20 + (a + b) % 3).
TEST(PlacementSim, AWholeNodeGoes) {
    for (std::uint64_t at = 1; at < 600; at += 13) {
        for (const std::uint64_t gap : {1u, 50u}) {
            World w(at * 17 + gap);
            w.sim.crash_step = at;
            w.sim.crash_victims = {4, 5, 6, 7};
            w.sim.crash_gap = gap;
            w.run(700);
            const std::string what = "node 1 from step " + std::to_string(at) + " gap " + std::to_string(gap);
            w.sim.expect_converged(what);
            w.expect_placed(what);
            ASSERT_EQ(w.failure, "");
            // The distances from node 1: to node 0 21, node 2 20, node 3 21: both replicas on node 2.
            for (unsigned i = 0; i < 2; ++i) EXPECT_EQ(w.sim.core_node[w.table[0].homes[i]], 2u) << what << " replica " << i;
            if (HasFailure()) return;
        }
    }
}

// A core that only stalls (6, holding a kv replica) is removed while its replica still runs; the
// replica starts elsewhere only once every other live monitor has cut core 6 off. Moving at the
// coordinator's install of the view instead, before the others applied it, is what the check
// catches (the second half).
TEST(PlacementSim, AStalledCoresInstanceIsCutOffBeforeItStartsElsewhere) {
    unsigned caught = 0;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        for (const bool at_install : {false, true}) {
            World w(seed);
            w.move_at_install = at_install;
            w.sim.slow = 6;
            w.sim.slow_from = 40 + seed;
            w.sim.slow_until = 200 + seed;
            w.run(600);
            if (at_install) {
                caught += w.failure.find("runs on 2 cores") != std::string::npos ? 1u : 0u;
                continue;
            }
            EXPECT_TRUE(w.sim.members[6].excluded()) << "seed " << seed;
            w.sim.expect_converged("slow core 6, seed " + std::to_string(seed));
            w.expect_placed("slow core 6, seed " + std::to_string(seed));
            ASSERT_EQ(w.failure, "");
            EXPECT_NE(w.table[0].homes[1], 6u) << "seed " << seed;
        }
    }
    EXPECT_GT(caught, 0u) << "moving at install was never caught: the check cannot fail";
}

// new_home by itself: the own node first, then the nearest; the least loaded core, the lowest
// number on a tie; none when no core lives; without distances, the least loaded anywhere.
TEST(Placement, NewHomeChoosesNearThenLeastLoaded) {
    const std::uint16_t node[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    const std::uint8_t dist[16] = {10, 30, 20, 40, 30, 10, 40, 20, 20, 40, 10, 30, 40, 20, 30, 10};
    const placement::Topology t{8, 4, node, dist};
    std::vector<std::uint64_t> load(8, 0);
    const auto loadf = [&](std::uint32_t c) { return load[c]; };
    std::vector<bool> alive(8, true);
    const auto alivef = [&](std::uint32_t c) { return static_cast<bool>(alive[c]); };
    alive[0] = false;
    EXPECT_EQ(placement::new_home(t, 0, alivef, loadf), 1u) << "its own node's other core";
    alive[1] = false;
    EXPECT_EQ(placement::new_home(t, 0, alivef, loadf), 4u) << "node 2 is nearer than node 1 (20 < 30)";
    load[4] = 2;
    load[5] = 1;
    EXPECT_EQ(placement::new_home(t, 0, alivef, loadf), 5u) << "the least loaded core of the nearest node";
    load[5] = 2;
    EXPECT_EQ(placement::new_home(t, 0, alivef, loadf), 4u) << "the lowest number on a tie";
    for (std::uint32_t c = 0; c < 8; ++c) alive[c] = false;
    EXPECT_EQ(placement::new_home(t, 0, alivef, loadf), no_core);
    const placement::Topology flat{8, 1, nullptr, nullptr};
    for (std::uint32_t c = 0; c < 8; ++c) alive[c] = c != 3;
    load = {3, 2, 2, 0, 1, 1, 2, 2};
    EXPECT_EQ(placement::new_home(flat, 3, alivef, loadf), 4u);
}

} // namespace
} // namespace myr::monitor
