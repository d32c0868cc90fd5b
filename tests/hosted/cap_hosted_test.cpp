// Capabilities across cores (myr/monitor/cap_protocol.hpp) on real threads: four (or, on a bigger
// machine, up to eight) nodes spread over the host's cores, each issuing random carving,
// transfers, deletes, revokes, adoptions and ownership moves while serving the others' lines
// (monitor/hosted/.../cap_run.hpp). No node may still hold anything inside a revoke when its owner
// finishes it, every operation is answered, every table passes its audit, and each frame still
// held has one owner whose set is exactly the other nodes that hold copies. Under TSan (label tsan) it also checks that the lines order each node's table changes
// before the owner's check.
#include <myr/monitor/hosted/cap_run.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace myr;

std::uint32_t env_or(const char* name, std::uint32_t fallback) {
    const char* v = std::getenv(name);
    return v ? static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10)) : fallback;
}

TEST(CapHosted, RevokesLeaveNothingBehindOnAnyCore) {
    auto created = myr::hosted::Runtime::create();
    ASSERT_TRUE(created.ok());
    myr::hosted::Runtime& rt = **created;
    if (rt.cores().size() < 2) GTEST_SKIP() << "needs two cores";
    monitor::hosted::CapRunConfig cfg;
    cfg.nodes = static_cast<std::uint32_t>(std::clamp<std::size_t>(rt.cores().size(), 4, 8));
    cfg.ops_per_node = env_or("MYRIAD_CAP_OPS", 3000);
    std::uint64_t revokes = 0, untyped = 0, transfers = 0, busy = 0, moves = 0;
    for (std::uint32_t seed = 1; seed <= 3; ++seed) {
        cfg.seed = seed;
        const monitor::hosted::CapRun r = monitor::hosted::run_caps(rt, cfg);
        ASSERT_TRUE(r.ok) << "seed " << seed;
        ASSERT_EQ(r.failure, "") << "seed " << seed;
        EXPECT_EQ(r.malformed, 0u);
        revokes += r.revokes_finished;
        untyped += r.untyped_revokes;
        const auto get = [&](const char* k) {
            const auto it = r.outcomes.find(k);
            return it == r.outcomes.end() ? std::uint64_t{0} : it->second;
        };
        transfers += get("transfer ok");
        moves += get("move ok");
        busy += get("transfer busy") + get("revoke frame busy") + get("revoke untyped busy");
        std::printf("seed %u: %u nodes, %llu lines, %llu revokes finished (%llu of untyped)\n", seed, cfg.nodes,
                    static_cast<unsigned long long>(r.lines), static_cast<unsigned long long>(r.revokes_finished),
                    static_cast<unsigned long long>(r.untyped_revokes));
        for (const auto& [k, n] : r.outcomes) std::printf("  %s: %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    }
    // The run covered what it claims: revokes of both kinds finished on real threads, copies
    // crossed, and some operation met a revoke under way.
    EXPECT_GT(revokes, cfg.ops_per_node / 30);
    EXPECT_GT(untyped, 0u);
    EXPECT_GT(transfers, cfg.ops_per_node / 10);
    EXPECT_GT(busy, 0u) << "no operation ever met a revoke under way";
    EXPECT_GT(moves, 30u) << "ownership moved too rarely to say anything (each node adopts 64 pages at most)";
}

} // namespace
