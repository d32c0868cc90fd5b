#pragma once
// Ring memory of bindings at one monitor (docs/monitors.md, "Ring memory comes back"): which rings
// of this core's channel pool are in use, how many references this monitor and the domains of its
// core hold to each ring (of any core's pool), and when a ring of ours may be used again.
//
// A binding has two rings, each from the pool of the core that receives on it. A ring is held on
// at most two cores: its owner's and its peer's. Each core counts its own references (a ring in
// one of the monitor's slots, an address kept until its capability is made, a ring a domain took);
// when a core's count reaches zero, its monitor removes every capability to the ring on that core
// (Sys::cap_reclaim_channel) and, on the peer's core, tells the owner (line ring_gone). The owner
// uses the memory again once its own count is zero and the peer is done: told so, refused the
// binding before it heard the address, or removed from the membership. Until then no other
// binding can get it, however long a peer keeps writing into it.
//
// Pure: the monitor (binding.cpp) makes and removes the capabilities and sends the lines; the host
// tests drive this alone (tests/unit/ring_book_test.cpp). Freestanding: fixed arrays, no allocation.
#include <cstdint>

namespace myr::monitor {

class RingBook {
public:
    static constexpr unsigned max_pool = 512;     // rings of this core's pool (2 MiB of 4 KiB at most)
    // Rings of other cores' pools referenced here at once: a server here holds one per remote
    // client (core 0's nameserv and memserv replicas on 8 sockets x 8 cores: 126).
    static constexpr unsigned max_foreign = 512;
    // Rings the domains of this core took, at once: two per binding end.
    static constexpr unsigned max_holds = 1024;
    static constexpr std::uint32_t none = ~0u;

    // Whom a ring of ours is charged to, refunded when it is freed: a client domain of this core
    // (its own record) or a client of any core at the server's monitor.
    struct Charge {
        std::uint32_t core = none, domain = 0;
        bool own_record = false;
    };
    // What one step asks of the monitor. reclaim: no reference to `phys` is left on this core (remove
    // every capability to it here); notify: that owner core must hear ring_gone; freed: a ring of
    // ours is free again (refund `charge`).
    struct Done {
        std::uint64_t phys = 0;
        bool reclaim = false, freed = false;
        std::uint32_t notify = none;
        Charge charge{};
    };

    void init(std::uint32_t core, std::uint64_t pool_base, std::uint64_t pool_bytes, unsigned ring_bits) {
        for (Own& o : m_own) o = {};
        for (Foreign& f : m_foreign) f = {};
        for (Hold& h : m_holds) h = {};
        m_next = 0;
        m_hold_serial = 0;
        m_core = core;
        m_base = pool_base;
        m_bits = ring_bits;
        const std::uint64_t n = ring_bits < 64 ? pool_bytes >> ring_bits : 0;
        m_rings = static_cast<std::uint32_t>(n < max_pool ? n : max_pool);
    }

    // A ring of our pool for a binding with a domain on peer_core (our own core: both ends here),
    // with one reference (the caller's slot); its address, or 0 when every ring is in use. Next
    // fit: a freed ring is the last to be used again.
    std::uint64_t allocate(std::uint32_t peer_core, Charge charge) {
        for (std::uint32_t k = 0; k < m_rings; ++k) {
            const std::uint32_t i = (m_next + k) % m_rings;
            Own& o = m_own[i];
            if (o.used) continue;
            o = {true, peer_core == m_core, 1, peer_core, charge};
            m_next = (i + 1) % m_rings;
            return m_base + (std::uint64_t{i} << m_bits);
        }
        return 0;
    }

    // One more reference on this core: a copy for the other end of a same-core binding, or a
    // ring of `owner`'s pool the peer's monitor named (the first reference makes its entry).
    // False when it cannot be counted (not ours and not in use, or the table is full): the caller
    // must not keep the reference.
    bool ref(std::uint64_t phys, std::uint32_t owner) {
        if (owner == m_core) {
            Own* o = own(phys);
            if (!o || !o->used) return false;
            ++o->refs;
            return true;
        }
        Foreign* free = nullptr;
        for (Foreign& f : m_foreign) {
            if (f.refs && f.phys == phys) {
                if (f.owner != owner) return false;
                ++f.refs;
                return true;
            }
            if (!f.refs && !free) free = &f;
        }
        if (!free || phys == 0) return false;
        *free = {phys, owner, 1};
        return true;
    }

    // Our ring's peer never heard its address (the request was refused, or never answered by a
    // core that was removed): only our own references count.
    Done peer_never(std::uint64_t phys) {
        Own* o = own(phys);
        if (!o || !o->used || o->peer_done) return {};
        o->peer_done = true;
        return o->refs == 0 ? free_own(phys) : Done{};
    }

    // One reference on this core went (a slot of the monitor emptied, a domain gave a ring back or ended).
    Done unref(std::uint64_t phys) {
        Done d{};
        d.phys = phys;
        if (Own* o = own(phys)) {
            if (!o->used || o->refs == 0) return {};
            if (--o->refs) return d;
            d.reclaim = true;
            if (!o->peer_done) return d;
            Done f = free_own(phys);
            f.reclaim = true;
            return f;
        }
        for (Foreign& f : m_foreign)
            if (f.refs && f.phys == phys) {
                if (--f.refs) return d;
                d.reclaim = true;
                d.notify = f.owner;
                f = {};
                return d;
            }
        return {};
    }

