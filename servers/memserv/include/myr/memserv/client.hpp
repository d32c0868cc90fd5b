#pragma once
// memserv's client side in a Myriad domain (docs/servers.md, "memserv"): asks its own node's
// instance first, then the other nodes' nearest first by the SLIT, while the answer says the pool
// is empty (no_memory) or full of grants (overflow). A quota refusal (permission_denied) is
// final. Connections open when first needed and stay open until close().
#include <myr/memserv/book.hpp>
#include <myr/nameserv/client.hpp>
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

    // A grant as memory: alloc, then the untyped capability for the whole block (grant.bytes, a
    // power of two aligned to its size) from this core's monitor into `slot` (an empty slot of
    // ours). Retype frames from it and map them. When the serving instance does not carry grants
    // (its pool is a placeholder, or it lacks the privilege) the take is not_found and the grant
    // is given back. On any failure `out` is zeroed.
    Status alloc_untyped(std::uint64_t bytes, std::uint64_t slot, AllocReply& out) {
        if (const Status s = alloc(bytes, out); s != Status::ok) return s;
        const Status s = take(out, slot);
        if (s != Status::ok) {
            FreeReply f{};
            (void)free(out, f);
            out = AllocReply{};
        }
        return s;
    }

    // The untyped capability of `grant` into `slot` (MonitorOp::take_ram): once per grant.
    static Status take(const AllocReply& grant, std::uint64_t slot) {
        user::Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::take_ram);
        m.w[1] = grant.ticket;
        const Status s = user::monitor_call(m, slot);
        if (s == Status::ok && m.cap_arrived != 1) return Status::not_found;
        return s;
    }

    // Deletes every capability to `grant` on this core (MonitorOp::return_ram): the untyped, and
    // every frame or table retyped from it, mappings included. not_found when the monitor holds
    // nothing for it (never carried, or returned already).
    static Status give_back(const AllocReply& grant) {
        user::Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::return_ram);
        m.w[1] = grant.ticket;
        return user::monitor_call(m);
    }

    // Gives back a grant to the node that made it: first the capabilities (give_back; not_found
    // is fine: a record-only grant, or returned already), then the range at memserv. memserv
    // itself makes sure no capability is left before it reuses the range, so a client that skips
    // give_back loses its capabilities at the free all the same.
    Status free(const AllocReply& grant, FreeReply& out) {
        (void)give_back(grant);
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
        if (const Status s = nameserv::connect(c, name, 2000); s != Status::ok) {
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
