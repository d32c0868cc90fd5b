#pragma once
// Binding's tables and quotas (docs/monitors.md, "Binding", "Limits"): the part of Binder that
// needs no Env. The protocol itself (the calls of the domains, the lines between monitors, ring
// steps and the Env it runs over) is in binder.hpp; include that one. Here: BinderTables, Binder's
// base: the quotas, the binding ends (End) and what a domain's end freed (Freed), the charges and
// the kept rings of same-core bindings, this core's RingBook and counters, and the queries and
// steps on them that touch nothing outside the tables (finding an end, counting, a fresh entry,
// a charge). Freestanding: fixed arrays, no allocation.
#include <myr/monitor/ring_book.hpp>
#include <myr/status.hpp>

#include <cstdint>

namespace myr::monitor {

// Binder's tables (binder.hpp holds the protocol on them).
class BinderTables {
public:
    // ---- Quotas (docs/monitors.md, "Limits") -------------------------------------------------
    // Everything a monitor holds for a domain is bounded per domain, so one domain binding in a
    // loop is refused with a clear answer and leaves the tables, the cnode slots and the channel
    // pool to the others: `busy` while it has too much in set-up (it may retry once it took its
    // rings), `no_memory` while its share of ring memory is in use.
    static constexpr unsigned max_binds = 24;
    static constexpr std::uint32_t setup_per_domain = 2;   // client bindings in set-up (rings not all taken)
    static constexpr std::uint32_t rings_per_domain = 8;   // rings of this core's pool one client domain holds at once
    // A [[server]] instance keeps a binding to each peer replica and its nameserv session, and one
    // it replaced may still be given back by a peer that has not noticed yet: more at once.
    static constexpr std::uint32_t rings_per_instance = 32;
    static constexpr std::uint32_t pending_per_client = 2; // bind requests of one remote client not yet accepted
    // Free cnode slots a new binding leaves to the steps of bindings already under way (doorbells,
    // rings being taken): a bind that would leave fewer is answered busy and asked again, instead
    // of parking a ring in a slot while a busy core's servers cannot take the rings they already
    // have (core 0 of 64 with 63 clients at once ran out, and doorbells failed).
    static constexpr unsigned transit_reserve = 8;
    static constexpr unsigned local_slot_reserve = 16;     // free slots local calls leave to rings in transit
    // Charges: rings of this core's pool a client domain holds, one entry per client with rings
    // out (its own core's, and at a server's core, those charged to it from there).
    static constexpr unsigned max_charges = 168;
    // Rings a binding between two domains of this core keeps here (both domains hold copies; see
    // new_ring): deleted once both domains ended, so the slots come back. Two per binding.
    static constexpr unsigned max_kept = 24;

    enum LocalState : std::uint8_t { local_undecided, local_offered, local_declined, local_taken };

    // One end of a binding at this monitor, from the client's bind (or the bind request reaching
    // the server's core) until its domain took both rings.
    struct End {
        bool used, ready, server, accepted;
        bool orphan;             // client side: its domain ended while the request was out; the
                                 // reply only frees what is left
        Status error;            // client side: what the server's monitor answered, if not ok
        std::uint32_t domain;    // the local domain (its badge)
        std::uint32_t peer_core, peer_domain;
        std::uint64_t rx_slot, tx_slot;  // our slots holding its rings until taken (0: taken)
        std::uint64_t tx_phys;   // the peer's ring on another core, its capability not made yet:
                                 // made at take_ring, so a binding waiting to be accepted holds one
                                 // slot here, not two (0: none waiting; see transit_reserve)
        std::uint64_t own_phys;  // the ring this entry took from our pool (0: none yet)
        std::uint64_t peer_phys; // the peer's ring (counted in RingBook while tx_slot or tx_phys names it)
        std::uint64_t service;   // server side: the client's service word (bind_to; 0 by name)
        std::uint64_t req_serial;// server side: the serial of the client's entry at its own monitor,
                                 // which names this request in a bind_cancel (tickets are reused, serials not)
        std::uint64_t serial;    // never reused: names this entry for as long as it lives
        // Local calls (docs/monitors.md, "Local calls"). Server side of a same-core binding: the
        // client's entry (index and serial). Client side: what the server decided and, once it
        // offered, our slot holding the client's badged send cap until the client takes it.
        std::uint32_t client_ticket;
        std::uint64_t client_serial;
        std::uint8_t local;      // client side: LocalState
        std::uint64_t local_slot;
    };
    // What a domain's end freed here (its log line).
    struct Freed {
        unsigned ends, rings;
    };

