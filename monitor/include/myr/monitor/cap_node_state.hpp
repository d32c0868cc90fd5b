#pragma once
// Capabilities across cores, the second part: what a CapNode keeps and the steps on it that its
// entry points share. The protocol's model and its entry points (the operations of a core's
// domains, core_lost, receive) are in cap_protocol.hpp; include that one. Here: CapOut, what a
// node asks of its caller; and CapNodeState, CapNode's base: its capability table, the frames it
// owns or holds copies of (Obj), the revokes and ownership moves it runs as owner (Revoke), the
// questions it asked other owners (Asked), the queries for checkers (owns, holds, home_of, knows,
// moving), and the shared steps: a copy sent, installed or gone, the owner's mark and sweep of a
// revoke, a holder's sweep, and an ownership move's hand-over or call-off. Pure and freestanding.
#include <myr/caps/table.hpp>
#include <myr/monitor/cap_wire.hpp>

#include <cstdint>

namespace myr::monitor {

// What a node asks of its caller: lines to carry, answers to operations.
class CapOut {
public:
    virtual void send(const CapMsg& m) = 0;
    virtual void done(std::uint64_t op, Status st) = 0;
    // A copy of `obj` arrived from `from` and is held here now; `tag` is what transfer() was given.
    virtual void installed(const caps::Cap& obj, std::uint64_t tag, std::uint32_t from) {
        (void)obj, (void)tag, (void)from;
    }
    // A revoke reached this core and its copies inside `root` are gone from the table: the caller
    // removes what its kernel holds there too (but the asker's copy where this core is the asker).
    // Called on every core but the owner's, and on the owner's when another core asked.
    virtual void swept(const caps::Cap& root, std::uint32_t asker) { (void)root, (void)asker; }
    // The owner finished a revoke: no core but the asker (slot `keep`) holds anything inside `root`.
    virtual void revoke_finished(const caps::Cap& root, std::uint32_t asker, caps::SlotIdx keep) {
        (void)root, (void)asker, (void)keep;
    }
    // This core owns `obj` now; `from` owned it before (move_owner there).
    virtual void took_ownership(const caps::Cap& obj, std::uint32_t from) { (void)obj, (void)from; }

protected:
    ~CapOut() = default;
};

// CapNode's records and the steps on them (cap_protocol.hpp holds the entry points).
class CapNodeState {
public:
    static constexpr unsigned max_cores = cap_max_cores;
    static constexpr unsigned max_objects = 128;  // frames this node owns or holds copies of
    static constexpr unsigned max_revokes = 8;    // revokes and ownership moves this node runs as owner at once
    static constexpr unsigned max_asked = 16;     // transfers and revokes asked of other owners at once

