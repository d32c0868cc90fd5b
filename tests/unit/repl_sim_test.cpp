// Deterministic simulation of the message protocols: many seeds per protocol, every history
// checked for linearizability (2pc, sequencer with linearizable reads) or convergence
// (broadcast), with malformed lines injected and required to be refused. Seed counts come from
// MYRIAD_REPL_SEEDS (CTest keeps them modest; docs/replication.md reports a longer run).
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/memory_ownership.hpp>
#include <myr/repl/objects/name_table.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/repl/sim/simulation.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <span>
#include <string>

using namespace myr;
using namespace myr::repl;
using namespace myr::repl::sim;

namespace {

std::uint64_t seeds(std::uint64_t fallback) {
    const char* v = std::getenv("MYRIAD_REPL_SEEDS");
    return v == nullptr ? fallback : std::strtoull(v, nullptr, 10);
}

// A machine of `nodes` x `per_node` cores, remote distance 20.
struct Machine {
    std::vector<std::uint8_t> distance;
    std::vector<std::uint16_t> core_node;
    Machine(std::uint32_t nodes, std::uint32_t per_node) {
        for (std::uint32_t a = 0; a < nodes; ++a)
            for (std::uint32_t b = 0; b < nodes; ++b) distance.push_back(a == b ? 10 : 20);
        for (std::uint32_t c = 0; c < nodes * per_node; ++c)
            core_node.push_back(static_cast<std::uint16_t>(c / per_node));
    }
    GroupConfig config(Protocol p) const {
        GroupConfig g;
        g.protocol = p;
        g.cores = static_cast<std::uint32_t>(core_node.size());
        g.nodes = static_cast<std::uint32_t>(distance.size() == 1 ? 1 : 0);
        while (g.nodes * g.nodes < distance.size()) ++g.nodes;
        g.distance = distance;
        g.core_node = core_node;
        return g;
    }
};

KvMap::Op kv_op(std::mt19937_64& rng, bool commuting) {
    const std::uint64_t k = 1 + rng() % 4;  // few keys: plenty of conflicts
    switch (rng() % (commuting ? 2 : 4)) {
    case 0: return KvMap::get(k);
    case 1: return KvMap::add(k, 1 + rng() % 5);
    case 2: return KvMap::put(k, rng() % 100);
    default: return KvMap::erase(k);
    }
}

// Liveness bound on one operation's busy retries (2pc conflicts): far above what wait-die needs in
// these small machines, far below an abort storm.
constexpr std::uint64_t max_op_retries = 60;

template <typename Obj>
void run_seeds(const GroupConfig& gc, std::uint64_t count, std::uint32_t ops, bool check_lin,
               const typename Simulation<Obj>::OpSource& source, std::uint32_t clients = 1) {
    Group group;
    ASSERT_EQ(group.build(gc), Status::ok);
    std::uint64_t retries = 0, injected = 0, rejected = 0;
    for (std::uint64_t seed = 1; seed <= count; ++seed) {
        Simulation<Obj> sim(group);
        typename Simulation<Obj>::Options opt;
        opt.seed = seed;
        opt.ops = ops;
        opt.clients_per_core = clients;
        opt.inject_per_mille = 20;
        ASSERT_TRUE(sim.run(opt, source)) << "livelock guard, seed " << seed;
        ASSERT_TRUE(sim.converged()) << "replicas differ, seed " << seed;
        ASSERT_FALSE(sim.m_injected_accepted) << "malformed line accepted, seed " << seed;
        ASSERT_FALSE(sim.m_genuine_rejected) << "genuine line refused, seed " << seed;
        ASSERT_EQ(sim.history().size(), ops);
        if (check_lin) {
            ASSERT_TRUE(linearizable(sim.history())) << "not linearizable, seed " << seed;
        }
        // Liveness: every operation completed (history size above), none after unbounded retries.
        ASSERT_LE(sim.stats().max_op_retries, max_op_retries) << "an operation retried too often, seed " << seed;
        retries += sim.stats().retries;
        injected += sim.stats().injected;
        rejected += sim.stats().rejected;
    }
    // Every injected line is delivered (channels drain); all but aborts of unknown txns refused.
    EXPECT_GE(rejected, injected / 2);
    EXPECT_LE(rejected, injected);
    std::printf("  %s: %llu seeds x %u ops, %llu retries, %llu injected, %llu rejected\n",
                std::string(to_string(gc.protocol)).c_str(), static_cast<unsigned long long>(count),
                ops, static_cast<unsigned long long>(retries),
                static_cast<unsigned long long>(injected), static_cast<unsigned long long>(rejected));
}

// Replicas per NUMA node: the group is the placement's replica cores; every other core's clients
// forward. Same checks as run_seeds, plus: every replica applied every completed update and
// every endpoint is idle at the end (every operation completed, none half-done anywhere).
template <typename Obj>
void run_placed(const Machine& m, GroupConfig machine, std::span<const std::uint16_t> chosen, std::uint64_t count,
                std::uint32_t ops, bool check_lin, const typename Simulation<Obj>::OpSource& source,
                std::uint32_t clients = 1) {
    Placement pl;
    const std::uint32_t nodes = machine.nodes;
    ASSERT_EQ(pl.build(machine.cores, m.core_node, nodes, Replicas::per_node, chosen), Status::ok);
    Group group;
    ASSERT_EQ(group.build(pl.group_config(machine)), Status::ok);
    ASSERT_EQ(group.cores(), nodes);
    std::uint64_t retries = 0, injected = 0, rejected = 0, messages = 0, forwarded = 0;
    for (std::uint64_t seed = 1; seed <= count; ++seed) {
        Simulation<Obj> sim(group, pl);
        typename Simulation<Obj>::Options opt;
        opt.seed = seed;
        opt.ops = ops;
        opt.clients_per_core = clients;
        opt.inject_per_mille = 20;
        ASSERT_TRUE(sim.run(opt, source)) << "livelock guard, seed " << seed;
        ASSERT_TRUE(sim.converged()) << "replicas differ, seed " << seed;
        ASSERT_FALSE(sim.m_injected_accepted) << "malformed line accepted, seed " << seed;
        ASSERT_FALSE(sim.m_genuine_rejected) << "genuine line refused, seed " << seed;
        ASSERT_EQ(sim.history().size(), ops);
        std::uint64_t updates = 0;
        for (const auto& e : sim.history()) updates += Obj::is_read(e.op) ? 0u : 1u;
        ASSERT_TRUE(sim.settled(updates)) << "an update missing on a replica or an op in flight, seed " << seed;
        if (check_lin) {
            ASSERT_TRUE(linearizable(sim.history())) << "not linearizable, seed " << seed;
        }
        for (std::uint32_t c = 0; c < sim.cores(); ++c) forwarded += sim.endpoint(c).forward_stats().served;
        retries += sim.stats().retries;
        injected += sim.stats().injected;
        rejected += sim.stats().rejected;
        messages += sim.stats().messages;
    }
    EXPECT_GT(forwarded, count);  // clients on non-replica cores really went through forwarding
    EXPECT_GE(rejected, injected / 2);
    EXPECT_LE(rejected, injected);
    std::printf("  per-node %s: %llu seeds x %u ops, %llu forwarded, %llu retries, %llu injected, %llu rejected, "
                "%llu lines\n",
                std::string(to_string(machine.protocol)).c_str(), static_cast<unsigned long long>(count), ops,
                static_cast<unsigned long long>(forwarded), static_cast<unsigned long long>(retries),
                static_cast<unsigned long long>(injected), static_cast<unsigned long long>(rejected),
                static_cast<unsigned long long>(messages));
}

} // namespace

