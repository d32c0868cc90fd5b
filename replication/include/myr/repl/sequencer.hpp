#pragma once
// `sequencer`: one core (GroupConfig::sequencer at first) numbers every update, applies it, and
// sends the entry down its multicast tree; tree paths are FIFO, so every replica sees indexes 1,
// 2, 3... and anything else is refused. The origin completes when the entry reaches it, with the
// result its own replica computed at that log position. Reads are local (sequentially consistent:
// never older than this core's own updates) or, with ReadMode::linearizable, wait until the
// replica has applied the index the sequencer had when asked. When the sequencer stops, another
// core takes over (sequencer_gone, replica.hpp). Included by replica.hpp.

namespace myr::repl {

template <ReplicatedObject Obj>
Status Replica<Obj>::sequencer_submit(std::int32_t slot) {
    Pending& q = m_pending[slot];
    if (q.read && cfg().reads == ReadMode::local) {
        finish_pending(slot, Status::ok, m_object.read(q.op));
        return Status::ok;
    }
    if (m_takeover) return Status::ok;  // sent once the new sequencer's log is caught up
    const std::uint16_t seq = m_seq;
    if (q.read) {
        if (m_self == seq) {
            finish_pending(slot, Status::ok, m_object.read(q.op));
            return Status::ok;
        }
        send(seq, packet(Kind::seq_read, m_self, seq, q.id, 0));
        return Status::ok;
    }
    if (m_self == seq) {
        sequencer_order(m_self, q.id, q.op);
        return Status::ok;
    }
    Packet p = packet(Kind::seq_request, m_self, seq, q.id, 0);
    to_words(q.op, p.body);
    send(seq, p);
    return Status::ok;
}

template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_order(std::uint16_t origin, std::uint64_t id, const Op& op) {
    const Res res = apply(op);
    ++m_applied;
    if (origin == m_self) {
        const std::int32_t slot = find_pending(id);
        if (slot != no_slot) finish_pending(slot, Status::ok, res);
    }
    Packet e = packet(Kind::seq_entry, origin, m_self, id, m_applied);
    to_words(op, e.body);
    m_log[m_applied % log_entries] = e;
    forward(e);
}

template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_ask_resend() {
    if (m_asked_at == m_applied) return;  // asked already for this gap
    m_asked_at = m_applied;
    send(m_seq, packet(Kind::seq_resend, m_self, m_seq, 0, m_applied + 1));
}

template <ReplicatedObject Obj>
void Replica<Obj>::resync(std::uint16_t former_parent) {
    if (cfg().protocol != Protocol::sequencer || m_self == m_seq) return;
    m_resync = true;
    if (former_parent != m_group->parent(m_seq, m_self)) m_former[m_formers++ % 4] = former_parent;
    m_asked_at = ~0ull;
    if (!m_takeover) sequencer_ask_resend();
}

// Entries from index `from_index` on, straight to `to`, while the log holds them; else the oldest
// index held (a seq_resend naming `to` as its origin).
template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_send_log(std::uint16_t to, std::uint64_t from_index) {
    const std::uint64_t oldest = m_applied >= log_entries ? m_applied - log_entries + 1 : 1;
    if (from_index < oldest) {
        send(to, packet(Kind::seq_resend, to, m_seq, 0, oldest));
        return;
    }
    for (std::uint64_t i = from_index; i <= m_applied; ++i) {
        Packet e = m_log[i % log_entries];
        e.from = m_self;
        send(to, e);
        ++m_stats.resent;
    }
    // The end of this resend (id 1): entries ordered after it reach the asker through the tree,
    // and when some overtook the resend there, it asks again from where it got to.
    send(to, packet(Kind::seq_resend, to, m_seq, resend_end, m_applied + 1));
}

// ---- Takeover -----------------------------------------------------------------------------------

template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_gone(std::uint16_t next, std::span<const std::uint64_t> live) {
    const std::uint32_t n = m_group->cores();
    if (cfg().protocol != Protocol::sequencer || next >= n || live.empty() || (live[0] >> next & 1u) == 0 || next == m_seq)
        return;
    m_dead |= std::uint64_t{1} << m_seq;
    m_seq = next;
    m_live = live[0] & ~m_dead;
    m_takeover = true;
    m_pulling = m_ready_known = false;
    m_resync = true;
    m_asked_at = ~0ull;
    if (m_self == next) {
        // Ask every live replica for its last index: one that was told of the takeover before
        // us sent it already, and we refused it then (no takeover of ours yet); the others send
        // it when told, and answer this once they are.
        for (std::uint32_t c = 0; c < m_group->cores(); ++c)
            if (c != m_self && (m_live >> c & 1u)) send(static_cast<std::uint16_t>(c), packet(Kind::seq_state, m_self, m_self, 0, 0));
        sequencer_gather(m_live & ~(std::uint64_t{1} << m_self));
        if (m_gather == 0) sequencer_pull_or_ready();
        return;
    }
    send(next, packet(Kind::seq_state, m_self, next, 0, m_applied));
}

template <ReplicatedObject Obj>
void Replica<Obj>::core_stopped(std::uint16_t core) {
    if (cfg().protocol != Protocol::sequencer || core >= m_group->cores() || core == m_seq) return;
    const std::uint64_t bit = std::uint64_t{1} << core;
    m_live &= ~bit;
    if (m_self != m_seq || !m_takeover) return;
    if (m_pulling && m_best_from == core) {
        // It held the most: ask everyone left again (what they applied has not changed since).
        for (std::uint32_t c = 0; c < m_group->cores(); ++c)
            if (c != m_self && (m_live >> c & 1u)) send(static_cast<std::uint16_t>(c), packet(Kind::seq_state, m_self, m_self, 0, 0));
        sequencer_gather(m_live & ~(std::uint64_t{1} << m_self));
        if (m_gather == 0) sequencer_pull_or_ready();
        return;
    }
    if (m_gather & bit) {
        m_gather &= ~bit;
        if (m_gather == 0 && !m_pulling) sequencer_pull_or_ready();
    }
}

// The new sequencer: wait for the last index of each of `cores`.
template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_gather(std::uint64_t cores) {
    m_gather = cores;
    m_best = m_applied;
    m_best_from = m_self;
    m_pulling = false;
}

template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_pull_or_ready() {
    if (m_best > m_applied) {
        m_pulling = true;
        send(m_best_from, packet(Kind::seq_resend, m_self, m_self, 0, m_applied + 1));
        return;
    }
    sequencer_become_ready();
}

// Says where the new log goes on, and sends each replica what it lacks of the log up to there
// at once, before any new entry: ordering new ones first could push what a replica lacks out of
// the log (it holds the last log_entries) before it asked.
template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_become_ready() {
    m_pulling = false;
    for (std::uint32_t c = 0; c < m_group->cores(); ++c) {
        if (c == m_self || (m_live >> c & 1u) == 0) continue;
        const auto to = static_cast<std::uint16_t>(c);
        send(to, packet(Kind::seq_ready, m_self, m_self, 0, m_applied));
        if (m_told[c] < m_applied) sequencer_send_log(to, m_told[c] + 1);
    }
    m_ready_known = true;
    m_ready_index = m_applied;
    sequencer_finish_takeover();
}

// Caught up with the new log: what waited here goes to the new sequencer (or is ordered here).
template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_finish_takeover() {
    m_takeover = false;
    ++m_stats.takeovers;
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i) {
        Pending& q = m_pending[i];
        if (!q.used || (q.read && q.index_known)) continue;
        ++m_stats.resubmitted;
        (void)sequencer_submit(i);
    }
}