    // ---- For checkers ----------------------------------------------------------------------------
    // Whether this node owns the frame `c` names; `copies`: the cores it counts as holding copies.
    [[nodiscard]] bool owns(const caps::Cap& c, std::uint64_t& copies) const {
        if (const Obj* o = find(c)) {
            copies = o->copies;
            return o->owner == m_core;
        }
        copies = 0;
        return holds(c);  // carved here and never sent
    }
    [[nodiscard]] bool holds(const caps::Cap& c) const {
        for (const caps::Slot& s : m_table.slots())
            if (!s.cap.is_null() && caps::same_object(s.cap, c)) return true;
        return false;
    }
    // The core whose memory `c` is (it carved or adopted it): this core when it keeps no record.
    [[nodiscard]] std::uint32_t home_of(const caps::Cap& c) const {
        const Obj* o = find(c);
        return o ? o->home : m_core;
    }
    // Whether this node keeps any record of `c` (as owner, holder, or in a move).
    [[nodiscard]] bool knows(const caps::Cap& c) const { return find(c) != nullptr || moving(c); }
    // Whether `c` is in a move this node takes part in: as the owner handing it over (until the new
    // owner said it took it), or as a holder told of the move and not yet of its end.
    [[nodiscard]] bool moving(const caps::Cap& c) const {
        for (const Revoke& r : m_revokes)
            if (r.used && r.move && caps::same_object(r.root, c)) return true;
        const Obj* o = find(c);
        return o && o->moving_to != no_core;
    }

protected:
    struct Obj {
        bool used = false;
        caps::Cap obj{};
        std::uint32_t owner = 0;               // this core when owned here, else the owner we know of
        std::uint64_t copies = 0;              // owner: cores that may hold a copy (bit per core)
        std::uint32_t sent[max_cores] = {};    // owner: copies sent to each core
        std::uint32_t received = 0;            // copies this core received since it last forgot the frame
        std::uint32_t moving_to = no_core;     // holder: a move to this core was announced, not yet ended
        bool dropped = false;                  // holder: its last copy went during a move; `gone` waits
        std::uint32_t was_owner = no_core;     // holder: the owner before the last move
        std::uint32_t home = 0;                // the core whose memory it is (it carved or adopted it)
    };
    struct Asked {
        bool used = false;
        CapLine answer{};
        std::uint32_t to = 0;
        std::uint64_t op = 0;
    };
    // A revoke, or an ownership move (`move`), this node runs as owner; either locks `root`.
    struct Revoke {
        bool used = false;
        std::uint64_t op = 0, epoch = 0;
        std::uint32_t asker = 0;
        caps::Cap root{};
        caps::SlotIdx keep = caps::no_slot;
        std::uint64_t waiting = 0;  // cores that have not answered revoked (moving_ack)
        bool move = false;
        bool handed_over = false;   // move: `move` sent; waiting for move_done
        bool to_lost = false;       // move: the new owner, or the frame's home, left before the hand-over
        std::uint32_t to = 0;       // move: the new owner
        std::uint32_t home = 0;     // move: the frame's home
        std::uint64_t told = 0;     // move: cores sent `moving`
        std::uint64_t holders = 0;  // move: cores that answered they hold a copy
    };
    static constexpr std::uint32_t no_core = ~0u;

    static bool overlaps(const caps::Cap& a, const caps::Cap& b) {
        return a.base < b.base + b.size && b.base < a.base + a.size;
    }
    Obj* find(const caps::Cap& c) {
        for (Obj& o : m_objs)
            if (o.used && caps::same_object(o.obj, c)) return &o;
        return nullptr;
    }
    [[nodiscard]] const Obj* find(const caps::Cap& c) const {
        for (const Obj& o : m_objs)
            if (o.used && caps::same_object(o.obj, c)) return &o;
        return nullptr;
    }
    Obj* make(const caps::Cap& c, std::uint32_t owner, std::uint32_t home) {
        if (Obj* o = find(c)) return o;
        for (Obj& o : m_objs)
            if (!o.used) {
                o = {};
                o.used = true;
                o.obj = c;
                o.owner = owner;
                o.home = home;
                return &o;
            }
        return nullptr;
    }
    std::uint32_t owner_of(const caps::Cap& c) const {
        const Obj* o = find(c);
        return o ? o->owner : m_core;  // a frame with no record was carved here
    }
    Revoke* free_job() {
        for (Revoke& r : m_revokes)
            if (!r.used) return &r;
        return nullptr;
    }
    // Whether an untyped of this table covers memory of `c`: a frame carved here.
    [[nodiscard]] bool carved_here(const caps::Cap& c) const {
        for (const caps::Slot& s : m_table.slots())
            if (s.cap.type == caps::CapType::untyped && overlaps(s.cap, c)) return true;
        return false;
    }
    // Every core told of a move answered: the set goes to the new owner, provided it still holds a
    // copy. This core keeps the lock until the new owner says it took it.
    void hand_over(Revoke& r, CapOut& out) {
        if (r.to_lost) return call_off(r, Status::connection_lost, out);
        if (!(r.holders >> r.to & 1)) return call_off(r, Status::not_found, out);
        if (holds(r.root)) r.holders |= std::uint64_t{1} << m_core;
        CapMsg m{CapLine::move, m_core, r.to, r.epoch, m_core, r.root, r.holders};
        m.tag = r.home;
        out.send(m);
        r.handed_over = true;
        if (Obj* o = find(r.root)) {
            const bool keep = holds(r.root);
            const std::uint32_t home = o->home;
            *o = {};
            if (keep) {  // a holder now, like any other
                o->used = true;
                o->obj = r.root;
                o->owner = r.to;
                o->home = home;
                o->received = 1;  // as the new owner counts it (see `move`)
            }
        }
    }
    // The move ends without a hand-over: every core told of it keeps this core as the owner.
    void call_off(Revoke& r, Status st, CapOut& out) {
        for (std::uint32_t k = 0; k < m_cores; ++k)
            if ((r.told >> k & 1) && m_alive[k]) {
                CapMsg off{CapLine::owner, m_core, k, r.epoch, m_core, r.root, m_core};
                off.status = st;
                out.send(off);
            }
        const std::uint64_t op = r.op;
        r = {};
        out.done(op, st);
    }
    [[nodiscard]] bool locked(const caps::Cap& c) const {
        for (const Revoke& r : m_revokes)
            if (r.used && overlaps(r.root, c)) return true;
        return false;
    }
    void answer(const CapMsg& m, std::uint32_t asker, CapLine type, Status st, CapOut& out) {
        CapMsg a{type, m_core, asker, m.op, asker, m.obj, 0};
        a.status = st;
        out.send(a);
    }
    // A question to `to` whose answer (`answer`, carrying op) is awaited; false when too many are.
    bool ask(std::uint64_t op, std::uint32_t to, CapLine answer) {
        for (Asked& a : m_asked)
            if (!a.used) {
                a = {true, answer, to, op};
                return true;
            }
        return false;
    }
    // Whether a capability of the table names memory overlapping c.
    [[nodiscard]] bool overlaps_table(const caps::Cap& c) const {
        for (const caps::Slot& s : m_table.slots())
            if (!s.cap.is_null() && overlaps(s.cap, c)) return true;
        return false;
    }