    [[nodiscard]] const RingBook& book() const { return m_book; }
    [[nodiscard]] std::uint64_t made() const { return m_made; }
    // Binds this monitor answered busy (as the client's monitor or the server's): a storm of
    // retries shows here (monitor-status busy=).
    [[nodiscard]] std::uint64_t refused_busy() const { return m_busy; }
    // What this monitor holds now: binding ends, kept rings, charges with rings out (all zero once
    // every binding it set up is closed and every domain involved ended or gave its rings back).
    [[nodiscard]] unsigned ends_in_use() const {
        unsigned n = 0;
        for (const End& e : m_binds) n += e.used;
        return n;
    }
    [[nodiscard]] unsigned kept_in_use() const { return max_kept - kept_free(); }
    [[nodiscard]] unsigned charges_in_use() const {
        unsigned n = 0;
        for (const Charge& c : m_charges) n += c.used;
        return n;
    }

    // The entry `ticket` when `domain` owns it (null otherwise: a domain names only its own).
    End* owned(std::uint64_t ticket, std::uint64_t domain) {
        if (ticket >= max_binds || !m_binds[ticket].used || m_binds[ticket].domain != domain) return nullptr;
        return &m_binds[ticket];
    }
    [[nodiscard]] std::uint64_t ticket_of(const End& e) const { return static_cast<std::uint64_t>(&e - m_binds); }
    // The client's entry of a same-core binding whose server side is f (null: gone, or cross-core).
    End* client_end(const End& f) {
        if (!f.server || f.client_ticket >= max_binds) return nullptr;
        End& c = m_binds[f.client_ticket];
        return c.used && !c.server && c.serial == f.client_serial ? &c : nullptr;
    }
    // Whether some server of this core may offer a local-call cap now (a same-core binding it
    // accepted whose client has not decided).
    bool may_offer() {
        for (const End& e : m_binds) {
            const End* c = e.used && e.server && e.accepted ? client_end(e) : nullptr;
            if (c && c->local == local_undecided) return true;
        }
        return false;
    }

protected:
    struct Charge {
        bool used, own;  // own: the client's own core charges its ring of a binding here
        std::uint32_t core, domain, rings;
    };
    struct Kept {
        std::uint64_t slot, phys;
        std::uint32_t a, b;  // the two domains; each is cleared when it ends or gives this ring back
    };

    Charge* charge_of(std::uint64_t core, std::uint64_t domain, bool own, bool create) {
        Charge* free = nullptr;
        for (Charge& c : m_charges) {
            if (c.used && c.core == core && c.domain == domain && c.own == own) return &c;
            if (!c.used && !free) free = &c;
        }
        if (!create || !free) return nullptr;
        *free = {true, own, static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(domain), 0};
        return free;
    }
    static std::uint32_t ring_budget(bool instance) { return instance ? rings_per_instance : rings_per_domain; }

    unsigned kept_free() const {
        unsigned n = 0;
        for (const Kept& k : m_kept) n += k.slot == 0;
        return n;
    }

    End* new_end() {
        for (End& e : m_binds)
            if (!e.used) {
                e = {};
                e.used = true;
                e.error = Status::ok;
                e.serial = ++m_serials;
                return &e;
            }
        return nullptr;
    }
    // Client bindings of `domain` in set-up here (rings not all taken).
    unsigned in_setup(std::uint64_t domain) const {
        unsigned n = 0;
        for (const End& e : m_binds) n += e.used && !e.server && !e.orphan && e.domain == domain;
        return n;
    }
    // Bind requests of client (core, domain) at this server core not yet accepted.
    unsigned pending_of(std::uint64_t core, std::uint64_t domain) const {
        unsigned n = 0;
        for (const End& e : m_binds) n += e.used && e.server && !e.accepted && e.peer_core == core && e.peer_domain == domain;
        return n;
    }

    RingBook m_book;
    End m_binds[max_binds]{};
    Charge m_charges[max_charges]{};
    Kept m_kept[max_kept]{};
    std::uint64_t m_serials = 0;  // last End::serial given
    std::uint64_t m_made = 0;     // bindings set up here
    std::uint64_t m_busy = 0;     // binds answered busy here
};

} // namespace myr::monitor
