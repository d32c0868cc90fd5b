#pragma once
// The membership protocol's simulation harness (monitor/include/myr/monitor/membership.hpp),
// shared by membership_sim_test.cpp and placement_sim_test.cpp: N members on a multi-node
// topology, FIFO lossless channels with random delays, crashes injected at chosen steps (each
// delivery and each timer pass is a step), and the agreement checks.
#include "sim_network.hpp"

#include <myr/monitor/membership.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace myr::monitor::membership {

struct Sim : sim::Network<Msg> {
    std::vector<Member> members;
    // Per member: epoch -> view installed (agreement check).
    std::vector<std::map<std::uint64_t, CoreSet>> history;
    // Called after each step a live member took (a line delivered to it, its timer): what a
    // monitor does with the member's state then (placement_sim_test: the coordinator's commits).
    std::function<void(std::uint32_t core)> after_step;

    Sim(std::uint32_t n_nodes, std::uint32_t n_per_node, std::uint64_t seed, std::uint64_t delay = 3)
        : sim::Network<Msg>(n_nodes, n_per_node, seed, delay) {
        members.resize(cores);
        history.resize(cores);
        const Topology t{distance, nodes, core_node};
        for (std::uint32_t c = 0; c < cores; ++c) {
            EXPECT_EQ(members[c].init(c, t, Params{10, 4, 100}, 0), Status::ok);
            history[c][1] = members[c].view();
        }
    }

    struct Out {
        Sim* sim;
        std::uint32_t from;
        void send(std::uint32_t to, const Msg& m) { sim->Network::send(from, to, m); }
    };

    void record(std::uint32_t c) {
        auto [it, fresh] = history[c].try_emplace(members[c].epoch(), members[c].view());
        if (!fresh) {
            EXPECT_EQ(it->second, members[c].view()) << "core " << c << " changed the view of one epoch";
        }
    }

    // One tick: every message due is delivered (channels in random order, each in FIFO order),
    // then every live member's timer runs, in random order.
    void tick() {
        Network::tick(
            [&](const Wire& w) {
                const std::uint64_t before = members[w.to].epoch();
                Out out{this, w.to};
                const Status st = members[w.to].on(w.from, w.msg, now, out);
                EXPECT_GE(members[w.to].epoch(), before);
                record(w.to);
                if (w.msg.kind == Kind::commit && st == Status::ok) expect_installed_everywhere(w.msg.epoch, w.to);
                if (after_step) after_step(w.to);
            },
            [&](std::uint32_t c) {
                Out out{this, c};
                members[c].tick(now, out);
                record(c);
                if (after_step) after_step(c);
            });
    }

    void run(std::uint64_t ticks) {
        for (std::uint64_t i = 0; i < ticks; ++i) tick();
    }

    // A commit of view `epoch` reached `at`: every core of that view still running installed it
    // (what lets a monitor give out a removed core's memory then).
    void expect_installed_everywhere(std::uint64_t epoch, std::uint32_t at) {
        const auto v = history[coordinator].find(epoch);
        ASSERT_NE(v, history[coordinator].end());
        for (std::uint32_t c = 0; c < cores; ++c)
            if (v->second.has(c) && !crashed[c]) {
                EXPECT_GE(members[c].epoch(), epoch) << "core " << at << " heard the commit of epoch " << epoch
                                                     << " before core " << c << " installed it";
            }
    }

    CoreSet survivors() const {
        CoreSet s;
        for (std::uint32_t c = 0; c < cores; ++c)
            if (!crashed[c] && !members[c].excluded()) s.add(c);
        return s;
    }

    // Every live member in one view, the coordinator's, committed; that view = the cores alive.
    // Without a slow core (delays within the bounds) no live core may have been removed.
    void expect_converged(const std::string& what) {
        const Member& co = members[coordinator];
        if (slow == ~0u) {
            for (std::uint32_t c = 0; c < cores; ++c) {
                EXPECT_FALSE(members[c].excluded()) << what << ": live core " << c << " removed";
            }
        }
        EXPECT_EQ(co.view(), survivors()) << what;
        EXPECT_EQ(co.committed(), co.epoch()) << what;
        for (std::uint32_t c = 0; c < cores; ++c) {
            if (crashed[c]) continue;
            if (members[c].excluded()) {
                EXPECT_FALSE(co.view().has(c)) << what << ": core " << c << " halted but is in the view";
                continue;
            }
            EXPECT_EQ(members[c].epoch(), co.epoch()) << what << ": core " << c;
            EXPECT_EQ(members[c].view(), co.view()) << what << ": core " << c;
            EXPECT_EQ(members[c].committed(), co.epoch()) << what << ": core " << c << " never heard the commit";
        }
        // Agreement: for each epoch, every member that installed it installed the same view.
        std::map<std::uint64_t, CoreSet> agreed;
        for (std::uint32_t c = 0; c < cores; ++c)
            for (const auto& [e, v] : history[c]) {
                auto [it, fresh] = agreed.try_emplace(e, v);
                if (!fresh) {
                    EXPECT_EQ(it->second, v) << what << ": epoch " << e << " at core " << c;
                }
            }
    }
};

} // namespace myr::monitor::membership
