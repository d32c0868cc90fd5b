#pragma once
// One core's part in a replicated object under a Placement (placement.hpp): a replica (a
// Replica<Obj> in the group of replica cores, plus the server side of forwarding) or, with
// replicas per NUMA node, a client proxy that forwards every operation (updates and reads) to its
// node's replica core and completes when the answer comes back. The same three calls as Replica:
//
//   endpoint.submit(op, token)          this core's client operation (token: bit 63 clear)
//   endpoint.on_message(src_core, line) a replication or forwarding line, src = the channel's core
//   endpoint.take_completion(c)         finished operations of this core's client
//
// Cores are machine core numbers here; the Replica inside speaks group ranks and the endpoint
// translates (a line from a core that is not a replica is refused before the protocol sees it).
//
// Forwarding lines (one URPC line each, beside wire.hpp's 0x40..0x4a):
//   fwd_request 0x4b  client -> its replica core   word0 object | client << 16 | replica << 32,
//                                                  word1 request id (client's, non-zero), word2 0,
//                                                  words 3-6 the op
//   fwd_reply   0x4c  replica core -> client       same word0, word1 the request id,
//                                                  word2 Status (ok, or busy: retry), words 3-6 result
// Refused and counted, never applied: wrong shape, wrong object, a request from a core this
// replica does not serve (or to a client core), a reply from anyone but the client's replica,
// an unknown request id, a status other than ok/busy, an invalid op, nonzero reserved bits.
//
// Linearizability carries over from the protocol: a forwarded op takes effect inside the
// replica's execution of it, which lies between the client's request and the reply.
// Freestanding: fixed capacity, no heap.
#include <myr/repl/placement.hpp>
#include <myr/repl/replica.hpp>

#include <cstdint>

namespace myr::repl {

enum class Forward : std::uint8_t { request = 0x4b, reply = 0x4c };
inline constexpr std::uint8_t forward_first = 0x4b;
inline constexpr std::uint8_t forward_last = 0x4c;
inline constexpr std::uint64_t forwarded_token = std::uint64_t{1} << 63;  // reserved token bit

struct ForwardStats {
    std::uint64_t sent = 0;           // forwarding lines sent (requests and replies)
    std::uint64_t send_failures = 0;
    std::uint64_t rejected = 0;       // refused at the endpoint (forwarding lines, lines to clients)
    std::uint64_t served = 0;         // replica: forwarded operations answered
    std::uint64_t busy_replies = 0;   // replica: forwarded operations refused as busy (client retries)
};

template <ReplicatedObject Obj>
class Endpoint {
public:
    using Op = typename Obj::Op;
    using Res = typename Obj::Result;

    // `group` must be built from placement.group_config(...); `core` is this machine core.
    Endpoint(const Group& group, const Placement& placement, std::uint16_t core, Transport& transport)
        : m_placement(&placement), m_core(core), m_group_object(group.config().object), m_ranks(placement, transport),
          m_replica(group, placement.is_replica(core) ? placement.rank_of(core) : 0, m_ranks) {}
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    [[nodiscard]] bool is_replica() const { return m_placement->is_replica(m_core); }
    // busy: max_pending operations of this core in flight (or completions not taken);
    // invalid_argument: invalid op, or token with bit 63 set.
    [[nodiscard]] Status submit(const Op& op, std::uint64_t token);
    [[nodiscard]] Status on_message(std::uint16_t src, const urpc::Message& line);
    [[nodiscard]] bool take_completion(Completion<Obj>& out) {
        if (m_done_head == m_done_tail) return false;
        out = m_done[m_done_head % max_pending];
        ++m_done_head;
        return true;
    }

    // After the group's trees changed (Group::exclude): the replica asks for what it may have
    // missed (Replica::resync).
    void resync(std::uint16_t former_parent) {
        if (is_replica()) m_replica.resync(former_parent);
        drain();
    }
    // The sequencer stopped (Replica::sequencer_gone), or another core did (Replica::core_stopped).
    void sequencer_gone(std::uint16_t next, std::span<const std::uint64_t> live) {
        if (is_replica()) m_replica.sequencer_gone(next, live);
        drain();
    }
    void core_stopped(std::uint16_t core) {
        if (is_replica()) m_replica.core_stopped(core);
        drain();
    }
    // The replica (meaningful only when is_replica()).
    [[nodiscard]] const Replica<Obj>& replica() const { return m_replica; }
    [[nodiscard]] const ForwardStats& forward_stats() const { return m_stats; }
    [[nodiscard]] std::uint64_t sent() const { return m_stats.sent + (is_replica() ? m_replica.stats().sent : 0); }
    [[nodiscard]] std::uint64_t rejected() const { return m_stats.rejected + m_replica.stats().rejected; }
    [[nodiscard]] std::uint64_t send_failures() const {
        return m_stats.send_failures + m_replica.stats().send_failures;
    }
    [[nodiscard]] std::uint64_t applied() const { return is_replica() ? m_replica.stats().applied : 0; }
    // Nothing in flight here (replica: no protocol state, no forwarded op unanswered).
    [[nodiscard]] bool idle() const {
        return m_slots_used == 0 && (!is_replica() || m_replica.idle());
    }

private:
    // The Replica speaks ranks; lines leave to the rank's core.
    class RankTransport final : public Transport {
    public:
        RankTransport(const Placement& p, Transport& t) : m_p(&p), m_t(&t) {}
        Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) override {
            if (dst >= m_p->replicas()) return Status::invalid_argument;
            return m_t->send(m_p->core_of(dst), type, w);
        }
        Transport& inner() { return *m_t; }

