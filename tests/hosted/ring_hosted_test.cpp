// The ring memory of bindings on real threads (monitor/hosted/.../ring_run.hpp): the monitors'
// RingBook on four to eight nodes spread over the host's cores, each binding to the others over
// and over with pools of 16 rings, so every ring is handed out again hundreds of times. No end may
// write into a ring that another binding holds by then, and at the end every pool is whole.
#include <myr/monitor/hosted/ring_run.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace myr;

TEST(RingHosted, RingsComeBackOnlyWhenBothEndsAreDone) {
    auto created = myr::hosted::Runtime::create();
    ASSERT_TRUE(created.ok());
    myr::hosted::Runtime& rt = **created;
    if (rt.cores().size() < 2) GTEST_SKIP() << "needs two cores";
    monitor::hosted::RingRunConfig cfg;
    cfg.nodes = static_cast<std::uint32_t>(std::clamp<std::size_t>(rt.cores().size(), 4, 8));
    if (const char* v = std::getenv("MYRIAD_RING_CYCLES")) cfg.cycles = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    const monitor::hosted::RingRun r = monitor::hosted::run_rings(rt, cfg);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.failure, "");
    std::printf("%u nodes: %llu bindings, %llu refused, rings handed out again %llu times\n", cfg.nodes,
                static_cast<unsigned long long>(r.bindings), static_cast<unsigned long long>(r.refused),
                static_cast<unsigned long long>(r.reused));
    EXPECT_EQ(r.bindings + r.refused, std::uint64_t{cfg.nodes} * cfg.cycles);
    EXPECT_GT(r.bindings, std::uint64_t{cfg.nodes} * cfg.cycles / 2);
    EXPECT_GT(r.reused, r.bindings) << "rings were not reused: the pools never ran round";
}

} // namespace