    Status send_copy(const caps::Cap& c, std::uint32_t to, CapOut& out, std::uint64_t tag) {
        if (locked(c)) return Status::busy;
        Obj* o = make(c, m_core, m_core);  // a first copy: of memory carved or adopted here
        if (!o) return Status::no_memory;
        o->copies |= std::uint64_t{1} << to;
        ++o->sent[to];
        CapMsg m{CapLine::install, m_core, to, 0, m_core, c, o->home};
        m.tag = tag;
        out.send(m);
        return Status::ok;
    }

    void last_copy_gone(const caps::Cap& c, CapOut& out) {
        Obj* o = find(c);
        if (!o) return;  // carved here and never sent: nothing to tell
        if (o->owner == m_core) {
            if (o->copies == 0 && !locked(c)) *o = {};
            return;  // other cores may hold it: it stays owned here
        }
        if (o->moving_to != no_core) {  // said once the move ended, to whoever owns it then
            o->dropped = true;
            return;
        }
        const CapMsg g{CapLine::gone, m_core, o->owner, 0, m_core, c, o->received};
        *o = {};  // forgotten: a later copy starts counting again
        if (m_alive[g.to]) out.send(g);
    }

    // A copy of `c` here: next to a copy we have, else a root in the first free slot (never 0).
    void install_here(const caps::Cap& c) {
        caps::SlotIdx have = caps::no_slot, free = caps::no_slot;
        const auto slots = m_table.slots();
        for (caps::SlotIdx i = 1; i < slots.size(); ++i) {
            if (have == caps::no_slot && !slots[i].cap.is_null() && caps::same_object(slots[i].cap, c)) have = i;
            if (free == caps::no_slot && slots[i].cap.is_null()) free = i;
        }
        if (free == caps::no_slot) return;
        caps::Cap root = c;
        root.rights = caps::all_rights(c.type);
        root.flags = 0;
        root.word = 0;
        (void)(have != caps::no_slot ? m_table.copy(have, free) : m_table.install(free, root));
    }

