// Binding (binding.hpp, docs/monitors.md "Binding"): service names, the rings of bindings in
// set-up and their memory (RingBook), and the monitor endpoint's service to the domains of this
// core. Kill, list and memserv grants are in domain_ops.cpp (binding_internal.hpp: what is shared).
#include "binding.hpp"
#include "binding_internal.hpp"

#include "deaths.hpp"
#include "mesh.hpp"
#include "names.hpp"
#include "protocol.hpp"
#include "servers.hpp"
#include "span.hpp"

#include <myr/monitor/ring_book.hpp>
#include <myr/user/bind.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::binding {
namespace detail {

using namespace myr::user;

constexpr std::uint64_t service_ep = 7;   // receiving copy of this core's monitor endpoint
constexpr std::uint64_t first_slot = 9;   // slots 9..63: rings in transit to domains

// Ring memory (docs/monitors.md, "Ring memory comes back"): this core's channel pool and every
// reference to a ring held here, counted until the ring can be used again.
RingBook book;

// Service names live in names.cpp: a table every monitor agrees on; lookups read this
// monitor's copy.
struct Service {
    std::uint32_t core, domain;
};

// One end of a binding at this monitor, from the client's bind (or the bind request reaching
// the server's core) until its domain took both rings.
struct BindEnd {
    bool used, ready, server, accepted;
    bool orphan;             // client side: its domain ended while the request was out; the
                             // reply only frees what is left
    Status error;            // client side: what the server's monitor answered, if not ok
    std::uint32_t domain;    // the local domain (its badge)
    std::uint32_t peer_core, peer_domain;
    std::uint64_t rx_slot, tx_slot;  // our slots holding its rings until taken (0: taken)
    std::uint64_t tx_phys;   // the peer's ring on another core, its capability not made yet: made
                             // at take_ring, so a binding waiting to be accepted holds one slot
                             // here, not two (0: none waiting; see transit_reserve)
    std::uint64_t own_phys;  // the ring this entry took from our pool (0: none yet)
    std::uint64_t peer_phys; // the peer's ring (counted in RingBook while tx_slot or tx_phys names it)
    std::uint64_t service;   // server side: the client's service word (bind_to; 0 by name)
    std::uint64_t req_serial;// server side: the serial of the client's entry at its own monitor, which
                             // names this request in a bind_cancel (tickets are reused, serials not)
    std::uint64_t serial;    // never reused: names this entry for as long as it lives
    // Local calls (docs/monitors.md, "Local calls"). Server side of a same-core binding: the
    // client's entry (index and serial). Client side: what the server decided and, once it
    // offered, our slot holding the client's badged send cap until the client takes it.
    std::uint32_t client_ticket;
    std::uint64_t client_serial;
    std::uint8_t local;      // client side: LocalState
    std::uint64_t local_slot;
};
enum LocalState : std::uint8_t { local_undecided, local_offered, local_declined, local_taken };
constexpr unsigned max_binds = 24;
BindEnd binds[max_binds];
std::uint64_t bind_serials;  // last BindEnd::serial given
std::uint64_t local_badges;  // last badge minted for a local-call cap (never reused on this core)
std::uint64_t incoming;      // our slot where a capability sent with a call lands (emptied after each)
constexpr unsigned local_slot_reserve = 16;  // free slots local calls leave to rings in transit
// Free cnode slots a new binding leaves to the steps of bindings already under way (doorbells,
// rings being taken): a bind that would leave fewer is answered busy and asked again, instead of
// parking a ring in a slot while a busy core's servers cannot take the rings they already have
// (core 0 of 64 with 63 clients at once ran out, and doorbells failed).
constexpr unsigned transit_reserve = 8;
std::uint64_t bindings_made;
std::uint64_t slot_used;  // bit per cnode slot

// ---- Quotas (docs/monitors.md, "Limits") ---------------------------------------------------------
// Everything a monitor holds for a domain is bounded per domain, so one domain binding (or
// exporting) in a loop is refused with a clear answer and leaves the tables, the cnode slots and
// the channel pool to the others: `busy` while it has too much in set-up (it may retry once it
// took its rings), `no_memory` while its share of ring memory is in use (a ring comes back once
// both ends gave it back or ended and every core that held it removed its capabilities: see
// RingBook).
constexpr std::uint32_t setup_per_domain = 2;  // client bindings in set-up (rings not all taken)
constexpr std::uint32_t rings_per_domain = 8;  // rings of this core's pool one client domain holds at once
// A [[server]] instance keeps a binding to each peer replica and its nameserv session, and one it
// replaced may still be given back by a peer that has not noticed yet: more at once.
constexpr std::uint32_t rings_per_instance = 32;
std::uint32_t ring_budget(bool instance) { return instance ? rings_per_instance : rings_per_domain; }
constexpr std::uint32_t pending_per_client = 2;// bind requests of one remote client not yet accepted

DomainRec domains[max_domains];

// Rings of this core's pool charged to a client domain (any core): the server's side of a bind
// is charged to the client that asked for it, not to the server.
struct Charge {
    bool used;
    std::uint32_t core, domain, rings;
};
constexpr unsigned max_charges = 128;
Charge charges[max_charges];

// Rings a binding between two domains of this core keeps here (both domains hold copies; see
// new_ring): deleted once both domains ended, so the slots come back. Two per binding; servers
// live for the whole run, so a core whose clients bind to servers on the same core (a node's
// nameserv and memserv replicas are on its first core) needs room for several: 24 rings, 12
// same-core bindings alive at once, each a slot of this monitor's 64-slot cnode.
struct Kept {
    std::uint64_t slot, phys;
    std::uint32_t a, b;  // the two domains; each is cleared when it ends or gives this ring back
};
constexpr unsigned max_kept = 24;
Kept kept[max_kept];

Result<std::uint64_t> alloc_slot() {
    for (std::uint64_t s = first_slot; s < 64; ++s)
        if (!(slot_used >> s & 1)) {
            slot_used |= std::uint64_t{1} << s;
            return s;
        }
    return Status::busy;  // every slot holds something in transit: retry once some was taken
}
void free_slot(std::uint64_t s) {
    if (s) {
        (void)syscall6(abi::Sys::cap_delete, s);
        slot_used &= ~(std::uint64_t{1} << s);
    }
}
unsigned free_slots() {
    unsigned n = 0;
    for (std::uint64_t s = first_slot; s < 64; ++s) n += !(slot_used >> s & 1);
    return n;
}

void wake_local_domains() { (void)syscall6(abi::Sys::send_ipi, ipi_cap, mesh.core); }

DomainRec* find_domain(std::uint64_t d) {
    for (DomainRec& r : domains)
        if (r.used && r.domain == d) return &r;
    return nullptr;
}
// The record of a calling domain; one the monitor did not start is kept untracked (no cap: its
// end goes unnoticed, see docs/monitors.md). Null when the table is full.
DomainRec* domain_rec(std::uint64_t d) {
    if (DomainRec* r = find_domain(d)) return r;
    for (DomainRec& r : domains)
        if (!r.used) {
            r = {};
            r.used = true;
            r.domain = static_cast<std::uint32_t>(d);
            return &r;
        }
    return nullptr;
}

Charge* charge_of(std::uint64_t core, std::uint64_t domain, bool create) {
    Charge* free = nullptr;
    for (Charge& c : charges) {
        if (c.used && c.core == core && c.domain == domain) return &c;
        if (!c.used && !free) free = &c;
    }
    if (!create || !free) return nullptr;
    *free = {true, static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(domain), 0};
    return free;
}

unsigned kept_free() {
    unsigned n = 0;
    for (const Kept& k : kept) n += k.slot == 0;
    return n;
}
// What RingBook asks for after a step: remove every capability to a ring no reference on this
// core names any more, tell its owner, refund a freed ring to whoever it was charged to.
void apply(const RingBook::Done& d) {
    if (d.reclaim) {
        const SysResult r = syscall6(abi::Sys::cap_reclaim_channel, kernel_cap, d.phys, abi::bind_ring_bits);
        if (r.status != Status::ok) print("ring {:#x}: reclaim failed: {}", d.phys, to_string(r.status));
    }
    if (d.notify != RingBook::none && mesh_alive(d.notify)) send(d.notify, ring_gone, d.phys);
    if (!d.freed) return;
    if (d.charge.own_record) {
        if (DomainRec* r = find_domain(d.charge.domain); r && r->rings) --r->rings;
    } else if (Charge* c = charge_of(d.charge.core, d.charge.domain, false); c && c->rings) {
        --c->rings;
    }
}

// A monitor slot holding a ring goes (0: nothing), and with it one reference.
void drop_ring(std::uint64_t& slot, std::uint64_t phys) {
    if (!slot) return;
    free_slot(slot);
    slot = 0;
    apply(book.unref(phys));
}

void keep(std::uint64_t slot, std::uint64_t phys, std::uint64_t a, std::uint64_t b) {
    for (Kept& k : kept)
        if (k.slot == 0) {
            k = {slot, phys, static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b)};
            return;
        }
    drop_ring(slot, phys);  // cannot happen: callers check kept_free() first
}

