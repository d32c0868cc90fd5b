// Binding (binding.hpp, docs/monitors.md "Binding"): service names, the rings of bindings in
// set-up, and the monitor endpoint's service to the domains of this core.
#include "binding.hpp"

#include "mesh.hpp"
#include "protocol.hpp"

#include <myr/user/syscall.hpp>

namespace myr::monitor::binding {
namespace {

using namespace myr::user;

constexpr std::uint64_t service_ep = 7;   // receiving copy of this core's monitor endpoint
constexpr std::uint64_t chan_pool = 8;    // untyped RAM for binding rings (this core's node)
constexpr std::uint64_t first_slot = 9;   // slots 9..63: rings in transit to domains

// Every export is broadcast, so each monitor resolves names locally (a replicated registry kept
// by one-phase broadcast: names are only added, so the updates commute).
struct Service {
    std::uint64_t name[2];
    std::uint32_t core, domain;
    bool used;
};
constexpr unsigned max_services = 32;
Service services[max_services];

// One end of a binding at this monitor, from the client's bind (or the bind request reaching
// the server's core) until its domain took both rings.
struct BindEnd {
    bool used, ready, server, accepted;
    Status error;            // client side: what the server's monitor answered, if not ok
    std::uint32_t domain;    // the local domain (its badge)
    std::uint32_t peer_core, peer_domain;
    std::uint64_t rx_slot, tx_slot;  // our slots holding its rings until taken (0: taken)
};
constexpr unsigned max_binds = 24;
BindEnd binds[max_binds];
std::uint64_t bindings_made;
std::uint64_t slot_used;  // bit per cnode slot

Result<std::uint64_t> alloc_slot() {
    for (std::uint64_t s = first_slot; s < 64; ++s)
        if (!(slot_used >> s & 1)) {
            slot_used |= std::uint64_t{1} << s;
            return s;
        }
    return Status::overflow;
}
void free_slot(std::uint64_t s) {
    if (s) {
        (void)syscall6(abi::Sys::cap_delete, s);
        slot_used &= ~(std::uint64_t{1} << s);
    }
}

void wake_local_domains() { (void)syscall6(abi::Sys::send_ipi, ipi_cap, mesh.core); }

Service* find_service(std::uint64_t n0, std::uint64_t n1) {
    for (Service& s : services)
        if (s.used && s.name[0] == n0 && s.name[1] == n1) return &s;
    return nullptr;
}

Status add_service(std::uint64_t n0, std::uint64_t n1, std::uint32_t core, std::uint32_t domain) {
    if (n0 == 0) return Status::invalid_argument;
    if (find_service(n0, n1)) return Status::exists;
    for (Service& s : services)
        if (!s.used) {
            s = {{n0, n1}, core, domain, true};
            return Status::ok;
        }
    return Status::overflow;
}

BindEnd* new_bind() {
    for (BindEnd& e : binds)
        if (!e.used) {
            e = {};
            e.used = true;
            e.error = Status::ok;
            return &e;
        }
    return nullptr;
}

void release_bind(BindEnd& e) {
    free_slot(e.rx_slot);
    free_slot(e.tx_slot);
    e = {};
}

// A fresh ring from this core's pool (so in this node's memory): its slot and physical address.
// With `original`, the retyped cap stays with us there and `slot` gets a copy: a binding between
// two domains of this core gives both of them copies, so neither's exit (which revokes what
// derives from its caps) takes the ring away from the other.
Status new_ring(std::uint64_t& slot, std::uint64_t& phys, std::uint64_t* original = nullptr) {
    const auto s = alloc_slot();
    if (!s.ok()) return s.status();
    slot = *s;
    Status st = syscall6(abi::Sys::retype, chan_pool, 10 /* channel_memory */, abi::bind_ring_bits, slot, 1).status;
    if (st == Status::ok && original) {
        *original = slot;
        const auto c = alloc_slot();
        st = c.ok() ? syscall6(abi::Sys::cap_copy, *original, *c, 0xffff).status : c.status();
        slot = c.ok() ? *c : 0;
    }
    if (st != Status::ok) {
        free_slot(slot);
        slot = 0;
        return st;
    }
    phys = syscall6(abi::Sys::cap_phys, kernel_cap, slot).value;
    return Status::ok;
}


// The peer's ring: a copy of our own cap when the peer is on this core, else a capability the
// kernel creates for the address the peer's monitor sent (it checks it is channel-pool memory).
Status peer_ring(std::uint64_t phys, std::uint64_t local_slot, std::uint64_t& slot) {
    const auto s = alloc_slot();
    if (!s.ok()) return s.status();
    slot = *s;
    const Status st = local_slot ? syscall6(abi::Sys::cap_copy, local_slot, slot, 0xffff).status
                                 : syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, slot).status;
    if (st != Status::ok) {
        slot_used &= ~(std::uint64_t{1} << slot);
        slot = 0;
    }
    return st;
}

void bind_reply_here(std::uint64_t from, std::uint64_t ticket, Status status, std::uint64_t server_phys,
                     std::uint64_t server_domain, std::uint64_t local_slot);

// The server's side of a bind: a request from core `from` (maybe this one) for a name we export.
void bind_request_here(std::uint64_t from, std::uint64_t ticket, std::uint64_t client_domain, std::uint64_t client_phys,
                       std::uint64_t n0, std::uint64_t n1, std::uint64_t local_slot) {
    Status st = Status::ok;
    const Service* svc = find_service(n0, n1);
    BindEnd* f = nullptr;
    std::uint64_t phys = 0, server_domain = 0, original = 0;
    if (!svc || svc->core != mesh.core) st = Status::not_found;
    else if (!(f = new_bind())) st = Status::overflow;
    if (st == Status::ok) {
        f->server = true;
        f->domain = svc->domain;
        f->peer_core = static_cast<std::uint32_t>(from);
        f->peer_domain = static_cast<std::uint32_t>(client_domain);
        st = new_ring(f->rx_slot, phys, local_slot ? &original : nullptr);
        if (st == Status::ok) st = peer_ring(client_phys, local_slot, f->tx_slot);
        if (st == Status::ok) {
            f->ready = true;
            server_domain = svc->domain;
            ++bindings_made;
            wake_local_domains();  // a server may be polling accept
        } else {
            release_bind(*f);
        }
    }
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
    if (status == Status::ok) status = peer_ring(server_phys, local_slot, e.tx_slot);
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
bool reply(Status st, std::uint64_t w1 = 0, std::uint64_t w2 = 0, std::uint64_t w3 = 0,
           std::uint64_t cap = abi::no_cap) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(static_cast<std::uint32_t>(st));
    m.w[1] = w1;
    m.w[2] = w2;
    m.w[3] = w3;
    return ipc(abi::Sys::ipc_reply, 0, m, cap) == Status::ok && m.cap_arrived == 1;
}

BindEnd* owned_bind(std::uint64_t id, std::uint64_t domain) {
    if (id >= max_binds || !binds[id].used || binds[id].domain != domain) return nullptr;
    return &binds[id];
}

// One call from a domain of this core (its badge is its domain id).
void serve_call(const Message& m) {
    const std::uint64_t who = m.badge;
    switch (static_cast<abi::MonitorOp>(m.w[0])) {
    case abi::MonitorOp::export_name: {
        const Status st = add_service(m.w[1], m.w[2], static_cast<std::uint32_t>(mesh.core), static_cast<std::uint32_t>(who));
        reply(st);
        if (st == Status::ok) broadcast(export_note, mesh.core, who, m.w[1], m.w[2]);
        return;
    }
    case abi::MonitorOp::bind: {
        const Service* svc = find_service(m.w[1], m.w[2]);
        if (!svc) return (void)reply(Status::not_found);
        BindEnd* e = new_bind();
        if (!e) return (void)reply(Status::overflow);
        e->domain = static_cast<std::uint32_t>(who);
        std::uint64_t phys = 0, original = 0;
        const bool local = svc->core == mesh.core;
        if (const Status st = new_ring(e->rx_slot, phys, local ? &original : nullptr); st != Status::ok) {
            release_bind(*e);
            return (void)reply(st);
        }
        const std::uint64_t ticket = static_cast<std::uint64_t>(e - binds);
        reply(Status::ok, ticket);
        if (local) bind_request_here(mesh.core, ticket, who, phys, m.w[1], m.w[2], original);
        else send(svc->core, bind_req, ticket, who, phys, m.w[1], m.w[2]);
        return;
    }
    case abi::MonitorOp::bind_poll: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || e->server) return (void)reply(Status::not_found);
        if (e->error != Status::ok) {
            const Status st = e->error;
            release_bind(*e);
            return (void)reply(st);
        }
        if (!e->ready) return (void)reply(Status::would_block);
        reply(Status::ok, m.w[1], e->peer_core, e->peer_domain);
        return;
    }
    case abi::MonitorOp::accept:
        for (BindEnd& e : binds)
            if (e.used && e.server && e.ready && !e.accepted && e.domain == who) {
                e.accepted = true;
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
        if (!slot) return (void)reply(Status::not_found);
        if (reply(Status::ok, 0, 0, 0, slot)) {  // moved: the slot is empty now
            slot_used &= ~(std::uint64_t{1} << slot);
            slot = 0;
            if (!e->rx_slot && !e->tx_slot) *e = {};
        }
        return;
    }
    }
    reply(Status::invalid_argument);
}

} // namespace

