#pragma once
// `sequencer`: one core (GroupConfig::sequencer) numbers every update, applies it, and sends the
// entry down its multicast tree; tree paths are FIFO, so every replica sees indexes 1, 2, 3...
// and anything else is refused. The origin completes when the entry reaches it, with the result
// its own replica computed at that log position. Reads are local (sequentially consistent:
// never older than this core's own updates) or, with ReadMode::linearizable, wait until the
// replica has applied the index the sequencer had when asked. Included by replica.hpp.

namespace myr::repl {

template <ReplicatedObject Obj>
Status Replica<Obj>::sequencer_submit(std::int32_t slot) {
    Pending& q = m_pending[slot];
    const std::uint16_t seq = cfg().sequencer;
    if (q.read) {
        if (cfg().reads == ReadMode::local || m_self == seq) {
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
    send(cfg().sequencer, packet(Kind::seq_resend, m_self, cfg().sequencer, 0, m_applied + 1));
}

template <ReplicatedObject Obj>
void Replica<Obj>::resync(std::uint16_t former_parent) {
    if (cfg().protocol != Protocol::sequencer || m_self == cfg().sequencer) return;
    m_resync = true;
    if (former_parent != m_group->parent(cfg().sequencer, m_self)) m_former[m_formers++ % 4] = former_parent;
    m_asked_at = ~0ull;
    sequencer_ask_resend();
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
    const std::uint16_t seq = cfg().sequencer;
    switch (p.kind) {
    case Kind::seq_request: {
        if (m_self != seq || p.from != p.origin || id_origin(p.id) != p.origin)
            return reject(Status::malformed);
        const Op op = from_words<Op>(p.body);
        if (!Obj::valid(op) || Obj::is_read(op)) return reject(Status::malformed);
        sequencer_order(p.origin, p.id, op);
        return Status::ok;
    }
    case Kind::seq_entry: {
        // From our parent in the sequencer's tree; after a resync also straight from the sequencer
        // (a resend) or from a former parent (what it sent before it stopped), which we apply and
        // pass on to our children like any entry.
        bool direct = m_resync && p.from == seq;
        for (std::uint16_t f : m_former) direct = direct || (m_resync && f == p.from);
        if (p.root != seq || (m_group->parent(seq, m_self) != p.from && !direct)) return reject(Status::malformed);
        if (p.aux != m_applied + 1) {
            if (!m_resync) return reject(Status::invalid_argument);  // gap or replay
            if (p.aux <= m_applied) {  // resent, or reached us twice around the change
                ++m_stats.duplicates;
                return Status::ok;
            }
            sequencer_ask_resend();  // a gap: entries were lost with a stopped core
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
        if (slot != no_slot) finish_pending(slot, Status::ok, res);
        forward(p);
        sequencer_release_reads();
        return Status::ok;
    }
    case Kind::seq_read:
        if (m_self != seq || p.from != p.origin || id_origin(p.id) != p.origin)
            return reject(Status::malformed);
        send(p.origin, packet(Kind::seq_read_index, p.origin, seq, p.id, m_applied));
        return Status::ok;
    case Kind::seq_resend: {
        if (m_self == seq) {
            // Resend from p.aux on, straight to the asker, while the log holds it.
            if (p.from != p.origin || p.aux == 0) return reject(Status::malformed);
            const std::uint64_t oldest = m_applied >= log_entries ? m_applied - log_entries + 1 : 1;
            if (p.aux < oldest) {
                send(p.from, packet(Kind::seq_resend, p.from, seq, 0, oldest));
                return Status::ok;
            }
            for (std::uint64_t i = p.aux; i <= m_applied; ++i) {
                Packet e = m_log[i % log_entries];
                e.from = m_self;
                send(p.from, e);
                ++m_stats.resent;
            }
            return Status::ok;
        }
        // The sequencer's log no longer held what we asked for (aux: its oldest then). If the
        // tree brought us that far meanwhile, ask again from where we are; else only a snapshot
        // would do.
        if (p.from != seq || p.origin != m_self) return reject(Status::malformed);
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
    default: return reject(Status::invalid_argument);
    }
}

} // namespace myr::repl
