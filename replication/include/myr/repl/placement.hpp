#pragma once
// Where the replicas of a message-protocol object live: one per core (every core a replica,
// the group is the machine), or one per NUMA node (the node's lowest core, or a chosen one, is
// the replica; every other core of the node is a client that forwards its operations to it,
// endpoint.hpp). The protocol's Group then contains only the replica cores: a replica's
// position in the group is its *rank* (0..replicas-1, in core order), and the group's
// multicast trees are built over the ranks with each rank's NUMA node, so agreement lines cross
// each node once instead of reaching every core.
//
// Freestanding: fixed arrays, no heap.
#include <myr/repl/group.hpp>

#include <cstdint>
#include <span>

namespace myr::repl {

enum class Replicas : std::uint8_t { per_core, per_node };
inline constexpr std::uint16_t no_rank = 0xffff;

class Placement {
public:
    // `core_node`: node of each core (empty: one node). `chosen[node]`: the replica core of that
    // node, or no_rank for its lowest core (empty: lowest everywhere); a chosen core must be on
    // its node. Nodes without cores get no replica. invalid_argument on any inconsistency.
    [[nodiscard]] Status build(std::uint32_t cores, std::span<const std::uint16_t> core_node, std::uint32_t nodes,
                               Replicas mode, std::span<const std::uint16_t> chosen = {}) {
        if (cores == 0 || cores > max_cores || nodes == 0 || nodes > max_cores) return Status::invalid_argument;
        if (!core_node.empty() && core_node.size() < cores) return Status::invalid_argument;
        if (!chosen.empty() && chosen.size() < nodes) return Status::invalid_argument;
        m_cores = cores;
        m_mode = mode;
        std::uint16_t node_replica[max_cores];
        for (std::uint32_t n = 0; n < max_cores; ++n) node_replica[n] = no_rank;
        for (std::uint32_t c = 0; c < cores; ++c) {
            const std::uint16_t n = core_node.empty() ? 0 : core_node[c];
            if (n >= nodes) return Status::invalid_argument;
            m_node[c] = n;
            if (node_replica[n] == no_rank) node_replica[n] = static_cast<std::uint16_t>(c);  // lowest
        }
        if (!chosen.empty()) {
            for (std::uint32_t n = 0; n < nodes; ++n) {
                if (chosen[n] == no_rank) continue;
                if (chosen[n] >= cores || m_node[chosen[n]] != n) return Status::invalid_argument;
                node_replica[n] = chosen[n];
            }
        }
        m_replicas = 0;
        for (std::uint32_t c = 0; c < cores; ++c) {
            m_replica_of[c] = mode == Replicas::per_core ? static_cast<std::uint16_t>(c) : node_replica[m_node[c]];
            m_rank_of[c] = no_rank;
            if (m_replica_of[c] == c) {
                m_rank_of[c] = static_cast<std::uint16_t>(m_replicas);
                m_core_of[m_replicas] = static_cast<std::uint16_t>(c);
                m_rank_node[m_replicas] = m_node[c];
                ++m_replicas;
            }
        }
        return Status::ok;
    }

    [[nodiscard]] Replicas mode() const { return m_mode; }
    [[nodiscard]] std::uint32_t cores() const { return m_cores; }
    [[nodiscard]] std::uint32_t replicas() const { return m_replicas; }
    [[nodiscard]] bool is_replica(std::uint32_t core) const { return core < m_cores && m_replica_of[core] == core; }
    // The core whose replica serves `core`'s client (itself when it is a replica).
    [[nodiscard]] std::uint16_t replica_of(std::uint32_t core) const { return m_replica_of[core]; }
    // Group rank of a replica core; no_rank for clients and cores outside the machine.
    [[nodiscard]] std::uint16_t rank_of(std::uint32_t core) const { return core < m_cores ? m_rank_of[core] : no_rank; }
    [[nodiscard]] std::uint16_t core_of(std::uint32_t rank) const { return m_core_of[rank]; }
    [[nodiscard]] std::uint16_t node_of(std::uint32_t core) const { return m_node[core]; }

    // The group over the replicas: `machine` describes the protocol in core numbers (cores = the
    // machine's cores, sequencer/owner are cores); the result has cores = replicas, each rank's
    // node, and the sequencer/owner mapped to the rank of the replica serving that core (per node:
    // its node's replica). The span inside points into this Placement: keep it alive for build().
    [[nodiscard]] GroupConfig group_config(GroupConfig machine) const {
        machine.cores = m_replicas;
        machine.core_node = std::span<const std::uint16_t>(m_rank_node, m_replicas);
        machine.sequencer = machine.sequencer < m_cores ? m_rank_of[m_replica_of[machine.sequencer]] : no_rank;
        machine.owner = machine.owner < m_cores ? m_rank_of[m_replica_of[machine.owner]] : no_rank;
        return machine;
    }

private:
    Replicas m_mode = Replicas::per_core;
    std::uint32_t m_cores = 0;
    std::uint32_t m_replicas = 0;
    std::uint16_t m_node[max_cores] = {};
    std::uint16_t m_replica_of[max_cores] = {};
    std::uint16_t m_rank_of[max_cores] = {};
    std::uint16_t m_core_of[max_cores] = {};
    std::uint16_t m_rank_node[max_cores] = {};
};

} // namespace myr::repl
