#pragma once
// Endpoints and notifications across cores: "far" capabilities (docs/capabilities.md, "Endpoints
// and notifications across cores"). Pure bookkeeping, written once: the guest monitors run it
// (monitor/far.cpp) and the host tests drive it with random interleavings and hostile lines
// (tests/unit/far_book_test.cpp).
//
// An endpoint or a notification is a kernel object of one core, its **owner** core: no other
// core's CPU driver may touch it. A domain that holds a capability to one may give it to a domain
// on another core. Its monitor keeps a copy (derived from the giver's capability, so a revoke of
// that capability, or the object's end, takes it) and tells the target's monitor (`give`). That
// monitor mints the target a send-only capability to its own endpoint, badged with the record's
// id: a far capability. A call on it reaches that monitor (FarBook::send), which carries the four
// words to the owner's monitor (`msg`), which hands them to the object: a send that never blocks
// (abi::send_poll; tried again until a receiver waits) or a signal. Each record has a window of
// `window` messages: the holder's side counts credits, the owner's side queues at most that many
// and gives a credit back (`credit`) for each message it handed on, so no core buffers more than
// it agreed to and nothing accepted is dropped while the object lives.
//
// What ends a far capability (and every copy derived from it on the holder's core):
// - a revoke by the giver (FarBook::revoke), answered once every holder's core confirmed;
// - the owner's copy going away: the giver revoked its own capability locally, or the object
//   died with its domain (the sweep notices, FarBook::tick);
// - the holder's domain ending, or deleting every copy (`gone` to the owner);
// - either core leaving the membership.
// Ownership never moves: the object stays in its core's memory and only that core's kernel may
// touch it.
//
// A line acts only with the say of the core that sent it: the owner's lines name records the
// holder's core keeps for that owner, the holder's lines name records the owner keeps for that
// holder, and a message beyond the window is refused. receive() returns false for a line no
// honest monitor sends (the caller counts it malformed); a line about a record that ended
// meanwhile (an older generation) is taken quietly.
#include <myr/status.hpp>

#include <cstdint>

namespace myr::monitor {

enum class FarLine : std::uint8_t {
    give,     // owner -> holder core: [owner id, target domain, kind, giver domain]
    landed,   // holder core -> owner: [owner id, status, holder id]
    msg,      // holder core -> owner: [owner id, holder id, w0, w1, w2, w3]
    credit,   // owner -> holder core: [holder id, owner id, messages handed on]
    revoke,   // owner -> holder core: [owner id]: the far capability goes
    revoked,  // holder core -> owner: [owner id]
    gone,     // holder core -> owner: [owner id, holder id]: its domain ended or deleted every copy
    count
};
inline constexpr unsigned far_line_words = 6;

enum class FarKind : std::uint8_t { endpoint = 1, notification = 2 };

// What the book asks of its monitor (the kernel's capabilities, the lines between monitors).
class FarEnv {
public:
    virtual void send(std::uint32_t to, FarLine type, const std::uint64_t (&w)[far_line_words]) = 0;
    // Holder side: a far capability for record `id` (the badge), held by the monitor; its slot, 0: no room.
    virtual std::uint64_t mint(std::uint32_t id) = 0;
    // The capability in `slot` goes, with every copy derived from it on this core.
    virtual void drop(std::uint64_t slot) = 0;
    // Owner side: one message to the object our copy in `slot` names. ok; would_block: nobody
    // receives there now (again later); anything else: the copy or the object is gone.
    virtual Status deliver(std::uint64_t slot, FarKind kind, const std::uint64_t (&w)[4]) = 0;
    // Owner side: our copy is still there. Holder side: some copy derived from the far
    // capability is still held on this core (a domain has one).
    virtual bool present(std::uint64_t slot) = 0;
    virtual bool copies_out(std::uint64_t slot) = 0;
    virtual bool domain_alive(std::uint32_t domain) = 0;
    virtual void answered() = 0;  // an operation has its answer: pollers look again
protected:
    ~FarEnv() = default;
};

class FarBook {
public:
    static constexpr unsigned max_given = 8, max_held = 8, max_ops = 8, ops_per_domain = 4;
    static constexpr unsigned given_per_domain = 4, held_per_core = 4;  // one domain, one core fills at most half
    static constexpr unsigned window = 4;
    static_assert(max_ops <= 8, "a record keeps the operations waiting on it as 8 bits");

