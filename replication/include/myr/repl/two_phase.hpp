#pragma once
// `2pc`: two-phase commit over the coordinator's multicast tree. The coordinator is the origin,
// or (Coordinator::owner) one owner core that origins ask, as Barrelfish's monitors do for
// capability operations. Prepare travels down the tree; each replica locks the op's conflict key
// and forwards; votes are aggregated on the way back up (acknowledgements follow the topology:
// a parent sends one vote for its whole subtree). Commit or abort travels down again.
//
// A replica that finds the key held by another transaction applies wait-die: a prepare that
// outranks the holder (`outranks`: the higher per-origin sequence number, then the lower origin
// core) waits here (parked, max_parked of them) until the key is free; one that does not (or
// finds the parking full, or the transaction table full) votes no at once and does not forward
// the prepare: its subtree never joins, and ignores the abort; the client sees `busy` and retries
// (with its own backoff). When the key frees, the highest parked prepare takes it and the other
// prepares parked for it vote no (they no longer outrank the holder).
// Why: with plain no-wait, two coordinators of one key each lock part of the machine and both
// abort; at 64 cores every conflict round aborted everyone (an abort storm that never finished).
// Here the highest-priority contender of a round never aborts, so every round commits at least
// one transaction. No deadlock: a prepare waits only for a holder of strictly lower priority (a
// total order on ids), so waits cannot form a cycle. Starvation is not ruled out by a proof: an
// origin that keeps losing retries, each retry a higher sequence number, and so gains priority.
// Reads answer from the local copy, or `busy` while the key is locked (see replica.hpp for why
// that is linearizable). Included by replica.hpp.

