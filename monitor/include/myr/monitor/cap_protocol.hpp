#pragma once
// Capabilities across cores (docs/capabilities.md, "Across cores"): the monitors' protocol for
// transfer, delete, revoke and ownership moves of capabilities whose copies live on several
// cores. Pure and freestanding: one CapNode per core wraps that core's caps::CapTable (the same
// library the CPU driver uses) and talks to the other nodes only through CapMsg lines that its
// caller carries. Its callers: the deterministic simulation (tests/unit/cap_sim.hpp and its tests),
// threads on host cores (monitor/hosted/.../cap_run.hpp) and the guest monitors, for frames carved
// from memserv grants (monitor/frames.cpp). Up to 64 cores (one bit per core in the owner's sets).
//
// This file: the model (below) and CapNode's entry points, the operations of a core's domains,
// core_lost and receive. What a node keeps (its records, CapOut) and the steps the entry points
// share (a revoke's mark and sweep, a move's hand-over) are in cap_node_state.hpp, CapNode's base.
//
// The model, Barrelfish's cut down to one owner per object:
// - Every frame has one **owner** core: the one that carved it. Memory is carved (retype) only on
//   the core whose table holds the untyped, and untyped capabilities never leave their core, so no
//   two cores ever retype the same range (another core asks the owner, as memserv grants do).
// - The owner counts the copies it sent to each core (`sent`) and keeps the set of cores that may
//   hold one (`copies`). A core whose last copy goes forgets the frame and says `gone` with how
//   many copies it received since it last forgot it; the owner subtracts that and drops the core
//   from the set only when nothing it sent is left unaccounted, so a copy still in flight keeps
//   its core in the set.
// - A copy to another core goes through the owner (`xfer_req` from a core that is not the owner),
//   so the owner's set always covers every core that holds or will receive a copy.
// - **Revoke** of a frame (every other copy, everywhere) or of an untyped (every frame carved from
//   it and all their copies, everywhere) is a mark and sweep run by the owner: it locks the memory
//   (transfers, retypes and ownership moves inside it answer `busy` meanwhile), sends `revoke` to
//   every core in the sets, and once every one answered `revoked` removes its own copies and
//   answers the caller. Lines between two nodes arrive in order, so a copy sent before the lock
//   reaches its core before the revoke does, and since only the owner sends copies, no copy of
//   anything inside can appear anywhere while the revoke runs.
// - A core removed from the membership holds nothing any more: owners drop it from their sets and
//   stop waiting for it, and every core drops its copies of the frames the lost core owned (no
//   owner is left to count or revoke them) or whose memory it held (their **home**, the core that
//   carved or adopted them, which every copy's record knows: that memory goes back to whoever
//   hands it out next, even where ownership had moved away).
// - A line is acted on only from the core with a say over what it names, so a confused or hostile
//   monitor harms only what it owns: a copy lands only from the frame's owner (never over memory
//   this core holds otherwise), a revoke sweeps only copies its sender owns (never this core's own
//   memory), and an answer is taken only from the core the question went to. receive() is false
//   for a line it refused; the caller counts and logs it.
// - **Ownership moves** to a core that holds a copy (move_owner), for frames that were adopted (memory
//   from outside the table, a memserv grant in the guest): a frame carved from an untyped here stays
//   owned here, since the untyped's revoke needs its sets. The owner locks the frame, tells every
//   core in its set (`moving`), and once each answered whether it still holds a copy (`moving_ack`;
//   copies it counted and `gone` lines sent before arrive first), hands the set to the new owner
//   (`move`). The new owner starts counting afresh and announces itself (`owner`) to every holder,
//   which from then on sends its lines there. A holder between `moving` and `owner` holds its own
//   lines back (transfers and revokes answer `busy`; a last copy's `gone` waits).
// - The **home** of an adopted frame keeps its copies through any revoke: the memory is its grant
//   holder's, and goes back only when that holder gives it back, after revoking (through whoever
//   owns the frame then) every other copy.
#include <myr/monitor/cap_node_state.hpp>

