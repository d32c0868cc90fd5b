#pragma once
// One replica of one object on one core: the message-driven side of the framework, for the
// `broadcast`, `2pc` and `sequencer` protocols. A monitor drives it from its message loop:
//
//   replica.submit(op, token)        a client's operation (reads may complete at once)
//   replica.on_message(line)         a replication line for this object (see wire.hpp)
//   replica.take_completion(c)       finished operations: token, status, result
//
// and the replica sends through the Transport it was given. Freestanding: fixed capacity, no
// heap, no exceptions, no OS calls; malformed or unexpected messages are refused and counted,
// never applied. Protocol logic lives in the three headers included at the end, one per protocol.
//
// Why every protocol is linearizable where it claims to be:
// * sequencer: one core assigns log indexes and applies first; the tree from it keeps FIFO order
//   on every path, so each replica applies the same log in order; the origin's result is the one
//   the log order defines. Linearizable reads ask the sequencer for its index and wait for it.
// * 2pc: every replica locks the op's conflict key at prepare and unlocks at commit/abort; the
//   coordinator decides only after the whole tree voted, so while any replica has applied an
//   update every replica has its key locked or applied; reads of a locked key answer `busy`.
//   Ops on different keys must commute (object.hpp), so their order may differ per replica.
// * broadcast: not linearizable, by design: commuting updates, replicas converge.
#include <myr/repl/group.hpp>
#include <myr/repl/object.hpp>
#include <myr/repl/snapshot.hpp>
#include <myr/repl/transport.hpp>
#include <myr/repl/wire.hpp>

#include <cstdint>
#include <span>

namespace myr::repl {

inline constexpr std::uint32_t max_pending = 32;  // client operations in flight on one replica
inline constexpr std::uint32_t max_txns = 64;     // 2pc transactions one replica takes part in
inline constexpr std::uint32_t max_parked = 16;   // 2pc prepares waiting here for a key (wait-die)
inline constexpr std::int32_t no_slot = -1;

template <ReplicatedObject Obj>
struct Completion {
    std::uint64_t token;
    Status status;  // ok, or busy: a 2pc conflict aborted it (or a read met a lock): retry
    typename Obj::Result result;
};

struct ReplicaStats {
    std::uint64_t submitted = 0;
    std::uint64_t applied = 0;        // updates applied to this copy
    std::uint64_t sent = 0;
    std::uint64_t send_failures = 0;
    std::uint64_t rejected = 0;       // malformed or unexpected messages, never applied
    std::uint64_t ignored = 0;        // legitimate no-ops (abort of a txn we never joined)
    std::uint64_t orphans = 0;        // log entries naming us as origin of no pending op
    std::uint64_t commits = 0;        // 2pc decisions taken here
    std::uint64_t aborts = 0;
    std::uint64_t parked = 0;         // 2pc prepares that waited for a lower-priority holder
    // sequencer after a membership change (resync): entries seen twice and ignored, entries the
    // sequencer resent from its log, and asks that came too late for its log (then this replica
    // cannot catch up without a snapshot).
    std::uint64_t duplicates = 0;
    std::uint64_t resent = 0;
    std::uint64_t out_of_sync = 0;
    // sequencer takeovers (sequencer_gone) this replica finished, and the updates it submitted
    // again at their end.
    std::uint64_t takeovers = 0;
    std::uint64_t resubmitted = 0;
};

template <ReplicatedObject Obj>
class Replica {
public:
    using Op = typename Obj::Op;
    using Res = typename Obj::Result;

    Replica(const Group& group, std::uint16_t self, Transport& transport)
        : m_group(&group), m_transport(&transport), m_self(self), m_seq(group.config().sequencer) {}
    Replica(const Replica&) = delete;
    Replica& operator=(const Replica&) = delete;