// Ring memory is never reused: one ring retyped at start and kept forever stops the pool's
// watermark from resetting when every other ring is gone, because a peer core may still hold a
// capability to a dead binding's ring (revoking across cores is not built yet).
void pin_pool() {
    std::uint64_t slot = 0, phys = 0;
    if (new_ring(slot, phys) != Status::ok) print("no channel pool: bindings to this core will fail");
}

// Takes the calls waiting on our endpoint (never blocks: URPC traffic must keep flowing).
bool serve_local() {
    bool any = false;
    for (unsigned n = 0; n < 16; ++n) {
        Message m{};
        m.w[0] = abi::no_cap;
        m.w[1] = abi::recv_poll;
        if (ipc(abi::Sys::ipc_recv, service_ep, m) != Status::ok) break;
        any = true;
        serve_call(m);
    }
    return any;
}

void on_export(std::uint64_t from, const urpc::Message& m) {
    if (m.words[0] != from || add_service(m.words[2], m.words[3], static_cast<std::uint32_t>(from),
                                          static_cast<std::uint32_t>(m.words[1])) != Status::ok) {
        ++malformed;
        print("export from core {} refused (bad sender, duplicate or table full)", from);
    }
}

void on_bind_request(std::uint64_t from, const urpc::Message& m) {
    bind_request_here(from, m.words[0], m.words[1], m.words[2], m.words[3], m.words[4], 0);
}

void on_bind_reply(std::uint64_t from, const urpc::Message& m) {
    bind_reply_here(from, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])), m.words[2], m.words[3], 0);
}

std::uint64_t made() { return bindings_made; }

} // namespace myr::monitor::binding