TEST(ReplSim, SequencerLinearizableKv) {
    Machine m(2, 3);
    GroupConfig gc = m.config(Protocol::sequencer);
    gc.sequencer = 4;
    gc.reads = ReadMode::linearizable;
    run_seeds<KvMap>(gc, seeds(300), 40, true, [](auto& rng, std::uint16_t) { return kv_op(rng, false); }, 2);
}

TEST(ReplSim, TwoPcOriginLinearizableKv) {
    Machine m(2, 3);
    run_seeds<KvMap>(m.config(Protocol::two_pc), seeds(300), 40, true,
                     [](auto& rng, std::uint16_t) { return kv_op(rng, false); }, 2);
}

// Liveness under the worst contention: every core's clients update ONE key under 2pc with the
// origin as coordinator (each coordinator locks its own copy first, so conflicting transactions
// always meet half-locked). Every operation must complete, within a bounded number of retries and
// steps; linearizability is checked on a smaller machine above (the search is exponential in
// the number of concurrent clients). With no-wait 2pc (every conflict votes no) this never
// finished: seed 1 hit the 2,000,000-step livelock guard. With wait-die, 20 seeds: worst
// operation 381 busy retries (mostly cheap ones: its own core's copy of the key was locked, so
// it aborted before sending anything) and 42,573 steps from first submit to completion.
TEST(ReplSim, TwoPcContendedKeyIsLive) {
    Machine m(4, 4);
    Group group;
    ASSERT_EQ(group.build(m.config(Protocol::two_pc)), Status::ok);
    std::uint64_t worst_retries = 0, worst_steps = 0, retries = 0, parked = 0;
    const std::uint32_t ops = 200;
    for (std::uint64_t seed = 1; seed <= seeds(20); ++seed) {
        Simulation<Counter> sim(group);
        Simulation<Counter>::Options opt;
        opt.seed = seed;
        opt.ops = ops;
        opt.clients_per_core = 2;
        ASSERT_TRUE(sim.run(opt, [](auto& rng, std::uint16_t) { return Counter::add(static_cast<std::int64_t>(1 + rng() % 5)); }))
            << "livelock guard, seed " << seed;
        ASSERT_EQ(sim.history().size(), ops);
        ASSERT_TRUE(sim.converged());
        ASSERT_TRUE(sim.settled(ops)) << "seed " << seed;
        worst_retries = std::max(worst_retries, sim.stats().max_op_retries);
        worst_steps = std::max(worst_steps, sim.stats().max_op_steps);
        retries += sim.stats().retries;
        for (std::uint32_t c = 0; c < sim.cores(); ++c) parked += sim.replica(c).stats().parked;
    }
    std::printf("  2pc, 16 cores x 2 clients on one key: %llu retries, %llu parked; worst op %llu retries, %llu steps\n",
                static_cast<unsigned long long>(retries), static_cast<unsigned long long>(parked),
                static_cast<unsigned long long>(worst_retries), static_cast<unsigned long long>(worst_steps));
    EXPECT_LE(worst_retries, 1000u);
    EXPECT_LE(worst_steps, 200'000u);
}

// Every catalogued object (objects/catalog.hpp: a new object is covered by adding it there) with
// its own generator (`sample`), under 2pc and sequencer (linearizable reads) with the
// linearizability check, and under broadcast (commuting workload) when the class says its
// updates commute: convergence, injected lines refused, every operation completed.
TEST(ReplSim, EveryCataloguedObjectUnderEveryMessageProtocol) {
    Machine m(2, 2);
    Objects::for_each([&](auto tag) {
        using O = typename decltype(tag)::type;
        for (Protocol p : {Protocol::two_pc, Protocol::sequencer, Protocol::broadcast}) {
            if (p == Protocol::broadcast && !O::commutes) continue;
            GroupConfig gc = m.config(p);
            gc.reads = ReadMode::linearizable;
            const bool commuting = p == Protocol::broadcast;
            std::printf("  %s:\n", std::string(O::name).c_str());
            run_seeds<O>(gc, seeds(60), 30, p != Protocol::broadcast, [&](auto& rng, std::uint16_t core) {
                return O::sample(rng(), SampleContext{core, gc.cores, commuting});
            }, 2);
        }
    });
}

// nameserv's table (objects/name_table.hpp) in the group shape nameserv runs it (one replica per
// node, the sequencer on replica 0, unicast fan-out: every replica linked to replica 0 only), and
// under 2pc: random interleavings of racing registrations of a few names by two domains per
// core, owner-only removals and drops of a domain's names. Every history linearizable (reads
// asked linearizable here; nameserv's local reads are sequentially consistent, see
// LocalSequencerReadsAreNotLinearizable), every replica's digest equal at the end, and every
// add of a name answered ok exactly once until it is removed or dropped.
TEST(ReplSim, NameTableAsNameservRunsIt) {
    Machine m(4, 1);
    for (Protocol p : {Protocol::sequencer, Protocol::two_pc}) {
        GroupConfig gc = m.config(p);
        gc.fanout = Fanout::unicast;
        gc.reads = ReadMode::linearizable;
        run_seeds<NameTable>(gc, seeds(200), 30, true, [](auto& rng, std::uint16_t core) {
            static constexpr const char* names[] = {"race", "svc.1", "abcdefghijklmnopqrstuvwx"};
            const NameTable::Owner me{core, static_cast<std::uint32_t>(1 + rng() % 2)};
            const char* n = names[rng() % 3];
            switch (rng() % 8) {
            case 0:
            case 1: return NameTable::lookup(n);
            case 2:
            case 3:
            case 4: return NameTable::add(n, me);
            case 5:
            case 6: return NameTable::remove(n, me);
            default: return NameTable::drop_owner(me);
            }
        }, 2);
    }
}

TEST(ReplSim, TwoPcOwnerLinearizableCounter) {
    Machine m(2, 2);
    GroupConfig gc = m.config(Protocol::two_pc);
    gc.coordinator = Coordinator::owner;
    gc.owner = 3;
    run_seeds<Counter>(gc, seeds(300), 40, true, [](auto& rng, std::uint16_t) {
        return rng() % 2 ? Counter::get() : Counter::add(static_cast<std::int64_t>(rng() % 7));
    });
}

TEST(ReplSim, BroadcastConvergesCommutingKv) {
    Machine m(4, 2);
    run_seeds<KvMap>(m.config(Protocol::broadcast), seeds(300), 60, false,
                     [](auto& rng, std::uint16_t) { return kv_op(rng, true); }, 2);
}

TEST(ReplSim, SequentialUnicastAlsoCorrect) {
    Machine m(2, 2);
    GroupConfig gc = m.config(Protocol::two_pc);
    gc.fanout = Fanout::unicast;
    run_seeds<Counter>(gc, seeds(100), 30, true, [](auto& rng, std::uint16_t) {
        return rng() % 2 ? Counter::get() : Counter::add(1);
    });
}

TEST(ReplSim, RegistryAndMemoryOwnershipUnderAgreement) {
    Machine m(2, 2);
    GroupConfig gc = m.config(Protocol::sequencer);
    gc.reads = ReadMode::linearizable;
    run_seeds<Registry>(gc, seeds(100), 30, true, [](auto& rng, std::uint16_t core) {
        static constexpr const char* names[] = {"fs", "net", "kv"};
        const char* n = names[rng() % 3];
        switch (rng() % 3) {
        case 0: return Registry::lookup(n);
        case 1: return Registry::add(n, core, static_cast<std::uint32_t>(rng() % 9));
        default: return Registry::remove(n, core);
        }
    });
    run_seeds<MemoryOwnership>(m.config(Protocol::two_pc), seeds(100), 30, true,
                               [](auto& rng, std::uint16_t core) {
        const std::uint64_t base = 4096 * (1 + rng() % 3);
        const auto other = static_cast<std::uint16_t>(rng() % 4);
        switch (rng() % 4) {
        case 0: return MemoryOwnership::owner(base);
        case 1: return MemoryOwnership::claim(base, core);
        case 2: return MemoryOwnership::transfer(base, core, other);
        default: return MemoryOwnership::release(base, core);
        }
    });
}

// Concurrent exports of one service name (issue 10, item 6): every core's client registers
// "echo" at once, over and over in random interleavings. Under an agreement protocol exactly one
// registration wins, every other one answers `exists`, and every replica names the winner. The
// monitors' name table today is add-if-absent by one-phase broadcast: the same workload under the
// broadcast protocol must show the divergence (negative control: the check can fail).
namespace {
struct ExportRace {
    std::uint64_t seeds = 0, diverged = 0, several_winners = 0, bad_answers = 0;
};
ExportRace race_exports(Protocol p, std::uint64_t count) {
    Machine m(2, 3);
    GroupConfig gc = m.config(p);
    gc.reads = ReadMode::linearizable;
    Group group;
    EXPECT_EQ(group.build(gc), Status::ok);
    ExportRace r;
    for (std::uint64_t seed = 1; seed <= count; ++seed) {
        Simulation<Registry> sim(group);
        Simulation<Registry>::Options opt;
        opt.seed = seed;
        opt.ops = 6;  // one registration per core (a core may get a second turn)
        const bool ran = sim.run(opt, [](auto&, std::uint16_t core) { return Registry::add("echo", core, 100u + core); });
        EXPECT_TRUE(ran) << "seed " << seed;
        if (!ran) break;
        ++r.seeds;
        unsigned winners = 0;
        for (const auto& e : sim.history()) {
            if (e.result.status == Status::ok) ++winners;
            else if (e.result.status != Status::exists) ++r.bad_answers;
        }
        r.several_winners += winners != 1;
        if (!sim.converged()) {
            ++r.diverged;
            continue;
        }
        // Every replica names the one winner.
        const Registry::Result w = sim.replica(0).object().read(Registry::lookup("echo"));
        for (const auto& e : sim.history())
            if (e.result.status == Status::ok && (e.result.core != w.core || e.result.endpoint != w.endpoint)) ++r.diverged;
    }
    return r;
}
} // namespace

TEST(ReplSim, ConcurrentExportsOneWinnerUnderAgreement) {
    for (Protocol p : {Protocol::sequencer, Protocol::two_pc}) {
        const ExportRace r = race_exports(p, seeds(300));
        EXPECT_EQ(r.seeds, seeds(300)) << to_string(p);
        EXPECT_EQ(r.several_winners, 0u) << to_string(p);
        EXPECT_EQ(r.diverged, 0u) << to_string(p);
        EXPECT_EQ(r.bad_answers, 0u) << to_string(p);
    }
}

TEST(ReplSim, ConcurrentExportsByOnePhaseBroadcastDiverge) {
    const ExportRace r = race_exports(Protocol::broadcast, 50);
    EXPECT_GT(r.diverged, 0u);
    EXPECT_GT(r.several_winners, 0u);
    std::printf("  broadcast: %llu of %llu seeds diverged, %llu with several winners\n",
                static_cast<unsigned long long>(r.diverged), static_cast<unsigned long long>(r.seeds),
                static_cast<unsigned long long>(r.several_winners));
}

TEST(ReplSim, CheckerCatchesAStaleRead) {
    // A write that finished before a read began must be visible to it.
    std::vector<Event<Counter>> h;
    h.push_back({Counter::add(5), {5}, 1, 2});
    h.push_back({Counter::get(), {0}, 3, 4});
    EXPECT_FALSE(linearizable(h));
    h[1].invoke = 1;  // now concurrent: may linearize first
    EXPECT_TRUE(linearizable(h));
}

// Negative control: runs seeds 1..seeds of a counter (half reads, half adds) on the simulation
// make() builds, and says whether some history is not linearizable. A run that fails is a test
// failure (and ends the search).
template <typename Make>
bool finds_stale_counter_read(Make make, std::uint64_t seeds, unsigned clients_per_core) {
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        auto sim = make();
        typename decltype(sim)::Options opt;
        opt.seed = seed;
        opt.ops = 20;
        opt.clients_per_core = clients_per_core;
        const bool ran = sim.run(opt, [](auto& rng, std::uint16_t) { return rng() % 2 ? Counter::get() : Counter::add(1); });
        EXPECT_TRUE(ran) << "seed " << seed;
        if (!ran) return false;
        if (!linearizable(sim.history())) return true;
    }
    return false;
}