// The kept original of a same-core binding whose bind was refused: nobody else got a copy.
void drop_kept(std::uint64_t phys) {
    for (Kept& k : kept)
        if (k.slot && k.phys == phys) {
            drop_ring(k.slot, k.phys);
            k = {};
            return;
        }
}

// Whether `phys` can be a ring of core `core`'s pool: another core's monitor names rings by
// address, and one it got wrong (or a ring of a third core) must not become a capability here.
bool ring_of(std::uint64_t core, std::uint64_t phys) {
    if (core >= mesh.cores || core >= abi::topo_max_cores) return false;
    const std::uint64_t base = topo.chan_pool_base[core], ring = std::uint64_t{1} << abi::bind_ring_bits;
    return base && phys >= base && phys - base < topo.chan_pool_bytes && ((phys - base) & (ring - 1)) == 0;
}

// Domain d is done with ring `phys` (gave it back, or ended): its side of a kept original goes.
void unkeep(std::uint64_t phys, std::uint32_t d) {
    for (Kept& k : kept) {
        if (!k.slot || k.phys != phys || (k.a != d && k.b != d)) continue;
        (k.a == d ? k.a : k.b) = 0;
        if (k.a == 0 && k.b == 0) {
            drop_ring(k.slot, k.phys);
            k = {};
        }
        return;
    }
}

// The exporter of a name, per this monitor's copy of the name table.
bool find_service(std::uint64_t n0, std::uint64_t n1, Service& out) {
    return names::lookup(n0, n1, out.core, out.domain);
}

BindEnd* new_bind() {
    for (BindEnd& e : binds)
        if (!e.used) {
            e = {};
            e.used = true;
            e.error = Status::ok;
            e.serial = ++bind_serials;
            return &e;
        }
    return nullptr;
}

// The client's entry of a same-core binding whose server side is f (null: gone, or cross-core).
BindEnd* client_end(const BindEnd& f) {
    if (!f.server || f.client_ticket >= max_binds) return nullptr;
    BindEnd& c = binds[f.client_ticket];
    return c.used && !c.server && c.serial == f.client_serial ? &c : nullptr;
}

// The server of a same-core binding will not offer a local-call cap (it took its rings without,
// or it is gone): the client waiting in local_take hears not_found and uses the rings only.
void decline_local(const BindEnd& f) {
    BindEnd* c = client_end(f);
    if (!c || c->local != local_undecided) return;
    c->local = local_declined;
    wake_local_domains();
}