template <ReplicatedObject Obj>
void Replica<Obj>::sequencer_release_reads() {
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(max_pending); ++i) {
        const Pending& q = m_pending[i];
        if (q.used && q.read && q.index_known && q.wait_index <= m_applied)
            finish_pending(i, Status::ok, m_object.read(q.op));
    }
}

template <ReplicatedObject Obj>
Status Replica<Obj>::sequencer_on(const Packet& p) {
    const std::uint16_t seq = m_seq;
    if (p.from < 64 && (m_dead >> p.from & 1u) != 0) {
        ++m_stats.ignored;  // a late line of a sequencer that stopped (still in its channel)
        return Status::ok;
    }
    switch (p.kind) {
    case Kind::seq_request: {
        if (m_self != seq || m_takeover || p.from != p.origin || id_origin(p.id) != p.origin)
            return reject(Status::malformed);
        const Op op = from_words<Op>(p.body);
        if (!Obj::valid(op) || Obj::is_read(op)) return reject(Status::malformed);
        sequencer_order(p.origin, p.id, op);
        return Status::ok;
    }
    case Kind::seq_entry: {
        const bool dead_root = p.root < 64 && (m_dead >> p.root & 1u) != 0;
        // A stopped sequencer's entry is taken only from the new sequencer (its resends), or by
        // the new sequencer from the replica it fetches from; one still in flight from elsewhere
        // is late: the new log may give its index to another update.
        const bool pulled = m_self == seq && m_pulling && p.from == m_best_from;
        if (dead_root) {
            // (The new sequencer resends only once it is ready: before that, a line from it of
            // a stopped sequencer's tree is one it passed on as a replica, before its own view.)
            if (!(p.from == seq && m_ready_known) && !pulled) {
                ++m_stats.ignored;
                return Status::ok;
            }
        } else {
            // From our parent in the sequencer's tree; after a resync also straight from the
            // sequencer (a resend) or from a former parent (what it sent before it stopped),
            // which we apply and pass on to our children like any entry.
            bool direct = m_resync && p.from == seq;
            for (std::uint16_t f : m_former) direct = direct || (m_resync && f == p.from);
            if (p.root != seq || m_self == seq || (m_group->parent(seq, m_self) != p.from && !direct))
                return reject(Status::malformed);
        }
        if (p.aux != m_applied + 1) {
            if (!m_resync) return reject(Status::invalid_argument);  // gap or replay
            if (p.aux <= m_applied) {  // resent, or reached us twice around the change
                ++m_stats.duplicates;
                return Status::ok;
            }
            if (p.aux > m_seen) m_seen = p.aux;
            if (!pulled) sequencer_ask_resend();  // a gap: entries were lost with a stopped core
            return Status::ok;
        }
        const Op op = from_words<Op>(p.body);
        if (!Obj::valid(op) || Obj::is_read(op)) return reject(Status::malformed);
        std::int32_t slot = no_slot;
        if (p.origin == m_self) {
            // The log is authoritative: an entry we cannot match is still applied (skipping it
            // would split this replica from the others), and counted.
            slot = find_pending(p.id);
            if (slot != no_slot && m_pending[slot].read) slot = no_slot;
            if (slot == no_slot) ++m_stats.orphans;
        }
        const Res res = apply(op);
        ++m_applied;
        m_log[m_applied % log_entries] = p;
        if (slot != no_slot) finish_pending(slot, Status::ok, res);
        if (!dead_root) forward(p);  // a stopped sequencer's tree is no longer used
        sequencer_release_reads();
        if (pulled && m_applied >= m_best) sequencer_become_ready();
        else if (m_takeover && m_ready_known && m_applied >= m_ready_index) sequencer_finish_takeover();
        return Status::ok;
    }
    case Kind::seq_read:
        if (m_self != seq || m_takeover || p.from != p.origin || id_origin(p.id) != p.origin)
            return reject(Status::malformed);
        send(p.origin, packet(Kind::seq_read_index, p.origin, seq, p.id, m_applied));
        return Status::ok;
    case Kind::seq_resend: {
        if (p.from == seq && p.origin == seq && p.root == seq && m_self != seq && m_takeover) {
            // The new sequencer fetches the entries it lacks from us (sequencer_gone).
            if (p.aux == 0) return reject(Status::malformed);
            sequencer_send_log(p.from, p.aux);
            return Status::ok;
        }
        if (m_self == seq) {
            if (p.id == resend_end && p.origin == m_self) {  // the end of what we fetched: nothing to do
                ++m_stats.ignored;
                return Status::ok;
            }
            if (m_pulling && p.from == m_best_from && p.origin == m_self) {
                // The replica that applied the most no longer holds what we lack: no index may
                // get two entries, so this takeover stops here (counted).
                ++m_stats.out_of_sync;
                m_pulling = false;
                return Status::ok;
            }
            // Resend from p.aux on, straight to the asker, while the log holds it.
            if (p.from != p.origin || p.aux == 0) return reject(Status::malformed);
            if (p.aux > m_applied + 1) return reject(Status::invalid_argument);  // past our log: no replica has it
            if (m_takeover) {  // it asks again once told where the new log starts
                ++m_stats.ignored;
                return Status::ok;
            }
            sequencer_send_log(p.from, p.aux);
            return Status::ok;
        }
        // The sequencer's log no longer held what we asked for (aux: its oldest then). If the
        // tree brought us that far meanwhile, ask again from where we are; else only a snapshot
        // would do.
        if (p.from != seq || p.origin != m_self) return reject(Status::malformed);
        if (p.id == resend_end) {
            if (m_applied < m_seen) {  // entries past the resend reached us, and some are still missing
                m_asked_at = ~0ull;
                sequencer_ask_resend();
            } else {
                ++m_stats.ignored;
            }
            return Status::ok;
        }
        if (m_applied + 1 >= p.aux) {
            m_asked_at = ~0ull;
            sequencer_ask_resend();
            return Status::ok;
        }
        ++m_stats.out_of_sync;
        return Status::ok;
    }
    case Kind::seq_read_index: {
        if (p.from != seq || p.origin != m_self) return reject(Status::malformed);
        const std::int32_t slot = find_pending(p.id);
        if (slot == no_slot || !m_pending[slot].read || m_pending[slot].index_known)
            return reject(Status::not_found);
        m_pending[slot].index_known = true;
        m_pending[slot].wait_index = p.aux;
        sequencer_release_reads();
        return Status::ok;
    }
    case Kind::seq_state: {
        if (p.origin != p.from) return reject(Status::malformed);
        if (m_self == seq && m_takeover && p.root == seq) {
            // A replica's last index, for our takeover.
            const std::uint64_t bit = std::uint64_t{1} << p.from;
            if ((m_gather & bit) == 0) {  // the answer to our ask after it had told us, or late
                ++m_stats.ignored;
                return Status::ok;
            }
            m_gather &= ~bit;
            m_told[p.from] = p.aux;
            if (p.aux > m_best) {
                m_best = p.aux;
                m_best_from = p.from;
            }
            if (m_gather == 0) sequencer_pull_or_ready();
            return Status::ok;
        }
        if (p.from == seq && p.root == seq && m_self != seq && m_takeover) {
            send(seq, packet(Kind::seq_state, m_self, seq, 0, m_applied));  // the new sequencer asks
            return Status::ok;
        }
        if (p.root == m_self || p.root == p.from) {
            // A takeover our own monitor has not told us of yet (its view is late): the state
            // sent to us is asked for again once we are told, and the ask is answered then.
            ++m_stats.ignored;
            return Status::ok;
        }
        return reject(Status::malformed);
    }
    case Kind::seq_ready: {
        if (p.from != seq || p.origin != seq || p.root != seq || m_self == seq || !m_takeover) return reject(Status::malformed);
        m_ready_known = true;
        m_ready_index = p.aux;
        // (Entries of the new log can overtake this line through the tree: applied may be past it.)
        m_asked_at = ~0ull;
        // Behind it: the new sequencer sends what we lack right after this line.
        if (m_applied >= m_ready_index) sequencer_finish_takeover();
        return Status::ok;
    }
    default: return reject(Status::invalid_argument);
    }
}

} // namespace myr::repl
