// TLB shootdown for a span of cores (monitor/include/myr/monitor/shootdown.hpp): the plans' shapes
// and counts on fixed machines, then a deterministic simulation: random machines (1-8 nodes of
// 1-8 cores, random distances), shootdowns started by random members at once, lines carried in
// order per pair of members and delivered in an order a seed picks, forged and stale lines mixed
// in. Checked:
// - when an initiator's shootdown completes, the page is gone from every member's replica (no
//   member may still reach it), whatever the interleaving and whatever was forged;
// - every shootdown completes once all lines are delivered, each exactly once;
// - the lines it took are exactly what the plan says (requests, acknowledgements, by whom);
// - every forged or stale line was counted as malformed and changed nothing.
#include <myr/monitor/shootdown.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace myr;
using monitor::ShootLine;
using monitor::ShootMsg;
using monitor::ShootNode;
using monitor::ShootPlan;
using monitor::ShootProtocol;

namespace {

struct Machine {
    std::uint32_t nodes = 0;
    std::vector<std::uint8_t> distance;
    std::vector<std::uint16_t> member_node;
    monitor::ShootTopology topo() const { return {distance, nodes, member_node}; }
};

// sockets x cores, two levels of distance (like the 8s8c QEMU machine: 10 local, 20 remote).
Machine grid(std::uint32_t nodes, std::uint32_t per_node) {
    Machine m;
    m.nodes = nodes;
    for (std::uint32_t a = 0; a < nodes; ++a)
        for (std::uint32_t b = 0; b < nodes; ++b) m.distance.push_back(a == b ? 10 : static_cast<std::uint8_t>(20 + a + b));
    for (std::uint32_t n = 0; n < nodes; ++n)
        for (std::uint32_t c = 0; c < per_node; ++c) m.member_node.push_back(static_cast<std::uint16_t>(n));
    return m;
}

TEST(ShootdownPlan, ProtocolNamesRoundTrip) {
    for (ShootProtocol p : monitor::shoot_protocols) {
        const std::string name = monitor::shoot_protocol_name(p);
        ShootProtocol q{};
        ASSERT_TRUE(monitor::parse_shoot_protocol(name.data(), name.size(), q)) << name;
        EXPECT_EQ(q, p);
    }
    ShootProtocol q{};
    EXPECT_FALSE(monitor::parse_shoot_protocol("uni", 3, q));
    EXPECT_FALSE(monitor::parse_shoot_protocol("unicastx", 8, q));
    EXPECT_FALSE(monitor::parse_shoot_protocol("", 0, q));
}

TEST(ShootdownPlan, RefusesBadInput) {
    const Machine m = grid(2, 2);
    ShootPlan p;
    EXPECT_EQ(p.build(ShootProtocol::unicast, m.topo(), 4), Status::invalid_argument);
    EXPECT_EQ(p.build(ShootProtocol::unicast, monitor::ShootTopology{}, 0), Status::invalid_argument);
    Machine bad = m;
    bad.member_node[3] = 7;  // a node that does not exist
    EXPECT_EQ(p.build(ShootProtocol::numa_multicast, bad.topo(), 0), Status::invalid_argument);
    const Machine big = grid(1, 257);
    EXPECT_EQ(p.build(ShootProtocol::unicast, big.topo(), 0), Status::invalid_argument);
}

// 8 sockets x 8 cores, initiator 0: the shapes and counts the benchmark reports.
TEST(ShootdownPlan, CountsOn8x8) {
    const Machine m = grid(8, 8);
    ShootPlan p;
    ASSERT_EQ(p.build(ShootProtocol::unicast, m.topo(), 0), Status::ok);
    EXPECT_EQ(p.request_lines(), 63u);
    EXPECT_EQ(p.ack_lines(), 63u);
    EXPECT_EQ(p.critical_path_hops(), 2u);
    EXPECT_EQ(p.initiator_lines(), 126u);
    EXPECT_EQ(p.cross_node_lines(m.member_node), 2u * 56);

    ASSERT_EQ(p.build(ShootProtocol::broadcast, m.topo(), 0), Status::ok);
    EXPECT_EQ(p.request_lines(), 1u);
    EXPECT_EQ(p.initiator_lines(), 64u);
    EXPECT_EQ(p.critical_path_hops(), 2u);

    for (ShootProtocol proto : {ShootProtocol::multicast, ShootProtocol::numa_multicast}) {
        ASSERT_EQ(p.build(proto, m.topo(), 0), Status::ok);
        EXPECT_EQ(p.request_lines(), 63u);
        EXPECT_EQ(p.critical_path_hops(), 4u);
        EXPECT_EQ(p.initiator_lines(), 2u * (7 + 7));        // 7 node leaders + 7 local cores
        EXPECT_EQ(p.cross_node_lines(m.member_node), 2u * 7);  // one line each way per remote node
        EXPECT_EQ(p.acks_expected(8), 7u);                     // node 1's leader gathers its node
    }
    // The order the initiator sends to the remote node leaders: node order, or farthest first.
    // Distances from node 0 are 20 + b, so node 7 is the farthest.
    ASSERT_EQ(p.build(ShootProtocol::multicast, m.topo(), 0), Status::ok);
    EXPECT_EQ(p.request_to(0)[0], 8u);
    ASSERT_EQ(p.build(ShootProtocol::numa_multicast, m.topo(), 0), Status::ok);
    EXPECT_EQ(p.request_to(0)[0], 56u);
    EXPECT_EQ(p.request_to(0)[6], 8u);
}

TEST(ShootdownPlan, OneMemberNeedsNoLines) {
    const Machine m = grid(1, 1);
    ShootPlan p;
    ASSERT_EQ(p.build(ShootProtocol::numa_multicast, m.topo(), 0), Status::ok);
    EXPECT_EQ(p.request_lines() + p.ack_lines() + p.initiator_lines() + p.critical_path_hops(), 0u);
}

// ---- the simulation ----

struct Line {
    std::uint16_t from;
    ShootMsg msg;
    bool forged;
};

struct Sim {
    std::uint32_t n;
    ShootProtocol proto;
    Machine machine;
    std::vector<ShootPlan> plans;                     // one per initiator
    std::vector<ShootNode> nodes;
    std::vector<std::set<std::uint64_t>> mapped;      // each member's replica: pages it can reach
    std::map<std::pair<std::uint16_t, std::uint16_t>, std::deque<Line>> chan;  // (from, to), in order
    std::string failure;
    // per (initiator, seq): lines sent, and whether done fired
    struct Run {
        std::uint64_t vaddr = 0;
        std::uint32_t requests = 0, acks = 0, initiator_lines = 0;
        bool done = false;
    };
    std::map<std::pair<std::uint16_t, std::uint32_t>, Run> runs;
    std::uint32_t forged_sent = 0;
    std::uint64_t completed = 0;