TEST(ReplSim, LocalSequencerReadsAreNotLinearizable) {
    // Shows the checker has teeth on real protocol runs: local reads can be stale.
    Machine m(1, 4);
    GroupConfig gc = m.config(Protocol::sequencer);
    Group group;
    ASSERT_EQ(group.build(gc), Status::ok);
    EXPECT_TRUE(finds_stale_counter_read([&] { return Simulation<Counter>(group); }, 200, 1));
}

TEST(ReplSim, OnlyTheTrueSenderIsHeard) {
    Machine m(1, 3);
    Group group;
    ASSERT_EQ(group.build(m.config(Protocol::broadcast)), Status::ok);
    struct Null final : Transport {
        Status send(std::uint16_t, std::uint8_t, const std::uint64_t (&)[urpc::payload_words]) override {
            return Status::ok;
        }
    } null;
    Replica<Counter> r(group, 1, null);
    Packet p{};
    p.kind = Kind::bcast;
    p.object = 1;
    p.origin = p.root = p.from = 0;
    to_words(Counter::add(3), p.body);
    urpc::Message line{};
    encode(p, line.words);
    line.header = {1, static_cast<std::uint8_t>(Kind::bcast), urpc::payload_bytes, urpc::frag_single, 0};
    EXPECT_EQ(r.on_message(2, line), Status::malformed);  // arrived on core 2's channel
    EXPECT_EQ(r.object().value(), 0);
    EXPECT_EQ(r.on_message(0, line), Status::ok);
    EXPECT_EQ(r.object().value(), 3);
    EXPECT_EQ(r.stats().rejected, 1u);
}