    private:
        const Placement* m_p;
        Transport* m_t;
    };
    // A forwarded op: on a client, one it sent; on a replica, one it serves.
    struct Slot {
        bool used;
        std::uint16_t peer;     // client: unused; replica: the client core
        std::uint64_t id;       // request id on the wire
        std::uint64_t token;    // client: the caller's token
    };

    Status reject(Status s) {
        ++m_stats.rejected;
        return s;
    }
    void send_line(std::uint16_t dst, Forward kind, std::uint16_t client, std::uint16_t replica, std::uint64_t id,
                   std::uint64_t aux, const std::uint64_t (&body)[op_words], bool& ok) {
        std::uint64_t w[urpc::payload_words] = {};
        w[0] = std::uint64_t{m_group_object} | std::uint64_t{client} << 16 | std::uint64_t{replica} << 32;
        w[1] = id;
        w[2] = aux;
        for (std::size_t i = 0; i < op_words; ++i) w[3 + i] = body[i];
        ok = m_ranks.inner().send(dst, static_cast<std::uint8_t>(kind), w) == Status::ok;
        if (ok) ++m_stats.sent;
        else ++m_stats.send_failures;
    }
    std::int32_t alloc_slot() {
        if (m_slots_used + m_local_inflight + (m_done_tail - m_done_head) >= max_pending) return no_slot;
        for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i)
            if (!m_slots[i].used) {
                m_slots[i].used = true;
                ++m_slots_used;
                return i;
            }
        return no_slot;
    }
    void free_slot(std::int32_t i) {
        m_slots[i].used = false;
        --m_slots_used;
    }
    void complete(std::uint64_t token, Status s, const Res& r) {
        m_done[m_done_tail % max_pending] = Completion<Obj>{token, s, r};
        ++m_done_tail;
    }
    void reply(std::uint16_t client, std::uint64_t id, Status s, const Res& r) {
        std::uint64_t body[op_words];
        to_words(r, body);
        bool ok = false;
        send_line(client, Forward::reply, client, m_core, id, static_cast<std::uint64_t>(s), body, ok);
    }
    // Replica: hand finished operations to this core's client or back to the forwarding client.
    void drain() {
        Completion<Obj> c;
        while (m_replica.take_completion(c)) {
            if ((c.token & forwarded_token) == 0) {
                --m_local_inflight;
                complete(c.token, c.status, c.result);
                continue;
            }
            const auto i = static_cast<std::int32_t>(c.token & 0xffff);
            if (i < 0 || i >= static_cast<std::int32_t>(max_pending) || !m_slots[i].used) continue;  // cannot happen
            reply(m_slots[i].peer, m_slots[i].id, c.status, c.result);
            if (c.status == Status::busy) ++m_stats.busy_replies;
            ++m_stats.served;
            free_slot(i);
        }
    }
    Status on_request(std::uint16_t src, std::uint16_t client, std::uint16_t replica, std::uint64_t id,
                      std::uint64_t aux, const urpc::Message& line);
    Status on_reply(std::uint16_t src, std::uint16_t client, std::uint16_t replica, std::uint64_t id,
                    std::uint64_t aux, const urpc::Message& line);

    const Placement* m_placement;
    std::uint16_t m_core;
    std::uint16_t m_group_object;
    RankTransport m_ranks;
    Replica<Obj> m_replica;
    Slot m_slots[max_pending] = {};
    std::uint32_t m_slots_used = 0;
    std::uint32_t m_local_inflight = 0;   // replica: this core's ops inside m_replica
    std::uint64_t m_next_id = 0;
    Completion<Obj> m_done[max_pending] = {};
    std::uint64_t m_done_head = 0;
    std::uint64_t m_done_tail = 0;
    ForwardStats m_stats{};
};

