#pragma once
// nameserv's state, pure and host-tested (tests/unit/nameserv_test.cpp): the name table is
// repl::NameTable (replication/include/myr/repl/objects/name_table.hpp), one copy per replica,
// kept equal by the sequencer protocol of replication/ (repl::Replica) with replica 0 ordering.
// This header adds what nameserv needs around it:
//   * requests -> table ops (the owner is always the caller's address) and list pages;
//   * the link that carries replication lines between replicas over RPC `exchange` calls: an
//     outbox per direction (numbered lines, kept until acknowledged, so a repeated call neither
//     loses nor duplicates one), an inbox (takes each number once, in order), and a
//     repl::Transport that only queues (never blocks, never calls back into the replica);
//   * both ends of `exchange`: Hub (replica 0: every other replica's buffers) and Uplink (a
//     replica > 0: its connection's buffers).
#include <myr/nameserv/interface.hpp>
#include <myr/repl/objects/name_table.hpp>
#include <myr/repl/replica.hpp>

namespace myr::nameserv {

using Table = repl::NameTable;
using Kind = Table::Kind;
static_assert(max_name == Table::name_bytes, "nameserv's names are the table's names");

constexpr Table::Owner owner_of(Address a) { return Table::Owner{a.core, a.domain}; }
constexpr Address address_of(Table::Owner o) { return Address{o.core, o.domain}; }

// The table op for a request: invalid_argument when the name is not valid (or the caller's core
// does not fit the op's 16 bits: never, cores are far fewer).
constexpr Status make_op(Kind kind, const Name& n, Address who, Table::Op& op) {
    op = Table::Op{};
    if (!valid_name(n) || who.core > 0xffff) return Status::invalid_argument;
    op.kind = kind;
    op.length = static_cast<std::uint8_t>(n.size);
    for (std::size_t i = 0; i < n.size && i < max_name; ++i) op.name[i] = static_cast<char>(n.data[i]);
    if (kind != Kind::lookup) {
        op.core = static_cast<std::uint16_t>(who.core);
        op.domain = who.domain;
    }
    return Table::valid(op) ? Status::ok : Status::invalid_argument;
}

// A local lookup (every replica answers from its own copy).
constexpr Status lookup(const Table& t, const Name& n, Address& owner) {
    owner = Address{};
    Table::Op op{};
    if (const Status s = make_op(Kind::lookup, n, Address{}, op); s != Status::ok) return s;
    const Table::Result r = t.read(op);
    owner = address_of(r.owner);
    return r.status;
}

// The names in slots from `from` on, at most list_page; next = the slot to ask from next.
constexpr void list(const Table& t, std::uint32_t from, ListReply& out) {
    out = ListReply{};
    out.total = t.size();
    std::uint32_t i = from;
    for (; i < Table::capacity && out.entries.count < list_page; ++i) {
        const char* bytes = nullptr;
        std::size_t length = 0;
        Table::Owner o{};
        if (!t.at(i, bytes, length, o)) continue;
        ListEntry e{};
        (void)e.name_.assign(bytes, length);
        e.owner = address_of(o);
        (void)out.entries.push(e);
    }
    out.next = i;
}

// ---- The link between replicas ----

// Lines replica 0 keeps for one replica until it acknowledges them. They pile up while that
// replica has not connected yet or does not call; once full the replica is dropped (it stops
// serving; a new instance of it, restarted or moved, joins afresh with a snapshot: `join`).
// 256 lines = 256 table changes.
inline constexpr std::size_t hub_buffer = 256;
// A replica's lines for replica 0: only its own clients' updates (seq_request), at most
// repl::max_pending in flight, so this never fills.
inline constexpr std::size_t uplink_buffer = 2 * repl::max_pending;

inline urpc::Message to_message(const Line& l) {
    urpc::Message m{};
    m.header.type = l.type;
    m.header.length = repl::packet_length;
    m.header.flags = urpc::frag_single;
    for (std::size_t i = 0; i < urpc::payload_words; ++i) m.words[i] = l.w[i];
    return m;
}

// Numbered lines (1, 2, ...) kept until the peer acknowledges them.
template <std::size_t Cap>
class Outbox {
public:
    // overflow when Cap lines are unacknowledged (the caller decides what that means).
    constexpr Status push(std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) {
        if (m_next - m_acked >= Cap) return Status::overflow;
        Line& l = m_ring[m_next % Cap];
        l.type = type;
        for (std::size_t i = 0; i < urpc::payload_words; ++i) l.w[i] = w[i];
        ++m_next;
        return Status::ok;
    }
    // The peer has lines 1..n. An old acknowledgement (a repeated call) changes nothing; one
    // beyond what was sent is invalid_argument.
    constexpr Status ack(std::uint64_t n) {
        if (n > m_next) return Status::invalid_argument;
        if (n > m_acked) m_acked = n;
        return Status::ok;
    }
    // The first unacknowledged lines into `out`; returns the number of the first; more = some
    // did not fit.
    constexpr std::uint64_t fill(rpc::Array<Line, exchange_lines>& out, bool& more) const {
        out = {};
        std::uint64_t s = m_acked;
        for (; s < m_next && out.count < exchange_lines; ++s) (void)out.push(m_ring[s % Cap]);
        more = s < m_next;
        return m_acked + 1;
    }
    // Forgets every line: the next one pushed is number 1 again (a replica that joins afresh).
    constexpr void reset() { m_next = m_acked = 0; }
    [[nodiscard]] constexpr std::uint64_t sent() const { return m_next; }
    [[nodiscard]] constexpr std::uint64_t unacked() const { return m_next - m_acked; }

private:
    Line m_ring[Cap] = {};
    std::uint64_t m_next = 0;   // lines queued (the newest is number m_next)
    std::uint64_t m_acked = 0;  // lines the peer has
};

// The receiving side of one direction: takes line number received + 1 next, skips what it has
// (a repeated call), refuses a gap (invalid_argument: nothing after it is taken).
struct Inbox {
    std::uint64_t received = 0;
    template <typename Deliver>
    constexpr Status take(std::uint64_t first, const rpc::Array<Line, exchange_lines>& lines, Deliver&& deliver) {
        if (lines.count > exchange_lines) return Status::invalid_argument;
        if (lines.count > 0 && first == 0) return Status::invalid_argument;
        for (std::uint16_t k = 0; k < lines.count; ++k) {
            const std::uint64_t s = first + k;
            if (s <= received) continue;
            if (s != received + 1) return Status::invalid_argument;
            deliver(lines.items[k]);
            ++received;
        }
        return Status::ok;
    }
};

// One peer as replica 0 sees it.
struct Peer {
    Outbox<hub_buffer> out;
    Inbox in;
    bool dropped = false;  // its buffer overflowed: nothing more goes to it
    // It exchanged since it joined: it holds every entry up to `applied` (what it last said,
    // never more than replica 0 had ordered).
    bool linked = false;
    std::uint64_t applied = 0;
    // A new instance of that replica joins (join at offset 0), or the one we knew ended: both
    // directions start again at 1, and it holds nothing until its first exchange.
    constexpr void reset() {
        out.reset();
        in.received = 0;
        dropped = false;
        linked = false;
        applied = 0;
    }
};

// Replica 0's transport: queues each line in the destination's outbox. A replica whose outbox
// is full is dropped (send answers overflow, which the Replica counts as a send failure).
class HubTransport final : public repl::Transport {
public:
    Peer peers[max_replicas];
    unsigned count = 1;
    Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) override {
        if (dst == 0 || dst >= count) return Status::invalid_argument;
        Peer& p = peers[dst];
        if (p.dropped) return Status::connection_lost;
        const Status s = p.out.push(type, w);
        if (s != Status::ok) p.dropped = true;
        return s;
    }
};

