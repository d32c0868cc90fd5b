#pragma once
// The simulated machine the protocol simulations share (membership_sim.hpp, election_sim_test.cpp):
// `nodes` x `per_node` cores with a SLIT-like distance table, one FIFO lossless channel per ordered
// pair of cores with random delays, crashes of chosen cores at chosen steps (each delivery and each
// timer pass is a step), and one core whose lines, both ways, are late beyond the timeouts for a
// while (a stall). `Msg` is the protocol's line.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace myr::sim {

template <class Msg>
struct Network {
    struct Wire {
        std::uint32_t from, to;
        std::uint64_t due;
        Msg msg;
    };

    std::uint32_t nodes, per_node, cores;
    std::vector<std::uint8_t> distance;
    std::vector<std::uint16_t> core_node;
    std::vector<bool> crashed;
    std::vector<std::uint64_t> crashed_at;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::deque<Wire>> channels;
    std::mt19937_64 rng;
    std::uint64_t now = 0, steps = 0, max_delay;
    std::uint64_t crash_step = ~0ull;
    std::vector<std::uint32_t> crash_victims;  // crashed in turn at crash_step, crash_step + gap...
    std::uint64_t crash_gap = 0;
    std::uint32_t slow = ~0u;  // a core whose lines are delayed beyond the timeouts
    std::uint64_t slow_from = 0, slow_until = 0;

    Network(std::uint32_t n_nodes, std::uint32_t n_per_node, std::uint64_t seed, std::uint64_t delay)
        : nodes(n_nodes), per_node(n_per_node), cores(n_nodes * n_per_node), rng(seed), max_delay(delay) {
        for (std::uint32_t a = 0; a < nodes; ++a)
            for (std::uint32_t b = 0; b < nodes; ++b) distance.push_back(a == b ? 10 : static_cast<std::uint8_t>(20 + (a + b) % 3));
        for (std::uint32_t c = 0; c < cores; ++c) core_node.push_back(static_cast<std::uint16_t>(c / per_node));
        crashed.assign(cores, false);
        crashed_at.assign(cores, 0);
    }

    void send(std::uint32_t from, std::uint32_t to, const Msg& m) {
        auto& q = channels[{from, to}];
        std::uint64_t delay = 1 + rng() % max_delay;
        if ((from == slow || to == slow) && now >= slow_from && now < slow_until) delay += slow_until - now;
        const std::uint64_t due = std::max(now + delay, q.empty() ? 0 : q.back().due);  // FIFO
        q.push_back(Wire{from, to, due, m});
    }

    void step_event() {
        ++steps;
        if (steps < crash_step) return;
        for (std::size_t i = 0; i < crash_victims.size(); ++i)
            if (steps == crash_step + i * crash_gap && !crashed[crash_victims[i]]) {
                crashed[crash_victims[i]] = true;
                crashed_at[crash_victims[i]] = now;
            }
    }

    // One tick: every line due is delivered (channels in random order, each in FIFO order) to a
    // live receiver, `line(wire)`; then every live core's timer runs in random order, `timer(core)`.
    template <class Line, class Timer>
    void tick(Line line, Timer timer) {
        std::vector<std::pair<std::uint32_t, std::uint32_t>> keys;
        for (auto& [k, q] : channels)
            if (!q.empty() && q.front().due <= now) keys.push_back(k);
        std::shuffle(keys.begin(), keys.end(), rng);
        for (const auto& k : keys) {
            auto& q = channels[k];
            while (!q.empty() && q.front().due <= now) {
                const Wire w = q.front();
                q.pop_front();
                step_event();
                if (!crashed[w.to]) line(w);  // a stopped core reads nothing
            }
        }
        std::vector<std::uint32_t> order(cores);
        for (std::uint32_t c = 0; c < cores; ++c) order[c] = c;
        std::shuffle(order.begin(), order.end(), rng);
        for (std::uint32_t c : order) {
            step_event();
            if (!crashed[c]) timer(c);
        }
        ++now;
    }
};

} // namespace myr::sim
