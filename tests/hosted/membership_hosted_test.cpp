// The monitors' core-membership protocol (myr/monitor/membership.hpp) on Linux threads through
// the hosted runtime: threads stop dead at set times (a leaf, then the representative of its
// node), and the others must end in one committed view without them. Then its elected-coordinator
// form (myr/monitor/election.hpp) with the coordinator among the threads that stop. Safety (one view per epoch,
// a removed core halts, survivors agree) must hold however the host schedules the threads; no
// live core removed is asserted only when every thread has a core of its own.
#include <myr/monitor/hosted/membership_cluster.hpp>

#include <gtest/gtest.h>

#include <cstdio>

namespace myr::monitor::hosted {
namespace {

void expect_agreement(const MembershipResult& r, const char* what) {
    const mb::CoreSet& view = r.views[r.coordinator];
    EXPECT_EQ(r.committed, r.epochs[r.coordinator]) << what << ": the last view was not committed";
    for (std::uint32_t c = 0; c < r.views.size(); ++c) {
        if (r.crashed[c] || r.excluded[c]) {
            EXPECT_FALSE(view.has(c)) << what << ": core " << c << " stopped but is in the view";
            continue;
        }
        EXPECT_TRUE(view.has(c)) << what << ": live core " << c << " is not in the view";
        EXPECT_EQ(r.views[c], view) << what << ": core " << c;
        EXPECT_EQ(r.epochs[c], r.epochs[r.coordinator]) << what << ": core " << c;
    }
}

std::unique_ptr<myr::hosted::Runtime> runtime() {
    auto rt = myr::hosted::Runtime::create();
    return rt.ok() ? std::move(rt).value() : nullptr;
}

TEST(MembershipHosted, ALeafThenItsNodesRepresentativeStop) {
    auto rt = runtime();
    MembershipRun run;
    run.cores = 8;  // nodes {0-3}, {4-7} when not pinned: core 4 relays beats to 5, 6, 7
    run.crashes = {{6, 150}, {4, 400}};
    run.run_ms = 5000;
    const Result<MembershipResult> r = MembershipCluster::run(rt.get(), run);
    ASSERT_TRUE(r.ok()) << to_string(r.status());
    const MembershipResult& m = r.value();
    // Each planned stop happened, or (threads sharing cores) the core was removed as silent and
    // halted before its time came, which the protocol allows then (below).
    for (const std::uint32_t c : {6u, 4u})
        EXPECT_TRUE(m.crashed[c] || (!m.pinned && m.excluded[c])) << "core " << c << " neither stopped nor removed";
    ASSERT_EQ(m.detect_ms.size(), 2u);
    EXPECT_GT(m.detect_ms[0], 0u) << "core 6 never removed";
    EXPECT_GT(m.detect_ms[1], 0u) << "core 4 never removed";
    expect_agreement(m, "two stops");
    std::uint32_t extra = 0;
    for (std::uint32_t c = 0; c < run.cores; ++c) extra += m.excluded[c] ? 1u : 0u;
    std::printf("membership-hosted cores=%u pinned=%s detect_ms=%llu,%llu beat_ms=%llu epoch=%llu removed_alive=%u lines=%llu\n",
                run.cores, m.pinned ? "yes" : "no", static_cast<unsigned long long>(m.detect_ms[0]),
                static_cast<unsigned long long>(m.detect_ms[1]), static_cast<unsigned long long>(run.params.beat_ticks),
                static_cast<unsigned long long>(m.epochs[0]), extra, static_cast<unsigned long long>(m.lines));
    if (m.pinned) {
        EXPECT_EQ(extra, 0u) << "a live core was removed although every thread had a core";
    }
}

TEST(MembershipHosted, NoStopNoChange) {
    auto rt = runtime();
    MembershipRun run;
    run.cores = 4;
    run.run_ms = 400;
    const Result<MembershipResult> r = MembershipCluster::run(rt.get(), run);
    ASSERT_TRUE(r.ok()) << to_string(r.status());
    const MembershipResult& m = r.value();
    expect_agreement(m, "no stop");
    EXPECT_GT(m.beats, 10u);
    if (m.pinned) {
        EXPECT_EQ(m.epochs[0], 1u);
    }
}

// The coordinator (core 0) stops, then a leaf: the others elect a coordinator, which removes
// core 0 and then the leaf.
TEST(ElectionHosted, TheCoordinatorThenALeafStop) {
    auto rt = runtime();
    ElectionRun run;
    run.cores = 8;
    run.crashes = {{0, 150}, {6, 1500}};
    run.run_ms = 8000;
    const Result<MembershipResult> r = ElectionCluster::run(rt.get(), run);
    ASSERT_TRUE(r.ok()) << to_string(r.status());
    const MembershipResult& m = r.value();
    for (const std::uint32_t c : {0u, 6u})
        EXPECT_TRUE(m.crashed[c] || (!m.pinned && m.excluded[c])) << "core " << c << " neither stopped nor removed";
    ASSERT_EQ(m.detect_ms.size(), 2u);
    EXPECT_GT(m.detect_ms[0], 0u) << "core 0 never removed";
    EXPECT_GT(m.detect_ms[1], 0u) << "core 6 never removed";
    EXPECT_NE(m.coordinator, 0u) << "no coordinator was elected";
    EXPECT_GT(m.elections, 0u);
    expect_agreement(m, "coordinator, then a leaf");
    std::uint32_t extra = 0;
    for (std::uint32_t c = 0; c < run.cores; ++c) extra += m.excluded[c] ? 1u : 0u;
    std::printf("election-hosted cores=%u pinned=%s coordinator=%u detect_ms=%llu,%llu elections=%llu removed_alive=%u lines=%llu\n",
                run.cores, m.pinned ? "yes" : "no", m.coordinator, static_cast<unsigned long long>(m.detect_ms[0]),
                static_cast<unsigned long long>(m.detect_ms[1]), static_cast<unsigned long long>(m.elections), extra,
                static_cast<unsigned long long>(m.lines));
    if (m.pinned) {
        EXPECT_EQ(extra, 0u) << "a live core was removed although every thread had a core";
    }
}

} // namespace
} // namespace myr::monitor::hosted