    // busy: max_pending operations already in flight here (or their completions not taken);
    // invalid_argument: an op the object calls invalid.
    [[nodiscard]] Status submit(const Op& op, std::uint64_t token);
    // `src`: the core whose channel the line came on (the monitor knows its bindings), checked
    // against the sender the line claims. Refused lines return malformed (bad shape, wrong
    // object, impossible cores, wrong sender), or invalid_argument / not_found / exists
    // (unexpected in the protocol's state); they are counted in stats().rejected.
    [[nodiscard]] Status on_message(std::uint16_t src, const urpc::Message& line);
    [[nodiscard]] bool take_completion(Completion<Obj>& out);

    [[nodiscard]] const Obj& object() const { return m_object; }
    [[nodiscard]] std::uint64_t applied_index() const { return m_applied; }
    [[nodiscard]] const ReplicaStats& stats() const { return m_stats; }
    [[nodiscard]] std::uint16_t self() const { return m_self; }
    // sequencer: the group's trees changed (Group::exclude: a core stopped). Entries in flight
    // through a stopped core are lost, so from now on this replica accepts entries straight from
    // the sequencer too (and the last lines its former parent sent before it stopped), ignores
    // ones it has, and on a gap asks the sequencer to resend from the first index it lacks
    // (seq_resend); it asks once now. The sequencer keeps its last `log_entries` entries for
    // this. `former_parent`: its parent in the sequencer's tree before the change. No effect for
    // other protocols or at the sequencer.
    void resync(std::uint16_t former_parent);
    static constexpr std::uint32_t log_entries = 64;

    // sequencer: the sequencer stopped, and the group's trees were built again without it
    // (Group::exclude); `next`, a core of `live` (a bit per core), orders from now on. Every
    // live replica calls this. Each stops taking the stopped sequencer's entries (late ones
    // still in flight are dropped) and tells `next` the last index it applied; `next` fetches
    // the entries it lacks from the replica that applied the most (from that replica's log of its
    // last `log_entries` entries), then says from which index it goes on (seq_ready). A replica
    // catches up to that index (resends), then submits again every update it had pending: one
    // that some live replica applied is in the new log and completed by then, one that none did
    // is ordered anew. Until then new updates wait here. Entries only the stopped sequencer
    // applied are lost; an update that waited for one of them is ordered again. When `next`
    // cannot fetch what it lacks (older than the holder's log), it stays in takeover (counted in
    // stats().out_of_sync) rather than give one index two entries. Calling it again for a
    // stopped `next` starts over with another.
    void sequencer_gone(std::uint16_t next, std::span<const std::uint64_t> live);
    // sequencer: a core other than the sequencer stopped (after Group::exclude): a takeover in
    // progress stops waiting for it.
    void core_stopped(std::uint16_t core);
    [[nodiscard]] std::uint16_t sequencer() const { return m_seq; }
    // sequencer: between sequencer_gone and this replica's catching up with the new log.
    [[nodiscard]] bool taking_over() const { return m_takeover; }

    // Nothing in flight here: no pending client op, no open transaction.
    [[nodiscard]] bool idle() const { return m_pending_used == 0 && m_txns_used == 0 && m_parked_used == 0; }

    // Joins and restarts: state (and log position) from a peer's snapshot. Only while idle.
    [[nodiscard]] Result<std::size_t> snapshot(std::span<std::byte> out) const {
        return write_snapshot(m_object, m_applied, out);
    }
    [[nodiscard]] Status restore(std::span<const std::byte> in) {
        if (!idle()) return Status::busy;
        return read_snapshot(in, m_object, m_applied);
    }

private:
    struct Pending {
        bool used;
        bool read;
        bool index_known;       // sequencer linearizable read: wait_index is valid
        bool remote;            // owner-coordinated 2pc: reply to reply_to instead of completing
        std::uint16_t reply_to;
        std::uint64_t token;
        std::uint64_t id;
        std::uint64_t wait_index;
        Op op;
    };
    struct Txn {
        bool used;
        std::uint16_t root;
        std::uint16_t origin;
        std::uint16_t waiting;  // votes still to come from children
        bool ok;                // this subtree so far votes yes
        std::int32_t slot;      // coordinator: the pending slot to finish, else no_slot
        std::uint64_t id;
        std::uint64_t key;
        Op op;
    };