    Status start_revoke(std::uint64_t op, std::uint32_t asker, const caps::Cap& root, caps::SlotIdx keep, CapOut& out) {
        if (locked(root)) return Status::busy;  // another revoke inside it is under way
        Revoke* r = nullptr;
        for (Revoke& x : m_revokes)
            if (!x.used) {
                r = &x;
                break;
            }
        if (!r) return Status::busy;
        *r = {true, op, ++m_epoch, asker, root, keep, 0};
        // Mark: every core that may hold a copy of anything inside.
        for (const Obj& o : m_objs)
            if (o.used && o.owner == m_core && (root.type == caps::CapType::untyped ? overlaps(o.obj, root) : caps::same_object(o.obj, root)))
                r->waiting |= o.copies;
        if (asker != m_core && root.type == caps::CapType::frame) r->waiting |= std::uint64_t{1} << asker;
        r->waiting &= ~(std::uint64_t{1} << m_core);
        for (std::uint32_t k = 0; k < m_cores; ++k)
            if ((r->waiting >> k & 1) && m_alive[k]) out.send(CapMsg{CapLine::revoke, m_core, k, r->epoch, asker, root, keep});
            else r->waiting &= ~(std::uint64_t{1} << k);
        if (!r->waiting) finish_revoke(*r, out);
        return Status::ok;
    }

    // Sweep: every core answered; our own copies go, the sets shrink, the caller hears.
    void finish_revoke(Revoke& r, CapOut& out) {
        const Revoke done = r;
        r = {};
        sweep_own(done.root, done.asker, done.keep, out);
        for (Obj& o : m_objs) {
            if (!o.used || o.owner != m_core) continue;
            if (done.root.type == caps::CapType::untyped ? overlaps(o.obj, done.root) : caps::same_object(o.obj, done.root)) {
                // Only the asker may still hold it, and only if it did not give its copy up meanwhile;
                // and the home of a frame adopted there, which keeps its copies.
                const bool asker_holds = done.root.type == caps::CapType::frame && done.asker != m_core && o.sent[done.asker] > 0;
                const bool home_holds = o.home != m_core && o.sent[o.home] > 0;
                o.copies = (asker_holds ? std::uint64_t{1} << done.asker : 0) | (home_holds ? std::uint64_t{1} << o.home : 0);
                if (o.copies == 0 && !holds(o.obj)) o = {};
            }
        }
        out.revoke_finished(done.root, done.asker, done.keep);
        if (done.asker == m_core) return out.done(done.op, Status::ok);
        CapMsg a{CapLine::revoke_done, m_core, done.asker, done.op, done.asker, done.root, 0};
        out.send(a);
    }

    // The owner's own step of a finished revoke: every cap here inside it goes, copies of a frame
    // root (not slot `keep` when the owner asked) or frames carved from an untyped root (its
    // children go with a table revoke).
    void sweep_own(const caps::Cap& root, std::uint32_t asker, caps::SlotIdx keep, CapOut& out) {
        if (root.type == caps::CapType::untyped) {
            const auto slots = m_table.slots();
            for (caps::SlotIdx i = 0; i < slots.size(); ++i) {
                const caps::Cap c = slots[i].cap;
                if (c.type == caps::CapType::untyped && caps::same_object(c, root)) (void)m_table.revoke(i);
                else if (c.type == caps::CapType::frame && overlaps(c, root)) remove_frame(c);
            }
        } else {
            // The home keeps its copies of a frame it adopted whoever asked (see sweep_copies).
            const Obj* o = find(root);
            if (asker != m_core && (o ? o->home == m_core : true) && !carved_here(root)) return;
            const bool keeping = asker == m_core && keep < m_table.size() && caps::same_object(m_table.cap(keep), root);
            const bool had = holds(root);
            remove_frame(root, keeping ? keep : caps::no_slot);
            if (asker != m_core && had) out.swept(root, asker);  // on another core's word: as a holder's sweep
        }
    }

