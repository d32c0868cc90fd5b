#pragma once
// Binding (docs/monitors.md, "Binding"): the half of a monitor that sets up channels between
// domains. A client asks its core's monitor to bind to a name (or to a domain by address); the
// monitor takes a ring from its own pool for the client to receive on and sends bind_req to the
// server's monitor, which takes a ring from its pool for the server, answers bind_reply, and both
// monitors hand the rings out as the two domains ask for them (take_ring). Everything either
// monitor holds is bounded per domain (docs/monitors.md, "Limits"), a client that ends or cancels
// mid-way leaves nothing behind, and the ring memory is counted by RingBook until both ends are
// done with it (ring_gone).
//
// Pure protocol logic: every message handler, over an environment `Env` that holds the
// machine-specific steps. The tables and the quotas it keeps, and the steps on them that need no
// Env, are in binder_tables.hpp (BinderTables, Binder's base). The guest monitor
// (monitor/binding.cpp) gives it capability slots and system calls; the hosted runtime
// (monitor/hosted/.../ring_run.hpp) gives it plain memory on Linux threads, and the host tests
// drive the same code there. Freestanding: fixed arrays, no allocation.
//
// Env must provide:
//   std::uint64_t core() const, cores() const    this monitor's core, how many cores
//   bool alive(core)                             the core is in the membership
//   bool ring_of(core, phys)                     phys can be a ring of that core's channel pool
//   Result<std::uint64_t> alloc_slot()           a free slot of the monitor's cnode (busy: none)
//   void free_slot(slot)                         deletes what the slot holds and frees it (0: nothing)
//   void vacate(slot)                            the slot is empty (its cap moved or was never made): free it
//   unsigned free_slots()
//   Status make_ring(phys, slot)                 a capability to ring memory at phys, in slot
//   Status copy_ring(from, to)                   a copy of a ring capability
//   void reclaim(phys)                           removes every capability to the ring on this core
//   void send(core, type, w0 .. w6)              one monitor line (protocol.hpp)
//   void wake()                                  domains of this core polling for an answer look again
//   bool lookup(n0, n1, core&, domain&)          the exporter of a name
//   bool ended(core, domain)                     that domain is known to have ended
//   bool accepts(domain)                         a live domain of this core that called accept
//   bool reply(status, w1, w2, w3, cap, high)    answers the calling domain; whether `cap` moved to it
//   void report(BindEvent, a, b)                 something worth a log line (malformed input, a refusal)
#include <myr/abi/syscall.hpp>
#include <myr/monitor/binder_tables.hpp>
#include <myr/monitor/protocol.hpp>
#include <myr/monitor/ring_book.hpp>
#include <myr/result.hpp>
#include <myr/status.hpp>
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor {

enum class BindEvent : std::uint8_t {
    reply_unknown_ticket,  // a: ticket, b: from core (malformed)
    reply_foreign_ring,    // a: from core, b: phys: the reply names a ring not of its pool (malformed)
    ring_gone_unknown,     // a: from core, b: phys (malformed)
    ring_cap_failed,       // a: phys, b: status: the kernel would not make a ring capability
};

template <class Env>
class Binder : public BinderTables {
public:
    Env env;

    // This core's channel pool (0 bytes: none; bindings to this core then fail no_memory).
    void init(std::uint64_t pool_base, std::uint64_t pool_bytes, unsigned ring_bits) {
        for (End& e : m_binds) e = {};
        for (Charge& c : m_charges) c = {};
        for (Kept& k : m_kept) k = {};
        m_book.init(static_cast<std::uint32_t>(env.core()), pool_base, pool_bytes, ring_bits);
    }

    // ---- Calls of the domains of this core (each answered through env.reply) -------------------

    // MonitorOp::bind: to the exporter of name (n0, n1). `instance`: the caller is a [[server]]
    // instance (its ring budget, here and at the server's monitor).
    void bind(std::uint64_t who, std::uint64_t n0, std::uint64_t n1, bool instance) {
        std::uint32_t core = 0, domain = 0;
        if (!env.lookup(n0, n1, core, domain)) return (void)env.reply(Status::not_found, 0, 0, 0, abi::no_cap, 0);
        start_bind(who, core, domain, n0, n1, false, 0, instance);
    }
    // MonitorOp::bind_to: to `domain` of `core` by address, which must have called accept.
    void bind_to(std::uint64_t who, std::uint64_t core, std::uint64_t domain, std::uint64_t service, bool instance) {
        if (core >= env.cores() || domain == 0 || domain > 0xffffffff) return answer(Status::invalid_argument);
        if (core == env.core()) {
            // Refused here before anything is spent (a local bind keeps a ring until both end).
            if (!env.accepts(domain)) return answer(Status::not_found);
        } else if (env.ended(core, domain)) {
            return answer(Status::not_found);
        }
        start_bind(who, static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(domain), 0, 0, true, service, instance);
    }
    // MonitorOp::bind_poll: ok (ticket, peer core, peer domain) once the server's monitor answered.
    void poll(std::uint64_t who, std::uint64_t ticket) {
        End* e = owned(ticket, who);
        if (!e || e->server) return answer(Status::not_found);
        if (e->error != Status::ok) {
            // Refused at the server's core: it kept nothing of ours, so the ring and the budget
            // come back now (a client retrying a busy server spends nothing).
            const Status st = e->error;
            release(*e);
            return answer(st);
        }
        if (!e->ready) return answer(Status::would_block);
        (void)env.reply(Status::ok, ticket, e->peer_core, e->peer_domain, abi::no_cap, 0);
    }
    // MonitorOp::bind_cancel: the client stopped waiting. What this monitor holds for it goes now;
    // a request still out is marked so its reply frees what is left; and the server's monitor
    // drops its side unless the server accepted already. Our ring comes back once that monitor
    // has said ring_gone.
    void cancel(std::uint64_t who, std::uint64_t ticket) {
        End* e = owned(ticket, who);
        if (!e || e->server) return answer(Status::not_found);
        const std::uint64_t server_core = e->peer_core, serial = e->serial, client = e->domain;
        if (e->error != Status::ok) {  // refused already: the server's monitor holds nothing
            release(*e);
        } else {
            if (!e->ready) {  // still out (only across cores: a same-core request is answered at once)
                drop_ring(e->rx_slot, e->own_phys);
                e->orphan = true;
                e->domain = 0;
            } else {
                release(*e);
            }
            if (server_core != env.core()) {
                env.send(server_core, bind_cancel, serial, client, 0, 0, 0, 0, 0);
            } else {
                for (End& f : m_binds)
                    if (f.used && f.server && !f.accepted && f.peer_core == env.core() && f.peer_domain == client &&
                        f.req_serial == serial)
                        release(f);
            }
        }
        answer(Status::ok);
    }
    // MonitorOp::accept: the first binding to `who` not yet accepted (would_block: none yet).
    // with_service: w2 = peer core << 32 | peer domain, w3 = the client's service word.
    void accept(std::uint64_t who, bool with_service) {
        for (End& e : m_binds)
            if (e.used && e.server && e.ready && !e.accepted && e.domain == who) {
                e.accepted = true;
                if (with_service)
                    (void)env.reply(Status::ok, ticket_of(e), std::uint64_t{e.peer_core} << 32 | e.peer_domain, e.service,
                                    abi::no_cap, 0);
                else
                    (void)env.reply(Status::ok, ticket_of(e), e.peer_core, e.peer_domain, abi::no_cap, 0);
                return;
            }
        answer(Status::would_block);
    }
    // MonitorOp::take_ring: the ring the caller receives on (which 0) or sends on (1), moved to
    // it with a handle that names it for unbind_ring.
    void take_ring(std::uint64_t who, std::uint64_t ticket, std::uint64_t which) {
        End* e = owned(ticket, who);
        if (!e || !e->ready || (e->server && !e->accepted) || which > 1) return answer(Status::not_found);
        std::uint64_t& slot = which ? e->tx_slot : e->rx_slot;
        if (which && !slot && e->tx_phys) {
            // The peer's ring: its capability made now (the kernel checks it is channel-pool memory).
            if (const Status st = peer_ring(e->tx_phys, 0, slot); st != Status::ok) return answer(st);
            e->tx_phys = 0;
        }
        if (!slot) return answer(Status::not_found);
        // The domain holds the ring from now on (its reference).
        const std::uint64_t phys = which ? e->peer_phys : e->own_phys;
        const std::uint64_t handle = m_book.hold(static_cast<std::uint32_t>(who), phys);
        if (!handle) return answer(Status::busy);
        if (e->server) decline_local(*e);  // a server that offers does so before its rings
        if (env.reply(Status::ok, handle, 0, 0, slot, 0)) {  // moved: the slot is empty now
            env.vacate(slot);
            slot = 0;
            if (!e->rx_slot && !e->tx_slot && !e->tx_phys) release(*e);  // an offer never taken goes too
        } else {
            (void)m_book.release(static_cast<std::uint32_t>(who), handle);  // still ours
        }
    }
    // MonitorOp::unbind_ring: a ring the caller took gives back (it deleted its capability, or the
    // kernel removes what is left once nobody on this core needs the ring): one reference goes,
    // and the ring comes back to its pool when the binding's other end is done with it too.
    void unbind_ring(std::uint64_t who, std::uint64_t handle) {
        const std::uint64_t phys = m_book.release(static_cast<std::uint32_t>(who), handle);
        if (!phys) return answer(Status::not_found);
        unkeep(phys, static_cast<std::uint32_t>(who));
        apply(m_book.unref(phys));
        answer(Status::ok);
    }
    // The server of a same-core binding will not offer a local-call cap (it took its rings
    // without, or it is gone): the client waiting in local_take hears not_found.
    void decline_local(const End& f) {
        End* c = client_end(f);
        if (!c || c->local != local_undecided) return;
        c->local = local_declined;
        env.wake();
    }

    // A domain of this core ended: its binding ends in set-up (a request still out is marked so
    // its reply frees what is left), every ring it took (the kernel removed its capabilities with
    // its cspace), the rings kept for same-core bindings once both ends are gone, and its charges.
    Freed domain_ended(std::uint32_t d) {
        Freed f{0, 0};
        for (End& e : m_binds) {
            // A request of it to a server of this core not yet accepted goes too (another core's
            // monitor drops one on domain_gone: client_ended).
            if (e.used && e.server && !e.accepted && e.peer_core == env.core() && e.peer_domain == d) {
                release(e);
                continue;
            }
            if (!e.used || e.domain != d) continue;
            ++f.ends;
            if (!e.server && !e.ready && e.error == Status::ok) {
                drop_ring(e.rx_slot, e.own_phys);
                drop_ring(e.tx_slot, e.peer_phys);
                e.orphan = true;
                e.domain = 0;
            } else {
                release(e);
            }
        }
        m_book.release_domain(d, [this](std::uint64_t phys) { apply(m_book.unref(phys)); });
        for (Kept& k : m_kept) {
            if (!k.slot) continue;
            if (k.a == d) k.a = 0;
            if (k.b == d) k.b = 0;
            if (k.a == 0 && k.b == 0) {
                drop_ring(k.slot, k.phys);
                k = {};
                ++f.rings;
            }
        }
        for (Charge& c : m_charges)
            if (c.used && c.core == env.core() && c.domain == d) c = {};
        return f;
    }

    // ---- Lines from other monitors ------------------------------------------------------------
    // bind_req [ticket, client domain, client ring, name0, name1, client serial, instance]
    void on_bind_request(std::uint64_t from, const urpc::Message& m) {
        request(from, m.words[0], m.words[1], m.words[2], m.words[3], m.words[4], 0, 0, 0, m.words[5], m.words[6] == 1);
    }
    // bind_to_req [ticket, client domain, client ring, server domain, service, client serial, instance]
    void on_bind_to_request(std::uint64_t from, const urpc::Message& m) {
        request(from, m.words[0], m.words[1], m.words[2], 0, 0, 0, m.words[3] ? m.words[3] : ~0ull, m.words[4], m.words[5],
                m.words[6] == 1);
    }
    // bind_reply [ticket, status, server ring, server domain]
    void on_bind_reply(std::uint64_t from, const urpc::Message& m) {
        reply_here(from, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])), m.words[2], m.words[3], 0);
    }
    // bind_cancel [serial, client domain]: a client of core `from` withdrew a request; dropped
    // unless the server took it.
    void on_bind_cancel(std::uint64_t from, const urpc::Message& m) {
        for (End& e : m_binds)
            if (e.used && e.server && !e.accepted && e.peer_core == from && e.peer_domain == m.words[1] &&
                e.req_serial == m.words[0])
                release(e);
    }
    // ring_gone [phys]: core `from` is done with a ring of ours; free once we are too. False
    // (nothing changed) when it names a ring that core does not hold of ours.
    bool on_ring_gone(std::uint64_t from, const urpc::Message& m) {
        bool bad = false;
        const RingBook::Done d = m_book.peer_done(static_cast<std::uint32_t>(from), m.words[0], bad);
        if (bad) {
            env.report(BindEvent::ring_gone_unknown, from, m.words[0]);
            return false;
        }
        apply(d);
        return true;
    }
    // Domain `domain` of core `from` ended (the death feed): its requests here not yet accepted
    // go, and its charges.
    void client_ended(std::uint64_t from, std::uint64_t domain) {
        for (End& e : m_binds)
            if (e.used && e.server && !e.accepted && e.peer_core == from && e.peer_domain == domain) release(e);
        for (Charge& c : m_charges)
            if (c.used && c.core == from && c.domain == domain) c = {};
    }
    // A core was removed from the membership: it holds none of our rings any more; bindings of
    // ours waiting for its answer get none.
    void core_lost(std::uint64_t core) {
        m_book.core_lost(static_cast<std::uint32_t>(core), [this](const RingBook::Done& d) { apply(d); });
        env.wake();
    }

    // A ring of this core's pool for something other than a binding, charged to nobody (see
    // binding.hpp); release_own_ring once no other core holds a capability to it.
    Status take_own_ring(std::uint64_t& slot, std::uint64_t& phys) {
        return new_ring(slot, phys, env.core(), RingBook::Charge{});
    }
    void release_own_ring(std::uint64_t& slot, std::uint64_t phys) {
        apply(m_book.peer_never(phys));  // no binding's peer ever heard of it
        drop_ring(slot, phys);
    }

