#pragma once
// memserv's client side in a Myriad domain (docs/servers-memserv.md): asks its own node's
// instance first, then the other nodes' nearest first by the SLIT, while the answer says the pool
// is empty (no_memory) or full of grants (overflow). A quota refusal (permission_denied) is
// final. Connections open when first needed and stay open until close().
#include <myr/memserv/book.hpp>
#include <myr/rpc/guest.hpp>

namespace myr::memserv {

class Allocator {
public:
    // Learns this core's node and the order to ask the nodes in (Sys::topology).
    Status init() {
        static abi::TopologyInfo topo;  // 4 KiB of distances: not on the stack
        const auto r = user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo);
        if (r.status != Status::ok) return r.status;
        m_core = static_cast<std::uint32_t>(user::syscall6(abi::Sys::domain_info).value >> 32);
        if (m_core >= topo.cores || topo.nodes == 0) return Status::internal;
        m_home = topo.core_node[m_core];
        m_nodes = fallback_order(topo.nodes, topo.distance, m_home, m_order);
        return m_nodes == 0 ? Status::internal : Status::ok;
    }

    // A grant of at least `bytes`: ok (out says which node), or the last refusal: no_memory when
    // every node was asked, permission_denied (quota), or the runtime's status.
    Status alloc(std::uint64_t bytes, AllocReply& out) {
        Status last = Status::no_memory;
        for (unsigned i = 0; i < m_nodes; ++i) {
            rpc::Client* c = connection(m_order[i], last);
            if (!c) continue;  // no instance for that node (or unreachable): ask the next
            last = c->call(Alloc{bytes}, out);
            if (last != Status::no_memory && last != Status::overflow) return last;
        }
        return last;
    }

    // Gives back a grant to the node that made it.
    Status free(const AllocReply& grant, FreeReply& out) {
        Status s = Status::not_found;
        rpc::Client* c = connection(grant.node, s);
        return c ? c->call(Free{grant.base}, out) : s;
    }

    // The connection to `node`'s instance (opened now if needed), or null with why in `why`.
    rpc::Client* connection(unsigned node, Status& why) {
        if (node >= max_nodes) {
            why = Status::invalid_argument;
            return nullptr;
        }
        rpc::Client& c = m_conns[node];
        if (c.connected()) return &c;
        if (m_failed[node]) {
            why = Status::not_found;
            return nullptr;
        }
        char name[16];
        service_name(node, name);
        if (const Status s = c.connect(name); s != Status::ok) {
            m_failed[node] = true;
            why = s;
            return nullptr;
        }
        return &c;
    }

    void close() {
        for (rpc::Client& c : m_conns) c.close();
    }

    [[nodiscard]] unsigned home() const { return m_home; }
    [[nodiscard]] std::uint32_t core() const { return m_core; }
    [[nodiscard]] unsigned nodes() const { return m_nodes; }
    [[nodiscard]] unsigned order(unsigned i) const { return m_order[i]; }

private:
    std::uint32_t m_core = 0;
    unsigned m_home = 0, m_nodes = 0;
    std::uint16_t m_order[max_nodes] = {};
    rpc::Client m_conns[max_nodes];
    bool m_failed[max_nodes] = {};
};

} // namespace myr::memserv
