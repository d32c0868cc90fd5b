// Binding on real threads (monitor/hosted/.../ring_run.hpp): the monitors' binding protocol
// (myr/monitor/binder.hpp, the code the guest monitor runs) on four to eight nodes spread over the
// host's cores, two client domains per node binding to the servers of random nodes (their own
// too) by name and by address, over and over, with pools of six rings, so every ring is handed out
// again many times; clients cancel and die at random steps, and ask again when refused. No ring
// may be handed to a new binding while a domain anywhere still holds it, and at the end every pool
// is whole and every monitor's tables and cnode are empty.
#include <myr/monitor/hosted/ring_run.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace myr;

TEST(RingHosted, BindingsOnThreadsLeaveNothingBehind) {
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
    std::printf("%u nodes: %llu bindings (%llu on one node, %llu by address), %llu refused, %llu cancelled, "
                "%llu clients died, %llu rings not taken at once, rings handed out again %llu times\n",
                cfg.nodes, static_cast<unsigned long long>(r.bindings), static_cast<unsigned long long>(r.local),
                static_cast<unsigned long long>(r.by_address), static_cast<unsigned long long>(r.refused),
                static_cast<unsigned long long>(r.cancelled), static_cast<unsigned long long>(r.died),
                static_cast<unsigned long long>(r.caps_refused), static_cast<unsigned long long>(r.reused));
    // Every bind a client asked for ended one way: carried its messages, cancelled, or its client
    // died (a refused bind is asked again, and one refused for a minute without a break fails the
    // run). Which binds cancel or die is drawn when they are asked, so the split does not depend
    // on how the host schedules the threads (drawn per step, a descheduled peer made most binds
    // of a run cancel or be refused, and a ratio check here failed about once in 150 runs).
    EXPECT_EQ(r.asked(), std::uint64_t{cfg.nodes} * monitor::hosted::ring_run_detail::clients_per_node * cfg.cycles);
    // Each path of the protocol was taken, so the checks above saw it.
    EXPECT_GT(r.local, 0u);
    EXPECT_GT(r.by_address, 0u);
    EXPECT_GT(r.cancelled, 0u);
    EXPECT_GT(r.died, 0u);
    EXPECT_GT(r.caps_refused, 0u);
    EXPECT_GT(r.reused, r.bindings) << "rings were not reused: the pools never ran round";
}

} // namespace