void release_bind(BindEnd& e) {
    if (e.server) decline_local(e);
    drop_ring(e.rx_slot, e.own_phys);
    if (e.tx_slot) {
        drop_ring(e.tx_slot, e.peer_phys);
    } else if (e.tx_phys) {
        e.tx_phys = 0;
        apply(book.unref(e.peer_phys));
    }
    free_slot(e.local_slot);
    e = {};
}

// Client bindings of `domain` in set-up here (rings not all taken).
unsigned in_setup(std::uint64_t domain) {
    unsigned n = 0;
    for (const BindEnd& e : binds) n += e.used && !e.server && !e.orphan && e.domain == domain;
    return n;
}
// Bind requests of client (core, domain) at this server core not yet accepted.
unsigned pending_of(std::uint64_t core, std::uint64_t domain) {
    unsigned n = 0;
    for (const BindEnd& e : binds) n += e.used && e.server && !e.accepted && e.peer_core == core && e.peer_domain == domain;
    return n;
}

// A fresh ring from this core's pool (so in this node's memory, zeroed by the kernel) for a
// binding with a domain of core `peer`: its slot and physical address, one reference.
// With `original`, the cap made stays with us there and `slot` gets a copy (a second reference):
// a binding between two domains of this core gives both of them copies, so neither's exit (which
// revokes what derives from its caps) takes the ring away from the other. no_memory: every ring
// of the pool is in use.
Status new_ring(std::uint64_t& slot, std::uint64_t& phys, std::uint64_t peer, RingBook::Charge charge,
                std::uint64_t* original = nullptr) {
    slot = 0;
    const auto s = alloc_slot();
    if (!s.ok()) return s.status();
    phys = book.allocate(static_cast<std::uint32_t>(peer), charge);
    if (!phys) {
        slot_used &= ~(std::uint64_t{1} << *s);
        return Status::no_memory;
    }
    if (const Status st = syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, *s).status;
        st != Status::ok) {
        print("ring {:#x}: cannot make its capability: {}", phys, to_string(st));
        slot_used &= ~(std::uint64_t{1} << *s);
        apply(book.peer_never(phys));
        apply(book.unref(phys));
        return Status::no_memory;
    }
    slot = *s;
    if (!original) return Status::ok;
    *original = slot;
    slot = 0;
    const auto c = alloc_slot();
    const Status st = c.ok() ? syscall6(abi::Sys::cap_copy, *original, *c, 0xffff).status : c.status();
    if (st != Status::ok) {
        if (c.ok()) slot_used &= ~(std::uint64_t{1} << *c);
        apply(book.peer_never(phys));
        drop_ring(*original, phys);
        return st;
    }
    (void)book.ref(phys, static_cast<std::uint32_t>(mesh.core));
    slot = *c;
    return Status::ok;
}

// The peer's ring: a copy of our own cap when the peer is on this core (one more reference),
// else a capability the kernel creates for the address the peer's monitor sent (it checks it is
// channel-pool memory; the reference was counted when the address came).
Status peer_ring(std::uint64_t phys, std::uint64_t local_slot, std::uint64_t& slot) {
    const auto s = alloc_slot();
    if (!s.ok()) return s.status();
    slot = *s;
    const Status st = local_slot ? syscall6(abi::Sys::cap_copy, local_slot, slot, 0xffff).status
                                 : syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, slot).status;
    if (st != Status::ok) {
        slot_used &= ~(std::uint64_t{1} << slot);
        slot = 0;
    } else if (local_slot) {
        (void)book.ref(phys, static_cast<std::uint32_t>(mesh.core));
    }
    return st;
}

void bind_reply_here(std::uint64_t from, std::uint64_t ticket, Status status, std::uint64_t server_phys,
                     std::uint64_t server_domain, std::uint64_t local_slot);

// The server's side of a bind: a request from core `from` (maybe this one) for a name we export.
// Charged to the client (from, client_domain): at most pending_per_client requests not yet
// accepted and rings_per_domain rings of this core's pool, so a client binding in a loop cannot
// fill this monitor's table or empty its pool for everybody.
// `to_domain` non-zero: a bind by address (bind_to) to that domain of this core, which must have
// called accept at least once (else not_found, before anything is charged); `service` goes to
// the server with the binding.
void bind_request_here(std::uint64_t from, std::uint64_t ticket, std::uint64_t client_domain, std::uint64_t client_phys,
                       std::uint64_t n0, std::uint64_t n1, std::uint64_t local_slot, std::uint64_t to_domain,
                       std::uint64_t service, std::uint64_t client_serial, bool client_instance) {
    Status st = Status::ok;
    Service found{};
    const Service* svc = nullptr;
    if (to_domain) {
        const DomainRec* t = find_domain(to_domain);
        found = {static_cast<std::uint32_t>(mesh.core), static_cast<std::uint32_t>(to_domain)};
        if (t && t->accepts && !deaths::ended(mesh.core, to_domain)) svc = &found;
    } else if (find_service(n0, n1, found)) {
        svc = &found;
    }
    BindEnd* f = nullptr;
    Charge* charge = nullptr;
    std::uint64_t phys = 0, server_domain = 0, original = 0;
    if (!svc || svc->core != mesh.core) st = Status::not_found;
    else if (pending_of(from, client_domain) >= pending_per_client) st = Status::busy;
    else if (!(charge = charge_of(from, client_domain, true))) st = Status::busy;
    else if (charge->rings >= ring_budget(client_instance)) st = Status::no_memory;
    else if (free_slots() <= transit_reserve) st = Status::busy;  // the client asks again later
    else if (!(f = new_bind())) st = Status::busy;
    if (st == Status::ok) {
        f->server = true;
        if (from == mesh.core) {  // same core: the client's entry, for local calls
            f->client_ticket = static_cast<std::uint32_t>(ticket);
            f->client_serial = ticket < max_binds ? binds[ticket].serial : 0;
        }
        f->domain = svc->domain;
        f->service = service;
        f->req_serial = client_serial;
        f->peer_core = static_cast<std::uint32_t>(from);
        f->peer_domain = static_cast<std::uint32_t>(client_domain);
        if (!local_slot) {
            // The client's ring, made when the server takes it: one reference here from now on.
            if (!ring_of(from, client_phys)) st = Status::invalid_argument;
            else if (book.ref(client_phys, static_cast<std::uint32_t>(from))) f->tx_phys = f->peer_phys = client_phys;
            else st = Status::busy;
        }
        if (st == Status::ok)
            st = new_ring(f->rx_slot, phys, from, {static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(client_domain), false},
                          local_slot ? &original : nullptr);
        if (st == Status::ok) {
            f->own_phys = phys;
            ++charge->rings;
            if (local_slot) keep(original, phys, svc->domain, client_domain);
            if (local_slot) {
                st = peer_ring(client_phys, local_slot, f->tx_slot);
                f->peer_phys = client_phys;
            }
        }
        if (st == Status::ok) {
            f->ready = true;
            server_domain = svc->domain;
            ++bindings_made;
            wake_local_domains();  // a server may be polling accept
        } else {
            if (f->own_phys) apply(book.peer_never(f->own_phys));  // the client never hears of it
            if (f->own_phys && local_slot) drop_kept(f->own_phys);
            release_bind(*f);  // our ring comes back, and the client is refunded
        }
    }
    if (charge && charge->rings == 0 && st != Status::ok) charge->used = false;
    if (from == mesh.core) bind_reply_here(from, ticket, st, phys, server_domain, original);
    else send(from, bind_reply, ticket, static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)), phys, server_domain);
}