    const GroupConfig& cfg() const { return m_group->config(); }
    Status reject(Status s) {
        ++m_stats.rejected;
        return s;
    }
    void send(std::uint16_t dst, const Packet& p) {
        std::uint64_t w[urpc::payload_words];
        encode(p, w);
        if (m_transport->send(dst, static_cast<std::uint8_t>(p.kind), w) == Status::ok)
            ++m_stats.sent;
        else
            ++m_stats.send_failures;
    }
    // Down the tree of `p.root`: to this core's children, in the tree's send order.
    void forward(Packet p) {
        p.from = m_self;
        for (std::uint16_t c : m_group->children(p.root, m_self)) send(c, p);
    }
    Packet packet(Kind kind, std::uint16_t origin, std::uint16_t root, std::uint64_t id,
                  std::uint64_t aux) const {
        Packet p{};
        p.kind = kind;
        p.object = cfg().object;
        p.origin = origin;
        p.root = root;
        p.from = m_self;
        p.id = id;
        p.aux = aux;
        return p;
    }
    Res apply(const Op& op) {
        ++m_stats.applied;
        return m_object.apply(op);
    }
    void complete(std::uint64_t token, Status status, const Res& result) {
        // Never full: submit() reserves a completion for every pending op.
        m_done[m_done_tail % max_pending] = Completion<Obj>{token, status, result};
        ++m_done_tail;
    }
    std::int32_t alloc_pending(const Op& op, std::uint64_t token, bool read);
    std::int32_t find_pending(std::uint64_t id) const;
    void free_pending(std::int32_t slot) {
        m_pending[slot].used = false;
        --m_pending_used;
    }
    void finish_pending(std::int32_t slot, Status status, const Res& result) {
        complete(m_pending[slot].token, status, result);
        free_pending(slot);
    }

    // broadcast.hpp
    Status broadcast_submit(std::int32_t slot);
    Status broadcast_on(const Packet& p);
    // sequencer.hpp
    Status sequencer_submit(std::int32_t slot);
    Status sequencer_on(const Packet& p);
    void sequencer_order(std::uint16_t origin, std::uint64_t id, const Op& op);
    void sequencer_release_reads();
    void sequencer_ask_resend();
    void sequencer_send_log(std::uint16_t to, std::uint64_t from_index);
    void sequencer_pull_or_ready();
    void sequencer_become_ready();
    void sequencer_finish_takeover();
    void sequencer_gather(std::uint64_t cores);
    // two_phase.hpp
    Status two_pc_submit(std::int32_t slot);
    Status two_pc_on(const Packet& p);
    void two_pc_coordinate(std::int32_t slot);
    void two_pc_decide(Txn& t);
    void two_pc_finish(std::int32_t slot, Status status, const Res& result);
    void two_pc_prepare(const Packet& p, const Op& op);
    void two_pc_release(std::uint64_t key);
    bool locked(std::uint64_t key) const;
    const Txn* holder(std::uint64_t key) const;
    Txn* find_txn(std::uint64_t id, std::uint16_t root);
    Txn* alloc_txn();
    void free_txn(Txn& t) {
        t.used = false;
        --m_txns_used;
    }