#include <cstdint>
#include <span>

namespace myr::monitor {

class CapNode : public CapNodeState {
public:
    // `slots`: this core's capability table (a host array in the tests).
    Status init(std::uint32_t core, std::uint32_t cores, std::span<caps::Slot> slots, std::uint64_t table_phys) {
        if (cores == 0 || cores > max_cores || core >= cores) return Status::invalid_argument;
        m_core = core;
        m_cores = cores;
        for (Obj& o : m_objs) o = {};
        for (Revoke& r : m_revokes) r = {};
        for (Asked& a : m_asked) a = {};
        for (bool& a : m_alive) a = true;
        return m_table.init(slots, table_phys);
    }
    [[nodiscard]] const caps::CapTable& table() const { return m_table; }
    [[nodiscard]] std::uint32_t core() const { return m_core; }

    // Boot: an untyped of this core's memory.
    Status install_root(caps::SlotIdx slot, const caps::Cap& c) {
        if (c.type != caps::CapType::untyped) return Status::invalid_argument;
        return m_table.install(slot, c);
    }

    // A frame of this core's memory that a domain carved outside this table (from a memserv grant
    // its monitor holds) becomes a root here, owned by this core, so copies of it can be sent.
    // exists when a cap here already names memory overlapping it.
    Status adopt(caps::SlotIdx slot, const caps::Cap& frame) {
        if (frame.type != caps::CapType::frame || frame.size == 0) return Status::invalid_argument;
        for (const caps::Slot& s : m_table.slots())
            if (!s.cap.is_null() && overlaps(s.cap, frame)) return Status::exists;
        caps::Cap root = frame;
        root.rights = caps::all_rights(frame.type);
        root.flags = 0;
        root.word = 0;
        return m_table.install(slot, root);
    }

    // ---- Operations of this core's domains -------------------------------------------------------
    // `count` frames of 2^bits carved from the untyped in `untyped` into [dest, dest + count).
    Status retype(caps::SlotIdx untyped, unsigned bits, std::uint32_t count, caps::SlotIdx dest) {
        if (untyped >= m_table.size()) return Status::out_of_range;
        const caps::Cap u = m_table.cap(untyped);
        if (u.type != caps::CapType::untyped) return u.is_null() ? Status::not_found : Status::wrong_type;
        if (locked(u)) return Status::busy;  // a revoke of it is under way
        return m_table.retype(untyped, {caps::CapType::frame, static_cast<std::uint8_t>(bits)}, count, dest);
    }

    // A copy of the frame in `slot` for core `to`. Answered through done(op).
    // `tag` travels with the copy to CapOut::installed on core `to`.
    void transfer(std::uint64_t op, caps::SlotIdx slot, std::uint32_t to, CapOut& out, std::uint64_t tag = 0) {
        if (slot >= m_table.size() || to >= m_cores || to == m_core) return out.done(op, Status::invalid_argument);
        const caps::Cap c = m_table.cap(slot);
        if (c.is_null()) return out.done(op, Status::not_found);
        if (c.type != caps::CapType::frame) return out.done(op, Status::wrong_type);  // untyped stays home
        if (!m_alive[to]) return out.done(op, Status::connection_lost);
        if (moving(c)) return out.done(op, Status::busy);  // its owner is changing: ask once it has
        const std::uint32_t owner = owner_of(c);
        if (owner == m_core) return out.done(op, send_copy(c, to, out, tag));
        if (!m_alive[owner]) return out.done(op, Status::connection_lost);
        if (!ask(op, owner, CapLine::xfer_done)) return out.done(op, Status::busy);
        CapMsg m{CapLine::xfer_req, m_core, owner, op, m_core, c, to};
        m.tag = tag;
        out.send(m);
    }