// ---- Replicas per NUMA node (placement.hpp, endpoint.hpp) -------------------------------------

TEST(ReplPlacement, LowestCoreOrChosenPerNode) {
    Machine m(3, 3);
    Placement pl;
    ASSERT_EQ(pl.build(9, m.core_node, 3, Replicas::per_node), Status::ok);
    EXPECT_EQ(pl.replicas(), 3u);
    EXPECT_EQ(pl.core_of(0), 0);
    EXPECT_EQ(pl.core_of(1), 3);
    EXPECT_EQ(pl.core_of(2), 6);
    EXPECT_EQ(pl.replica_of(5), 3);
    EXPECT_EQ(pl.rank_of(5), no_rank);
    EXPECT_FALSE(pl.is_replica(8));
    GroupConfig gc = m.config(Protocol::sequencer);
    gc.sequencer = 7;  // a client core: its node's replica orders
    gc.owner = 3;
    const GroupConfig g = pl.group_config(gc);
    EXPECT_EQ(g.cores, 3u);
    EXPECT_EQ(g.sequencer, 2);
    EXPECT_EQ(g.owner, 1);
    EXPECT_EQ(g.core_node[2], 2);

    const std::uint16_t chosen[3] = {no_rank, 5, 7};
    ASSERT_EQ(pl.build(9, m.core_node, 3, Replicas::per_node, chosen), Status::ok);
    EXPECT_EQ(pl.core_of(1), 5);
    EXPECT_EQ(pl.replica_of(3), 5);
    EXPECT_EQ(pl.replica_of(8), 7);
    const std::uint16_t wrong_node[3] = {4, no_rank, no_rank};  // core 4 is on node 1
    EXPECT_EQ(pl.build(9, m.core_node, 3, Replicas::per_node, wrong_node), Status::invalid_argument);

    ASSERT_EQ(pl.build(9, m.core_node, 3, Replicas::per_core), Status::ok);
    EXPECT_EQ(pl.replicas(), 9u);
    EXPECT_EQ(pl.rank_of(4), 4);
}