// The client's side: the server's monitor answered.
void bind_reply_here(std::uint64_t from, std::uint64_t ticket, Status status, std::uint64_t server_phys,
                     std::uint64_t server_domain, std::uint64_t local_slot) {
    if (ticket >= max_binds || !binds[ticket].used || binds[ticket].server || binds[ticket].ready ||
        binds[ticket].error != Status::ok) {
        ++malformed;
        print("bind reply for unknown ticket {} from core {}: ignored", ticket, from);
        return;
    }
    BindEnd& e = binds[ticket];
    if (e.orphan) {  // its domain ended meanwhile: nobody will take the rings (freed already)
        if (status != Status::ok) apply(book.peer_never(e.own_phys));
        else if (from != mesh.core) send(from, ring_gone, server_phys);  // we never made a cap to it
        release_bind(e);
        return;
    }
    if (status == Status::ok && !local_slot && !ring_of(from, server_phys)) {
        ++malformed;
        print("bind reply from core {} names ring {:#x}, not one of its pool: refused", from, server_phys);
        // The client hears invalid_argument; our ring stays out of use until the server's
        // monitor says ring_gone (it accepted, so it may hold our ring).
        e.error = Status::invalid_argument;
        wake_local_domains();
        return;
    }
    if (status != Status::ok) {
        apply(book.peer_never(e.own_phys));  // refused: the server's monitor keeps nothing of ours
        if (from == mesh.core) drop_kept(e.own_phys);
    } else if (local_slot) {
        status = peer_ring(server_phys, local_slot, e.tx_slot);
        e.peer_phys = server_phys;
    } else if (book.ref(server_phys, static_cast<std::uint32_t>(from))) {
        e.tx_phys = e.peer_phys = server_phys;  // made when the client takes it
    } else {
        send(from, ring_gone, server_phys);  // no room to count it: the client hears busy
        status = Status::busy;
    }
    if (status == Status::ok) {
        e.peer_core = static_cast<std::uint32_t>(from);
        e.peer_domain = static_cast<std::uint32_t>(server_domain);
        e.ready = true;
        if (from != mesh.core) ++bindings_made;
    } else {
        e.error = status;
    }
    wake_local_domains();  // the client polls bind_poll
}

// Answers a domain's call: w0 = status, w1..w3 = values; a ring cap moves with it where given.
// Returns whether the cap moved.
bool reply(Status st, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3, std::uint64_t cap, std::uint64_t high) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)) | high << 32;
    m.w[1] = w1;
    m.w[2] = w2;
    m.w[3] = w3;
    return ipc(abi::Sys::ipc_reply, 0, m, cap) == Status::ok && m.cap_arrived == 1;
}

BindEnd* owned_bind(std::uint64_t id, std::uint64_t domain) {
    if (id >= max_binds || !binds[id].used || binds[id].domain != domain) return nullptr;
    return &binds[id];
}

// The client's first step of bind (by name) and bind_to (by address, to_domain = svc.domain):
// a ring from our pool for the client's receive side, a ticket, and the request to the server's
// monitor (or to ourselves).
void start_bind(DomainRec& rec, std::uint64_t who, const Service& svc, std::uint64_t n0, std::uint64_t n1, bool by_address,
                std::uint64_t service) {
    const bool local = svc.core == mesh.core;
    if (!local && !mesh_alive(svc.core)) return (void)reply(Status::connection_lost);  // its core was removed
    if (in_setup(who) >= setup_per_domain) return (void)reply(Status::busy);
    const bool instance = servers::configured_instance(who);  // also the server's monitor's budget for it
    if (rec.rings >= ring_budget(instance)) return (void)reply(Status::no_memory);
    if (local && kept_free() < 2) return (void)reply(Status::busy);
    if (free_slots() <= transit_reserve) return (void)reply(Status::busy);
    BindEnd* e = new_bind();
    if (!e) return (void)reply(Status::busy);
    e->domain = static_cast<std::uint32_t>(who);
    e->peer_core = svc.core;  // where the request goes (a bind_cancel follows it there)
    std::uint64_t phys = 0, original = 0;
    if (const Status st = new_ring(e->rx_slot, phys, svc.core, {static_cast<std::uint32_t>(mesh.core), static_cast<std::uint32_t>(who), true},
                                   local ? &original : nullptr);
        st != Status::ok) {
        release_bind(*e);
        return (void)reply(st);
    }
    e->own_phys = phys;
    ++rec.rings;
    if (local) keep(original, phys, who, svc.domain);
    else rec.remote = true;
    const std::uint64_t ticket = static_cast<std::uint64_t>(e - binds);
    reply(Status::ok, ticket);
    if (local)
        bind_request_here(mesh.core, ticket, who, phys, n0, n1, original, by_address ? svc.domain : 0, service, e->serial,
                          instance);
    else if (by_address) send(svc.core, bind_to_req, ticket, who, phys, svc.domain, service, e->serial, instance ? 1 : 0);
    else send(svc.core, bind_req, ticket, who, phys, n0, n1, e->serial, instance ? 1 : 0);
}