    // Deletes the cap in `slot`. When it was this core's last copy of a frame, its owner hears it;
    // on the owner, the frame stays owned here while other cores may hold copies.
    Status remove(caps::SlotIdx slot, CapOut& out) {
        if (slot >= m_table.size()) return Status::out_of_range;
        const caps::Cap c = m_table.cap(slot);
        if (c.is_null()) return Status::not_found;
        MYR_TRY(m_table.remove(slot));  // busy for an untyped with children: revoke it first
        if (c.type == caps::CapType::frame && !holds(c)) last_copy_gone(c, out);
        return Status::ok;
    }

    // For a frame: every other copy on every core goes, the one in `slot` stays. For an untyped:
    // every frame carved from it, with all its copies on every core. Answered through done(op) once
    // no core holds any of them.
    void revoke(std::uint64_t op, caps::SlotIdx slot, CapOut& out) {
        if (slot >= m_table.size()) return out.done(op, Status::out_of_range);
        const caps::Cap c = m_table.cap(slot);
        if (c.is_null()) return out.done(op, Status::not_found);
        if (c.type != caps::CapType::frame && c.type != caps::CapType::untyped) return out.done(op, Status::wrong_type);
        const std::uint32_t owner = c.type == caps::CapType::untyped ? m_core : owner_of(c);
        if (moving(c)) return out.done(op, Status::busy);
        if (owner != m_core) {
            if (!m_alive[owner]) return out.done(op, Status::connection_lost);
            if (!ask(op, owner, CapLine::revoke_done)) return out.done(op, Status::busy);
            return out.send(CapMsg{CapLine::revoke_req, m_core, owner, op, m_core, c, slot});
        }
        const Status st = start_revoke(op, m_core, c, slot, out);
        if (st != Status::ok) out.done(op, st);
    }

    // Ownership of the frame in `slot`, owned here, moves to core `to`, which holds a copy. Answered
    // through done(op): ok once `to` owns it; not_found when `to` holds no copy (at the call, or
    // found when it is asked); connection_lost when `to` leaves first; busy while a revoke or another
    // move of it runs; permission_denied where this core does not own it; invalid_argument for a
    // frame carved from an untyped here (its copies stay counted where that untyped's revoke runs).
    void move_owner(std::uint64_t op, caps::SlotIdx slot, std::uint32_t to, CapOut& out) {
        if (slot >= m_table.size() || to >= m_cores || to == m_core) return out.done(op, Status::invalid_argument);
        const caps::Cap c = m_table.cap(slot);
        if (c.is_null()) return out.done(op, Status::not_found);
        if (c.type != caps::CapType::frame) return out.done(op, Status::wrong_type);
        if (!m_alive[to]) return out.done(op, Status::connection_lost);
        if (owner_of(c) != m_core) return out.done(op, Status::permission_denied);
        if (carved_here(c)) return out.done(op, Status::invalid_argument);
        if (locked(c)) return out.done(op, Status::busy);  // a revoke or a move of it
        const Obj* o = find(c);
        if (!o || !(o->copies >> to & 1)) return out.done(op, Status::not_found);
        Revoke* r = free_job();
        if (!r) return out.done(op, Status::busy);
        *r = {};
        r->used = true;
        r->move = true;
        r->op = op;
        r->epoch = ++m_epoch;
        r->asker = m_core;
        r->root = c;
        r->to = to;
        r->home = o->home;
        for (std::uint32_t k = 0; k < m_cores; ++k)
            if ((o->copies >> k & 1) && k != m_core && m_alive[k]) {
                r->waiting |= std::uint64_t{1} << k;
                CapMsg m{CapLine::moving, m_core, k, r->epoch, m_core, c, to};
                out.send(m);
            }
        r->told = r->waiting;  // `to` is among them: the move waits for its answer
    }