    struct Env {
        Sim& sim;
        std::uint16_t me;
        void unmap_local(std::uint64_t vaddr) { sim.mapped[me].erase(vaddr); }
        void send(std::uint16_t to, const ShootMsg& m) {
            if (to >= sim.n || to == me) return sim.fail("a line to nowhere");
            Run& r = sim.runs[{m.initiator, m.seq}];
            (m.type == ShootLine::request ? r.requests : r.acks)++;
            if (me == m.initiator) ++r.initiator_lines;
            sim.chan[{me, to}].push_back({me, m, false});
        }
        void post(const ShootMsg& m) {
            if (sim.proto != ShootProtocol::broadcast) return sim.fail("a shared line outside broadcast");
            Run& r = sim.runs[{m.initiator, m.seq}];
            ++r.requests;
            ++r.initiator_lines;
            // Every other member reads the one line: in order with the initiator's other lines to it.
            for (std::uint16_t to = 0; to < sim.n; ++to)
                if (to != me) sim.chan[{me, to}].push_back({me, m, false});
        }
        void done(std::uint32_t seq, std::uint64_t vaddr, std::uint32_t lines) {
            Run& r = sim.runs[{me, seq}];
            if (r.done) return sim.fail("a shootdown completed twice");
            if (r.vaddr != vaddr) return sim.fail("completed with another page");
            const ShootPlan& plan = sim.plans[me];
            if (lines != plan.request_lines() + plan.ack_lines())
                return sim.fail("the initiator counted " + std::to_string(lines) + " lines, the plan says " +
                                std::to_string(plan.request_lines() + plan.ack_lines()));
            r.done = true;
            ++sim.completed;
            for (std::uint32_t x = 0; x < sim.n; ++x)
                if (sim.mapped[x].count(vaddr))
                    return sim.fail("member " + std::to_string(x) + " still reaches page " + std::to_string(vaddr) +
                                    " when member " + std::to_string(me) + "'s unmap returns");
        }
    };

