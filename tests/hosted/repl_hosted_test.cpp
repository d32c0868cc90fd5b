// Replication on real threads: every core runs a client issuing random operations while serving
// the protocol; at the end every replica agrees, counters add up, and (for the linearizable
// protocols) the timed history passes the linearizability checker. Run under TSan too.
#include <myr/hosted/clock.hpp>
#include <myr/repl/hosted/message_cluster.hpp>
#include <myr/repl/hosted/object_check.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/repl/node_replication.hpp>
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/shared_object.hpp>
#include <myr/repl/sim/linearizability.hpp>

#include <gtest/gtest.h>

#include <mutex>

#include "hosted_test_util.hpp"

using namespace myr;
using namespace myr::repl;
using myr::hosted::now_ns;

namespace {

std::uint64_t ops_per_core = myr::hosted::test::env_count("MYRIAD_REPL_OPS", 400);

std::unique_ptr<myr::hosted::Runtime> runtime() {
    auto rt = myr::hosted::Runtime::create();
    return rt.ok() ? std::move(rt).value() : nullptr;
}

GroupConfig config(Protocol p, std::uint32_t cores) {
    GroupConfig g;
    g.protocol = p;
    g.cores = cores;
    g.sequencer = 0;
    g.owner = static_cast<std::uint16_t>(cores - 1);
    g.reads = ReadMode::linearizable;
    return g;
}


template <typename Exec>
void counter_client(std::uint32_t core, Exec&& exec, std::mutex& mu,
                    std::vector<sim::Event<Counter>>& history, std::atomic<std::int64_t>& sum) {
    std::mt19937_64 rng(core + 1);
    std::vector<sim::Event<Counter>> mine;
    for (std::uint64_t i = 0; i < ops_per_core; ++i) {
        const Counter::Op op = rng() % 2 ? Counter::get() : Counter::add(static_cast<std::int64_t>(1 + rng() % 5));
        const std::uint64_t t0 = now_ns();
        const Counter::Result r = exec(op);
        mine.push_back({op, r, t0, now_ns()});
        if (!Counter::is_read(op)) sum.fetch_add(op.delta, std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> g(mu);
    history.insert(history.end(), mine.begin(), mine.end());
}

void message_protocol(Protocol p, std::uint32_t cores, Coordinator coord = Coordinator::origin) {
    // 2pc on an all-conflicting counter with more threads than cores retries a lot: fewer ops.
    const std::uint64_t saved = ops_per_core;
    if (p == Protocol::two_pc && cores > 2) ops_per_core = std::max<std::uint64_t>(ops_per_core / 8, 20);
    struct Restore {
        std::uint64_t v;
        ~Restore() { ops_per_core = v; }
    } restore{saved};
    auto rt = runtime();
    GroupConfig gc = config(p, cores);
    gc.coordinator = coord;
    auto cluster = repl::hosted::MessageCluster<Counter>::create(rt.get(), gc);
    ASSERT_TRUE(cluster.ok());
    std::mutex mu;
    std::vector<sim::Event<Counter>> history;
    std::atomic<std::int64_t> sum{0};
    ASSERT_EQ((*cluster)->run([&](std::uint32_t core, auto& client) {
        counter_client(core, [&](const Counter::Op& op) { return client.execute(op); }, mu, history, sum);
    }), Status::ok);
    for (std::uint32_t c = 0; c < cores; ++c) {
        EXPECT_EQ((*cluster)->replica(c).object().value(), sum.load()) << "replica " << c;
        EXPECT_EQ((*cluster)->replica(c).stats().rejected, 0u);
        EXPECT_TRUE((*cluster)->replica(c).idle());
    }
    EXPECT_EQ(history.size(), ops_per_core * cores);
    if (p != Protocol::broadcast) {
        EXPECT_TRUE(sim::linearizable(std::move(history)));
    }
}

} // namespace

// Every catalogued object (objects/catalog.hpp), with its own workload, under every message
// protocol it may use, on 4 unpinned threads: repl::hosted::check_object checks convergence,
// no refused line, idle replicas and (2pc, sequencer with linearizable reads) linearizability.
// A new object added to the catalogue is covered here without a new test.
TEST(ReplHosted, EveryCataloguedObject) {
    Objects::for_each([&](auto tag) {
        using O = typename decltype(tag)::type;
        for (Protocol p : {Protocol::two_pc, Protocol::sequencer, Protocol::broadcast}) {
            if (p == Protocol::broadcast && !O::commutes) continue;
            const GroupConfig gc = config(p, 4);
            const std::uint64_t ops = p == Protocol::two_pc ? 40 : 100;
            const auto r = repl::hosted::check_object<O>(gc, ops, repl::hosted::sample_ops<O>(4, p == Protocol::broadcast),
                                                         p != Protocol::broadcast);
            EXPECT_TRUE(r.ok()) << O::name << " under " << to_string(p) << ": " << r.problem;
            std::printf("  %s %s: %llu ops, %llu updates, %llu lines, %llu retries\n", std::string(O::name).c_str(),
                        std::string(to_string(p)).c_str(), static_cast<unsigned long long>(r.ops),
                        static_cast<unsigned long long>(r.updates), static_cast<unsigned long long>(r.sent),
                        static_cast<unsigned long long>(r.retries));
        }
    });
}

TEST(ReplHosted, BroadcastPinned) { message_protocol(Protocol::broadcast, 2); }
TEST(ReplHosted, BroadcastFourCores) { message_protocol(Protocol::broadcast, 4); }
TEST(ReplHosted, SequencerPinned) { message_protocol(Protocol::sequencer, 2); }
TEST(ReplHosted, SequencerFourCores) { message_protocol(Protocol::sequencer, 4); }
TEST(ReplHosted, TwoPcPinned) { message_protocol(Protocol::two_pc, 2); }
TEST(ReplHosted, TwoPcFourCores) { message_protocol(Protocol::two_pc, 4); }
TEST(ReplHosted, TwoPcOwnerFourCores) { message_protocol(Protocol::two_pc, 4, Coordinator::owner); }

TEST(ReplHosted, NodeReplicationTwoReplicasFourThreads) {
    auto nr = std::make_unique<NodeReplicated<Counter, 64, 4, 8, repl::hosted::HostedRelax>>();
    ASSERT_EQ(nr->init(2), Status::ok);
    std::vector<NrHandle> handles;
    for (std::uint32_t t = 0; t < 4; ++t) handles.push_back(nr->register_thread(t % 2).value());
    std::mutex mu;
    std::vector<sim::Event<Counter>> history;
    std::atomic<std::int64_t> sum{0};
    ASSERT_EQ(repl::hosted::run_threads(nullptr, 4, [&](std::uint32_t t) {
        counter_client(t, [&](const Counter::Op& op) { return nr->execute(op, handles[t]); }, mu, history, sum);
    }), Status::ok);
    for (std::uint32_t r = 0; r < 2; ++r) EXPECT_EQ(nr->replica_object(r).value(), sum.load());
    EXPECT_TRUE(sim::linearizable(std::move(history)));
}

TEST(ReplHosted, NodeReplicationKvLogWrapsManyTimes) {
    // A 64-entry log and thousands of updates: the ring is reused many times over.
    auto nr = std::make_unique<NodeReplicated<KvMap, 64, 4, 8, repl::hosted::HostedRelax>>();
    ASSERT_EQ(nr->init(3), Status::ok);
    std::vector<NrHandle> handles;
    for (std::uint32_t t = 0; t < 3; ++t) handles.push_back(nr->register_thread(t).value());
    ASSERT_EQ(repl::hosted::run_threads(nullptr, 3, [&](std::uint32_t t) {
        for (std::uint64_t i = 0; i < ops_per_core * 4; ++i) (void)nr->execute(KvMap::add(1 + i % 16, 1), handles[t]);
    }), Status::ok);
    EXPECT_GE(nr->log_tail(), ops_per_core * 12);
    const std::uint64_t d = nr->replica_object(0).digest();
    for (std::uint32_t r = 1; r < 3; ++r) EXPECT_EQ(nr->replica_object(r).digest(), d);
    std::uint64_t total = 0;
    for (std::uint64_t k = 1; k <= 16; ++k) total += nr->replica_object(1).read(KvMap::get(k)).value;
    EXPECT_EQ(total, ops_per_core * 12);
}

TEST(ReplHosted, SharedBaseline) {
    SharedObject<Counter, repl::hosted::HostedRelax> obj;
    std::mutex mu;
    std::vector<sim::Event<Counter>> history;
    std::atomic<std::int64_t> sum{0};
    ASSERT_EQ(repl::hosted::run_threads(nullptr, 4, [&](std::uint32_t t) {
        counter_client(t, [&](const Counter::Op& op) { return obj.execute(op); }, mu, history, sum);
    }), Status::ok);
    EXPECT_EQ(obj.object().value(), sum.load());
    EXPECT_TRUE(sim::linearizable(std::move(history)));
}
