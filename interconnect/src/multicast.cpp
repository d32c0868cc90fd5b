// Multicast schedule construction (see multicast.hpp). Freestanding: fixed arrays, no heap.
#include <myr/urpc/multicast.hpp>

namespace myr::urpc {

std::uint32_t MulticastTree::depth() const {
    std::uint32_t d = 0;
    for (std::uint32_t c = 0; c < m_cores; ++c) d = m_hops[c] > d ? m_hops[c] : d;
    return d;
}

std::uint32_t MulticastTree::critical_path_sends() const {
    std::uint32_t s = 0;
    for (std::uint32_t c = 0; c < m_cores; ++c) s = m_step[c] > s ? m_step[c] : s;
    return s;
}

std::uint32_t MulticastTree::cross_node_messages(std::span<const std::uint16_t> core_node) const {
    if (core_node.size() < m_cores) return 0;
    std::uint32_t n = 0;
    for (std::uint32_t c = 0; c < m_cores; ++c)
        if (m_parent[c] != no_parent && core_node[m_parent[c]] != core_node[c]) ++n;
    return n;
}

// finish: turn (parent, child) edges listed in send order into CSR children lists (a stable
// counting sort keeps each parent's send order), then walk from the root for hops and steps.
Status MulticastTree::finish(const std::uint16_t* edge_parent, const std::uint16_t* edge_child,
                             std::uint32_t edges, std::uint32_t members) {
    if (members == 0) members = m_cores;
    if (edges + 1 != members) return Status::internal;
    for (std::uint32_t c = 0; c <= m_cores; ++c) m_first[c] = 0;
    for (std::uint32_t c = 0; c < m_cores; ++c) m_parent[c] = no_parent, m_hops[c] = 0, m_step[c] = 0;
    for (std::uint32_t e = 0; e < edges; ++e) {
        ++m_first[edge_parent[e] + 1];
        m_parent[edge_child[e]] = edge_parent[e];
    }
    for (std::uint32_t c = 0; c < m_cores; ++c)
        m_first[c + 1] = static_cast<std::uint16_t>(m_first[c + 1] + m_first[c]);
    std::uint16_t fill[multicast_max_cores] = {};
    for (std::uint32_t e = 0; e < edges; ++e) {
        const std::uint16_t p = edge_parent[e];
        m_list[m_first[p] + fill[p]] = edge_child[e];
        ++fill[p];
    }
    // Breadth-first from the root; a core reached twice or never means the edges were no tree.
    std::uint16_t queue[multicast_max_cores];
    bool seen[multicast_max_cores] = {};
    std::uint32_t head = 0;
    std::uint32_t tail = 0;
    queue[tail++] = static_cast<std::uint16_t>(m_root);
    seen[m_root] = true;
    m_hops[m_root] = 0;
    m_step[m_root] = 0;
    while (head < tail) {
        const std::uint16_t p = queue[head++];
        std::uint32_t position = 0;
        for (std::uint16_t child : children(p)) {
            if (seen[child]) return Status::internal;
            seen[child] = true;
            ++position;
            m_hops[child] = static_cast<std::uint16_t>(m_hops[p] + 1);
            m_step[child] = static_cast<std::uint16_t>(m_step[p] + position);
            queue[tail++] = child;
        }
    }
    return tail == members ? Status::ok : Status::internal;
}

Status build_sequential_unicast(std::uint32_t cores, std::uint32_t root, MulticastTree& out) {
    if (cores == 0 || cores > multicast_max_cores || root >= cores) return Status::invalid_argument;
    out.m_cores = cores;
    out.m_root = root;
    std::uint16_t ep[multicast_max_cores];
    std::uint16_t ec[multicast_max_cores];
    std::uint32_t edges = 0;
    for (std::uint32_t c = 0; c < cores; ++c) {
        if (c == root) continue;
        ep[edges] = static_cast<std::uint16_t>(root);
        ec[edges] = static_cast<std::uint16_t>(c);
        ++edges;
    }
    return out.finish(ep, ec, edges);
}

Status build_multicast_tree(const MulticastInput& in, MulticastTree& out) {
    const std::uint32_t cores = static_cast<std::uint32_t>(in.core_node.size());
    const std::uint32_t nodes = in.nodes;
    if (cores == 0 || cores > multicast_max_cores || in.root >= cores) return Status::invalid_argument;
    if (nodes == 0 || nodes > multicast_max_nodes) return Status::invalid_argument;
    if (in.distance.size() != std::size_t{nodes} * nodes) return Status::invalid_argument;
    for (std::uint16_t n : in.core_node)
        if (n >= nodes) return Status::invalid_argument;
    const bool masked = !in.live.empty();
    if (masked && in.live.size() * 64 < cores) return Status::invalid_argument;
    auto live = [&](std::uint32_t c) { return !masked || (in.live[c / 64] >> (c % 64) & 1u) != 0; };
    if (!live(in.root)) return Status::invalid_argument;
    std::uint32_t members = 0;
    for (std::uint32_t c = 0; c < cores; ++c) members += live(c) ? 1u : 0u;

    // Representative of each node: the root in its own node, else the lowest-numbered core.
    constexpr std::uint16_t none = 0xffff;
    std::uint16_t rep[multicast_max_nodes];
    for (std::uint32_t n = 0; n < nodes; ++n) rep[n] = none;
    const std::uint16_t root_node = in.core_node[in.root];
    rep[root_node] = static_cast<std::uint16_t>(in.root);
    for (std::uint32_t c = 0; c < cores; ++c)
        if (live(c) && rep[in.core_node[c]] == none) rep[in.core_node[c]] = static_cast<std::uint16_t>(c);

    // Remote nodes with cores, farthest first (ties: lower node index first) or in node order. Insertion sort:
    // at most 64 entries, and no library sort in freestanding code.
    std::uint16_t order[multicast_max_nodes];
    std::uint32_t remote = 0;
    auto dist = [&](std::uint32_t n) { return in.distance[std::size_t{root_node} * nodes + n]; };
    for (std::uint32_t n = 0; n < nodes; ++n) {
        if (n == root_node || rep[n] == none) continue;
        std::uint32_t i = remote++;
        while (i > 0 && in.farthest_first && dist(order[i - 1]) < dist(n)) {
            order[i] = order[i - 1];
            --i;
        }
        order[i] = static_cast<std::uint16_t>(n);
    }

    out.m_cores = cores;
    out.m_root = in.root;
    std::uint16_t ep[multicast_max_cores];
    std::uint16_t ec[multicast_max_cores];
    std::uint32_t edges = 0;
    auto edge = [&](std::uint32_t p, std::uint32_t c) {
        ep[edges] = static_cast<std::uint16_t>(p);
        ec[edges] = static_cast<std::uint16_t>(c);
        ++edges;
    };
    for (std::uint32_t i = 0; i < remote; ++i) edge(in.root, rep[order[i]]);
    for (std::uint32_t c = 0; c < cores; ++c)
        if (c != in.root && live(c) && in.core_node[c] == root_node) edge(in.root, c);
    for (std::uint32_t i = 0; i < remote; ++i) {
        const std::uint16_t n = order[i];
        for (std::uint32_t c = 0; c < cores; ++c)
            if (c != rep[n] && live(c) && in.core_node[c] == n) edge(rep[n], c);
    }
    return out.finish(ep, ec, edges, members);
}

} // namespace myr::urpc