TEST(ReplSim, PerNodeSequencerLinearizableKv) {
    Machine m(3, 3);
    GroupConfig gc = m.config(Protocol::sequencer);
    gc.sequencer = 4;  // node 1's replica (core 3) orders
    gc.reads = ReadMode::linearizable;
    run_placed<KvMap>(m, gc, {}, seeds(150), 40, true, [](auto& rng, std::uint16_t) { return kv_op(rng, false); }, 2);
}

TEST(ReplSim, PerNodeTwoPcOriginLinearizableKv) {
    Machine m(2, 3);
    run_placed<KvMap>(m, m.config(Protocol::two_pc), {}, seeds(150), 40, true,
                      [](auto& rng, std::uint16_t) { return kv_op(rng, false); }, 2);
}

TEST(ReplSim, PerNodeTwoPcOwnerChosenReplicasCounter) {
    Machine m(2, 3);
    GroupConfig gc = m.config(Protocol::two_pc);
    gc.coordinator = Coordinator::owner;
    gc.owner = 5;
    const std::uint16_t chosen[2] = {2, no_rank};  // node 0's replica on core 2, node 1's on core 3
    run_placed<Counter>(m, gc, chosen, seeds(150), 40, true, [](auto& rng, std::uint16_t) {
        return rng() % 2 ? Counter::get() : Counter::add(static_cast<std::int64_t>(rng() % 7));
    });
}