    // Core `core` left the membership: it holds nothing any more and answers nothing. The copies
    // here of frames it owned go too (swept, as by a revoke of theirs): nobody is left to count
    // them or to revoke them, and the memory goes back to whoever hands it out next. So do those
    // of frames whose home it was, whoever owns them now (their memory was that core's). The home
    // of a frame the lost core owned keeps its own copies and owns the frame again.
    void core_lost(std::uint32_t core, CapOut& out) {
        if (core >= m_cores || core == m_core) return;
        m_alive[core] = false;
        // Moves of frames whose memory was the lost core's end (connection_lost): the frame goes
        // everywhere. One not handed over yet is called off once the answers on their way are in.
        for (Revoke& r : m_revokes)
            if (r.used && r.move && r.home == core) {
                if (!r.handed_over) {
                    r.to_lost = true;
                } else {
                    const std::uint64_t op = r.op;
                    r = {};
                    out.done(op, Status::connection_lost);
                }
            }
        for (Obj& o : m_objs) {
            if (!o.used || (o.owner != core && o.home != core)) continue;
            if (o.home == m_core && o.moving_to == no_core && holds(o.obj)) {
                // Our own memory, owned by the lost core: the ownership comes home, the copies
                // elsewhere go (their owner is lost) and ours stay.
                const Obj kept = o;
                o = {};
                o.used = true;
                o.obj = kept.obj;
                o.owner = m_core;
                o.home = m_core;
                continue;
            }
            {
                const caps::Cap obj = o.obj;
                o = {};
                remove_frame(obj);
                out.swept(obj, core);
            }
        }
        for (Obj& o : m_objs)
            if (o.used && o.owner == m_core) o.copies &= ~(std::uint64_t{1} << core);
        for (Revoke& r : m_revokes) {
            if (!r.used) continue;
            if (r.move && r.to == core && !r.handed_over) {
                // The new owner left before the hand-over: once every other core answered (their
                // answers are on their way), the move is called off.
                r.to_lost = true;
                r.waiting &= ~(std::uint64_t{1} << core);
                r.told &= ~(std::uint64_t{1} << core);
                r.holders &= ~(std::uint64_t{1} << core);
                if (!r.waiting) hand_over(r, out);
            } else if (r.move && r.to == core) {
                // After the hand-over: the frame's owner is gone, and the holders are told to drop
                // it as any lost owner's frame.
                for (std::uint32_t k = 0; k < m_cores; ++k)
                    if ((r.holders >> k & 1) && k != m_core && m_alive[k]) {
                        CapMsg drop{CapLine::owner, m_core, k, r.epoch, m_core, r.root, core};
                        drop.status = Status::connection_lost;
                        out.send(drop);
                    }
                const std::uint64_t op = r.op;
                r = {};
                out.done(op, Status::connection_lost);
            } else if (r.waiting >> core & 1) {
                r.waiting &= ~(std::uint64_t{1} << core);
                r.told &= ~(std::uint64_t{1} << core);
                r.holders &= ~(std::uint64_t{1} << core);
                if (!r.waiting) r.move ? hand_over(r, out) : finish_revoke(r, out);
            }
        }
        for (Asked& a : m_asked)  // its answers will never come
            if (a.used && a.to == core) {
                const std::uint64_t op = a.op;
                a = {};
                out.done(op, Status::connection_lost);
            }
    }