// A replica > 0's transport: everything goes to replica 0.
class UplinkTransport final : public repl::Transport {
public:
    Outbox<uplink_buffer> out;
    Inbox in;
    Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) override {
        if (dst != 0) return Status::invalid_argument;  // flat tree: a replica talks to replica 0 only
        return out.push(type, w);
    }
};

using NameReplica = repl::Replica<Table>;

// The group of K replicas: cores 0..K-1 are the replica indices (one per node), replica 0 the
// sequencer, local reads, and unicast fan-out: replica 0 sends every log entry to every replica
// itself, so each replica needs a link to replica 0 only (a tree would make replicas forward to
// each other, which needs links between them).
struct GroupSetup {
    std::uint8_t distance[max_replicas * max_replicas] = {};
    std::uint16_t core_node[max_replicas] = {};
    repl::Group group;
    Status build(unsigned replicas) {
        if (replicas == 0 || replicas > max_replicas) return Status::invalid_argument;
        for (unsigned a = 0; a < replicas; ++a) {
            core_node[a] = static_cast<std::uint16_t>(a);
            for (unsigned b = 0; b < replicas; ++b) distance[a * replicas + b] = a == b ? 10 : 20;
        }
        repl::GroupConfig g;
        g.protocol = repl::Protocol::sequencer;
        g.object = 1;
        g.cores = replicas;
        g.nodes = replicas;
        g.distance = std::span<const std::uint8_t>(distance, replicas * replicas);
        g.core_node = std::span<const std::uint16_t>(core_node, replicas);
        g.sequencer = 0;
        g.reads = repl::ReadMode::local;
        g.fanout = repl::Fanout::unicast;
        return group.build(g);
    }
};

