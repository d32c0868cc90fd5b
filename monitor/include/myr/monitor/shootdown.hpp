#pragma once
// TLB shootdown for an address space that spans cores (docs/unmap.md): when one member of the
// span unmaps a page, every other member's copy of the mapping must be gone, and its TLB entry
// invalidated, before the unmap returns. Cores share no writable kernel state, so each core holds
// its own replica of the span's mappings, and the shootdown is a protocol over messages: a
// request travels from the initiator to every member, each member removes the page from its own
// replica (and its core's TLB) and acknowledges, and the unmap returns when every acknowledgement
// is in.
//
// Pure and freestanding: ShootPlan says who sends to whom for each of the four protocols of the
// multikernel paper's experiment, ShootNode is one member's state machine. Its caller carries the
// lines (the simulation in tests/unit/shootdown_sim_test.cpp, the hosted benchmark on real cores
// in bench/unmap/); the `Env` it is given removes the page locally and sends.
//
// Protocols (members are numbered 0..n-1; member_node gives each one's NUMA node):
// - broadcast: the initiator writes the request once, to one line every member reads; each
//   member acknowledges to the initiator on its own channel.
// - unicast: the initiator sends one request per member, in member order; acknowledgements come
//   straight back.
// - multicast: the initiator sends to one member per remote node (in node order) and to the
//   members of its own node; each node's first member forwards to the rest of its node.
//   Acknowledgements are gathered up the same tree: a member acknowledges once its own page is
//   gone and all of its children acknowledged.
// - numa_multicast: the same tree, remote nodes farthest first (the longest paths start first).
// - ipi: unicast's lines, but the members do not poll for them: they sleep and each line's
//   inter-processor interrupt wakes them (the caller's transport decides how; the plan is unicast's).
//
// Hostile or stale lines (an acknowledgement from a member that is not a child, twice, or for a
// request that is not pending; a request from a member that is not the sender the plan names, or
// not newer than the last one from that initiator) are counted in malformed() and ignored: they
// can neither finish a shootdown early nor make a member drop a page it was not asked to.
#include <myr/result.hpp>
#include <myr/urpc/multicast.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::monitor {

enum class ShootProtocol : std::uint8_t { broadcast, unicast, multicast, numa_multicast, ipi };
inline constexpr ShootProtocol shoot_protocols[] = {ShootProtocol::broadcast, ShootProtocol::unicast,
                                                    ShootProtocol::multicast, ShootProtocol::numa_multicast,
                                                    ShootProtocol::ipi};
inline constexpr unsigned shoot_protocol_count = 5;

constexpr const char* shoot_protocol_name(ShootProtocol p) {
    switch (p) {
        case ShootProtocol::broadcast: return "broadcast";
        case ShootProtocol::unicast: return "unicast";
        case ShootProtocol::multicast: return "multicast";
        case ShootProtocol::numa_multicast: return "numa-multicast";
        case ShootProtocol::ipi: return "ipi";
    }
    return "?";
}

// false for a name that is none of the four.
constexpr bool parse_shoot_protocol(const char* text, std::size_t len, ShootProtocol& out) {
    for (ShootProtocol p : shoot_protocols) {
        const char* name = shoot_protocol_name(p);
        std::size_t i = 0;
        while (i < len && name[i] != '\0' && name[i] == text[i]) ++i;
        if (i == len && name[i] == '\0') {
            out = p;
            return true;
        }
    }
    return false;
}

inline constexpr std::uint32_t shoot_max_members = 256;
inline constexpr std::uint16_t shoot_none = urpc::no_parent;

struct ShootTopology {
    std::span<const std::uint8_t> distance;     // nodes x nodes, ACPI SLIT units
    std::uint32_t nodes = 0;
    std::span<const std::uint16_t> member_node;  // member -> node
};

class ShootPlan {
public:
    // invalid_argument: no members, more than shoot_max_members, initiator out of range, or a
    // topology the multicast tree builder refuses.
    [[nodiscard]] Status build(ShootProtocol protocol, const ShootTopology& machine, std::uint32_t initiator) {
        const auto n = static_cast<std::uint32_t>(machine.member_node.size());
        if (n == 0 || n > shoot_max_members || initiator >= n) return Status::invalid_argument;
        m_protocol = protocol;
        if (protocol == ShootProtocol::broadcast || protocol == ShootProtocol::unicast || protocol == ShootProtocol::ipi)
            return urpc::build_sequential_unicast(n, initiator, m_tree);
        urpc::MulticastInput in{machine.distance, machine.nodes, machine.member_node, initiator};
        in.farthest_first = protocol == ShootProtocol::numa_multicast;
        return urpc::build_multicast_tree(in, m_tree);
    }