TEST(ReplSim, PerNodeBroadcastConvergesCommutingKv) {
    Machine m(4, 2);
    run_placed<KvMap>(m, m.config(Protocol::broadcast), {}, seeds(150), 60, false,
                      [](auto& rng, std::uint16_t) { return kv_op(rng, true); }, 2);
}

TEST(ReplSim, PerNodeRegistryUnderSequencer) {
    Machine m(2, 2);
    GroupConfig gc = m.config(Protocol::sequencer);
    gc.reads = ReadMode::linearizable;
    run_placed<Registry>(m, gc, {}, seeds(80), 30, true, [](auto& rng, std::uint16_t core) {
        static constexpr const char* names[] = {"fs", "net", "kv"};
        const char* n = names[rng() % 3];
        switch (rng() % 3) {
        case 0: return Registry::lookup(n);
        case 1: return Registry::add(n, core, static_cast<std::uint32_t>(rng() % 9));
        default: return Registry::remove(n, core);
        }
    });
}

TEST(ReplSim, PerNodeLocalSequencerReadsAreStillNotLinearizable) {
    // The checker has teeth on per-node runs too: forwarded local reads can be stale.
    Machine m(2, 2);
    Placement pl;
    ASSERT_EQ(pl.build(4, m.core_node, 2, Replicas::per_node), Status::ok);
    Group group;
    ASSERT_EQ(group.build(pl.group_config(m.config(Protocol::sequencer))), Status::ok);
    EXPECT_TRUE(finds_stale_counter_read([&] { return Simulation<Counter>(group, pl); }, 300, 2));
}