private:
    void answer(Status st) { (void)env.reply(st, 0, 0, 0, abi::no_cap, 0); }

    // What RingBook asks for after a step: remove every capability to a ring no reference on this
    // core names any more, tell its owner, refund a freed ring to whoever it was charged to.
    void apply(const RingBook::Done& d) {
        if (d.reclaim) env.reclaim(d.phys);
        if (d.notify != RingBook::none && env.alive(d.notify)) env.send(d.notify, ring_gone, d.phys, 0, 0, 0, 0, 0, 0);
        if (!d.freed) return;
        if (d.charge.core == RingBook::none) return;  // charged to nobody
        if (Charge* c = charge_of(d.charge.core, d.charge.domain, d.charge.own_record, false); c && c->rings)
            if (--c->rings == 0) *c = {};
    }
    // A monitor slot holding a ring goes (0: nothing), and with it one reference.
    void drop_ring(std::uint64_t& slot, std::uint64_t phys) {
        if (!slot) return;
        env.free_slot(slot);
        slot = 0;
        apply(m_book.unref(phys));
    }
    void keep(std::uint64_t slot, std::uint64_t phys, std::uint64_t a, std::uint64_t b) {
        for (Kept& k : m_kept)
            if (k.slot == 0) {
                k = {slot, phys, static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b)};
                return;
            }
        drop_ring(slot, phys);  // cannot happen: callers check kept_free() first
    }
    // The kept original of a same-core binding whose bind was refused: nobody else got a copy.
    void drop_kept(std::uint64_t phys) {
        for (Kept& k : m_kept)
            if (k.slot && k.phys == phys) {
                drop_ring(k.slot, k.phys);
                k = {};
                return;
            }
    }
    // Domain d is done with ring `phys` (gave it back, or ended): its side of a kept original goes.
    void unkeep(std::uint64_t phys, std::uint32_t d) {
        for (Kept& k : m_kept) {
            if (!k.slot || k.phys != phys || (k.a != d && k.b != d)) continue;
            (k.a == d ? k.a : k.b) = 0;
            if (k.a == 0 && k.b == 0) {
                drop_ring(k.slot, k.phys);
                k = {};
            }
            return;
        }
    }

    void release(End& e) {
        if (e.server) decline_local(e);
        if (e.peer_core == env.core() && e.domain != 0) {
            // A same-core binding: the kept original of a ring this end's domain never took is
            // not waiting for that domain any more (else it stays until the domain ends).
            if (e.rx_slot) unkeep(e.own_phys, e.domain);
            if (e.tx_slot) unkeep(e.peer_phys, e.domain);
        }
        drop_ring(e.rx_slot, e.own_phys);
        if (e.tx_slot) {
            drop_ring(e.tx_slot, e.peer_phys);
        } else if (e.tx_phys) {
            e.tx_phys = 0;
            apply(m_book.unref(e.peer_phys));
        }
        env.free_slot(e.local_slot);
        e = {};
    }

    // A fresh ring from this core's pool (so in this node's memory, zeroed) for a binding with a
    // domain of core `peer`: its slot and address, one reference. With `original`, the cap made
    // stays with us there and `slot` gets a copy (a second reference): a binding between two
    // domains of this core gives both of them copies, so neither's exit (which revokes what
    // derives from its caps) takes the ring away from the other. no_memory: every ring of the
    // pool is in use.
    Status new_ring(std::uint64_t& slot, std::uint64_t& phys, std::uint64_t peer, RingBook::Charge charge,
                    std::uint64_t* original = nullptr) {
        slot = 0;
        const auto s = env.alloc_slot();
        if (!s.ok()) return s.status();
        phys = m_book.allocate(static_cast<std::uint32_t>(peer), charge);
        if (!phys) {
            env.vacate(*s);
            return Status::no_memory;
        }
        if (const Status st = env.make_ring(phys, *s); st != Status::ok) {
            env.report(BindEvent::ring_cap_failed, phys, static_cast<std::uint64_t>(st));
            env.vacate(*s);
            apply(m_book.peer_never(phys));
            apply(m_book.unref(phys));
            return Status::no_memory;
        }
        slot = *s;
        if (!original) return Status::ok;
        *original = slot;
        slot = 0;
        const auto c = env.alloc_slot();
        const Status st = c.ok() ? env.copy_ring(*original, *c) : c.status();
        if (st != Status::ok) {
            if (c.ok()) env.vacate(*c);
            apply(m_book.peer_never(phys));
            drop_ring(*original, phys);
            return st;
        }
        (void)m_book.ref(phys, static_cast<std::uint32_t>(env.core()));
        slot = *c;
        return Status::ok;
    }
    // The peer's ring: a copy of our own cap when the peer is on this core (one more reference),
    // else a capability made for the address the peer's monitor sent (the reference was counted
    // when the address came).
    Status peer_ring(std::uint64_t phys, std::uint64_t local_slot, std::uint64_t& slot) {
        const auto s = env.alloc_slot();
        if (!s.ok()) return s.status();
        slot = *s;
        const Status st = local_slot ? env.copy_ring(local_slot, slot) : env.make_ring(phys, slot);
        if (st != Status::ok) {
            env.vacate(slot);
            slot = 0;
        } else if (local_slot) {
            (void)m_book.ref(phys, static_cast<std::uint32_t>(env.core()));
        }
        return st;
    }

    // The client's first step of bind (by name) and bind_to (by address, to_domain = svc domain):
    // a ring from our pool for the client's receive side, a ticket, and the request to the
    // server's monitor (or to ourselves).
    void start_bind(std::uint64_t who, std::uint32_t svc_core, std::uint32_t svc_domain, std::uint64_t n0, std::uint64_t n1,
                    bool by_address, std::uint64_t service, bool instance) {
        const bool local = svc_core == env.core();
        if (!local && !env.alive(svc_core)) return answer(Status::connection_lost);  // its core was removed
        if (in_setup(who) >= setup_per_domain) {
            ++m_busy;
            return answer(Status::busy);
        }
        Charge* charge = charge_of(env.core(), who, true, true);
        End* e = nullptr;
        Status st = Status::ok;
        std::uint64_t phys = 0, original = 0;
        if (!charge) st = Status::busy;
        else if (charge->rings >= ring_budget(instance)) st = Status::no_memory;
        else if (local && kept_free() < 2) st = Status::busy;
        else if (env.free_slots() <= transit_reserve) st = Status::busy;
        else if (!(e = new_end())) st = Status::busy;
        if (st == Status::ok) {
            e->domain = static_cast<std::uint32_t>(who);
            e->peer_core = svc_core;  // where the request goes (a bind_cancel follows it there)
            st = new_ring(e->rx_slot, phys, svc_core, {static_cast<std::uint32_t>(env.core()), static_cast<std::uint32_t>(who), true},
                          local ? &original : nullptr);
            if (st != Status::ok) release(*e);
        }
        if (st != Status::ok) {
            if (charge && charge->rings == 0) *charge = {};  // an entry only while rings are out
            if (st == Status::busy) ++m_busy;
            return answer(st);
        }
        e->own_phys = phys;
        ++charge->rings;
        if (local) keep(original, phys, who, svc_domain);
        const std::uint64_t ticket = ticket_of(*e), serial = e->serial;
        (void)env.reply(Status::ok, ticket, 0, 0, abi::no_cap, 0);
        if (local)
            request(env.core(), ticket, who, phys, n0, n1, original, by_address ? svc_domain : 0, service, serial, instance);
        else if (by_address)
            env.send(svc_core, bind_to_req, ticket, who, phys, svc_domain, service, serial, instance ? 1 : 0);
        else
            env.send(svc_core, bind_req, ticket, who, phys, n0, n1, serial, instance ? 1 : 0);
    }

    // The server's side of a bind: a request from core `from` (maybe this one) for a name we
    // export. Charged to the client (from, client_domain): at most pending_per_client requests not
    // yet accepted and its ring budget of this core's pool, so a client binding in a loop cannot
    // fill this monitor's table or empty its pool for everybody. `to_domain` non-zero: a bind by
    // address to that domain of this core, which must have called accept at least once (else
    // not_found, before anything is charged); `service` goes to the server with the binding.
    void request(std::uint64_t from, std::uint64_t ticket, std::uint64_t client_domain, std::uint64_t client_phys,
                 std::uint64_t n0, std::uint64_t n1, std::uint64_t local_slot, std::uint64_t to_domain, std::uint64_t service,
                 std::uint64_t client_serial, bool client_instance) {
        Status st = Status::ok;
        std::uint32_t svc_core = 0, svc_domain = 0;
        bool found = false;
        if (to_domain) {
            svc_core = static_cast<std::uint32_t>(env.core());
            svc_domain = static_cast<std::uint32_t>(to_domain);
            found = to_domain <= 0xffffffff && env.accepts(to_domain);
        } else {
            found = env.lookup(n0, n1, svc_core, svc_domain);
        }
        End* f = nullptr;
        Charge* charge = nullptr;
        std::uint64_t phys = 0, server_domain = 0, original = 0;
        if (!found || svc_core != env.core()) st = Status::not_found;
        // Its client's death came first (domain_gone travels down the multicast tree, this line
        // straight): nobody will ever take the rings or cancel.
        else if (from != env.core() && env.ended(from, client_domain)) st = Status::connection_lost;
        else if (pending_of(from, client_domain) >= pending_per_client) st = Status::busy;
        else if (!(charge = charge_of(from, client_domain, false, true))) st = Status::busy;
        else if (charge->rings >= ring_budget(client_instance)) st = Status::no_memory;
        else if (env.free_slots() <= transit_reserve) st = Status::busy;  // the client asks again later
        else if (!(f = new_end())) st = Status::busy;
        if (st == Status::ok) {
            f->server = true;
            if (from == env.core()) {  // same core: the client's entry, for local calls
                f->client_ticket = static_cast<std::uint32_t>(ticket);
                f->client_serial = ticket < max_binds ? m_binds[ticket].serial : 0;
            }
            f->domain = svc_domain;
            f->service = service;
            f->req_serial = client_serial;
            f->peer_core = static_cast<std::uint32_t>(from);
            f->peer_domain = static_cast<std::uint32_t>(client_domain);
            if (!local_slot) {
                // The client's ring, made when the server takes it: one reference here from now on.
                if (!env.ring_of(from, client_phys)) st = Status::invalid_argument;
                else if (m_book.ref(client_phys, static_cast<std::uint32_t>(from))) f->tx_phys = f->peer_phys = client_phys;
                else st = Status::busy;
            }
            if (st == Status::ok)
                st = new_ring(f->rx_slot, phys, from,
                              {static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(client_domain), false},
                              local_slot ? &original : nullptr);
            if (st == Status::ok) {
                f->own_phys = phys;
                ++charge->rings;
                if (local_slot) keep(original, phys, svc_domain, client_domain);
                if (local_slot) {
                    st = peer_ring(client_phys, local_slot, f->tx_slot);
                    f->peer_phys = client_phys;
                }
            }
            if (st == Status::ok) {
                f->ready = true;
                server_domain = svc_domain;
                ++m_made;
                env.wake();  // a server may be polling accept
            } else {
                if (f->own_phys) apply(m_book.peer_never(f->own_phys));  // the client never hears of it
                if (f->own_phys && local_slot) drop_kept(f->own_phys);
                if (f->tx_phys) {
                    // The refusal itself tells the client's monitor we keep nothing of its ring
                    // (it marks the ring peer_never): no ring_gone as well. A second word about
                    // the same ring would reach it after the ring may have gone to a new binding,
                    // and end that binding's count (ring_hosted_test saw that as ring_gone_unknown).
                    RingBook::Done d = m_book.unref(f->peer_phys);
                    d.notify = RingBook::none;
                    apply(d);
                    f->tx_phys = 0;
                }
                release(*f);  // our ring comes back, and the client is refunded
            }
        }
        if (charge && charge->rings == 0 && st != Status::ok) *charge = {};
        if (st == Status::busy) ++m_busy;
        if (from == env.core()) reply_here(from, ticket, st, phys, server_domain, original);
        else
            env.send(from, bind_reply, ticket, static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)), phys, server_domain,
                     0, 0, 0);
    }

    // The client's side: the server's monitor answered.
    void reply_here(std::uint64_t from, std::uint64_t ticket, Status status, std::uint64_t server_phys,
                    std::uint64_t server_domain, std::uint64_t local_slot) {
        if (ticket >= max_binds || !m_binds[ticket].used || m_binds[ticket].server || m_binds[ticket].ready ||
            m_binds[ticket].error != Status::ok) {
            env.report(BindEvent::reply_unknown_ticket, ticket, from);
            return;
        }
        End& e = m_binds[ticket];
        if (e.orphan) {  // its domain ended meanwhile: nobody will take the rings (freed already)
            if (status != Status::ok) apply(m_book.peer_never(e.own_phys));
            else if (from != env.core()) env.send(from, ring_gone, server_phys, 0, 0, 0, 0, 0, 0);  // no cap was made to it
            release(e);
            return;
        }
        if (status == Status::ok && !local_slot && !env.ring_of(from, server_phys)) {
            env.report(BindEvent::reply_foreign_ring, from, server_phys);
            // The client hears invalid_argument; our ring stays out of use until the server's
            // monitor says ring_gone (it accepted, so it may hold our ring).
            e.error = Status::invalid_argument;
            env.wake();
            return;
        }
        if (status != Status::ok) {
            apply(m_book.peer_never(e.own_phys));  // refused: the server's monitor keeps nothing of ours
            if (from == env.core()) drop_kept(e.own_phys);
        } else if (local_slot) {
            status = peer_ring(server_phys, local_slot, e.tx_slot);
            e.peer_phys = server_phys;
        } else if (m_book.ref(server_phys, static_cast<std::uint32_t>(from))) {
            e.tx_phys = e.peer_phys = server_phys;  // made when the client takes it
        } else {
            env.send(from, ring_gone, server_phys, 0, 0, 0, 0, 0, 0);  // no room to count it: the client hears busy
            status = Status::busy;
        }
        if (status == Status::ok) {
            e.peer_core = static_cast<std::uint32_t>(from);
            e.peer_domain = static_cast<std::uint32_t>(server_domain);
            e.ready = true;
            if (from != env.core()) ++m_made;
        } else {
            e.error = status;
        }
        env.wake();  // the client polls bind_poll
    }
};

} // namespace myr::monitor
