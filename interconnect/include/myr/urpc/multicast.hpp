#pragma once
// Topology-aware multicast schedules, computed from distances (never hard-coded per machine).
// Pure: input a NUMA distance matrix, the core -> node map and a root; output a tree whose every
// core knows whom to forward to, in send order. Fixed capacity, no heap: the CPU driver and the
// monitors build it too.
//
// Tree: the root sends one message per remote node (farthest first, since those take longest and
// then fan out further), then to its own node's cores; each remote node's representative (its
// lowest-numbered core) fans out to the rest of its node. Cross-node traffic is one line per
// node instead of one per core. Sequential unicast (root sends to everyone) is the comparison.
#include <myr/result.hpp>

#include <cstdint>
#include <span>

namespace myr::urpc {

inline constexpr std::uint32_t multicast_max_cores = 256;
inline constexpr std::uint32_t multicast_max_nodes = 64;
inline constexpr std::uint16_t no_parent = 0xffff;

struct MulticastInput {
    std::span<const std::uint8_t> distance;   // nodes x nodes, row-major, ACPI SLIT units
    std::uint32_t nodes = 0;
    std::span<const std::uint16_t> core_node; // core index -> node index
    std::uint32_t root = 0;
    // Optional: a bit per core (core c: word c / 64, bit c % 64); cores whose bit is clear are
    // left out of the tree (no parent, no children: a membership without them). Empty: all cores.
    // The root must be in it.
    std::span<const std::uint64_t> live = {};
    // The order the root sends to the remote nodes: farthest first (the NUMA-aware order: the
    // longest paths start first), or false for plain node-number order.
    bool farthest_first = true;
};

class MulticastTree {
public:
    [[nodiscard]] std::uint32_t cores() const { return m_cores; }
    [[nodiscard]] std::uint32_t root() const { return m_root; }
    [[nodiscard]] std::uint16_t parent(std::uint32_t core) const { return m_parent[core]; }
    // Whether the tree reaches `core` (false for cores MulticastInput::live left out).
    [[nodiscard]] bool reaches(std::uint32_t core) const {
        return core < m_cores && (core == m_root || m_parent[core] != no_parent);
    }
    // children(core): the cores `core` forwards to, in the order it sends.
    [[nodiscard]] std::span<const std::uint16_t> children(std::uint32_t core) const {
        return {m_list + m_first[core], static_cast<std::size_t>(m_first[core + 1] - m_first[core])};
    }
    // hops(core): messages on the path root -> core. step(core): sends that happen one after
    // another before `core` has the message (each sender sends its children in order).
    [[nodiscard]] std::uint32_t hops(std::uint32_t core) const { return m_hops[core]; }
    [[nodiscard]] std::uint32_t step(std::uint32_t core) const { return m_step[core]; }
    [[nodiscard]] std::uint32_t depth() const;
    [[nodiscard]] std::uint32_t critical_path_sends() const;
    // cross_node_messages: tree edges whose ends sit on different nodes (needs the node map).
    [[nodiscard]] std::uint32_t cross_node_messages(std::span<const std::uint16_t> core_node) const;

private:
    friend Status build_multicast_tree(const MulticastInput& in, MulticastTree& out);
    friend Status build_sequential_unicast(std::uint32_t cores, std::uint32_t root,
                                           MulticastTree& out);
    // members: cores the tree reaches (0: all of them).
    Status finish(const std::uint16_t* edge_parent, const std::uint16_t* edge_child,
                  std::uint32_t edges, std::uint32_t members = 0);

    std::uint32_t m_cores = 0;
    std::uint32_t m_root = 0;
    std::uint16_t m_parent[multicast_max_cores] = {};
    std::uint16_t m_first[multicast_max_cores + 1] = {};
    std::uint16_t m_list[multicast_max_cores] = {};
    std::uint16_t m_hops[multicast_max_cores] = {};
    std::uint16_t m_step[multicast_max_cores] = {};
};

// invalid_argument: root or a node index out of range, distance matrix not nodes x nodes, more
// than the fixed capacity, zero cores, a live mask shorter than the cores or without the root.
[[nodiscard]] Status build_multicast_tree(const MulticastInput& in, MulticastTree& out);
[[nodiscard]] Status build_sequential_unicast(std::uint32_t cores, std::uint32_t root,
                                              MulticastTree& out);

} // namespace myr::urpc