    void init(std::uint32_t core, std::uint32_t cores) {
        *this = {};
        m_core = core;
        m_cores = cores;
    }

    // ---- the owner's side -------------------------------------------------------------------
    // `domain` gives its capability (our copy in `slot`, of object `base`) to `to_domain` on core
    // `to`. ok: `ticket` to poll (ok once held there; busy, connection_lost otherwise). On any
    // other answer the caller keeps `slot`; on ok the book owns it.
    Status give(std::uint32_t domain, std::uint64_t slot, FarKind kind, std::uint64_t base, std::uint32_t to,
                std::uint32_t to_domain, std::uint64_t& ticket, FarEnv& env) {
        if (to >= m_cores || to == m_core || to_domain == 0) return Status::invalid_argument;
        unsigned its = 0;
        Given* g = nullptr;
        for (Given& x : m_given) {
            if (!x.used) g = g ? g : &x;
            else its += x.domain == domain;
        }
        if (!g || its >= given_per_domain) return Status::busy;
        Op* o = new_op(domain, true);
        if (!o) return Status::busy;
        *g = {};
        g->used = true;
        g->gen = next_gen();
        g->state = GState::landing;
        g->domain = domain;
        g->to = to;
        g->to_domain = to_domain;
        g->slot = slot;
        g->kind = kind;
        g->base = base;
        g->ops = bit(*o);
        o->waiting = 1;
        ticket = o->ticket;
        line(env, to, FarLine::give, {id_of(*g), to_domain, static_cast<std::uint64_t>(kind), domain, 0, 0});
        return Status::ok;
    }

    // Every far capability `domain` gave of object (`kind`, `base`) goes. ok: `ticket`, answered
    // ok once every holder's core dropped it; not_found: it gave none that is still out.
    Status revoke(std::uint32_t domain, FarKind kind, std::uint64_t base, std::uint64_t& ticket, FarEnv& env) {
        bool any = false;
        for (const Given& g : m_given) any |= g.used && g.domain == domain && g.kind == kind && g.base == base;
        if (!any) return Status::not_found;
        Op* o = new_op(domain, false);
        if (!o) return Status::busy;
        ticket = o->ticket;
        for (Given& g : m_given) {
            if (!g.used || g.domain != domain || g.kind != kind || g.base != base) continue;
            // A give still landing is answered: the capability was revoked before it landed.
            for (Op& x : m_ops)
                if (x.used && x.give && (g.ops & bit(x))) finish_one(x, Status::connection_lost, env);
            g.ops = static_cast<std::uint8_t>(g.ops & ~give_bits());
            g.ops |= bit(*o);
            ++o->waiting;
            if (g.state != GState::revoking) start_revoke(g, env);  // else it already goes: waited for too
        }
        return Status::ok;
    }

    // would_block, or the answer (once); not_found: no such ticket of this domain's.
    Status poll(std::uint32_t domain, std::uint64_t ticket) {
        for (Op& o : m_ops) {
            if (!o.used || o.ticket != ticket || o.domain != domain) continue;
            if (!o.done) return Status::would_block;
            const Status st = o.st;
            o = {};
            return st;
        }
        return Status::not_found;
    }

    // ---- the holder's side ------------------------------------------------------------------
    // A call on far capability `id` (its badge) with words w: ok once on its way to the owner;
    // busy: the window is full (call again); not_found: it ended.
    Status send(std::uint32_t id, const std::uint64_t (&w)[4], FarEnv& env) {
        Held* h = held_of(id);
        if (!h || h->state != HState::taken) return Status::not_found;
        if (h->credits == 0) return Status::busy;
        --h->credits;
        ++m_sent;
        line(env, h->from, FarLine::msg, {h->owner_id, id, w[0], w[1], w[2], w[3]});
        return Status::ok;
    }

    struct Offer {
        std::uint32_t id, from, giver;
        std::uint64_t slot;
        FarKind kind;
    };
    // The oldest far capability given to `domain` that it has not taken; false: none.
    bool offered(std::uint32_t domain, Offer& out) const {
        const Held* first = nullptr;
        for (const Held& h : m_held)
            if (h.used && h.state == HState::offered && h.domain == domain && (!first || h.seq < first->seq)) first = &h;
        if (!first) return false;
        out = {id_of(*first), first->from, first->giver, first->slot, first->kind};
        return true;
    }
    // The domain holds a copy of it now (the monitor moved one into its cnode).
    void taken(std::uint32_t id) {
        if (Held* h = held_of(id); h && h->state == HState::offered) h->state = HState::taken;
    }

