// Deterministic simulation of the message protocols: many seeds per protocol, every history
// checked for linearizability (2pc, sequencer with linearizable reads) or convergence
// (broadcast), with malformed lines injected and required to be refused. Seed counts come from
// MYRIAD_REPL_SEEDS (CTest keeps them modest; docs/replication.md reports a longer run).
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/memory_ownership.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/sim/simulation.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
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

TEST(ReplSim, CheckerCatchesAStaleRead) {
    // A write that finished before a read began must be visible to it.
    std::vector<Event<Counter>> h;
    h.push_back({Counter::add(5), {5}, 1, 2});
    h.push_back({Counter::get(), {0}, 3, 4});
    EXPECT_FALSE(linearizable(h));
    h[1].invoke = 1;  // now concurrent: may linearize first
    EXPECT_TRUE(linearizable(h));
}

TEST(ReplSim, LocalSequencerReadsAreNotLinearizable) {
    // Shows the checker has teeth on real protocol runs: local reads can be stale.
    Machine m(1, 4);
    GroupConfig gc = m.config(Protocol::sequencer);
    Group group;
    ASSERT_EQ(group.build(gc), Status::ok);
    bool found = false;
    for (std::uint64_t seed = 1; seed <= 200 && !found; ++seed) {
        Simulation<Counter> sim(group);
        Simulation<Counter>::Options opt;
        opt.seed = seed;
        opt.ops = 20;
        ASSERT_TRUE(sim.run(opt, [](auto& rng, std::uint16_t) {
            return rng() % 2 ? Counter::get() : Counter::add(1);
        }));
        found = !linearizable(sim.history());
    }
    EXPECT_TRUE(found);
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
