// Binding (binding.hpp, docs/monitors.md "Binding"): the monitor endpoint's service to the
// domains of this core, and the guest's side of the binding protocol, whose logic (tables, quotas,
// the lines between monitors, ring memory) is myr/monitor/binder.hpp, shared with the hosted
// runtime. Kill, list and memserv grants are in domain_ops.cpp (binding_internal.hpp: what is shared).
#include "binding.hpp"
#include "binding_internal.hpp"

#include "deaths.hpp"
#include "mesh.hpp"
#include "names.hpp"
#include "servers.hpp"
#include "span.hpp"

#include <myr/monitor/binder.hpp>
#include <myr/monitor/protocol.hpp>
#include <myr/user/bind.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::binding {
namespace detail {

using namespace myr::user;

constexpr std::uint64_t service_ep = 7;   // receiving copy of this core's monitor endpoint
constexpr std::uint64_t first_slot = 9;   // slots 9..63: rings in transit to domains

std::uint64_t local_badges;  // last badge minted for a local-call cap (never reused on this core)
std::uint64_t incoming;      // our slot where a capability sent with a call lands (emptied after each)

// The call being served keeps the capability it sent: the slot is the caller's now (far.cpp), and
// the next call gets a fresh one. Kept, not copied: the kernel's delete of a capability takes
// the copies derived from it.
std::uint64_t keep_incoming() {
    const std::uint64_t s = incoming;
    incoming = 0;
    return s;
}

std::uint64_t slot_used;     // bit per cnode slot

DomainRec domains[max_domains];

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
// The slot is empty (its cap moved to a domain, or was never made): free it without a delete.
void vacate(std::uint64_t s) { slot_used &= ~(std::uint64_t{1} << s); }
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

// What the binding protocol (myr/monitor/binder.hpp) asks of this machine: the monitor's cnode
// slots, ring capabilities made and removed by the kernel, lines over the mesh, the name table,
// the death feed, and the answer to the calling domain.
struct GuestEnv {
    std::uint64_t core() const { return mesh.core; }
    std::uint64_t cores() const { return mesh.cores; }
    bool alive(std::uint64_t c) const { return mesh_alive(c); }
    // Whether `phys` can be a ring of core `c`'s pool: another core's monitor names rings by
    // address, and one it got wrong (or a ring of a third core) must not become a capability here.
    bool ring_of(std::uint64_t c, std::uint64_t phys) const {
        if (c >= mesh.cores || c >= abi::topo_max_cores) return false;
        const std::uint64_t base = topo.chan_pool_base[c], ring = std::uint64_t{1} << abi::bind_ring_bits;
        return base && phys >= base && phys - base < abi::ring_pool_bytes(topo.chan_pool_bytes) && ((phys - base) & (ring - 1)) == 0;
    }
    Result<std::uint64_t> alloc_slot() { return detail::alloc_slot(); }
    void free_slot(std::uint64_t s) { detail::free_slot(s); }
    void vacate(std::uint64_t s) { detail::vacate(s); }
    unsigned free_slots() { return detail::free_slots(); }
    // The kernel checks `phys` is channel-pool memory and zeroes a ring of ours.
    Status make_ring(std::uint64_t phys, std::uint64_t slot) {
        return syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, slot).status;
    }
    Status copy_ring(std::uint64_t from, std::uint64_t to) { return syscall6(abi::Sys::cap_copy, from, to, 0xffff).status; }
    void reclaim(std::uint64_t phys) {
        const SysResult r = syscall6(abi::Sys::cap_reclaim_channel, kernel_cap, phys, abi::bind_ring_bits);
        if (r.status != Status::ok) print("ring {:#x}: reclaim failed: {}", phys, to_string(r.status));
    }
    void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
              std::uint64_t w4, std::uint64_t w5, std::uint64_t w6) {
        monitor::send(to, type, w0, w1, w2, w3, w4, w5, w6);
    }
    void wake() { wake_local_domains(); }
    bool lookup(std::uint64_t n0, std::uint64_t n1, std::uint32_t& c, std::uint32_t& d) { return names::lookup(n0, n1, c, d); }
    bool ended(std::uint64_t c, std::uint64_t d) { return deaths::ended(c, d); }
    bool accepts(std::uint64_t d) {
        const DomainRec* t = find_domain(d);
        return t && t->accepts && !deaths::ended(mesh.core, d);
    }
    bool reply(Status st, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3, std::uint64_t cap, std::uint64_t high) {
        return detail::reply(st, w1, w2, w3, cap, high);
    }
    void report(BindEvent ev, std::uint64_t a, std::uint64_t b) {
        switch (ev) {
        case BindEvent::reply_unknown_ticket:
            ++malformed;
            print("bind reply for unknown ticket {} from core {}: ignored", a, b);
            return;
        case BindEvent::reply_foreign_ring:
            ++malformed;
            print("bind reply from core {} names ring {:#x}, not one of its pool: refused", a, b);
            return;
        case BindEvent::ring_gone_unknown:
            ++malformed;
            print("ring_gone from core {} for ring {:#x}, not one it holds of ours: ignored", a, b);
            return;
        case BindEvent::ring_cap_failed:
            print("ring {:#x}: cannot make its capability: {}", a, to_string(static_cast<Status>(static_cast<std::int32_t>(b))));
            return;
        }
    }
};
// Service names, the bindings in set-up, their quotas and ring memory (RingBook): one per core.
Binder<GuestEnv> binder;
using End = Binder<GuestEnv>::End;

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