    [[nodiscard]] ShootProtocol protocol() const { return m_protocol; }
    [[nodiscard]] std::uint32_t members() const { return m_tree.cores(); }
    [[nodiscard]] std::uint32_t initiator() const { return m_tree.root(); }
    // The members `m` sends the request to, in order. The broadcast initiator writes one shared
    // line instead (request_to is every member, but it sends once).
    [[nodiscard]] std::span<const std::uint16_t> request_to(std::uint32_t m) const { return m_tree.children(m); }
    // The one member `m` takes the request from and acknowledges to (shoot_none: the initiator).
    [[nodiscard]] std::uint16_t parent(std::uint32_t m) const {
        return m < members() ? m_tree.parent(m) : shoot_none;
    }
    // Acknowledgements `m` waits for before it acknowledges (the initiator: before it returns).
    [[nodiscard]] std::uint32_t acks_expected(std::uint32_t m) const {
        return static_cast<std::uint32_t>(m_tree.children(m).size());
    }
    [[nodiscard]] const urpc::MulticastTree& tree() const { return m_tree; }

    // What one shootdown costs, from the plan alone (the simulation checks that a run sends
    // exactly this many lines):
    // request lines written (broadcast: 1) and acknowledgements (always members - 1);
    [[nodiscard]] std::uint32_t request_lines() const {
        if (members() <= 1) return 0;
        return m_protocol == ShootProtocol::broadcast ? 1 : members() - 1;
    }
    [[nodiscard]] std::uint32_t ack_lines() const { return members() - 1; }
    // hops on the longest request-and-acknowledgement path (2 x the tree's depth);
    [[nodiscard]] std::uint32_t critical_path_hops() const { return 2 * m_tree.depth(); }
    // lines the initiator itself writes or reads (its sends plus the acknowledgements it takes);
    [[nodiscard]] std::uint32_t initiator_lines() const {
        if (members() <= 1) return 0;
        const std::uint32_t acks = acks_expected(initiator());
        return (m_protocol == ShootProtocol::broadcast ? 1 : acks) + acks;
    }
    // lines whose writer and reader sit on different nodes (broadcast: each remote reader pulls
    // the one line across, and its acknowledgement comes back).
    [[nodiscard]] std::uint32_t cross_node_lines(std::span<const std::uint16_t> member_node) const {
        if (member_node.size() < members()) return 0;
        return 2 * m_tree.cross_node_messages(member_node);
    }

private:
    ShootProtocol m_protocol = ShootProtocol::unicast;
    urpc::MulticastTree m_tree;
};

enum class ShootLine : std::uint8_t { request, ack };

struct ShootMsg {
    ShootLine type = ShootLine::request;
    std::uint16_t initiator = 0;
    std::uint32_t seq = 0;     // the initiator's shootdown number, from 1
    std::uint64_t vaddr = 0;   // the page (request); acknowledgements carry it back
    std::uint32_t lines = 0;   // ack: the lines its sender's subtree sent for this shootdown, this ack
                               // included (what the initiator reports as the lines it took; a member
                               // that lies here changes only that count)
};

// One member's state. Env provides:
//   void unmap_local(std::uint64_t vaddr);            // remove from this member's replica, invalidate the TLB
//   void send(std::uint16_t to, const ShootMsg& m);   // one line to another member
//   void post(const ShootMsg& m);                     // broadcast only: the one shared line
//   void done(std::uint32_t seq, std::uint64_t vaddr, std::uint32_t lines);
//                                                     // the initiator's shootdown is complete; `lines`
//                                                     // it took, requests and acknowledgements
// plan_of(initiator) in receive(): the caller keeps one plan per initiator (the same for every
// member: built from the same topology).
class ShootNode {
public:
    constexpr explicit ShootNode(std::uint16_t me = 0) : m_me(me) {}
    // Forgets everything, in place (a node is too big to build on a small stack and copy).
    void reset(std::uint16_t me) {
        m_me = me;
        m_malformed = 0;
        for (std::uint32_t& s : m_last_seq) s = 0;
        for (Pending& p : m_pending) p.active = false;
    }

    [[nodiscard]] std::uint16_t me() const { return m_me; }
    [[nodiscard]] std::uint64_t malformed() const { return m_malformed; }
    // Whether this member's own shootdown is still waiting for acknowledgements.
    [[nodiscard]] bool busy() const { return m_pending[m_me].active; }