    std::deque<Line>& q(std::uint16_t from, std::uint16_t to) { return chan[{from, to}]; }

    void fail(const std::string& why) {
        if (failure.empty()) failure = why;
    }

    Sim(ShootProtocol p, Machine m) : n(static_cast<std::uint32_t>(m.member_node.size())), proto(p), machine(std::move(m)) {
        plans.resize(n);
        for (std::uint32_t i = 0; i < n; ++i) EXPECT_EQ(plans[i].build(p, machine.topo(), i), Status::ok);
        for (std::uint32_t i = 0; i < n; ++i) nodes.emplace_back(static_cast<std::uint16_t>(i));
        mapped.resize(n);
    }

    // Starts a shootdown of a fresh page mapped in every member.
    Status start(std::uint16_t who, std::uint64_t vaddr) {
        for (auto& s : mapped) s.insert(vaddr);
        Env env{*this, who};
        if (nodes[who].busy()) return nodes[who].start(plans[who], vaddr, env);  // must say busy
        // Record the page before any line can complete it.
        std::uint32_t next = 1;
        for (auto& [k, r] : runs)
            if (k.first == who) next = std::max(next, k.second + 1);
        runs[{who, next}].vaddr = vaddr;
        return nodes[who].start(plans[who], vaddr, env);
    }

    bool deliver_one(std::mt19937& rng) {
        std::vector<std::pair<std::uint16_t, std::uint16_t>> ready;
        for (auto& [k, q] : chan)
            if (!q.empty()) ready.push_back(k);
        if (ready.empty()) return false;
        auto k = ready[rng() % ready.size()];
        Line l = chan[k].front();
        chan[k].pop_front();
        Env env{*this, k.second};
        const std::uint64_t bad = nodes[k.second].malformed();
        nodes[k.second].receive(plans[l.msg.initiator % n], l.from, l.msg, env);
        if (l.forged && nodes[k.second].malformed() != bad + 1) fail("a forged line was not refused");
        if (!l.forged && nodes[k.second].malformed() != bad) fail("a true line was refused");
        return true;
    }

