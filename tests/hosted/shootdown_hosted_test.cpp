// The TLB shootdown protocol (myr/monitor/shootdown.hpp) on real threads, every protocol, as many
// members as this machine has cores (at least 2): each unmap returns only when no member's replica
// still holds the page, every line a ShootNode receives is accepted, and each unmap takes exactly
// the lines its plan says. Under TSan (label tsan) it also checks that the protocol's hand-offs
// order the replicas' stores before the initiator's check.
#include <myr/monitor/hosted/shootdown_run.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

namespace {

using namespace myr;
using monitor::ShootPlan;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST(ShootdownHosted, EveryProtocolLeavesNoReplicaHoldingThePage) {
    auto created = myr::hosted::Runtime::create();
    ASSERT_TRUE(created.ok());
    myr::hosted::Runtime& rt = **created;
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(rt.cores().size(), 8));
    if (n < 2) GTEST_SKIP() << "needs two cores";
    // Members' nodes as the runtime sees them, and a synthetic split in two halves when the host
    // has one node, so the trees have a remote node to forward through.
    std::map<std::uint32_t, std::uint16_t> dense;
    std::vector<std::uint16_t> member_node;
    for (std::uint32_t c = 0; c < n; ++c)
        member_node.push_back(dense.try_emplace(rt.cores()[c].node, static_cast<std::uint16_t>(dense.size())).first->second);
    std::uint32_t nodes = static_cast<std::uint32_t>(dense.size());
    if (nodes == 1 && n >= 4) {
        for (std::uint32_t c = 0; c < n; ++c) member_node[c] = static_cast<std::uint16_t>(c * 2 / n);
        nodes = 2;
    }
    std::vector<std::uint8_t> distance(std::size_t{nodes} * nodes, 20);
    for (std::uint32_t a = 0; a < nodes; ++a) distance[a * nodes + a] = 10;
    const std::uint64_t rounds = env_or("MYRIAD_SHOOT_ROUNDS", 2000);
    for (monitor::ShootProtocol p : monitor::shoot_protocols) {
        ShootPlan plan;
        ASSERT_EQ(plan.build(p, monitor::ShootTopology{distance, nodes, member_node}, 0), Status::ok);
        std::vector<std::uint32_t> cycles;
        const monitor::hosted::ShootRun r = monitor::hosted::run_shootdowns(rt, plan, 0, rounds, cycles);
        const std::string name = monitor::shoot_protocol_name(p);
        ASSERT_TRUE(r.ok) << name;
        EXPECT_EQ(r.completed, rounds) << name;
        EXPECT_EQ(r.reachable, 0u) << name;
        EXPECT_EQ(r.malformed, 0u) << name;
        EXPECT_EQ(r.miscounted, 0u) << name;
        EXPECT_EQ(cycles.size(), rounds) << name;
    }
}

} // namespace
