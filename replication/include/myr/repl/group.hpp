#pragma once
// Everything the replicas of one object agree on before the first message: protocol, cores,
// who orders (sequencer) or coordinates (2pc owner), and one multicast tree per root core, built
// from the NUMA distances by the URPC tree builder (or sequential unicast, for comparison).
// Read-only after build(), so the replicas on one machine may share a single Group.
#include <myr/repl/protocol.hpp>
#include <myr/result.hpp>
#include <myr/urpc/multicast.hpp>

#include <cstdint>
#include <span>

namespace myr::repl {

inline constexpr std::uint32_t max_cores = 64;

enum class ReadMode : std::uint8_t { local, linearizable };
enum class Coordinator : std::uint8_t { origin, owner };
enum class Fanout : std::uint8_t { tree, unicast };

struct GroupConfig {
    Protocol protocol = Protocol::sequencer;
    std::uint16_t object = 1;        // object id carried in every message
    std::uint32_t cores = 0;         // replicas on cores 0..cores-1 (one replica per core)
    std::span<const std::uint8_t> distance;    // nodes x nodes, SLIT units
    std::uint32_t nodes = 1;
    std::span<const std::uint16_t> core_node;  // core -> node; empty: all on node 0
    std::uint16_t sequencer = 0;     // sequencer: the ordering core
    std::uint16_t owner = 0;         // 2pc with Coordinator::owner: the coordinating core
    Coordinator coordinator = Coordinator::origin;
    ReadMode reads = ReadMode::local;  // sequencer reads (2pc reads are always linearizable)
    Fanout fanout = Fanout::tree;
};

class Group {
public:
    // invalid_argument: no cores, more than max_cores, sequencer/owner out of range, node map
    // or distances inconsistent; unsupported for shared-memory protocols (they need no group).
    [[nodiscard]] Status build(const GroupConfig& config);

    [[nodiscard]] const GroupConfig& config() const { return m_config; }
    [[nodiscard]] Protocol protocol() const { return m_config.protocol; }
    [[nodiscard]] std::uint32_t cores() const { return m_config.cores; }
    [[nodiscard]] const urpc::MulticastTree& tree(std::uint32_t root) const { return m_trees[root]; }
    [[nodiscard]] std::uint16_t parent(std::uint32_t root, std::uint32_t core) const {
        return m_trees[root].parent(core);
    }
    [[nodiscard]] std::span<const std::uint16_t> children(std::uint32_t root,
                                                          std::uint32_t core) const {
        return m_trees[root].children(core);
    }
    [[nodiscard]] bool is_child(std::uint32_t root, std::uint32_t core, std::uint32_t child) const;

    // A membership change: the trees of the cores left in `live` (a bit per core) are built again
    // without the others (with the same distances as build(); empty for one node), so no line
    // travels through a core that stopped. Unicast fanout needs no rebuild (a stopped core is a
    // leaf of every tree but its own). invalid_argument when `live` holds no core. Without the
    // sequencer, the replicas must be told (Replica::sequencer_gone).
    [[nodiscard]] Status exclude(std::span<const std::uint8_t> distance, std::span<const std::uint64_t> live);

private:
    GroupConfig m_config{};
    std::uint16_t m_core_node[max_cores] = {};
    urpc::MulticastTree m_trees[max_cores];
};

} // namespace myr::repl