// Replica 0's side of `exchange` from replica `from` (found by the caller's address, never by
// the request). Delivers the caller's new lines to the replica (which may queue lines for
// anyone, including the caller: they go out in this very reply), then answers with what is
// waiting for the caller. `after` is called with every line delivered (nameserv checks the
// owner of a forwarded add is still alive).
template <typename After>
Status serve_exchange(NameReplica& replica, HubTransport& hub, std::uint16_t from, const Exchange& req,
                      ExchangeReply& out, After&& after) {
    out = ExchangeReply{};
    if (from == 0 || from >= hub.count) return Status::permission_denied;
    Peer& p = hub.peers[from];
    if (p.dropped) return Status::out_of_range;
    if (p.out.ack(req.received) != Status::ok) return Status::invalid_argument;
    const Status s = p.in.take(req.first, req.lines, [&](const Line& l) {
        const urpc::Message m = to_message(l);
        (void)replica.on_message(from, m);  // refused lines are counted by the replica
        after(l);
    });
    if (s != Status::ok) return s;
    if (p.dropped) return Status::out_of_range;  // what it sent overflowed its own buffer
    // What it holds: never more than we ordered, and a repeated, older request does not lower
    // it (a replica's applied index only grows between its joins).
    const std::uint64_t holds = req.applied < replica.applied_index() ? req.applied : replica.applied_index();
    if (!p.linked || holds > p.applied) p.applied = holds;
    p.linked = true;
    out.received = p.in.received;
    out.first = p.out.fill(out.lines, out.more);
    out.applied = replica.applied_index();
    out.digest = replica.object().digest();
    return Status::ok;
}

// The last log index some replica other than replica 0 holds (the furthest linked one: every
// replica applies one log in order, so it holds every entry before it too); no_replica when none
// is linked (before any joined, or all of them ended or were dropped). Replica 0 answers its own
// clients' changes once their entries are held so: a stop of replica 0's core then loses none
// of them (a new replica 0 recovers from the replicas).
inline constexpr std::uint64_t no_replica = ~std::uint64_t{0};
inline std::uint64_t held_elsewhere(const HubTransport& hub) {
    std::uint64_t best = 0;
    bool any = false;
    for (unsigned i = 1; i < hub.count && i < max_replicas; ++i) {
        const Peer& p = hub.peers[i];
        if (!p.linked || p.dropped) continue;
        any = true;
        if (p.applied > best) best = p.applied;
    }
    return any ? best : no_replica;
}