    // A line no honest member would send, on a real channel (so `from` is true).
    void forge(std::mt19937& rng) {
        const auto from = static_cast<std::uint16_t>(rng() % n);
        auto to = static_cast<std::uint16_t>(rng() % n);
        if (to == from) to = static_cast<std::uint16_t>((to + 1) % n);
        if (to == from) return;
        ShootMsg m{};
        m.initiator = static_cast<std::uint16_t>(rng() % n);
        m.vaddr = 0xdead000;
        const ShootPlan& plan = plans[m.initiator];
        switch (rng() % 4) {
            case 0:  // an acknowledgement from a member that is not a child of `to`
                m.type = ShootLine::ack;
                if (plan.parent(from) == to) return;
                m.seq = static_cast<std::uint32_t>(rng() % 4);
                break;
            case 1:  // an acknowledgement for a request that never was (seq far ahead)
                m.type = ShootLine::ack;
                m.seq = 1000000 + static_cast<std::uint32_t>(rng() % 10);
                break;
            case 2:  // a request from a member the plan does not name as `to`'s sender
                m.type = ShootLine::request;
                if (plan.parent(to) == from) return;
                m.seq = 1000000;
                break;
            default:  // a request that is not newer than what `to` saw (a replay): seq 0
                m.type = ShootLine::request;
                m.seq = 0;
                break;
        }
        ++forged_sent;
        chan[{from, to}].push_back({from, m, true});
    }
};

Machine random_machine(std::mt19937& rng) {
    const auto nodes = static_cast<std::uint32_t>(1 + rng() % 8);
    const auto per = static_cast<std::uint32_t>(1 + rng() % 8);
    Machine m;
    m.nodes = nodes;
    m.distance.assign(std::size_t{nodes} * nodes, 10);
    for (std::uint32_t a = 0; a < nodes; ++a)
        for (std::uint32_t b = a + 1; b < nodes; ++b)
            m.distance[a * nodes + b] = m.distance[b * nodes + a] = static_cast<std::uint8_t>(12 + rng() % 30);
    for (std::uint32_t n = 0; n < nodes; ++n)
        for (std::uint32_t c = 0; c < per; ++c) m.member_node.push_back(static_cast<std::uint16_t>(n));
    // Members need not be grouped by node: shuffle who sits where.
    std::shuffle(m.member_node.begin(), m.member_node.end(), rng);
    return m;
}

TEST(ShootdownSim, RandomInterleavingsNeverLeaveAPageReachable) {
    std::uint64_t total_completed = 0, total_forged = 0;
    for (std::uint32_t seed = 1; seed <= 200; ++seed) {
        std::mt19937 rng(seed);
        const ShootProtocol proto = monitor::shoot_protocols[seed % monitor::shoot_protocol_count];
        Sim sim(proto, random_machine(rng));
        std::uint64_t next_page = 0x1000;
        std::uint32_t started = 0, refused_busy = 0;
        for (int step = 0; step < 3000 && sim.failure.empty(); ++step) {
            const auto roll = static_cast<std::uint32_t>(rng() % 100);
            if (roll < 6) {
                const auto who = static_cast<std::uint16_t>(rng() % sim.n);
                const bool was_busy = sim.nodes[who].busy();
                const Status st = sim.start(who, next_page);
                next_page += 0x1000;
                if (was_busy) {
                    if (st != Status::busy) sim.fail("a second shootdown started while one ran");
                    ++refused_busy;
                } else if (st != Status::ok) {
                    sim.fail("start refused");
                } else {
                    ++started;
                }
            } else if (roll < 9) {
                sim.forge(rng);
            } else {
                sim.deliver_one(rng);
            }
        }
        while (sim.failure.empty() && sim.deliver_one(rng)) {
        }
        ASSERT_EQ(sim.failure, "") << "seed " << seed << " protocol " << monitor::shoot_protocol_name(proto) << " n=" << sim.n;
        // Every shootdown completed, with exactly the plan's lines.
        for (auto& [k, r] : sim.runs) {
            const ShootPlan& plan = sim.plans[k.first];
            ASSERT_TRUE(r.done) << "seed " << seed << ": initiator " << k.first << " seq " << k.second << " never completed";
            EXPECT_EQ(r.requests, plan.request_lines()) << "seed " << seed;
            EXPECT_EQ(r.acks, plan.ack_lines()) << "seed " << seed;
            const std::uint32_t own_acks_read = plan.acks_expected(k.first);
            EXPECT_EQ(r.initiator_lines + own_acks_read, plan.initiator_lines()) << "seed " << seed;
        }
        EXPECT_EQ(sim.completed, started) << "seed " << seed;
        std::uint64_t malformed = 0;
        for (auto& node : sim.nodes) malformed += node.malformed();
        EXPECT_EQ(malformed, sim.forged_sent) << "seed " << seed;
        EXPECT_GT(started, 0u);
        (void)refused_busy;
        total_completed += sim.completed;
        total_forged += sim.forged_sent;
    }
    std::printf("200 seeds: %llu shootdowns completed, %llu forged lines refused\n",
                static_cast<unsigned long long>(total_completed), static_cast<unsigned long long>(total_forged));
    EXPECT_GT(total_forged, 1000u);
}

// A member that acknowledges before its subtree did would let the unmap return while a core
// still reaches the page. This is the property the simulation checks; here it is shown directly:
// a node leader's acknowledgement arrives at the initiator only after its node's acknowledgements.
TEST(ShootdownSim, LeaderWaitsForItsNode) {
    const Machine m = grid(2, 3);
    Sim sim(ShootProtocol::numa_multicast, m);
    ASSERT_EQ(sim.start(0, 0x5000), Status::ok);
    // Deliver only lines to and from member 3 (node 1's leader): it forwards, but cannot ack.
    auto& q = sim.q(0, 3);
    ASSERT_EQ(q.size(), 1u);
    Sim::Env env{sim, 3};
    sim.nodes[3].receive(sim.plans[0], 0, q.front().msg, env);
    q.pop_front();
    EXPECT_FALSE(sim.mapped[3].count(0x5000));
    EXPECT_TRUE(sim.q(3, 0).empty()) << "the leader acknowledged before members 4 and 5 did";
    EXPECT_EQ(sim.q(3, 4).size(), 1u);
    EXPECT_EQ(sim.q(3, 5).size(), 1u);
    std::mt19937 rng(1);
    while (sim.deliver_one(rng)) {
    }
    EXPECT_EQ(sim.failure, "");
    EXPECT_EQ(sim.completed, 1u);
}

// A child's acknowledgement counted twice would finish the shootdown while another member still
// reaches the page.
TEST(ShootdownSim, DuplicateAckDoesNotCount) {
    const Machine m = grid(1, 3);
    Sim sim(ShootProtocol::unicast, m);
    ASSERT_EQ(sim.start(0, 0x7000), Status::ok);
    Sim::Env env1{sim, 1};
    sim.nodes[1].receive(sim.plans[0], 0, sim.q(0, 1).front().msg, env1);
    sim.q(0, 1).pop_front();
    ASSERT_EQ(sim.q(1, 0).size(), 1u);
    const ShootMsg ack = sim.q(1, 0).front().msg;
    Sim::Env env0{sim, 0};
    sim.nodes[0].receive(sim.plans[0], 1, ack, env0);
    sim.nodes[0].receive(sim.plans[0], 1, ack, env0);  // again, before member 2 answered
    EXPECT_EQ(sim.nodes[0].malformed(), 1u);
    EXPECT_EQ(sim.completed, 0u);
    EXPECT_TRUE(sim.nodes[0].busy());
    sim.q(1, 0).clear();
    std::mt19937 rng(3);
    while (sim.deliver_one(rng)) {
    }
    EXPECT_EQ(sim.failure, "");
    EXPECT_EQ(sim.completed, 1u);
    EXPECT_FALSE(sim.nodes[0].busy());
}

TEST(ShootdownSim, InitiatorMustOwnThePlan) {
    const Machine m = grid(1, 3);
    Sim sim(ShootProtocol::unicast, m);
    Sim::Env env{sim, 1};
    EXPECT_EQ(sim.nodes[1].start(sim.plans[0], 0x1000, env), Status::invalid_argument);
    // A line claiming another initiator than the plan it is read with.
    ShootMsg wrong{ShootLine::request, 2, 1, 0x1000};
    sim.nodes[1].receive(sim.plans[0], 0, wrong, env);
    EXPECT_EQ(sim.nodes[1].malformed(), 1u);
    // A line claiming to come from the member itself, or from a member out of range.
    ShootMsg self{ShootLine::request, 0, 1, 0x1000};
    sim.nodes[1].receive(sim.plans[0], 1, self, env);
    sim.nodes[1].receive(sim.plans[0], 9, self, env);
    EXPECT_EQ(sim.nodes[1].malformed(), 3u);
    EXPECT_EQ(sim.chan.size(), 0u);
}

} // namespace