// One call from a domain of this core (its badge is its domain id).
void serve_call(const Message& m) {
    const std::uint64_t who = m.badge;
    // A far capability this monitor minted (far.cpp): the four words go to the object's core.
    if (who & abi::far_badge) return far_send(who, m);
    DomainRec* rec = domain_rec(who);
    if (!rec) return (void)reply(Status::busy);  // the table is full of domains not yet ended
    switch (static_cast<abi::MonitorOp>(m.w[0])) {
    case abi::MonitorOp::export_name:
        // would_block until the monitors agreed; the domain asks again (names.hpp).
        return (void)reply(names::export_name(static_cast<std::uint32_t>(who), m.w[1], m.w[2]));
    case abi::MonitorOp::bind: return binder.bind(who, m.w[1], m.w[2], servers::configured_instance(who));
    case abi::MonitorOp::bind_poll: return binder.poll(who, m.w[1]);
    case abi::MonitorOp::bind_cancel: return binder.cancel(who, m.w[1]);
    case abi::MonitorOp::accept:
        rec->accepts = true;  // from now on clients may bind to it by address (bind_to)
        return binder.accept(who, m.w[1] & abi::accept_service);
    case abi::MonitorOp::doorbell: {
        // Our IPI cap minted down to the peer's core (badge = core + 1), moved to the caller.
        End* e = binder.owned(m.w[1], who);
        if (!e || !e->ready || (e->server && !e->accepted)) return (void)reply(Status::not_found);
        const auto slot = alloc_slot();
        if (!slot.ok()) return (void)reply(slot.status());
        const Status st = syscall6(abi::Sys::cap_mint, ipi_cap, *slot, 0xffff, e->peer_core + 1).status;
        if (st != Status::ok) {
            vacate(*slot);
            return (void)reply(st);
        }
        if (reply(Status::ok, e->peer_core, 0, 0, *slot)) vacate(*slot);
        else free_slot(*slot);
        return;
    }
    case abi::MonitorOp::take_ring: return binder.take_ring(who, m.w[1], m.w[2]);
    case abi::MonitorOp::unbind_ring: return binder.unbind_ring(who, m.w[1]);
    case abi::MonitorOp::local_offer: {
        // The server's own endpoint comes with its first offer (in `incoming`) and is kept: the
        // client gets a child of it that can only send, badged with a number this monitor never
        // gave before, so a cap kept from a closed connection never names a later one. Every
        // such cap derives from the server's own (the kernel deletes a cap's children with it):
        // they all go when the server ends, and a caller blocked on one hears connection_lost.
        End* e = binder.owned(m.w[1], who);
        if (!e || !e->server || !e->ready || !e->accepted) return (void)reply(Status::not_found);
        if (e->peer_core != mesh.core) return (void)reply(Status::unsupported);
        End* c = binder.client_end(*e);
        if (!c || c->local != Binder<GuestEnv>::local_undecided) return (void)reply(Status::not_found);
        // Rings in transit come first: under pressure the connection stays on its rings.
        if (free_slots() <= Binder<GuestEnv>::local_slot_reserve) return (void)reply(Status::busy);
        if (rec->endpoint && syscall6(abi::Sys::cap_identify, rec->endpoint).status != Status::ok) {
            vacate(rec->endpoint);  // emptied by the kernel: free it
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
            vacate(*slot);
            return (void)reply(st);  // invalid_argument for a badged cap
        }
        local_badges = badge;
        c->local_slot = *slot;
        c->local = Binder<GuestEnv>::local_offered;
        wake_local_domains();  // the client polls local_take
        return (void)reply(Status::ok, badge);
    }
    case abi::MonitorOp::local_take: {
        End* e = binder.owned(m.w[1], who);
        if (!e || e->server || !e->ready) return (void)reply(Status::not_found);
        if (e->peer_core != mesh.core) return (void)reply(Status::unsupported);
        if (e->local == Binder<GuestEnv>::local_undecided) return (void)reply(Status::would_block);
        if (e->local != Binder<GuestEnv>::local_offered || !e->local_slot) return (void)reply(Status::not_found);
        if (reply(Status::ok, 0, 0, 0, e->local_slot)) {
            vacate(e->local_slot);
            e->local_slot = 0;
            e->local = Binder<GuestEnv>::local_taken;
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
        return (void)reply(deaths::reported(m.w[1], m.w[2]) ? Status::connection_lost : Status::ok);
    case abi::MonitorOp::bind_to: return binder.bind_to(who, m.w[1], m.w[2], m.w[3], servers::configured_instance(who));
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
    case abi::MonitorOp::kept: return kept_serve(who, m.w);
    case abi::MonitorOp::frame_give:
    case abi::MonitorOp::frame_poll:
    case abi::MonitorOp::frame_take:
    case abi::MonitorOp::frame_revoke:
    case abi::MonitorOp::frame_move: return frames_serve(who, m, incoming);
    case abi::MonitorOp::far_give:
    case abi::MonitorOp::far_poll:
    case abi::MonitorOp::far_take:
    case abi::MonitorOp::far_revoke: return far_serve(who, m, incoming);
    }
    reply(Status::invalid_argument);
}

// The death feed's entry for a domain of this core, and the broadcast that tells every monitor.
void report_death(std::uint32_t d, std::uint64_t how) {
    deaths::record(mesh.core, d, how);
    broadcast(domain_gone, mesh.core, d, how);
}
// Deaths held back while the revokes of the frames the domain gave are under way.
struct Deferred {
    std::uint32_t domain;
    std::uint64_t how;
};
constexpr unsigned max_deferred = 16;
Deferred deferred[max_deferred];
unsigned deferred_count;
void defer_death(std::uint32_t d, std::uint64_t how) {
    if (deferred_count == max_deferred) {
        print("domain {} ended with frames on other cores and {} deaths waiting: reported now", d, deferred_count);
        return report_death(d, how);
    }
    print("domain {} ended with frames on other cores: its death is reported once they are revoked", d);
    deferred[deferred_count++] = {d, how};
}
void report_deferred() {
    for (unsigned i = 0; i < deferred_count;) {
        if (frames_release(deferred[i].domain, 0, ~0ull)) {
            ++i;
            continue;
        }
        print("domain {}: its frames on other cores are revoked, its death is reported now", deferred[i].domain);
        report_death(deferred[i].domain, deferred[i].how);
        deferred[i] = deferred[--deferred_count];
    }
}

// Everything this monitor holds for a domain of its core that ended: its binding ends and rings
// (Binder::domain_ended), its names (every monitor drops them: export_gone), and, when it asked
// other cores for bindings, what they hold for it (domain_gone).
void forget(DomainRec& r, std::uint64_t how) {
    const std::uint32_t d = r.domain;
    const auto freed = binder.domain_ended(d);
    const unsigned names = names::domain_ended(d);
    remotes_domain_ended(d);
    // Every memserv grant held for it: the roots are revoked before anyone hears of the death, so
    // memserv, which frees a dead holder's grants from the death feed, never reuses a range a
    // capability on this core still names.
    const unsigned grants = grants_domain_ended(d);
    // The death feed: every monitor learns every end of a domain we started (one broadcast down
    // the tree); the others also drop what they hold for it as a client. A domain that gave frames
    // to other cores is reported once every copy there was revoked (frames.cpp): memserv frees a
    // dead holder's grants from this feed.
    if (frames_domain_ended(d)) defer_death(d, how);
    else report_death(d, how);
    servers::domain_ended(d, how);
    far_domain_ended(d);
    free_slot(r.endpoint);  // its cspace went first: the kernel already emptied it
    free_slot(r.cap);
    r = {};
    if (freed.ends || names || freed.rings || grants)
        print("domain {} ended: freed {} binding ends, {} names, {} kept rings, {} memory grants", d, freed.ends, names,
              freed.rings, grants);
}

std::uint64_t last_core_status = ~0ull;

} // namespace detail

using namespace detail;

void init_rings(const abi::TopologyInfo& topo) {
    monitor_domain = syscall6(abi::Sys::domain_info).value & 0xffffffff;
    const std::uint64_t base = mesh.core < abi::topo_max_cores ? topo.chan_pool_base[mesh.core] : 0;
    binder.init(base, base ? abi::ring_pool_bytes(topo.chan_pool_bytes) : 0, abi::bind_ring_bits);
    frames_init();
    far_init();
    if (!binder.book().capacity()) print("no channel pool: bindings to this core will fail");
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
    if (deferred_count) report_deferred();
    bool any = false;
    // A capability may come with any call (every domain's cap to us has grant): it lands in
    // `incoming`, local_offer reads it, and it is deleted after every call whatever the op.
    // The slot is held while some server could offer (a same-core binding it accepted, its
    // client undecided) or slots are plentiful, since frame_give and frame_revoke send frames
    // too; under pressure it goes, for this cnode also carries every ring in transit (a busy
    // core 0 of 64 has none to spare). Without it an offer is answered invalid_argument (that
    // connection stays on its rings) and a frame give or revoke busy.
    for (unsigned n = 0; n < 16; ++n) {
        // Frames are sent with calls too (frame_give, frame_revoke): the slot is also held while
        // slots are plentiful, and let go only under pressure when no offer can come.
        const bool may_offer = binder.may_offer();
        const unsigned spare = free_slots(), reserve = Binder<GuestEnv>::local_slot_reserve;
        if (incoming && !may_offer && spare < reserve) {
            free_slot(incoming);
            incoming = 0;
        } else if (!incoming && spare > (may_offer ? reserve : reserve + 4)) {
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
    far_tick();
    return any;
}

// A core was removed from the membership: kill, list and grant requests waiting on it end, and
// what it held of our rings is done.
void core_lost(std::uint64_t core) {
    remotes_to_core_lost(core);
    binder.core_lost(core);
    frames_core_lost(core);
    far_core_lost(core);
}

void on_cap_line(std::uint64_t from, const urpc::Message& m) { frames_line(from, m); }
void on_frame_landed(std::uint64_t from, const urpc::Message& m) { frames_landed(from, m.words[0], m.words[1]); }
void on_far_line(std::uint64_t from, const urpc::Message& m) { far_line_in(from, m); }

void on_domain_gone(std::uint64_t from, const urpc::Message& m) {
    if (m.words[0] != from) {
        ++malformed;
        print("domain_gone from core {} naming core {}: ignored", from, m.words[0]);
        return;
    }
    deaths::record(from, m.words[1], m.words[2]);
    binder.client_ended(from, m.words[1]);
}

void on_bind_request(std::uint64_t from, const urpc::Message& m) { binder.on_bind_request(from, m); }
void on_bind_to_request(std::uint64_t from, const urpc::Message& m) { binder.on_bind_to_request(from, m); }
void on_bind_reply(std::uint64_t from, const urpc::Message& m) { binder.on_bind_reply(from, m); }
void on_bind_cancel(std::uint64_t from, const urpc::Message& m) { binder.on_bind_cancel(from, m); }
void on_ring_gone(std::uint64_t from, const urpc::Message& m) { (void)binder.on_ring_gone(from, m); }

std::uint64_t made() { return binder.made(); }
std::uint64_t refused_busy() { return binder.refused_busy(); }

Status take_own_ring(std::uint64_t& slot, std::uint64_t& phys) { return binder.take_own_ring(slot, phys); }
void release_own_ring(std::uint64_t& slot, std::uint64_t phys) { binder.release_own_ring(slot, phys); }

} // namespace myr::monitor::binding