    // The owner hears ring_gone from core `from`. bad: no ring of ours in use with that peer
    // still holding it.
    Done peer_done(std::uint32_t from, std::uint64_t phys, bool& bad) {
        Own* o = own(phys);
        bad = !o || !o->used || o->peer_done || o->peer != from;
        if (bad) return {};
        o->peer_done = true;
        return o->refs == 0 ? free_own(phys) : Done{};
    }

    // Core `core` was removed from the membership: it holds nothing any more. f(Done) for every
    // ring of ours freed by that; rings of its pool referenced here stay until our references go,
    // and no line is sent to it then.
    template <class F>
    void core_lost(std::uint32_t core, F&& f) {
        if (core == m_core) return;
        for (std::uint32_t i = 0; i < m_rings; ++i) {
            Own& o = m_own[i];
            if (!o.used || o.peer_done || o.peer != core) continue;
            o.peer_done = true;
            if (o.refs == 0) f(free_own(m_base + (std::uint64_t{i} << m_bits)));
        }
        for (Foreign& r : m_foreign)
            if (r.refs && r.owner == core) r.owner = none;
    }

    // A domain of this core took a ring (take_ring): the reference moves from the monitor's slot
    // to it. Its handle (never reused), or 0 when the table is full (the caller keeps the ring).
    std::uint64_t hold(std::uint64_t domain, std::uint64_t phys) {
        for (std::uint32_t i = 0; i < max_holds; ++i)
            if (!m_holds[i].used) {
                m_holds[i] = {true, domain, phys, ++m_hold_serial};
                return i | m_hold_serial << 16;
            }
        return 0;
    }
    // Free hold entries (take_ring answers busy without one).
    [[nodiscard]] unsigned holds_free() const {
        unsigned n = 0;
        for (const Hold& h : m_holds) n += !h.used;
        return n;
    }
    // The domain gives a ring back (unbind_ring with the handle take_ring answered): the ring's
    // address, or 0 when the handle is not one of the domain's (never given, given to another,
    // given back already). The caller then unrefs it.
    std::uint64_t release(std::uint64_t domain, std::uint64_t handle) {
        const std::uint64_t i = handle & 0xffff;
        if (i >= max_holds) return 0;
        Hold& h = m_holds[i];
        if (!h.used || h.domain != domain || h.serial != handle >> 16) return 0;
        const std::uint64_t phys = h.phys;
        h = {};
        return phys;
    }
    // The domain ended: f(phys) for every ring it held (the caller unrefs each).
    template <class F>
    void release_domain(std::uint64_t domain, F&& f) {
        for (Hold& h : m_holds)
            if (h.used && h.domain == domain) {
                const std::uint64_t phys = h.phys;
                h = {};
                f(phys);
            }
    }

    [[nodiscard]] std::uint32_t capacity() const { return m_rings; }
    [[nodiscard]] std::uint32_t in_use() const {
        std::uint32_t n = 0;
        for (std::uint32_t i = 0; i < m_rings; ++i) n += m_own[i].used;
        return n;
    }
    [[nodiscard]] std::uint32_t foreign() const {
        std::uint32_t n = 0;
        for (const Foreign& f : m_foreign) n += f.refs != 0;
        return n;
    }
    [[nodiscard]] std::uint32_t refs(std::uint64_t phys) const {
        const std::uint32_t i = own_index(phys);
        if (i < m_rings) return m_own[i].used ? m_own[i].refs : 0;
        for (const Foreign& f : m_foreign)
            if (f.refs && f.phys == phys) return f.refs;
        return 0;
    }

private:
    struct Own {
        bool used = false, peer_done = false;
        std::uint32_t refs = 0, peer = none;
        Charge charge{};
    };
    struct Foreign {
        std::uint64_t phys = 0;
        std::uint32_t owner = none, refs = 0;
    };
    struct Hold {
        bool used = false;
        std::uint64_t domain = 0, phys = 0, serial = 0;
    };

    [[nodiscard]] std::uint32_t own_index(std::uint64_t phys) const {
        if (phys < m_base || ((phys - m_base) & ((std::uint64_t{1} << m_bits) - 1)) != 0) return none;
        const std::uint64_t i = (phys - m_base) >> m_bits;
        return i < m_rings ? static_cast<std::uint32_t>(i) : none;
    }
    Own* own(std::uint64_t phys) {
        const std::uint32_t i = own_index(phys);
        return i < m_rings ? &m_own[i] : nullptr;
    }
    Done free_own(std::uint64_t phys) {
        Own& o = *own(phys);
        Done d{};
        d.phys = phys;
        d.freed = true;
        d.charge = o.charge;
        o = {};
        return d;
    }

    std::uint32_t m_core = 0, m_rings = 0, m_next = 0;
    std::uint64_t m_base = 0;
    unsigned m_bits = 12;
    std::uint64_t m_hold_serial = 0;
    Own m_own[max_pool];
    Foreign m_foreign[max_foreign];
    Hold m_holds[max_holds];
};

} // namespace myr::monitor