template <ReplicatedObject Obj>
Status Endpoint<Obj>::submit(const Op& op, std::uint64_t token) {
    if ((token & forwarded_token) != 0 || !Obj::valid(op)) return Status::invalid_argument;
    if (is_replica()) {
        if (m_slots_used + m_local_inflight + (m_done_tail - m_done_head) >= max_pending) return Status::busy;
        const Status s = m_replica.submit(op, token);
        if (s == Status::ok) ++m_local_inflight;
        drain();
        return s;
    }
    const std::int32_t i = alloc_slot();
    if (i == no_slot) return Status::busy;
    m_slots[i].id = ++m_next_id;
    m_slots[i].token = token;
    m_slots[i].peer = m_placement->replica_of(m_core);
    std::uint64_t body[op_words];
    to_words(op, body);
    bool ok = false;
    send_line(m_slots[i].peer, Forward::request, m_core, m_slots[i].peer, m_slots[i].id, 0, body, ok);
    if (!ok) {
        free_slot(i);
        return Status::overflow;
    }
    return Status::ok;
}

template <ReplicatedObject Obj>
Status Endpoint<Obj>::on_message(std::uint16_t src, const urpc::Message& line) {
    const std::uint8_t type = line.header.type;
    if (src >= m_placement->cores() || src == m_core) return reject(Status::malformed);
    if (type >= forward_first && type <= forward_last) {
        if (line.header.length != packet_length || line.header.flags != urpc::frag_single)
            return reject(Status::malformed);
        const std::uint64_t w0 = line.words[0];
        const auto object = static_cast<std::uint16_t>(w0);
        const auto client = static_cast<std::uint16_t>(w0 >> 16);
        const auto replica = static_cast<std::uint16_t>(w0 >> 32);
        if (object != m_group_object || (w0 >> 48) != 0) return reject(Status::malformed);
        if (type == static_cast<std::uint8_t>(Forward::request))
            return on_request(src, client, replica, line.words[1], line.words[2], line);
        return on_reply(src, client, replica, line.words[1], line.words[2], line);
    }
    if (!is_packet_kind(type)) return reject(Status::malformed);
    // A replication line: only between replica cores.
    if (!is_replica() || !m_placement->is_replica(src)) return reject(Status::malformed);
    const Status s = m_replica.on_message(m_placement->rank_of(src), line);
    drain();
    return s;
}

template <ReplicatedObject Obj>
Status Endpoint<Obj>::on_request(std::uint16_t src, std::uint16_t client, std::uint16_t replica, std::uint64_t id,
                                 std::uint64_t aux, const urpc::Message& line) {
    if (!is_replica() || m_placement->replica_of(src) != m_core || client != src || replica != m_core || id == 0 ||
        aux != 0)
        return reject(Status::malformed);
    std::uint64_t body[op_words];
    for (std::size_t i = 0; i < op_words; ++i) body[i] = line.words[3 + i];
    const Op op = from_words<Op>(body);
    if (!Obj::valid(op)) return reject(Status::invalid_argument);
    const std::int32_t i = alloc_slot();
    if (i == no_slot) {
        ++m_stats.busy_replies;
        reply(src, id, Status::busy, Res{});
        return Status::ok;
    }
    m_slots[i].peer = src;
    m_slots[i].id = id;
    const Status s = m_replica.submit(op, forwarded_token | static_cast<std::uint64_t>(i));
    if (s != Status::ok) {
        free_slot(i);
        ++m_stats.busy_replies;
        reply(src, id, Status::busy, Res{});  // the replica's pending table is full: no effect, retry
        return Status::ok;
    }
    drain();
    return Status::ok;
}

template <ReplicatedObject Obj>
Status Endpoint<Obj>::on_reply(std::uint16_t src, std::uint16_t client, std::uint16_t replica, std::uint64_t id,
                               std::uint64_t aux, const urpc::Message& line) {
    if (is_replica() || m_placement->replica_of(m_core) != src || client != m_core || replica != src)
        return reject(Status::malformed);
    const Status s = static_cast<Status>(aux);
    if (aux > 0xff || (s != Status::ok && s != Status::busy)) return reject(Status::malformed);
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i) {
        if (!m_slots[i].used || m_slots[i].id != id) continue;
        std::uint64_t body[op_words];
        for (std::size_t k = 0; k < op_words; ++k) body[k] = line.words[3 + k];
        const std::uint64_t token = m_slots[i].token;
        free_slot(i);
        complete(token, s, from_words<Res>(body));
        return Status::ok;
    }
    return reject(Status::not_found);
}

} // namespace myr::repl