    // ---- both sides -------------------------------------------------------------------------
    // A line from core `from`. False: no honest monitor sends it (nothing changed).
    bool receive(std::uint32_t from, FarLine type, const std::uint64_t (&w)[far_line_words], FarEnv& env) {
        if (from >= m_cores || from == m_core) return false;
        switch (type) {
        case FarLine::give: return on_give(from, w, env);
        case FarLine::landed: {
            Given* g = given_at(w[0]);
            if (!g) return stale(w[0], m_given_count);
            if (g->to != from || g->state == GState::live) return false;
            const auto st = static_cast<Status>(static_cast<std::int32_t>(w[1] & 0xffff'ffff));
            if (st == Status::ok && g->state == GState::landing) {
                g->state = GState::live;
                g->holder_id = static_cast<std::uint32_t>(w[2]);
                settle(*g, Status::ok, env);
                return true;
            }
            // Refused there (no room, the target ended), or an ok answering a give we revoke
            // meanwhile: a revoke is on its way and its `revoked` ends the record.
            if (g->state == GState::landing) end_given(*g, st == Status::ok ? Status::internal : st, env);
            return true;
        }
        case FarLine::msg: {
            Given* g = given_at(w[0]);
            if (!g) return stale(w[0], m_given_count);
            if (g->to != from) return false;
            if (g->state == GState::revoking) return true;  // crossed the revoke: dropped with it
            if (g->state == GState::landing || g->holder_id != w[1]) return false;
            if (g->queued >= window) return false;  // beyond the credits it was given
            auto& q = g->q[(g->head + g->queued) % window];
            for (unsigned i = 0; i < 4; ++i) q[i] = w[2 + i];
            ++g->queued;
            return true;
        }
        case FarLine::credit: {
            Held* h = held_of(static_cast<std::uint32_t>(w[0]));
            if (!h) return stale_held(w[0]);
            if (h->from != from || h->owner_id != w[1]) return false;
            if (w[2] == 0 || h->credits + w[2] > window) return false;
            h->credits += static_cast<std::uint32_t>(w[2]);
            return true;
        }
        case FarLine::revoke: {
            // Answered whatever this core still keeps of it: a record it dropped already (its
            // `gone` or refusal crossed this line) is answered too, and the owner takes the
            // answer to an ended record quietly.
            for (Held& h : m_held)
                if (h.used && h.from == from && h.owner_id == w[0]) end_held(h, env, false);
            line(env, from, FarLine::revoked, {w[0], 0, 0, 0, 0, 0});
            return true;
        }
        case FarLine::revoked:
        case FarLine::gone: {
            Given* g = given_at(w[0]);
            if (!g) return stale(w[0], m_given_count);
            if (g->to != from) return false;
            if (type == FarLine::gone && g->state == GState::live && g->holder_id != w[1]) return false;
            if (type == FarLine::revoked && g->state != GState::revoking) return false;  // never asked
            end_given(*g, Status::ok, env);
            return true;
        }
        default: return false;
        }
    }

    // Every round of the monitor: hands queued messages on; with `sweep` (once a timer tick) also
    // ends the far capabilities whose owner's copy went, and those no domain holds any more.
    void tick(bool sweep, FarEnv& env) {
        for (Given& g : m_given) {
            if (!g.used || g.state != GState::live) continue;
            if (sweep && !env.present(g.slot)) {
                start_revoke(g, env);
                continue;
            }
            unsigned handed = 0;
            while (g.queued) {
                const Status st = env.deliver(g.slot, g.kind, g.q[g.head]);
                if (st == Status::would_block) break;
                g.head = (g.head + 1) % window;
                --g.queued;
                ++handed;
                if (st == Status::ok) {
                    ++m_delivered;
                } else {  // the object or our copy is gone: the far capability goes
                    g.queued = 0;
                    start_revoke(g, env);
                    break;
                }
            }
            if (handed && g.state == GState::live) line(env, g.to, FarLine::credit, {g.holder_id, id_of(g), handed, 0, 0, 0});
        }
        if (!sweep) return;
        for (Held& h : m_held)
            if (h.used && h.state == HState::taken && !env.copies_out(h.slot)) end_held(h, env, true);
    }

    // A domain of this core ended: the far capabilities held for it go (their owners hear it);
    // its polls end. Those it gave stay: a copy outlives the capability it was copied from.
    void domain_ended(std::uint32_t domain, FarEnv& env) {
        for (Held& h : m_held)
            if (h.used && h.domain == domain) end_held(h, env, true);
        for (Op& o : m_ops)
            if (o.used && o.domain == domain) {
                for (Given& g : m_given) g.ops = static_cast<std::uint8_t>(g.ops & ~bit(o));
                o = {};
            }
    }

    // Core `c` left the membership: what it held of ours, and what we held of its objects, goes.
    void core_lost(std::uint32_t c, FarEnv& env) {
        if (c >= m_cores || c == m_core) return;
        for (Given& g : m_given)
            if (g.used && g.to == c) end_given(g, Status::connection_lost, env);
        for (Held& h : m_held)
            if (h.used && h.from == c) end_held(h, env, false);
    }

    // For tests and logs.
    unsigned given() const { return count(m_given); }
    unsigned held() const { return count(m_held); }
    unsigned queued() const {
        unsigned n = 0;
        for (const Given& g : m_given) n += g.used ? g.queued : 0;
        return n;
    }
    std::uint64_t sent() const { return m_sent; }
    std::uint64_t delivered() const { return m_delivered; }
    // The far capability held here with id `id`: its slot, 0 when none is live.
    std::uint64_t held_slot(std::uint32_t id) const {
        const Held* h = held_of(id);
        return h ? h->slot : 0;
    }
    bool holds_for(std::uint32_t domain) const {
        for (const Held& h : m_held)
            if (h.used && h.domain == domain) return true;
        return false;
    }

private:
    enum class GState : std::uint8_t { landing, live, revoking };
    enum class HState : std::uint8_t { offered, taken };
    struct Given {
        bool used;
        GState state;
        FarKind kind;
        std::uint8_t ops;  // the operations waiting on it (a give landing, revokes): bit per m_ops index
        std::uint32_t gen, domain, to, to_domain, holder_id, head, queued;
        std::uint64_t slot, base;
        std::uint64_t q[window][4];
    };
    struct Held {
        bool used;
        HState state;
        FarKind kind;
        std::uint32_t gen, from, domain, giver, credits;
        std::uint64_t owner_id, slot, seq;
    };
    struct Op {
        bool used, done, give;
        std::uint32_t domain, waiting;
        std::uint64_t ticket;
        Status st;
    };

    static constexpr unsigned m_given_count = max_given;

    template <typename T, unsigned N>
    static unsigned count(const T (&a)[N]) {
        unsigned n = 0;
        for (const T& x : a) n += x.used;
        return n;
    }
    std::uint32_t next_gen() {  // 24 bits: an id is the index | gen << 8
        m_gen = (m_gen + 1) & 0xff'ffff;
        return m_gen ? m_gen : ++m_gen;
    }
    std::uint32_t id_of(const Given& g) const { return static_cast<std::uint32_t>(&g - m_given) | g.gen << 8; }
    std::uint32_t id_of(const Held& h) const { return static_cast<std::uint32_t>(&h - m_held) | h.gen << 8; }
    Given* given_at(std::uint64_t id) {
        const std::uint64_t i = id & 0xff;
        if (i >= max_given || !m_given[i].used || m_given[i].gen != (id >> 8 & 0xff'ffff) || (id >> 32) != 0) return nullptr;
        return &m_given[i];
    }
    const Held* held_of(std::uint64_t id) const {
        const std::uint64_t i = id & 0xff;
        if (i >= max_held || !m_held[i].used || m_held[i].gen != (id >> 8 & 0xff'ffff) || (id >> 32) != 0) return nullptr;
        return &m_held[i];
    }
    Held* held_of(std::uint64_t id) { return const_cast<Held*>(static_cast<const FarBook*>(this)->held_of(id)); }
    // A line naming no live record: one that ended meanwhile (taken quietly), or an index no record
    // of ours ever had (refused). Generations are 24 bits wide in ids.
    static bool stale(std::uint64_t id, unsigned n) { return (id & 0xff) < n && (id >> 32) == 0; }
    static bool stale_held(std::uint64_t id) { return (id & 0xff) < max_held && (id >> 32) == 0; }

    Op* new_op(std::uint32_t domain, bool give) {
        unsigned its = 0;
        Op* free = nullptr;
        for (Op& o : m_ops) {
            if (!o.used) free = free ? free : &o;
            else its += o.domain == domain;
        }
        if (!free || its >= ops_per_domain) return nullptr;
        *free = {};
        free->used = true;
        free->give = give;
        free->domain = domain;
        free->ticket = ++m_ticket;
        return free;
    }
    std::uint8_t bit(const Op& o) const { return static_cast<std::uint8_t>(1u << (&o - m_ops)); }
    std::uint8_t give_bits() const {
        std::uint8_t b = 0;
        for (const Op& o : m_ops)
            if (o.used && o.give) b = static_cast<std::uint8_t>(b | bit(o));
        return b;
    }
    // Every operation waiting on g hears that it is settled (a give: with st).
    void settle(Given& g, Status st, FarEnv& env) {
        for (Op& o : m_ops)
            if (o.used && (g.ops & bit(o))) finish_one(o, st, env);
        g.ops = 0;
    }
    void finish(Op& o, Status st, FarEnv& env) {
        o.done = true;
        o.st = st;
        env.answered();
    }
    // One record an op waits on is settled: a give's answer is its status; a revoke ends ok when
    // the last of its records went.
    void finish_one(Op& o, Status st, FarEnv& env) {
        if (!o.used || o.done) return;
        if (o.give) return finish(o, st, env);
        if (o.waiting) --o.waiting;
        if (o.waiting == 0) finish(o, Status::ok, env);
    }
    void start_revoke(Given& g, FarEnv& env) {
        g.state = GState::revoking;
        g.queued = 0;
        line(env, g.to, FarLine::revoke, {id_of(g), 0, 0, 0, 0, 0});
    }
    void end_given(Given& g, Status st, FarEnv& env) {
        settle(g, st, env);
        env.drop(g.slot);
        g = {};
    }
    void end_held(Held& h, FarEnv& env, bool tell) {
        if (tell) line(env, h.from, FarLine::gone, {h.owner_id, id_of(h), 0, 0, 0, 0});
        env.drop(h.slot);
        h = {};
    }

    bool on_give(std::uint32_t from, const std::uint64_t (&w)[far_line_words], FarEnv& env) {
        const auto kind = static_cast<FarKind>(w[2]);
        if ((kind != FarKind::endpoint && kind != FarKind::notification) || w[1] == 0 || w[1] > 0xffff'ffff ||
            (w[0] >> 32) != 0)
            return false;
        for (const Held& h : m_held)
            if (h.used && h.from == from && h.owner_id == w[0]) return false;  // one record per give
        const auto domain = static_cast<std::uint32_t>(w[1]);
        auto refuse = [&](Status st) {
            line(env, from, FarLine::landed, {w[0], static_cast<std::uint32_t>(st), 0, 0, 0, 0});
            return true;
        };
        if (!env.domain_alive(domain)) return refuse(Status::connection_lost);
        unsigned theirs = 0;
        Held* h = nullptr;
        for (Held& x : m_held) {
            if (!x.used) h = h ? h : &x;
            else theirs += x.from == from;
        }
        if (!h || theirs >= held_per_core) return refuse(Status::busy);
        *h = {};
        h->gen = next_gen();
        const std::uint32_t id = id_of(*h);
        const std::uint64_t slot = env.mint(id);
        if (slot == 0) {
            h->gen = 0;
            return refuse(Status::busy);
        }
        h->used = true;
        h->state = HState::offered;
        h->kind = kind;
        h->from = from;
        h->domain = domain;
        h->giver = static_cast<std::uint32_t>(w[3]);
        h->credits = window;
        h->owner_id = w[0];
        h->slot = slot;
        h->seq = ++m_seq;
        line(env, from, FarLine::landed, {w[0], 0, id, 0, 0, 0});
        env.answered();
        return true;
    }

    static void line(FarEnv& env, std::uint32_t to, FarLine type, const std::uint64_t (&w)[far_line_words]) {
        env.send(to, type, w);
    }

    std::uint32_t m_core = 0, m_cores = 0, m_gen = 0;
    std::uint64_t m_ticket = 0, m_seq = 0, m_sent = 0, m_delivered = 0;
    Given m_given[max_given]{};
    Held m_held[max_held]{};
    Op m_ops[max_ops]{};
};

} // namespace myr::monitor