TEST(ReplSim, PerNodeMessageCosts) {
    // One update alone, 4 nodes x 4 cores: per core every replica gets each line; per node only
    // the 4 replica cores do, plus the client's request and reply when the origin is not one.
    Machine m(4, 4);
    Placement per_node, per_core;
    ASSERT_EQ(per_node.build(16, m.core_node, 4, Replicas::per_node), Status::ok);
    ASSERT_EQ(per_core.build(16, m.core_node, 4, Replicas::per_core), Status::ok);
    struct Case { Protocol p; std::uint64_t core_msgs, node_msgs_replica, node_msgs_client; };
    for (const Case& k : {Case{Protocol::broadcast, 15, 3, 5}, Case{Protocol::two_pc, 45, 9, 11},
                          Case{Protocol::sequencer, 15, 3, 5}}) {
        GroupConfig gc = m.config(k.p);
        gc.sequencer = 0;
        Group gn, gcore;
        ASSERT_EQ(gn.build(per_node.group_config(gc)), Status::ok);
        ASSERT_EQ(gcore.build(per_core.group_config(gc)), Status::ok);
        {
            Simulation<Counter> sim(gcore, per_core);
            EXPECT_EQ(sim.measure_one(0, Counter::add(1)).messages, k.core_msgs) << to_string(k.p);
        }
        {
            Simulation<Counter> sim(gn, per_node);
            EXPECT_EQ(sim.measure_one(0, Counter::add(1)).messages, k.node_msgs_replica) << to_string(k.p);
        }
        {
            Simulation<Counter> sim(gn, per_node);
            const auto cost = sim.measure_one(5, Counter::add(1));  // core 5: a client of core 4
            EXPECT_EQ(cost.messages, k.node_msgs_client + (k.p == Protocol::sequencer ? 1 : 0)) << to_string(k.p);
            EXPECT_NE(cost.completion_hops, ~0u);
            EXPECT_TRUE(sim.converged());
            EXPECT_EQ(sim.replica(12).object().value(), 1);
        }
    }
}