// Replica 0's clients' changes that wait until another replica holds their entry (one per
// connection: nameserv refuses a second change on a connection that has one waiting, so Cap =
// its connections never fills). Pure: nameserv answers what `release` hands it.
template <typename Reply, std::size_t Cap = 16>
class Waiting {
public:
    struct Entry {
        rpc::Caller caller;
        std::uint16_t op;
        Status status;
        Reply reply;
        std::uint64_t entry;  // the change's log index
        std::uint64_t since;  // ticks
        bool used;
    };
    // overflow when full (the caller answers at once instead).
    Status add(const rpc::Caller& c, std::uint16_t op, Status status, const Reply& reply, std::uint64_t entry,
               std::uint64_t now) {
        for (Entry& e : m_entries)
            if (!e.used) {
                e = Entry{c, op, status, reply, entry, now, true};
                return Status::ok;
            }
        return Status::overflow;
    }
    // Hands `answer(entry, status)` every change now held elsewhere (`held`: held_elsewhere(),
    // no_replica answers all) with its own status, and every one waiting `limit` ticks or more
    // with `timeout` (it took effect; it may not survive a stop of replica 0's core). Returns how
    // many were answered.
    template <typename Answer>
    unsigned release(std::uint64_t held, std::uint64_t now, std::uint64_t limit, Answer&& answer) {
        unsigned n = 0;
        for (Entry& e : m_entries) {
            if (!e.used) continue;
            if (held != no_replica && e.entry > held && now - e.since < limit) continue;
            e.used = false;
            ++n;
            answer(e, held == no_replica || e.entry <= held ? e.status : Status::timeout);
        }
        return n;
    }
    // Whether that client's connection has a change waiting.
    [[nodiscard]] bool holds(const rpc::Caller& c) const {
        for (const Entry& e : m_entries)
            if (e.used && e.caller.connection == c.connection) return true;
        return false;
    }
    // A client's connection closed: nothing goes to it any more.
    void forget(const rpc::Caller& c) {
        for (Entry& e : m_entries)
            if (e.used && e.caller.connection == c.connection) e.used = false;
    }
    [[nodiscard]] unsigned size() const {
        unsigned n = 0;
        for (const Entry& e : m_entries) n += e.used ? 1 : 0;
        return n;
    }

private:
    Entry m_entries[Cap] = {};
};

// A replica > 0's side: builds the request and takes the reply.
struct Uplink {
    UplinkTransport transport;
    std::uint64_t diverged = 0;  // replies where replica 0's digest differed at our index
    std::uint64_t compared = 0;  // replies at an index equal to ours (digests compared)
    std::uint64_t upstream_applied = 0;
    bool caught_up = false;      // the last reply left nothing waiting and we had applied it all

    void request(Exchange& req, const NameReplica& replica) const {
        req = Exchange{};
        bool more = false;
        req.first = transport.out.fill(req.lines, more);
        req.received = transport.in.received;
        req.applied = replica.applied_index();
    }
    Status take(NameReplica& replica, const ExchangeReply& reply) {
        if (transport.out.ack(reply.received) != Status::ok) return Status::invalid_argument;
        const Status s = transport.in.take(reply.first, reply.lines, [&](const Line& l) {
            const urpc::Message m = to_message(l);
            (void)replica.on_message(0, m);
        });
        if (s != Status::ok) return s;
        upstream_applied = reply.applied;
        caught_up = !reply.more && replica.applied_index() >= reply.applied;
        if (replica.applied_index() == reply.applied) {
            ++compared;
            if (replica.object().digest() != reply.digest) ++diverged;
        }
        return Status::ok;
    }
};

// ---- Join (a replica i > 0 starting: first start, restart, or moved) ----

// Replica 0's side of a join's first page: forgets what it queued for `from` (a new instance
// of that replica has none of it; the snapshot has all of it), so both directions number from 1
// again, and takes the snapshot into `out` at its last ordered entry. Both in one step, so
// every entry ordered later goes to the new instance by exchange and none is missed.
inline Result<std::size_t> start_join(const NameReplica& replica, HubTransport& hub, std::uint16_t from,
                                      std::span<std::byte> out) {
    if (from == 0 || from >= hub.count) return Status::permission_denied;
    hub.peers[from].reset();
    return replica.snapshot(out);
}

// The joining replica's side once it read the whole snapshot: its Replica takes the state and
// log index (refused, and nothing changed, unless header, digest and the table's own checks
// hold), and its uplink starts numbering afresh like replica 0's side did.
inline Status finish_join(NameReplica& replica, Uplink& up, std::span<const std::byte> snapshot) {
    if (const Status s = replica.restore(snapshot); s != Status::ok) return s;
    up.transport.out.reset();
    up.transport.in.received = 0;
    up.caught_up = false;
    return Status::ok;
}

} // namespace myr::nameserv
