// Supervision (myr/monitor/supervisor.hpp, the monitor's own code) on real threads and the host's
// clock (monitor/hosted/.../supervise_run.hpp): four server instances under `always`, `3/1000` and
// `never` crash, fault, hang and exit for three seconds while a supervisor thread ends the hung
// ones and restarts the rest. No restart before its backoff, no instance ended as hung before a
// whole period without a beat, budgets and `never` kept, every hang ended.
#include <myr/monitor/hosted/supervise_run.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace {

using namespace myr;

TEST(SuperviseHosted, RulesHoldOnRealThreadsAndTime) {
    auto created = myr::hosted::Runtime::create();
    ASSERT_TRUE(created.ok());
    monitor::hosted::SuperviseRunConfig cfg;
    if (const char* v = std::getenv("MYRIAD_SUPERVISE_MS")) cfg.run_ms = std::strtoull(v, nullptr, 10);
    const monitor::hosted::SuperviseRun r = monitor::hosted::run_supervision(**created, cfg);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.failure, "");
    std::printf("starts %llu, crashes %llu (hangs ended %llu, of them still beating %llu), restarts %llu, down %llu, "
                "clean exits %llu\n",
                static_cast<unsigned long long>(r.starts), static_cast<unsigned long long>(r.crashes),
                static_cast<unsigned long long>(r.hung_kills), static_cast<unsigned long long>(r.killed_while_beating),
                static_cast<unsigned long long>(r.restarts), static_cast<unsigned long long>(r.downs),
                static_cast<unsigned long long>(r.clean_exits));
    // The run covered what it claims: restarts, hangs ended, instances gone down (`never` at its
    // first crash, the budget one once spent).
    EXPECT_GT(r.restarts, 10u);
    EXPECT_GT(r.hangs, 0u);
    EXPECT_GE(r.downs, 1u);
    EXPECT_EQ(r.hung_kills, r.hangs + r.killed_while_beating);
}

} // namespace