TEST(ReplEndpoint, MalformedForwardingRefusedAndCounted) {
    // 2 nodes x 2 cores, per node: replicas on 0 and 2; core 1 forwards to 0, core 3 to 2.
    Machine m(2, 2);
    Placement pl;
    ASSERT_EQ(pl.build(4, m.core_node, 2, Replicas::per_node), Status::ok);
    Group group;
    ASSERT_EQ(group.build(pl.group_config(m.config(Protocol::broadcast))), Status::ok);
    struct Capture final : Transport {
        std::vector<std::pair<std::uint16_t, urpc::Message>> out;
        Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) override {
            urpc::Message msg{};
            msg.header = {0, type, urpc::payload_bytes, urpc::frag_single, 0};
            for (std::size_t i = 0; i < urpc::payload_words; ++i) msg.words[i] = w[i];
            out.emplace_back(dst, msg);
            return Status::ok;
        }
    } t0, t1;
    Endpoint<Counter> replica0(group, pl, 0, t0);
    Endpoint<Counter> client1(group, pl, 1, t1);
    ASSERT_TRUE(replica0.is_replica());
    ASSERT_FALSE(client1.is_replica());
    ASSERT_EQ(client1.submit(Counter::add(7), 42), Status::ok);
    ASSERT_EQ(t1.out.size(), 1u);
    ASSERT_EQ(t1.out[0].first, 0);
    const urpc::Message request = t1.out[0].second;

    auto mutate = [&](auto f) {
        urpc::Message x = request;
        f(x);
        return x;
    };
    // A request from a core of another node (3 is served by 2), claiming to be core 1 or itself.
    EXPECT_EQ(replica0.on_message(3, request), Status::malformed);
    EXPECT_EQ(replica0.on_message(3, mutate([](urpc::Message& x) { x.words[0] = 1 | 3 << 16; })), Status::malformed);
    EXPECT_EQ(replica0.on_message(1, mutate([](urpc::Message& x) { x.words[0] ^= 1; })), Status::malformed);  // object
    EXPECT_EQ(replica0.on_message(1, mutate([](urpc::Message& x) { x.words[3] = 0; })), Status::invalid_argument);
    EXPECT_EQ(replica0.on_message(1, mutate([](urpc::Message& x) { x.words[2] = 1; })), Status::malformed);
    EXPECT_EQ(replica0.on_message(1, mutate([](urpc::Message& x) { x.words[1] = 0; })), Status::malformed);
    EXPECT_EQ(replica0.on_message(1, mutate([](urpc::Message& x) { x.header.length = 8; })), Status::malformed);
    EXPECT_EQ(replica0.on_message(1, mutate([](urpc::Message& x) {
                  x.header.type = static_cast<std::uint8_t>(Forward::reply);
              })), Status::malformed);  // a reply to a replica
    EXPECT_EQ(replica0.rejected(), 8u);
    EXPECT_EQ(replica0.replica().object().value(), 0);  // nothing applied

    // The genuine request: applied, broadcast to replica 2, answered to core 1.
    EXPECT_EQ(replica0.on_message(1, request), Status::ok);
    EXPECT_EQ(replica0.replica().object().value(), 7);
    ASSERT_EQ(t0.out.size(), 2u);
    EXPECT_EQ(t0.out[0].first, 2);  // rank 1 = core 2
    ASSERT_EQ(t0.out[1].first, 1);
    const urpc::Message reply = t0.out[1].second;

    // Replies: from the wrong core, unknown id, bad status; a replication line to a client.
    EXPECT_EQ(client1.on_message(2, reply), Status::malformed);
    EXPECT_EQ(client1.on_message(0, mutate([&](urpc::Message& x) { x = reply; x.words[1] += 1; })), Status::not_found);
    EXPECT_EQ(client1.on_message(0, mutate([&](urpc::Message& x) { x = reply; x.words[2] = 77; })), Status::malformed);
    EXPECT_EQ(client1.on_message(0, t0.out[0].second), Status::malformed);
    Completion<Counter> c;
    EXPECT_FALSE(client1.take_completion(c));
    EXPECT_EQ(client1.rejected(), 4u);
    EXPECT_EQ(client1.on_message(0, reply), Status::ok);
    ASSERT_TRUE(client1.take_completion(c));
    EXPECT_EQ(c.token, 42u);
    EXPECT_EQ(c.status, Status::ok);
    EXPECT_EQ(c.result.value, 7);
    EXPECT_EQ(client1.on_message(0, reply), Status::not_found);  // a duplicate: refused
    EXPECT_TRUE(client1.idle());
    EXPECT_TRUE(replica0.idle());
    EXPECT_EQ(client1.submit(Counter::add(1), forwarded_token), Status::invalid_argument);
}