// The client withdrew its ticket (MonitorOp::bind_cancel: it stopped waiting). What this monitor
// holds for it goes now; a request still out is marked so its reply frees what is left; and the
// server's monitor drops its side unless the server accepted already. Our ring comes back once
// that monitor has said ring_gone (docs/monitors.md, "Ring memory comes back").
void cancel_bind(BindEnd& e) {
    const std::uint64_t server_core = e.peer_core, serial = e.serial, client = e.domain;
    if (e.error != Status::ok) {  // refused already: the server's monitor holds nothing
        release_bind(e);
        return;
    }
    if (!e.ready) {  // still out (only across cores: a same-core request is answered at once)
        drop_ring(e.rx_slot, e.own_phys);
        e.orphan = true;
        e.domain = 0;
    } else {
        release_bind(e);
    }
    if (server_core != mesh.core) {
        send(server_core, bind_cancel, serial, client);
        return;
    }
    for (BindEnd& f : binds)
        if (f.used && f.server && !f.accepted && f.peer_core == mesh.core && f.peer_domain == client && f.req_serial == serial)
            release_bind(f);
}

// One call from a domain of this core (its badge is its domain id).
void serve_call(const Message& m) {
    const std::uint64_t who = m.badge;
    DomainRec* rec = domain_rec(who);
    if (!rec) return (void)reply(Status::busy);  // the table is full of domains not yet ended
    switch (static_cast<abi::MonitorOp>(m.w[0])) {
    case abi::MonitorOp::export_name:
        // would_block until the monitors agreed; the domain asks again (names.hpp).
        return (void)reply(names::export_name(static_cast<std::uint32_t>(who), m.w[1], m.w[2]));
    case abi::MonitorOp::bind: {
        Service found{};
        if (!find_service(m.w[1], m.w[2], found)) return (void)reply(Status::not_found);
        return start_bind(*rec, who, found, m.w[1], m.w[2], false, 0);
    }
    case abi::MonitorOp::bind_poll: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || e->server) return (void)reply(Status::not_found);
        if (e->error != Status::ok) {
            // Refused at the server's core: it kept nothing of ours, so the ring and the budget
            // come back now (a client retrying a busy server spends nothing).
            const Status st = e->error;
            release_bind(*e);
            return (void)reply(st);
        }
        if (!e->ready) return (void)reply(Status::would_block);
        reply(Status::ok, m.w[1], e->peer_core, e->peer_domain);
        return;
    }
    case abi::MonitorOp::bind_cancel: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || e->server) return (void)reply(Status::not_found);
        cancel_bind(*e);
        return (void)reply(Status::ok);
    }
    case abi::MonitorOp::accept:
        rec->accepts = true;  // from now on clients may bind to it by address (bind_to)
        for (BindEnd& e : binds)
            if (e.used && e.server && e.ready && !e.accepted && e.domain == who) {
                e.accepted = true;
                if (m.w[1] & abi::accept_service)
                    reply(Status::ok, static_cast<std::uint64_t>(&e - binds),
                          std::uint64_t{e.peer_core} << 32 | e.peer_domain, e.service);
                else
                    reply(Status::ok, static_cast<std::uint64_t>(&e - binds), e.peer_core, e.peer_domain);
                return;
            }
        reply(Status::would_block);
        return;
    case abi::MonitorOp::doorbell: {
        // Our IPI cap minted down to the peer's core (badge = core + 1), moved to the caller.
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || !e->ready || (e->server && !e->accepted)) return (void)reply(Status::not_found);
        const auto slot = alloc_slot();
        if (!slot.ok()) return (void)reply(slot.status());
        const Status st = syscall6(abi::Sys::cap_mint, ipi_cap, *slot, 0xffff, e->peer_core + 1).status;
        if (st != Status::ok) {
            slot_used &= ~(std::uint64_t{1} << *slot);
            return (void)reply(st);
        }
        if (reply(Status::ok, e->peer_core, 0, 0, *slot)) slot_used &= ~(std::uint64_t{1} << *slot);
        else free_slot(*slot);
        return;
    }
    case abi::MonitorOp::take_ring: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || !e->ready || (e->server && !e->accepted) || m.w[2] > 1) return (void)reply(Status::not_found);
        std::uint64_t& slot = m.w[2] ? e->tx_slot : e->rx_slot;
        if (m.w[2] && !slot && e->tx_phys) {
            // The peer's ring: its capability made now (the kernel checks it is channel-pool memory).
            if (const Status st = peer_ring(e->tx_phys, 0, slot); st != Status::ok) return (void)reply(st);
            e->tx_phys = 0;
        }
        if (!slot) return (void)reply(Status::not_found);
        // The domain holds the ring from now on (its reference); w1 names it for unbind_ring.
        const std::uint64_t phys = m.w[2] ? e->peer_phys : e->own_phys;
        const std::uint64_t handle = book.hold(who, phys);
        if (!handle) return (void)reply(Status::busy);
        if (e->server) decline_local(*e);  // a server that offers does so before its rings
        if (reply(Status::ok, handle, 0, 0, slot)) {  // moved: the slot is empty now
            slot_used &= ~(std::uint64_t{1} << slot);
            slot = 0;
            if (!e->rx_slot && !e->tx_slot && !e->tx_phys) release_bind(*e);  // an offer never taken goes too
        } else {
            (void)book.release(who, handle);  // still ours
        }
        return;
    }
    case abi::MonitorOp::unbind_ring: {
        // A ring the caller took gives back (it deleted its capability, or the kernel removes
        // what is left once nobody on this core needs the ring): one reference goes, and the
        // ring comes back to its pool when the binding's other end is done with it too.
        const std::uint64_t phys = book.release(who, m.w[1]);
        if (!phys) return (void)reply(Status::not_found);
        unkeep(phys, static_cast<std::uint32_t>(who));
        apply(book.unref(phys));
        return (void)reply(Status::ok);
    }
    case abi::MonitorOp::local_offer: {
        // The server's own endpoint comes with its first offer (in `incoming`) and is kept: the
        // client gets a child of it that can only send, badged with a number this monitor never
        // gave before, so a cap kept from a closed connection never names a later one. Every
        // such cap derives from the server's own (the kernel deletes a cap's children with it):
        // they all go when the server ends, and a caller blocked on one hears connection_lost.
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || !e->server || !e->ready || !e->accepted) return (void)reply(Status::not_found);
        if (e->peer_core != mesh.core) return (void)reply(Status::unsupported);
        BindEnd* c = client_end(*e);
        if (!c || c->local != local_undecided) return (void)reply(Status::not_found);
        // Rings in transit come first: under pressure the connection stays on its rings.
        if (free_slots() <= local_slot_reserve) return (void)reply(Status::busy);
        if (rec->endpoint && syscall6(abi::Sys::cap_identify, rec->endpoint).status != Status::ok) {
            slot_used &= ~(std::uint64_t{1} << rec->endpoint);  // emptied by the kernel: free it
            rec->endpoint = 0;
        }
        if (!rec->endpoint) {
            if (m.cap_arrived != 1 || !incoming) return (void)reply(Status::invalid_argument);
            const SysResult id = syscall6(abi::Sys::cap_identify, incoming);
            if (id.status != Status::ok || (id.value >> 32) != captype::endpoint || !(id.value & rights::receive))
                return (void)reply(Status::wrong_type);
            rec->endpoint = incoming;  // kept; serve_local takes a fresh slot for the next call
            incoming = 0;
        }
        const auto slot = alloc_slot();
        if (!slot.ok()) return (void)reply(Status::busy);
        const std::uint64_t badge = local_badges + 1;
        const Status st = syscall6(abi::Sys::cap_mint, rec->endpoint, *slot, rights::send, badge).status;
        if (st != Status::ok) {
            slot_used &= ~(std::uint64_t{1} << *slot);
            return (void)reply(st);  // invalid_argument for a badged cap
        }
        local_badges = badge;
        c->local_slot = *slot;
        c->local = local_offered;
        wake_local_domains();  // the client polls local_take
        return (void)reply(Status::ok, badge);
    }
    case abi::MonitorOp::local_take: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || e->server || !e->ready) return (void)reply(Status::not_found);
        if (e->peer_core != mesh.core) return (void)reply(Status::unsupported);
        if (e->local == local_undecided) return (void)reply(Status::would_block);
        if (e->local != local_offered || !e->local_slot) return (void)reply(Status::not_found);
        if (reply(Status::ok, 0, 0, 0, e->local_slot)) {
            slot_used &= ~(std::uint64_t{1} << e->local_slot);
            e->local_slot = 0;
            e->local = local_taken;
        }
        return;
    }
    case abi::MonitorOp::args:
    case abi::MonitorOp::spawn:
    case abi::MonitorOp::heartbeat:
    case abi::MonitorOp::server_info:
    case abi::MonitorOp::spawn_arg: {
        // Program arguments and spawns by domains (servers.cpp).
        const servers::Answer a = servers::serve(who, m.w);
        std::uint32_t core = 0, domain = 0;
        if (static_cast<abi::MonitorOp>(m.w[0]) == abi::MonitorOp::server_info && names::lookup(m.w[1], m.w[2], core, domain)) {
            if (a.status == Status::not_found)
                return (void)reply(Status::ok, 0, ~0ull, std::uint64_t{core} << 32 | domain);  // an exported name
            // A [[server]] table of that name whose instance exported it too (kvstore's primary
            // without nameserv): both answers.
            if (a.status == Status::ok)
                return (void)reply(Status::ok, a.w1, a.w2, abi::server_info_exported | std::uint64_t{core} << 32 | domain);
        }
        return (void)reply(a.status, a.w1, a.w2, a.w3, abi::no_cap, a.high);
    }
    // ---- Operations for user-space servers (docs/monitors.md, "Death feed, kill, list, bind by
    // address"): 9..13 together.
    case abi::MonitorOp::deaths: {
        std::uint64_t w1 = 0, w2 = 0, w3 = 0;
        const Status st = deaths::next(m.w[1], w1, w2, w3);
        return (void)reply(st, w1, w2, w3);
    }
    case abi::MonitorOp::alive:
        if (m.w[1] >= mesh.cores) return (void)reply(Status::invalid_argument);
        return (void)reply(deaths::ended(m.w[1], m.w[2]) ? Status::connection_lost : Status::ok);
    case abi::MonitorOp::bind_to: {
        if (m.w[1] >= mesh.cores || m.w[2] == 0 || m.w[2] > 0xffffffff) return (void)reply(Status::invalid_argument);
        if (m.w[1] == mesh.core) {
            // Refused here before anything is spent (a local bind keeps a ring until both end).
            const DomainRec* t = find_domain(m.w[2]);
            if (!t || !t->accepts || deaths::ended(mesh.core, m.w[2])) return (void)reply(Status::not_found);
        } else if (deaths::ended(m.w[1], m.w[2])) {
            return (void)reply(Status::not_found);
        }
        const Service target{static_cast<std::uint32_t>(m.w[1]), static_cast<std::uint32_t>(m.w[2])};
        return start_bind(*rec, who, target, 0, 0, true, m.w[3]);
    }
    case abi::MonitorOp::kill: {
        if (m.w[1] >= mesh.cores) return (void)reply(Status::invalid_argument);
        if (!may_kill(*rec)) return (void)reply(Status::permission_denied);
        if (m.w[1] == mesh.core) return (void)reply(kill_here(m.w[2], mesh.core, who));
        return remote_op(who, kill_req, m.w[1], m.w[2]);
    }
    case abi::MonitorOp::list: {
        if (m.w[1] >= mesh.cores) return (void)reply(Status::invalid_argument);
        if (m.w[1] == mesh.core) {
            std::uint64_t w[3] = {};
            const Status st = list_here(m.w[2], w);
            return (void)reply(st, w[0], w[1], w[2]);
        }
        return remote_op(who, list_req, m.w[1], m.w[2]);
    }
    case abi::MonitorOp::grant_ram: {
        if (!may_grant(*rec)) return (void)reply(Status::permission_denied);
        const std::uint64_t core = m.w[1] >> 32, domain = m.w[1] & 0xffffffff;
        if (core >= mesh.cores || domain == 0 || m.w[2] == 0) return (void)reply(Status::invalid_argument);
        if (m.w[3] == 0) {
            if (core == mesh.core) return (void)reply(ram_reclaim_here(domain, m.w[2]));
            return remote_op(who, ram_reclaim_req, core, m.w[2], domain);
        }
        if (core == mesh.core) return (void)reply(ram_grant_here(mesh.core, domain, m.w[2], m.w[3]));
        return remote_op(who, ram_grant_req, core, m.w[2], domain, m.w[3]);
    }
    case abi::MonitorOp::take_ram: return take_ram(who, m.w[1]);
    case abi::MonitorOp::span_join:
    case abi::MonitorOp::span_poll:
    case abi::MonitorOp::span_unmap: return span::serve(who, m.w);
    case abi::MonitorOp::return_ram: return (void)reply(return_ram(who, m.w[1]));
    }
    reply(Status::invalid_argument);
}