    // ---- Lines from other nodes --------------------------------------------------------------------
    // False: refused, nothing changed (a line not for this core, a copy or a revoke from a core that
    // does not own what it names, an answer to a question not asked of its sender).
    [[nodiscard]] bool receive(const CapMsg& m, CapOut& out) {
        if (m.to != m_core || m.from >= m_cores || m.from == m_core) return false;
        switch (m.type) {
        case CapLine::install: {
            // Only the owner sends copies, and never of memory this core holds otherwise (its own,
            // or a frame another owner sent): the record, if any, must name the sender as owner.
            if (const Obj* have = find(m.obj); have ? have->owner != m.from : overlaps_table(m.obj)) return false;
            if (m.arg >= m_cores) return false;  // no home
            Obj* o = make(m.obj, m.from, static_cast<std::uint32_t>(m.arg));
            if (o) {
                ++o->received;
                install_here(m.obj);
            }
            // No room to track it, or to hold it (a full table, memory a cap here overlaps): the
            // copy is dropped and the owner hears so.
            if (!o || !holds(m.obj)) {
                const std::uint64_t n = o ? o->received : 1;
                if (o) *o = {};
                out.send(CapMsg{CapLine::gone, m_core, m.from, 0, m_core, m.obj, n});
                return true;
            }
            out.installed(m.obj, m.tag, m.from);
            return true;
        }
        case CapLine::xfer_req: {
            // Only the owner's record counts: a frame it no longer tracks was revoked meanwhile.
            const Obj* o = find(m.obj);
            Status st = Status::not_found;
            if (m.arg >= m_cores || m.arg == m_core) st = Status::invalid_argument;
            else if (!m_alive[m.arg]) st = Status::connection_lost;
            else if (o && o->owner == m_core && (o->copies >> m.from & 1)) st = send_copy(m.obj, static_cast<std::uint32_t>(m.arg), out, m.tag);
            // The asker is the sender (an answer goes back where the question came from).
            answer(m, m.from, CapLine::xfer_done, st, out);
            return true;
        }
        case CapLine::gone: {
            Obj* o = find(m.obj);
            if (!o || o->owner != m_core) return true;  // revoked meanwhile: nothing to count
            o->sent[m.from] = m.arg > o->sent[m.from] ? 0 : o->sent[m.from] - static_cast<std::uint32_t>(m.arg);
            if (o->sent[m.from] == 0) o->copies &= ~(std::uint64_t{1} << m.from);
            if (o->copies == 0 && !holds(m.obj) && !locked(m.obj)) *o = {};
            return true;
        }
        case CapLine::revoke_req: {
            const Obj* o = find(m.obj);
            if (!o || o->owner != m_core || !(o->copies >> m.from & 1)) {
                answer(m, m.from, CapLine::revoke_done, Status::not_found, out);
                return true;
            }
            const Status st = start_revoke(m.op, m.from, m.obj, static_cast<caps::SlotIdx>(m.arg), out);
            if (st != Status::ok) answer(m, m.from, CapLine::revoke_done, st, out);
            return true;
        }
        case CapLine::revoke: {
            // Only what the sender owns goes (a revoke of memory it does not own sweeps nothing),
            // and the caller removes what its kernel holds of each such frame, not of the range.
            bool foreign = false;
            const std::uint64_t forgot = sweep_copies(m.obj, m.from, m.asker, static_cast<caps::SlotIdx>(m.arg), out, foreign);
            out.send(CapMsg{CapLine::revoked, m_core, m.from, m.op, m.asker, m.obj, forgot});
            return !foreign;
        }
        case CapLine::revoked:
            for (Revoke& r : m_revokes)
                if (r.used && !r.move && r.epoch == m.op && (r.waiting >> m.from & 1)) {
                    r.waiting &= ~(std::uint64_t{1} << m.from);
                    if (r.root.type == caps::CapType::frame)
                        if (Obj* o = find(r.root); o && o->owner == m_core)
                            o->sent[m.from] = m.arg > o->sent[m.from] ? 0 : o->sent[m.from] - static_cast<std::uint32_t>(m.arg);
                    if (!r.waiting) finish_revoke(r, out);
                    return true;
                }
            return false;  // no revoke of ours waits for that core's answer
        case CapLine::moving: {
            Obj* o = find(m.obj);
            CapMsg ack{CapLine::moving_ack, m_core, m.from, m.op, m.from, m.obj, 0};
            if (!o) {  // forgot it: the `gone` that said so went first
                out.send(ack);
                return true;
            }
            if (o->owner != m.from || o->moving_to != no_core || m.arg >= m_cores || m.arg == m.from) return false;
            o->moving_to = static_cast<std::uint32_t>(m.arg);
            ack.arg = holds(m.obj) ? 1 : 0;
            out.send(ack);
            return true;
        }
        case CapLine::moving_ack:
            for (Revoke& r : m_revokes)
                if (r.used && r.move && !r.handed_over && r.epoch == m.op && (r.waiting >> m.from & 1)) {
                    r.waiting &= ~(std::uint64_t{1} << m.from);
                    if (m.arg == 1) r.holders |= std::uint64_t{1} << m.from;
                    if (!r.waiting) hand_over(r, out);
                    return true;
                }
            return false;  // no move of ours asked that core
        case CapLine::move: {
            Obj* o = find(m.obj);
            // A frame whose home left the membership went everywhere (core_lost): a hand-over of
            // it that was on its way by then has nothing left to take.
            if (!o) return m.tag < m_cores && !m_alive[m.tag];
            if (o->owner != m.from || o->moving_to != m_core) return false;
            o->owner = m_core;
            o->moving_to = no_core;
            o->dropped = false;
            o->received = 0;
            for (std::uint32_t& n : o->sent) n = 0;
            o->copies = 0;
            // The holders learn where their lines go now (the old owner knows: it sent this). Each
            // counts its copies as one received from here, and this core as one sent.
            for (std::uint32_t k = 0; k < m_cores; ++k)
                if ((m.arg >> k & 1) && k != m_core && m_alive[k]) {
                    o->copies |= std::uint64_t{1} << k;
                    o->sent[k] = 1;
                    if (k != m.from) out.send(CapMsg{CapLine::owner, m_core, k, m.op, m_core, m.obj, m_core});
                }
            CapMsg took{CapLine::move_done, m_core, m.from, m.op, m.from, m.obj, 0};
            took.tag = o->home;
            out.send(took);
            const caps::Cap obj = o->obj;
            if (o->copies == 0 && !holds(obj)) *o = {};
            out.took_ownership(obj, m.from);
            return true;
        }
        case CapLine::owner: {
            Obj* o = find(m.obj);
            if (!o) {
                // Dropped already (its old owner left): the new owner counts this core out.
                if (m.status == Status::ok && m.arg == m.from && m_alive[m.from])
                    out.send(CapMsg{CapLine::gone, m_core, m.from, 0, m_core, m.obj, 1});
                return true;
            }
            // The old owner's drop of a new owner that left, after that owner's own news: the sweep
            // is core_lost's.
            if (o->moving_to == no_core) return m.status != Status::ok && m.arg == o->owner && m.from == o->was_owner;
            if (m.status == Status::ok && m.arg == m.from && o->moving_to == m.from) {  // the new owner announces itself
                o->was_owner = o->owner;
                o->owner = m.from;
                o->moving_to = no_core;
                o->received = 1;  // what the new owner counts as sent here
                if (o->dropped) {
                    *o = {};
                    out.send(CapMsg{CapLine::gone, m_core, m.from, 0, m_core, m.obj, 1});
                }
                return true;
            }
            if (o->owner != m.from || m.status == Status::ok) return false;
            if (m.arg == m.from) {  // called off: the old owner stays
                o->moving_to = no_core;
                if (o->dropped) {
                    const CapMsg g{CapLine::gone, m_core, m.from, 0, m_core, m.obj, o->received};
                    *o = {};
                    out.send(g);
                }
                return true;
            }
            if (m.arg != o->moving_to) return false;
            // The new owner left after the hand-over: its frame goes, as any lost owner's.
            const caps::Cap obj = o->obj;
            *o = {};
            remove_frame(obj);
            out.swept(obj, m.from);
            return true;
        }
        case CapLine::move_done:
            for (Revoke& r : m_revokes)
                if (r.used && r.move && r.handed_over && r.to == m.from && r.epoch == m.op) {
                    const std::uint64_t op = r.op;
                    r = {};
                    out.done(op, Status::ok);
                    return true;
                }
            // The move ended here when the frame's home left; the new owner took it before it heard.
            return m.tag < m_cores && !m_alive[m.tag];
        case CapLine::xfer_done:
        case CapLine::revoke_done:
            for (Asked& a : m_asked)
                if (a.used && a.op == m.op && a.to == m.from && a.answer == m.type) {
                    a = {};
                    out.done(m.op, m.status);
                    return true;
                }
            return false;  // not asked of that core
        }
        return false;
    }
};

} // namespace myr::monitor