    // Starts a shootdown of `vaddr` with this member as the initiator (plan.initiator() must be
    // me). busy: the previous one has not finished (one at a time per initiator); invalid_argument:
    // a plan for another initiator. The page is gone locally before anything is sent.
    template <class Env>
    Status start(const ShootPlan& plan, std::uint64_t vaddr, Env& env) {
        if (plan.initiator() != m_me) return Status::invalid_argument;
        Pending& p = m_pending[m_me];
        if (p.active) return Status::busy;
        const ShootMsg m{ShootLine::request, m_me, ++m_last_seq[m_me], vaddr};
        env.unmap_local(vaddr);
        if (plan.acks_expected(m_me) == 0) {
            env.done(m.seq, vaddr, 0);
            return Status::ok;
        }
        p.arm(m.seq, vaddr, plan.acks_expected(m_me));
        if (plan.protocol() == ShootProtocol::broadcast) {
            p.lines = 1;
            env.post(m);
        } else {
            p.lines = static_cast<std::uint32_t>(plan.request_to(m_me).size());
            for (std::uint16_t to : plan.request_to(m_me)) env.send(to, m);
        }
        return Status::ok;
    }

    // A line from member `from` (who sent it is known from the channel it came on, never from
    // the line). plan: the plan for m.initiator.
    template <class Env>
    void receive(const ShootPlan& plan, std::uint16_t from, const ShootMsg& m, Env& env) {
        if (plan.initiator() != m.initiator || m.initiator >= plan.members() || from >= plan.members() ||
            m_me >= plan.members() || from == m_me) {
            ++m_malformed;
            return;
        }
        if (m.type == ShootLine::request) {
            request(plan, from, m, env);
        } else if (m.type == ShootLine::ack) {
            ack(plan, from, m, env);
        } else {
            ++m_malformed;
        }
    }

private:
    struct Pending {
        bool active = false;
        std::uint32_t seq = 0;
        std::uint64_t vaddr = 0;
        std::uint32_t left = 0;
        std::uint32_t lines = 0;
        std::uint64_t acked[shoot_max_members / 64] = {};
        void arm(std::uint32_t s, std::uint64_t v, std::uint32_t acks) {
            active = true;
            seq = s;
            vaddr = v;
            left = acks;
            lines = 0;
            for (std::uint64_t& w : acked) w = 0;
        }
    };

    template <class Env>
    void request(const ShootPlan& plan, std::uint16_t from, const ShootMsg& m, Env& env) {
        if (m_me == m.initiator || plan.parent(m_me) != from || m.seq <= m_last_seq[m.initiator]) {
            ++m_malformed;
            return;
        }
        m_last_seq[m.initiator] = m.seq;
        env.unmap_local(m.vaddr);
        const std::uint32_t acks = plan.acks_expected(m_me);
        if (acks == 0) {
            env.send(from, ShootMsg{ShootLine::ack, m.initiator, m.seq, m.vaddr, 1});
            return;
        }
        // A newer request from the same initiator replaces an older one still pending here: the
        // initiator started it only after the older one finished or was given up.
        m_pending[m.initiator].arm(m.seq, m.vaddr, acks);
        m_pending[m.initiator].lines = static_cast<std::uint32_t>(plan.request_to(m_me).size());
        for (std::uint16_t to : plan.request_to(m_me)) env.send(to, m);
    }

    template <class Env>
    void ack(const ShootPlan& plan, std::uint16_t from, const ShootMsg& m, Env& env) {
        Pending& p = m_pending[m.initiator];
        const std::uint64_t bit = std::uint64_t{1} << (from % 64);
        if (!p.active || p.seq != m.seq || plan.parent(from) != m_me || (p.acked[from / 64] & bit) != 0) {
            ++m_malformed;
            return;
        }
        p.acked[from / 64] |= bit;
        p.lines += m.lines;
        if (--p.left != 0) return;
        p.active = false;
        if (m_me == m.initiator) {
            env.done(p.seq, p.vaddr, p.lines);
        } else {
            env.send(plan.parent(m_me), ShootMsg{ShootLine::ack, m.initiator, p.seq, p.vaddr, p.lines + 1});
        }
    }

    std::uint16_t m_me = 0;
    std::uint64_t m_malformed = 0;
    std::uint32_t m_last_seq[shoot_max_members] = {};
    Pending m_pending[shoot_max_members];
};

} // namespace myr::monitor