// Everything this monitor holds for a domain of its core that ended: its bindings in set-up
// (rings in transit; a request still out is marked so its reply frees what is left), rings kept
// for bindings on this core once both ends are gone, its names (every monitor drops them:
// export_gone), and, when it asked other cores for bindings, what they hold for it (domain_gone).
void forget(DomainRec& r, std::uint64_t how) {
    const std::uint32_t d = r.domain;
    unsigned ends = 0, names = 0, rings = 0;
    for (BindEnd& e : binds) {
        if (!e.used || e.domain != d) continue;
        ++ends;
        if (!e.server && !e.ready && e.error == Status::ok) {
            drop_ring(e.rx_slot, e.own_phys);
            drop_ring(e.tx_slot, e.peer_phys);
            e.orphan = true;
            e.domain = 0;
        } else {
            release_bind(e);
        }
    }
    // Every ring it took: the kernel removed its capabilities with its cspace; the references go.
    book.release_domain(d, [](std::uint64_t phys) { apply(book.unref(phys)); });
    for (Kept& k : kept) {
        if (!k.slot) continue;
        if (k.a == d) k.a = 0;
        if (k.b == d) k.b = 0;
        if (k.a == 0 && k.b == 0) {
            drop_ring(k.slot, k.phys);
            k = {};
            ++rings;
        }
    }
    names = names::domain_ended(d);
    for (Charge& c : charges)
        if (c.used && c.core == mesh.core && c.domain == d) c.used = false;
    remotes_domain_ended(d);
    // Every memserv grant held for it: the roots are revoked before anyone hears of the death, so
    // memserv, which frees a dead holder's grants from the death feed, never reuses a range a
    // capability on this core still names.
    const unsigned grants = grants_domain_ended(d);
    // The death feed: every monitor learns every end of a domain we started (one broadcast down
    // the tree); the others also drop what they hold for it as a client.
    deaths::record(mesh.core, d, how);
    broadcast(domain_gone, mesh.core, d, how);
    servers::domain_ended(d, how);
    free_slot(r.endpoint);  // its cspace went first: the kernel already emptied it
    free_slot(r.cap);
    r = {};
    if (ends || names || rings || grants)
        print("domain {} ended: freed {} binding ends, {} names, {} kept rings, {} memory grants", d, ends, names, rings, grants);
}