    // A holder's step of a revoke that core `from` runs: every copy here of a frame `from` owns
    // inside `root` (the frame itself, or the frames carved from an untyped) goes, but slot `keep`
    // when this core asked, and the caller removes its kernel's capabilities to each (swept). The
    // home of a frame adopted there keeps its copies: the memory is its grant holder's until that
    // holder gives it back, which revokes every other copy first (a revoke by a new owner takes
    // the copies it counts, never the memory from under its grant).
    // Nothing else is touched: memory this core owns, copies from other owners (`foreign` is set
    // when the revoke named any: a line no honest owner sends). Returns how many copies this core
    // had received of the frames it now forgets.
    std::uint64_t sweep_copies(const caps::Cap& root, std::uint32_t from, std::uint32_t asker, caps::SlotIdx keep, CapOut& out,
                               bool& foreign) {
        std::uint64_t forgot = 0;
        for (Obj& o : m_objs) {
            if (!o.used || !(root.type == caps::CapType::untyped ? overlaps(o.obj, root) : caps::same_object(o.obj, root))) continue;
            if (o.owner != from) {
                foreign = true;
                continue;
            }
            if (o.home == m_core) continue;  // our own memory, adopted here and owned elsewhere: kept
            const caps::Cap obj = o.obj;
            const bool keeping = root.type == caps::CapType::frame && asker == m_core && keep < m_table.size() &&
                                 caps::same_object(m_table.cap(keep), obj);
            remove_frame(obj, keeping ? keep : caps::no_slot);
            out.swept(obj, asker);
            if (!holds(obj)) {
                forgot += o.received;
                o = {};
            }
        }
        if (root.type != caps::CapType::frame && root.type != caps::CapType::untyped) foreign = true;
        // Memory of ours, or of another owner's copy, inside it: left alone, and the line is refused.
        for (const caps::Slot& x : m_table.slots()) {
            if (x.cap.is_null() || !overlaps(x.cap, root)) continue;
            const Obj* o = find(x.cap);
            if (!o || o->owner != from) foreign = true;
        }
        return forgot;
    }

    // Every cap here to frame `f` goes but the one in `keep` (no_slot: all). Where the frame was
    // carved here every cap to it has a parent (the untyped, or another copy), so each can be
    // removed alone and its copies move up. Elsewhere they hang below one root made by install,
    // which the table refuses to remove while it has copies: the root is revoked and removed, and
    // the kept cap, saved first, is put back as a root with its own rights.
    void remove_frame(const caps::Cap& f, caps::SlotIdx keep = caps::no_slot) {
        const auto slots = m_table.slots();
        caps::SlotIdx top = caps::no_slot;
        for (caps::SlotIdx i = 0; i < slots.size() && top == caps::no_slot; ++i)
            if (slots[i].cap.type == caps::CapType::frame && caps::same_object(slots[i].cap, f) &&
                (slots[i].parent == caps::no_slot || !caps::same_object(slots[slots[i].parent].cap, f)))
                top = i;
        if (top == caps::no_slot) return;
        if (slots[top].parent != caps::no_slot) {  // carved here: below the untyped
            if (keep != caps::no_slot) (void)m_table.revoke(keep);
            for (bool again = true; again;) {
                again = false;
                for (caps::SlotIdx i = 0; i < slots.size(); ++i)
                    if (i != keep && slots[i].cap.type == caps::CapType::frame && caps::same_object(slots[i].cap, f)) {
                        (void)m_table.remove(i);
                        again = true;
                    }
            }
            return;
        }
        caps::Cap saved = keep != caps::no_slot ? slots[keep].cap : caps::Cap{};
        (void)m_table.revoke(top);
        (void)m_table.remove(top);
        if (keep == caps::no_slot) return;
        saved.flags = 0;
        (void)m_table.install(keep, saved);
    }

    caps::CapTable m_table;
    std::uint32_t m_core = 0, m_cores = 0;
    std::uint64_t m_epoch = 0;
    bool m_alive[max_cores] = {};
    Obj m_objs[max_objects];
    Revoke m_revokes[max_revokes];
    Asked m_asked[max_asked];
};

} // namespace myr::monitor
