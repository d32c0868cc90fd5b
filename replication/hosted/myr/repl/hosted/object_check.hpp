#pragma once
// Run any replicated object on real threads and check it: a test helper for your own object
// (docs/replication.md, "Tutorial"). Every core of a MessageCluster<Obj> runs a client issuing
// `ops_per_core` seeded operations (by default the object's own `sample`, commuting-only under
// broadcast) with timestamps, while serving the protocol; afterwards:
//   * every replica has the same digest and applied the same number of updates (convergence);
//   * no replica refused a line (the cluster sends only genuine ones) and every replica is idle;
//   * for 2pc and sequencer with linearizable reads, the timed history is linearizable
//     (sim::linearizable, the object itself as the specification).
// Host only. Use from a gtest:
//   const auto r = myr::repl::hosted::check_object<MyObject>(gc, 200);
//   EXPECT_TRUE(r.ok()) << r.problem;
#include <myr/hosted/clock.hpp>
#include <myr/repl/hosted/message_cluster.hpp>
#include <myr/repl/sim/linearizability.hpp>

#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace myr::repl::hosted {

struct ObjectCheck {
    std::uint64_t ops = 0;        // completed operations, all cores
    std::uint64_t updates = 0;
    std::uint64_t retries = 0;    // 2pc conflicts retried by the clients
    std::uint64_t sent = 0;       // replication lines
    std::string problem;          // "" when every check passed
    [[nodiscard]] bool ok() const { return problem.empty(); }
};

template <ReplicatedObject Obj>
using OpGenerator = std::function<typename Obj::Op(std::mt19937_64&, std::uint16_t core)>;

// The object's own workload (Catalogued objects): sample(), commuting-only when `commuting`.
template <Catalogued Obj>
OpGenerator<Obj> sample_ops(std::uint32_t cores, bool commuting) {
    return [cores, commuting](std::mt19937_64& rng, std::uint16_t core) {
        return Obj::sample(rng(), SampleContext{core, cores, commuting});
    };
}

// `rt` may be null (unpinned threads). `linearizable`: check the history (only meaningful for
// 2pc, and sequencer with ReadMode::linearizable; the search grows fast with cores x ops).
template <ReplicatedObject Obj>
ObjectCheck check_object(const GroupConfig& gc, std::uint64_t ops_per_core, const OpGenerator<Obj>& gen,
                         bool linearizable, myr::hosted::Runtime* rt = nullptr) {
    ObjectCheck out;
    auto cluster = MessageCluster<Obj>::create(rt, gc);
    if (!cluster.ok()) {
        out.problem = "cannot build the cluster (status " + std::to_string(static_cast<int>(cluster.status())) + ")";
        return out;
    }
    std::mutex mu;
    std::vector<sim::Event<Obj>> history;
    std::atomic<std::uint64_t> retries{0};
    const Status s = (*cluster)->run([&](std::uint32_t core, auto& client) {
        std::mt19937_64 rng(0x5eed + core);
        std::vector<sim::Event<Obj>> mine;
        for (std::uint64_t i = 0; i < ops_per_core; ++i) {
            const typename Obj::Op op = gen(rng, static_cast<std::uint16_t>(core));
            const std::uint64_t t0 = myr::hosted::now_ns();
            const typename Obj::Result r = client.execute(op);
            mine.push_back({op, r, t0, myr::hosted::now_ns()});
        }
        retries.fetch_add(client.retries(), std::memory_order_relaxed);
        std::lock_guard<std::mutex> g(mu);
        history.insert(history.end(), mine.begin(), mine.end());
    });
    if (s != Status::ok) {
        out.problem = "the cluster's threads failed (status " + std::to_string(static_cast<int>(s)) + ")";
        return out;
    }
    out.ops = history.size();
    for (const auto& e : history) out.updates += Obj::is_read(e.op) ? 0u : 1u;
    out.retries = retries.load();
    const auto& r0 = (*cluster)->replica(0);
    for (std::uint32_t c = 0; c < (*cluster)->cores(); ++c) {
        const auto& r = (*cluster)->replica(c);
        out.sent += r.stats().sent;
        std::string who = "replica " + std::to_string(c) + ": ";
        if (r.object().digest() != r0.object().digest()) out.problem += who + "digest differs from replica 0; ";
        if (r.stats().applied != out.updates)
            out.problem += who + "applied " + std::to_string(r.stats().applied) + " of " + std::to_string(out.updates) + " updates; ";
        if (r.stats().rejected != 0) out.problem += who + std::to_string(r.stats().rejected) + " lines refused; ";
        if (!r.idle()) out.problem += who + "not idle; ";
    }
    if (out.ops != ops_per_core * (*cluster)->cores()) out.problem += "operations missing from the history; ";
    if (linearizable && out.problem.empty() && !sim::linearizable(std::move(history)))
        out.problem += "the history is not linearizable; ";
    return out;
}

} // namespace myr::repl::hosted
