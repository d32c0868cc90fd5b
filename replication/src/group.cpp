// Group construction: validate the config, then one multicast tree per possible root.
// Freestanding: fixed arrays, no heap.
#include <myr/repl/group.hpp>

namespace myr::repl {

Status Group::build(const GroupConfig& config) {
    if (!uses_messages(config.protocol)) return Status::unsupported;
    if (config.cores == 0 || config.cores > max_cores) return Status::invalid_argument;
    if (config.sequencer >= config.cores || config.owner >= config.cores)
        return Status::invalid_argument;
    if (config.nodes == 0 || config.nodes > urpc::multicast_max_nodes)
        return Status::invalid_argument;
    if (!config.core_node.empty() && config.core_node.size() < config.cores)
        return Status::invalid_argument;
    static constexpr std::uint8_t local_distance[1] = {10};
    std::span<const std::uint8_t> distance = config.distance;
    if (distance.empty()) {
        if (config.nodes != 1) return Status::invalid_argument;
        distance = local_distance;
    }
    for (std::uint32_t c = 0; c < config.cores; ++c) {
        m_core_node[c] = config.core_node.empty() ? 0 : config.core_node[c];
        if (m_core_node[c] >= config.nodes) return Status::invalid_argument;
    }
    m_config = config;
    m_config.core_node = std::span<const std::uint16_t>(m_core_node, config.cores);
    m_config.distance = {};  // not kept: the caller's memory may go away
    for (std::uint32_t root = 0; root < config.cores; ++root) {
        if (config.fanout == Fanout::unicast) {
            MYR_TRY(urpc::build_sequential_unicast(config.cores, root, m_trees[root]));
        } else {
            const urpc::MulticastInput in{distance, config.nodes, m_config.core_node, root};
            MYR_TRY(urpc::build_multicast_tree(in, m_trees[root]));
        }
    }
    return Status::ok;
}

Status Group::exclude(std::span<const std::uint8_t> distance, std::span<const std::uint64_t> live) {
    const std::uint32_t n = m_config.cores;
    if (live.size() * 64 < n) return Status::invalid_argument;
    bool any = false;
    for (std::uint32_t c = 0; c < n; ++c) any = any || (live[c / 64] >> (c % 64) & 1u) != 0;
    if (!any) return Status::invalid_argument;
    if (m_config.fanout == Fanout::unicast) return Status::ok;
    static constexpr std::uint8_t local_distance[1] = {10};
    if (distance.empty()) {
        if (m_config.nodes != 1) return Status::invalid_argument;
        distance = local_distance;
    }
    for (std::uint32_t root = 0; root < n; ++root) {
        if ((live[root / 64] >> (root % 64) & 1u) == 0) continue;  // a stopped core's tree: no longer used
        const urpc::MulticastInput in{distance, m_config.nodes, m_config.core_node, root, live};
        MYR_TRY(urpc::build_multicast_tree(in, m_trees[root]));
    }
    return Status::ok;
}

bool Group::is_child(std::uint32_t root, std::uint32_t core, std::uint32_t child) const {
    for (std::uint16_t c : m_trees[root].children(core))
        if (c == child) return true;
    return false;
}

} // namespace myr::repl