    const Group* m_group;
    Transport* m_transport;
    std::uint16_t m_self;
    Obj m_object{};
    std::uint64_t m_applied = 0;    // sequencer: log entries applied (= last index)
    bool m_resync = false;          // sequencer, after resync(): entries from the sequencer accepted, gaps asked for
    std::uint64_t m_asked_at = ~0ull;  // m_applied when this replica last asked for a resend
    std::uint64_t m_seen = 0;          // the highest index that reached us past a gap
    static constexpr std::uint64_t resend_end = 1;  // seq_resend's id: the end of a resend
    std::uint16_t m_former[4] = {0xffff, 0xffff, 0xffff, 0xffff};  // parents before tree changes
    std::uint32_t m_formers = 0;
    Packet m_log[log_entries] = {}; // the last entries applied here, by index % log_entries
    // The sequencer, and its takeover (sequencer_gone): the cores whose sequencers stopped (their
    // entries are taken only from the new sequencer), the live cores then; at the new sequencer,
    // the cores whose last index it still waits for and who applied the most; at a replica, the
    // index the new log goes on from (once known).
    std::uint16_t m_seq = 0xffff;
    bool m_takeover = false, m_pulling = false, m_ready_known = false;
    std::uint64_t m_dead = 0, m_live = 0, m_gather = 0;
    std::uint64_t m_best = 0, m_ready_index = 0;
    std::uint16_t m_best_from = 0;
    std::uint64_t m_told[max_cores] = {};  // the new sequencer: each replica's last index
    std::uint64_t m_next_seq = 0;   // per-origin request numbers
    Pending m_pending[max_pending] = {};
    std::uint32_t m_pending_used = 0;
    Completion<Obj> m_done[max_pending] = {};
    std::uint64_t m_done_head = 0;
    std::uint64_t m_done_tail = 0;
    Txn m_txns[max_txns] = {};
    std::uint32_t m_txns_used = 0;
    struct Parked {  // a prepare waiting for its key (two_phase.hpp, wait-die)
        bool used;
        Packet p;
    };
    Parked m_parked[max_parked] = {};
    std::uint32_t m_parked_used = 0;
    ReplicaStats m_stats{};
};

template <ReplicatedObject Obj>
std::int32_t Replica<Obj>::alloc_pending(const Op& op, std::uint64_t token, bool read) {
    // A completion slot is reserved per pending op: pending + undelivered completions <= cap.
    if (m_pending_used + (m_done_tail - m_done_head) >= max_pending) return no_slot;
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i) {
        if (m_pending[i].used) continue;
        m_pending[i] = Pending{true, read, false, false, 0, token, make_id(m_self, ++m_next_seq), 0, op};
        ++m_pending_used;
        return i;
    }
    return no_slot;
}

template <ReplicatedObject Obj>
std::int32_t Replica<Obj>::find_pending(std::uint64_t id) const {
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i)
        if (m_pending[i].used && m_pending[i].id == id) return i;
    return no_slot;
}

template <ReplicatedObject Obj>
Status Replica<Obj>::submit(const Op& op, std::uint64_t token) {
    if (!Obj::valid(op)) return Status::invalid_argument;
    const std::int32_t slot = alloc_pending(op, token, Obj::is_read(op));
    if (slot == no_slot) return Status::busy;
    ++m_stats.submitted;
    switch (cfg().protocol) {
    case Protocol::broadcast: return broadcast_submit(slot);
    case Protocol::sequencer: return sequencer_submit(slot);
    case Protocol::two_pc: return two_pc_submit(slot);
    case Protocol::nr:
    case Protocol::shared: break;
    }
    free_pending(slot);
    return Status::unsupported;
}

template <ReplicatedObject Obj>
Status Replica<Obj>::on_message(std::uint16_t src, const urpc::Message& line) {
    Result<Packet> r = decode(line);
    if (!r.ok()) return reject(r.status());
    const Packet& p = *r;
    const std::uint32_t n = m_group->cores();
    if (p.object != cfg().object || p.origin >= n || p.root >= n || p.from >= n ||
        p.from == m_self || p.from != src)
        return reject(Status::malformed);
    switch (cfg().protocol) {
    case Protocol::broadcast: return broadcast_on(p);
    case Protocol::sequencer: return sequencer_on(p);
    case Protocol::two_pc: return two_pc_on(p);
    case Protocol::nr:
    case Protocol::shared: break;
    }
    return reject(Status::unsupported);
}

template <ReplicatedObject Obj>
bool Replica<Obj>::take_completion(Completion<Obj>& out) {
    if (m_done_head == m_done_tail) return false;
    out = m_done[m_done_head % max_pending];
    ++m_done_head;
    return true;
}

} // namespace myr::repl

#include <myr/repl/broadcast.hpp>
#include <myr/repl/sequencer.hpp>
#include <myr/repl/two_phase.hpp>
