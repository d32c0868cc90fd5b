#pragma once
// Where the server instances of cores the membership removed start again (docs/monitors.md,
// "Membership and core failure"). The coordinator decides, once the removal is committed (every live
// monitor applied the view that drops the cores, so none of them still talks to an instance
// there); the chosen core's monitor starts the instance as a restart of it. Pure and
// freestanding: the guest monitor (monitor/supervise.cpp) and the simulation of membership and
// placement together (tests/unit/placement_sim_test.cpp) run this same code.
#include <cstdint>

namespace myr::monitor::placement {

inline constexpr std::uint32_t no_core = ~0u;

struct Topology {
    std::uint32_t cores = 0, nodes = 0;
    const std::uint16_t* core_node = nullptr;  // node of each core; null: one node
    const std::uint8_t* distance = nullptr;    // nodes x nodes (the SLIT); null: all equal
};

// The live core for an instance of removed core `from`: on the nearest node by distance (its own
// where a core is left there), holding the fewest instances (`load(c)`), the lowest number on a
// tie. no_core when no core is alive.
template <typename Alive, typename Load>
std::uint32_t new_home(const Topology& t, std::uint32_t from, Alive alive, Load load) {
    const auto node = [&](std::uint32_t c) -> std::uint32_t { return t.core_node ? t.core_node[c] : 0; };
    const bool have_distance = t.distance && t.core_node && from < t.cores && node(from) < t.nodes;
    std::uint32_t best = no_core;
    std::uint64_t best_load = ~0ull, best_dist = ~0ull;
    for (std::uint32_t c = 0; c < t.cores; ++c) {
        if (!alive(c)) continue;
        const std::uint64_t dist =
            have_distance && node(c) < t.nodes ? t.distance[std::uint64_t{node(from)} * t.nodes + node(c)] : 0;
        const std::uint64_t l = load(c);
        if (dist < best_dist || (dist == best_dist && l < best_load)) {
            best = c;
            best_load = l;
            best_dist = dist;
        }
    }
    return best;
}

// What move_lost decided for one instance (`index` of server `server`) that lived on `from`:
// `to` its new core, or no_core when it is lost (`never`: its server is not restarted; else no
// core was left).
struct Move {
    unsigned server = 0, index = 0;
    std::uint32_t from = 0, to = no_core;
    bool never = false;
};

// Every instance whose core is in `removed`: its new home (new_home, counting the instances
// placed so far, the moves of this call included) is written into the table before `out` hears
// of it, so the next instance's choice counts it, and a later removal of the new core moves it
// again. An instance of a server that is never restarted keeps its old core in the table.
// Table: servers(), count(s), restarts(s) (false: restart policy `never`), std::uint16_t& home(s, i).
template <typename Table, typename Removed, typename Alive, typename Out>
void move_lost(Table& table, const Topology& t, Removed removed, Alive alive, Out out) {
    const auto load = [&](std::uint32_t c) {
        std::uint64_t n = 0;
        for (unsigned s = 0; s < table.servers(); ++s)
            for (unsigned i = 0; i < table.count(s); ++i) n += table.home(s, i) == c;
        return n;
    };
    for (unsigned s = 0; s < table.servers(); ++s)
        for (unsigned i = 0; i < table.count(s); ++i) {
            const std::uint32_t from = table.home(s, i);
            if (!removed(from)) continue;
            Move m{s, i, from, no_core, !table.restarts(s)};
            if (!m.never) {
                m.to = new_home(t, from, alive, load);
                if (m.to != no_core) table.home(s, i) = static_cast<std::uint16_t>(m.to);
            }
            out(m);
        }
}

} // namespace myr::monitor::placement