std::uint64_t last_core_status = ~0ull;

} // namespace detail

using namespace detail;

void init_rings(const abi::TopologyInfo& topo) {
    monitor_domain = syscall6(abi::Sys::domain_info).value & 0xffffffff;
    const std::uint64_t base = mesh.core < abi::topo_max_cores ? topo.chan_pool_base[mesh.core] : 0;
    book.init(static_cast<std::uint32_t>(mesh.core), base, base ? topo.chan_pool_bytes : 0, abi::bind_ring_bits);
    if (!book.capacity()) print("no channel pool: bindings to this core will fail");
}

std::uint64_t spawn_slot() {
    // A domain that ended is reported before its kernel slot can start the new one (domain_status
    // then no longer says how it ended).
    reap();
    // Domain caps share the cnode with rings in transit: keep most of it for those.
    if (free_slots() <= 24) return abi::no_cap;
    const auto s = alloc_slot();
    return s.ok() ? *s : abi::no_cap;
}

void started(std::uint64_t domain, std::uint64_t slot, bool ok, const char* name, std::uint64_t len) {
    if (slot == abi::no_cap) return;
    DomainRec* r = ok ? domain_rec(domain) : nullptr;
    if (!r || r->cap) {
        free_slot(slot);
        return;
    }
    r->cap = slot;
    r->name_cut = len > 16;
    char cut[17] = {};
    for (std::uint64_t i = 0; i < len && i < 16; ++i) cut[i] = name[i];
    pack_name16(cut, r->name[0], r->name[1]);
}