namespace myr::repl {

template <ReplicatedObject Obj>
bool Replica<Obj>::locked(std::uint64_t key) const {
    for (const Txn& t : m_txns)
        if (t.used && t.key == key) return true;
    return false;
}

template <ReplicatedObject Obj>
const typename Replica<Obj>::Txn* Replica<Obj>::holder(std::uint64_t key) const {
    for (const Txn& t : m_txns)
        if (t.used && t.key == key) return &t;
    return nullptr;
}

// Wait-die priority between two transaction ids (origin << 40 | per-origin sequence): a total
// order, so waits (only ever from higher to lower) cannot form a cycle.
[[nodiscard]] constexpr bool outranks(std::uint64_t a, std::uint64_t b) {
    const std::uint64_t seq_mask = (std::uint64_t{1} << 40) - 1;
    if ((a & seq_mask) != (b & seq_mask)) return (a & seq_mask) > (b & seq_mask);
    return id_origin(a) < id_origin(b);
}

template <ReplicatedObject Obj>
typename Replica<Obj>::Txn* Replica<Obj>::find_txn(std::uint64_t id, std::uint16_t root) {
    for (Txn& t : m_txns)
        if (t.used && t.id == id && t.root == root) return &t;
    return nullptr;
}

template <ReplicatedObject Obj>
typename Replica<Obj>::Txn* Replica<Obj>::alloc_txn() {
    for (Txn& t : m_txns) {
        if (t.used) continue;
        t.used = true;
        ++m_txns_used;
        return &t;
    }
    return nullptr;
}

template <ReplicatedObject Obj>
Status Replica<Obj>::two_pc_submit(std::int32_t slot) {
    Pending& q = m_pending[slot];
    if (q.read) {
        if (locked(Obj::conflict_key(q.op)))
            finish_pending(slot, Status::busy, Res{});
        else
            finish_pending(slot, Status::ok, m_object.read(q.op));
        return Status::ok;
    }
    if (cfg().coordinator == Coordinator::owner && m_self != cfg().owner) {
        Packet p = packet(Kind::owner_request, m_self, cfg().owner, q.id, 0);
        to_words(q.op, p.body);
        send(cfg().owner, p);
        return Status::ok;
    }
    two_pc_coordinate(slot);
    return Status::ok;
}

// Start a transaction for pending slot `slot` with this core as the root of the tree.
template <ReplicatedObject Obj>
void Replica<Obj>::two_pc_coordinate(std::int32_t slot) {
    const Pending& q = m_pending[slot];
    const std::uint64_t key = Obj::conflict_key(q.op);
    Txn* t = locked(key) ? nullptr : alloc_txn();
    if (t == nullptr) {
        ++m_stats.aborts;
        two_pc_finish(slot, Status::busy, Res{});
        return;
    }
    const auto kids = m_group->children(m_self, m_self);
    const std::uint16_t origin = q.remote ? q.reply_to : m_self;
    *t = Txn{true, m_self, origin, static_cast<std::uint16_t>(kids.size()), true, slot, q.id, key, q.op};
    if (t->waiting == 0) {
        two_pc_decide(*t);
        return;
    }
    Packet p = packet(Kind::tpc_prepare, origin, m_self, q.id, 0);
    to_words(q.op, p.body);
    forward(p);
}

template <ReplicatedObject Obj>
void Replica<Obj>::two_pc_decide(Txn& t) {
    Packet p = packet(t.ok ? Kind::tpc_commit : Kind::tpc_abort, t.origin, m_self, t.id, 0);
    const std::int32_t slot = t.slot;
    Res res{};
    if (t.ok) {
        ++m_stats.commits;
        res = apply(t.op);
    } else {
        ++m_stats.aborts;
    }
    const std::uint64_t key = t.key;
    free_txn(t);
    forward(p);
    two_pc_finish(slot, p.kind == Kind::tpc_commit ? Status::ok : Status::busy, res);
    two_pc_release(key);
}

// A participant's prepare (p from its tree parent, op checked): lock and forward, vote yes as a
// leaf, park (wait-die), or vote no.
template <ReplicatedObject Obj>
void Replica<Obj>::two_pc_prepare(const Packet& p, const Op& op) {
    const std::uint64_t key = Obj::conflict_key(op);
    if (const Txn* h = holder(key)) {
        if (outranks(p.id, h->id) && m_parked_used < max_parked) {
            for (Parked& w : m_parked) {
                if (w.used) continue;
                w = Parked{true, p};
                ++m_parked_used;
                ++m_stats.parked;
                return;
            }
        }
        send(p.from, packet(Kind::tpc_vote, p.origin, p.root, p.id, 0));
        return;
    }
    Txn* t = alloc_txn();
    if (t == nullptr) {
        send(p.from, packet(Kind::tpc_vote, p.origin, p.root, p.id, 0));
        return;
    }
    const auto kids = m_group->children(p.root, m_self);
    *t = Txn{true, p.root, p.origin, static_cast<std::uint16_t>(kids.size()), true, no_slot, p.id, key, op};
    if (t->waiting == 0)
        send(p.from, packet(Kind::tpc_vote, p.origin, p.root, p.id, 1));
    else
        forward(p);
}

// `key` was just unlocked here: the highest parked prepare for it takes it, the others die.
template <ReplicatedObject Obj>
void Replica<Obj>::two_pc_release(std::uint64_t key) {
    Parked* best = nullptr;
    for (Parked& w : m_parked)
        if (w.used && Obj::conflict_key(from_words<Op>(w.p.body)) == key && (best == nullptr || outranks(w.p.id, best->p.id)))
            best = &w;
    if (best == nullptr) return;
    const Packet next = best->p;
    best->used = false;
    --m_parked_used;
    for (Parked& w : m_parked) {
        if (!w.used || Obj::conflict_key(from_words<Op>(w.p.body)) != key) continue;
        w.used = false;
        --m_parked_used;
        send(w.p.from, packet(Kind::tpc_vote, w.p.origin, w.p.root, w.p.id, 0));
    }
    two_pc_prepare(next, from_words<Op>(next.body));
}

template <ReplicatedObject Obj>
void Replica<Obj>::two_pc_finish(std::int32_t slot, Status status, const Res& result) {
    const Pending& q = m_pending[slot];
    if (!q.remote) {
        finish_pending(slot, status, result);
        return;
    }
    Packet p = packet(Kind::owner_reply, q.reply_to, m_self, q.id, static_cast<std::uint64_t>(status));
    to_words(result, p.body);
    send(q.reply_to, p);
    free_pending(slot);
}

template <ReplicatedObject Obj>
Status Replica<Obj>::two_pc_on(const Packet& p) {
    switch (p.kind) {
    case Kind::tpc_prepare: {
        if (p.root == m_self || m_group->parent(p.root, m_self) != p.from)
            return reject(Status::malformed);
        const Op op = from_words<Op>(p.body);
        if (!Obj::valid(op) || Obj::is_read(op)) return reject(Status::malformed);
        if (find_txn(p.id, p.root) != nullptr) return reject(Status::exists);
        for (const Parked& w : m_parked)
            if (w.used && w.p.id == p.id && w.p.root == p.root) return reject(Status::exists);
        two_pc_prepare(p, op);
        return Status::ok;
    }
    case Kind::tpc_vote: {
        Txn* t = find_txn(p.id, p.root);
        if (t == nullptr || t->waiting == 0 || !m_group->is_child(p.root, m_self, p.from) || p.aux > 1)
            return reject(Status::not_found);
        t->ok = t->ok && p.aux == 1;
        if (--t->waiting != 0) return Status::ok;
        if (p.root == m_self)
            two_pc_decide(*t);
        else
            send(m_group->parent(p.root, m_self),
                 packet(Kind::tpc_vote, t->origin, p.root, p.id, t->ok ? 1 : 0));
        return Status::ok;
    }
    case Kind::tpc_commit:
    case Kind::tpc_abort: {
        if (p.root == m_self || m_group->parent(p.root, m_self) != p.from)
            return reject(Status::malformed);
        Txn* t = find_txn(p.id, p.root);
        if (t == nullptr) {
            // We voted no without joining (or never were asked): nothing to undo, and our
            // subtree never saw the prepare. A commit cannot legitimately get here.
            if (p.kind == Kind::tpc_commit) return reject(Status::not_found);
            ++m_stats.ignored;
            return Status::ok;
        }
        if (t->waiting != 0) return reject(Status::invalid_argument);  // decided before our vote
        if (p.kind == Kind::tpc_commit) (void)apply(t->op);
        const std::uint64_t key = t->key;
        free_txn(*t);
        forward(p);
        two_pc_release(key);
        return Status::ok;
    }
    case Kind::owner_request: {
        if (cfg().coordinator != Coordinator::owner || m_self != cfg().owner ||
            p.from != p.origin || id_origin(p.id) != p.origin)
            return reject(Status::malformed);
        const Op op = from_words<Op>(p.body);
        if (!Obj::valid(op) || Obj::is_read(op)) return reject(Status::malformed);
        if (m_pending_used + (m_done_tail - m_done_head) >= max_pending) {
            // Our own table is full: refuse like a conflict, the origin retries.
            send(p.origin, packet(Kind::owner_reply, p.origin, m_self, p.id,
                                  static_cast<std::uint64_t>(Status::busy)));
            return Status::ok;
        }
        for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i) {
            if (m_pending[i].used) continue;
            m_pending[i] = Pending{true, false, false, true, p.origin, 0, p.id, 0, op};
            ++m_pending_used;
            two_pc_coordinate(i);
            return Status::ok;
        }
        return reject(Status::internal);
    }
    case Kind::owner_reply: {
        if (cfg().coordinator != Coordinator::owner || p.from != cfg().owner || p.origin != m_self)
            return reject(Status::malformed);
        const std::int32_t slot = find_pending(p.id);
        if (slot == no_slot || m_pending[slot].read || m_pending[slot].remote)
            return reject(Status::not_found);
        const Status s = static_cast<Status>(p.aux);
        if (p.aux > 0xff || (s != Status::ok && s != Status::busy)) return reject(Status::malformed);
        finish_pending(slot, s, from_words<Res>(p.body));
        return Status::ok;
    }
    default: return reject(Status::invalid_argument);
    }
}

} // namespace myr::repl