// Domains that ended since the last look: core_status changes whenever a domain of this core
// starts or ends, and only then is each tracked domain asked (domain_status on our cap).
void reap() {
    const std::uint64_t v = syscall6(abi::Sys::core_status, kernel_cap).value;
    if (v == last_core_status) return;
    last_core_status = v;
    for (DomainRec& r : domains) {
        if (!r.used || !r.cap) continue;
        const SysResult st = syscall6(abi::Sys::domain_status, r.cap);
        if (st.status != Status::ok) forget(r, abi::death_unknown);
        else if ((st.value & 0xffffffff) >= static_cast<std::uint64_t>(abi::DomainStatus::exited)) forget(r, st.value);
    }
}

// Takes the calls waiting on our endpoint (never blocks: URPC traffic must keep flowing).
bool serve_local() {
    reap();
    bool any = false;
    // A capability may come with any call (every domain's cap to us has grant): it lands in
    // `incoming`, local_offer reads it, and it is deleted after every call whatever the op.
    // The slot is held only while some server could offer (a same-core binding it accepted,
    // its client undecided) and slots are not scarce: this cnode also carries every ring in
    // transit (a busy core 0 of 64 has none to spare). Without it an offer is answered
    // invalid_argument and that connection stays on its rings.
    for (unsigned n = 0; n < 16; ++n) {
        bool may_offer = false;
        for (const BindEnd& e : binds) {
            const BindEnd* c = e.used && e.server && e.accepted ? client_end(e) : nullptr;
            may_offer = may_offer || (c && c->local == local_undecided);
        }
        if (!may_offer && incoming) {
            free_slot(incoming);
            incoming = 0;
        } else if (may_offer && !incoming && free_slots() > local_slot_reserve) {
            const auto s = alloc_slot();
            if (s.ok()) incoming = *s;
        }
        Message m{};
        m.w[0] = incoming ? incoming : abi::no_cap;
        m.w[1] = abi::recv_poll;
        if (ipc(abi::Sys::ipc_recv, service_ep, m) != Status::ok) break;
        any = true;
        serve_call(m);
        if (m.cap_arrived == 1 && incoming) (void)syscall6(abi::Sys::cap_delete, incoming);
    }
    return any;
}

// A client domain of core `from` ended: its requests not yet accepted here go, and its charges.
void core_lost(std::uint64_t core) {
    remotes_to_core_lost(core);
    // It holds none of our rings any more; bindings of ours waiting for its answer get none.
    book.core_lost(static_cast<std::uint32_t>(core), [](const RingBook::Done& d) { apply(d); });
    wake_local_domains();
}

void on_domain_gone(std::uint64_t from, const urpc::Message& m) {
    if (m.words[0] != from) {
        ++malformed;
        print("domain_gone from core {} naming core {}: ignored", from, m.words[0]);
        return;
    }
    deaths::record(from, m.words[1], m.words[2]);
    for (BindEnd& e : binds)
        if (e.used && e.server && !e.accepted && e.peer_core == from && e.peer_domain == m.words[1]) release_bind(e);
    for (Charge& c : charges)
        if (c.used && c.core == from && c.domain == m.words[1]) c.used = false;
}

void on_bind_to_request(std::uint64_t from, const urpc::Message& m) {
    bind_request_here(from, m.words[0], m.words[1], m.words[2], 0, 0, 0, m.words[3] ? m.words[3] : ~0ull, m.words[4], m.words[5],
                      m.words[6] == 1);
}

// A client of core `from` withdrew a request (cancel_bind there): drop it unless the server took it.
void on_bind_cancel(std::uint64_t from, const urpc::Message& m) {
    for (BindEnd& e : binds)
        if (e.used && e.server && !e.accepted && e.peer_core == from && e.peer_domain == m.words[1] && e.req_serial == m.words[0])
            release_bind(e);
}

void on_bind_request(std::uint64_t from, const urpc::Message& m) {
    bind_request_here(from, m.words[0], m.words[1], m.words[2], m.words[3], m.words[4], 0, 0, 0, m.words[5], m.words[6] == 1);
}

// Core `from` is done with a ring of ours (RingBook): free once we are too.
void on_ring_gone(std::uint64_t from, const urpc::Message& m) {
    bool bad = false;
    const RingBook::Done d = book.peer_done(static_cast<std::uint32_t>(from), m.words[0], bad);
    if (bad) {
        ++malformed;
        print("ring_gone from core {} for ring {:#x}, not one it holds of ours: ignored", from, m.words[0]);
        return;
    }
    apply(d);
}

void on_bind_reply(std::uint64_t from, const urpc::Message& m) {
    bind_reply_here(from, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])), m.words[2], m.words[3], 0);
}

std::uint64_t made() { return bindings_made; }

Status take_own_ring(std::uint64_t& slot, std::uint64_t& phys) {
    return detail::new_ring(slot, phys, mesh.core, RingBook::Charge{});
}

void release_own_ring(std::uint64_t& slot, std::uint64_t phys) {
    detail::apply(detail::book.peer_never(phys));  // no binding's peer ever heard of it
    detail::drop_ring(slot, phys);
}

} // namespace myr::monitor::binding
