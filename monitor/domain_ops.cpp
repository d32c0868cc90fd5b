// Kill, list and memserv grants (binding_internal.hpp): what the monitor does to and for the
// domains of its core on request, here or on another core's behalf.
#include "binding.hpp"
#include "binding_internal.hpp"

#include "deaths.hpp"
#include "mesh.hpp"
#include <myr/monitor/protocol.hpp>
#include "servers.hpp"

#include <myr/user/monitor_call.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::binding {
namespace detail {

using namespace myr::user;

// ---- kill and list (docs/monitors.md, "Who may kill") --------------------------------------------
// Only programs that the kernel option `monitor.kill=NAME[,NAME...]` names (procserv, a shell)
// may kill, and only domains some monitor started (it holds their domain cap), never a monitor
// and never the caller itself (a domain ends itself with exit). The caller's monitor decides
// the first part from the program name it started the caller under (a domain cannot choose
// that name; one the monitor did not start has none and may not kill); the target's monitor
// decides the rest.
std::uint64_t monitor_domain;

// A kernel option naming programs (NAME[,NAME...]), read once.
struct NameList {
    const char* key;
    bool read;
    char text[128];
};
NameList killers{"monitor.kill", false, {}};
NameList granters{"monitor.memserv", false, {}};  // may turn memserv grants into capabilities

// Whether `name` (16 bytes) is one of the programs the option names.
bool named_in(NameList& list, const std::uint64_t (&name)[2]) {
    if (!list.read) {
        list.read = true;
        std::uint64_t len = 0;
        while (list.key[len]) ++len;
        const SysResult r = syscall6(abi::Sys::kernel_option, kernel_cap, reinterpret_cast<std::uint64_t>(list.key), len,
                                     reinterpret_cast<std::uint64_t>(list.text), sizeof list.text - 1);
        list.text[r.status == Status::ok ? r.value : 0] = '\0';
    }
    for (const char* p = list.text; *p;) {
        std::uint64_t w[2] = {};
        unsigned n = 0;
        for (; *p && *p != ','; ++p, ++n)
            if (n < 16) w[n / 8] |= std::uint64_t{static_cast<unsigned char>(*p)} << (8 * (n % 8));
        if (*p == ',') ++p;
        if (n > 0 && n <= 16 && w[0] == name[0] && w[1] == name[1]) return true;
    }
    return false;
}

bool is_killer(const std::uint64_t (&name)[2]) { return named_in(killers, name); }
bool is_granter(const std::uint64_t (&name)[2]) { return named_in(granters, name); }

// The privilege of a program the monitor started, decided by the name it started it under.
bool privileged(const DomainRec& rec, NameList& list) {
    // A name cut to 16 bytes could match a privileged name it is not.
    if (!rec.cap || rec.name_cut || (rec.name[0] & 0xff) == 0) return false;
    const std::uint64_t name[2] = {rec.name[0], rec.name[1]};
    return named_in(list, name);
}
bool may_kill(const DomainRec& rec) { return privileged(rec, killers); }
bool may_grant(const DomainRec& rec) { return privileged(rec, granters); }

// Domains of this core this monitor ended on request (a kill op, a stop: step): the kernel counts
// them with the faulted ones; the census reports them apart (a kill asked for is not a fault).
std::uint64_t kills_done;

// Ends a domain of this core for a caller the rule allows (its monitor checked the name).
Status kill_here(std::uint64_t domain, std::uint64_t caller_core, std::uint64_t caller) {
    if (domain == monitor_domain || (caller_core == mesh.core && domain == caller)) return Status::permission_denied;
    const DomainRec* t = find_domain(domain);
    if (!t || !t->cap) return Status::not_found;  // not started by us: we hold no cap to it
    const Status st = syscall6(abi::Sys::domain_kill, t->cap).status;
    if (st == Status::connection_lost) return Status::not_found;  // it ended already
    if (st != Status::ok) return st;
    ++kills_done;
    print("killed domain {} for domain {} of core {}", domain, caller, caller_core);
    reap();  // into the death feed at once
    return st;
}

// The index-th live domain this monitor started: domain and program name in w.
Status list_here(std::uint64_t index, std::uint64_t (&w)[3]) {
    for (const DomainRec& r : domains) {
        if (!r.used || !r.cap || deaths::ended(mesh.core, r.domain)) continue;
        if (index-- == 0) {
            // Bit 32: a server instance (started with `replicas=`), for process servers' lists;
            // bits 40-55: how often the supervisor restarted it.
            w[0] = r.domain | (servers::is_instance(r.domain) ? std::uint64_t{1} << 32 : 0) |
                   std::uint64_t{servers::restarts_of(r.domain) & 0xffff} << 40;
            w[1] = r.name[0];
            w[2] = r.name[1];
            return Status::ok;
        }
    }
    return Status::not_found;
}

// A kill or list on another core: the caller asks again with the same words until the answer
// is in. At most remote_per_domain open per caller and max_remote in all (busy beyond), freed
// when the caller takes the answer or ends; a request is sent once, however often it polls.
struct Remote {
    bool used, done;
    std::uint8_t type;       // kill_req or list_req
    std::uint16_t gen;       // tag = index | gen << 8: a late reply never matches a reused entry
    std::uint32_t caller, core;
    std::uint64_t arg, x, y;
    Status status;
    std::uint64_t w[3];
};
constexpr unsigned max_remote = 16;
constexpr unsigned remote_per_domain = 2;
Remote remotes[max_remote];
std::uint16_t remote_gen;

// kill_req: arg = the domain; list_req: arg = the index; ram_grant_req: arg = the ticket, x = the
// domain, y = phys | size_bits; ram_reclaim_req: arg = the ticket, x = the domain.
void remote_op(std::uint64_t who, std::uint8_t type, std::uint64_t core, std::uint64_t arg, std::uint64_t x,
               std::uint64_t y) {
    Remote* free = nullptr;
    unsigned mine = 0;
    for (Remote& r : remotes) {
        if (!r.used) {
            if (!free) free = &r;
            continue;
        }
        if (r.caller != who) continue;
        if (r.type == type && r.core == core && r.arg == arg && r.x == x && r.y == y) {
            if (!r.done) return (void)reply(Status::would_block);
            const Remote done = r;
            r = {};
            return (void)reply(done.status, done.w[0], done.w[1], done.w[2]);
        }
        ++mine;
    }
    if (!mesh_alive(core)) return (void)reply(Status::connection_lost);  // removed from the membership
    if (mine >= remote_per_domain || !free) return (void)reply(Status::busy);
    *free = {};
    free->used = true;
    free->type = type;
    free->gen = ++remote_gen;
    free->caller = static_cast<std::uint32_t>(who);
    free->core = static_cast<std::uint32_t>(core);
    free->arg = arg;
    free->x = x;
    free->y = y;
    const std::uint64_t tag = static_cast<std::uint64_t>(free - remotes) | std::uint64_t{free->gen} << 8;
    if (type == kill_req) send(core, kill_req, tag, arg, who);
    else if (type == ram_grant_req) send(core, ram_grant_req, tag, x, arg, y);
    else if (type == ram_reclaim_req) send(core, ram_reclaim_req, tag, x, arg);
    else send(core, list_req, tag, arg);
    reply(Status::would_block);
}

// A core removed from the membership answers nothing more: its open requests end connection_lost.
void remotes_to_core_lost(std::uint64_t core) {
    for (Remote& r : remotes)
        if (r.used && !r.done && r.core == core) {
            r.done = true;
            r.status = Status::connection_lost;
        }
}

void remote_done(std::uint64_t from, std::uint8_t type, std::uint64_t tag, Status st, std::uint64_t w0 = 0,
                 std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
    const std::uint64_t i = tag & 0xff;
    if (i >= max_remote || !remotes[i].used || remotes[i].done || remotes[i].gen != (tag >> 8 & 0xffff) ||
        remotes[i].core != from || remotes[i].type != type) {
        // Its caller ended meanwhile (the entry went with it), or a reply nobody asked for.
        print("reply to request type {} for no open request (tag {:#x}) from core {}: ignored", type, tag, from);
        return;
    }
    remotes[i].done = true;
    remotes[i].status = st;
    remotes[i].w[0] = w0;
    remotes[i].w[1] = w1;
    remotes[i].w[2] = w2;
    wake_local_domains();  // the caller polls
}

// ---- memserv grants as capabilities (docs/servers.md, "memserv", "From a grant to a capability") ----
// memserv (a program kernel option monitor.memserv names) asks its monitor to carry a grant to
// the holder's core (grant_ram); that core's monitor makes an untyped root for the block
// (Sys::cap_create_ram), keeps it, and retypes one child untyped of the whole block, which the
// holder takes (take_ram). The root never leaves the monitor: revoking it deletes the child and
// everything the holder retyped from it (frames are unmapped) wherever they are on this core, so
// a return (return_ram), memserv's reclaim before it reuses the range, and the holder's end each
// make every capability to the block go away. Capabilities do not cross cores: the block exists
// as capabilities on this core only.
struct HeldRam {
    std::uint32_t domain;
    std::uint64_t ticket;  // 0: the entry is free
    std::uint64_t root;    // our slot with the root
    std::uint64_t child;   // our slot with the child until the holder took it (0 then)
    std::uint64_t phys;    // the block: [phys, phys + 2^bits)
    std::uint32_t bits;
};
// The monitor's 64-slot cnode is shared with rings in transit and domain caps: a root and a child
// each take a slot, so at most 8 grants are held per core and 4 per domain (busy beyond; memserv
// then gives the range back and answers its client busy).
constexpr unsigned max_held = 8, held_per_domain = 4;
constexpr unsigned held_slot_reserve = 20;  // slots left for rings and domain caps
HeldRam held[max_held];
std::uint64_t ram_granted, ram_returned;

HeldRam* held_for(std::uint64_t domain, std::uint64_t ticket) {
    if (ticket == 0) return nullptr;
    for (HeldRam& h : held)
        if (h.ticket == ticket && h.domain == domain) return &h;
    return nullptr;
}

// Revokes and deletes the root: the child, and all retyped from it, are gone on this core.
void drop_held(HeldRam& h) {
    (void)syscall6(abi::Sys::cap_revoke, h.root);
    free_slot(h.root);
    if (h.child) slot_used &= ~(std::uint64_t{1} << h.child);  // deleted with the revoke
    h = {};
    ++ram_returned;
}

// A grant for (domain, ticket) of this core from memserv on core `from`.
Status ram_grant_here(std::uint64_t from, std::uint64_t domain, std::uint64_t ticket, std::uint64_t phys_bits) {
    const std::uint64_t bits = phys_bits & 0xfff, phys = phys_bits & ~std::uint64_t{0xfff};
    if (ticket == 0 || bits < 12 || bits > 39) return Status::invalid_argument;
    // Only blocks of the memserv node's own pool: a memserv instance serves its own node's pool,
    // so even a confused one cannot have another node's memory made into capabilities.
    if (from >= topo.cores || topo.cores != mesh.cores) return Status::out_of_range;
    const std::uint64_t node = topo.core_node[from];
    if (node >= abi::topo_max_nodes) return Status::out_of_range;
    const std::uint64_t pb = topo.ram_pool_base[node], pn = topo.ram_pool_bytes[node], size = std::uint64_t{1} << bits;
    if (pn == 0 || phys < pb || phys - pb > pn || size > pn - (phys - pb)) return Status::out_of_range;
    reap();  // a holder that ended but was not looked at yet is not granted anything
    const DomainRec* d = find_domain(domain);
    if (!d || !d->cap || deaths::ended(mesh.core, domain)) return Status::not_found;
    if (held_for(domain, ticket)) return Status::exists;
    unsigned mine = 0;
    HeldRam* free = nullptr;
    for (HeldRam& h : held) {
        if (h.ticket == 0) {
            if (!free) free = &h;
        } else if (h.domain == domain) {
            ++mine;
        }
    }
    if (!free || mine >= held_per_domain || free_slots() < held_slot_reserve + 2) return Status::busy;
    const auto root = alloc_slot();
    if (!root.ok()) return Status::busy;
    Status st = syscall6(abi::Sys::cap_create_ram, kernel_cap, phys, bits, *root).status;
    if (st != Status::ok) {
        slot_used &= ~(std::uint64_t{1} << *root);
        return st;
    }
    const auto child = alloc_slot();
    st = child.ok() ? syscall6(abi::Sys::retype, *root, 1 /* untyped */, bits, *child, 1).status : Status::busy;
    if (st != Status::ok) {
        if (child.ok()) slot_used &= ~(std::uint64_t{1} << *child);
        free_slot(*root);
        return st;
    }
    *free = {static_cast<std::uint32_t>(domain), ticket, *root, *child, phys, static_cast<std::uint32_t>(bits)};
    ++ram_granted;
    return Status::ok;
}

// memserv's reclaim: ok once no capability for (domain, ticket) is left here. Messages from one
// core arrive in order, so a reclaim never overtakes the grant it follows.
// Frames of the grant given to other cores are revoked there first: busy until then (ask again).
Status ram_reclaim_here(std::uint64_t domain, std::uint64_t ticket) {
    if (HeldRam* h = held_for(domain, ticket)) {
        if (frames_release(h->domain, h->phys, std::uint64_t{1} << h->bits)) return Status::busy;
        drop_held(*h);
    }
    return Status::ok;
}

bool grant_covers(std::uint64_t domain, std::uint64_t phys, std::uint64_t size) {
    for (const HeldRam& h : held)
        if (h.ticket != 0 && h.domain == domain && phys >= h.phys && size <= (std::uint64_t{1} << h.bits) &&
            phys - h.phys <= (std::uint64_t{1} << h.bits) - size)
            return true;
    return false;
}

void remotes_domain_ended(std::uint32_t domain) {
    for (Remote& x : remotes)
        if (x.used && x.caller == domain) x = {};
}

void take_ram(std::uint64_t domain, std::uint64_t ticket) {
    HeldRam* h = held_for(domain, ticket);
    if (!h || !h->child) return (void)reply(Status::not_found);
    if (reply(Status::ok, 0, 0, 0, h->child)) {  // moved: the slot is empty now
        slot_used &= ~(std::uint64_t{1} << h->child);
        h->child = 0;
    }
}

Status return_ram(std::uint64_t domain, std::uint64_t ticket) {
    HeldRam* h = held_for(domain, ticket);
    if (!h) return Status::not_found;
    if (frames_release(h->domain, h->phys, std::uint64_t{1} << h->bits)) return Status::busy;  // copies elsewhere go first
    drop_held(*h);
    return Status::ok;
}

unsigned grants_domain_ended(std::uint32_t domain) {
    unsigned n = 0;
    for (HeldRam& h : held)
        if (h.ticket != 0 && h.domain == domain) {
            drop_held(h);
            ++n;
        }
    return n;
}

} // namespace detail

using namespace detail;

void on_kill_request(std::uint64_t from, const urpc::Message& m) {
    // The caller's monitor checked that the caller may kill (monitors trust each other).
    const Status st = kill_here(m.words[1], from, m.words[2]);
    send(from, kill_reply, m.words[0], static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)));
}

void on_kill_reply(std::uint64_t from, const urpc::Message& m) {
    remote_done(from, kill_req, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])));
}

void on_list_request(std::uint64_t from, const urpc::Message& m) {
    std::uint64_t w[3] = {};
    const Status st = list_here(m.words[1], w);
    send(from, list_reply, m.words[0], static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)), w[0], w[1], w[2]);
}

void on_ram_grant_request(std::uint64_t from, const urpc::Message& m) {
    // The caller's monitor checked that the caller may grant (monitors trust each other).
    const Status st = ram_grant_here(from, m.words[1], m.words[2], m.words[3]);
    send(from, ram_grant_reply, m.words[0], static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)));
}
void on_ram_grant_reply(std::uint64_t from, const urpc::Message& m) {
    remote_done(from, ram_grant_req, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])));
}
void on_ram_reclaim_request(std::uint64_t from, const urpc::Message& m) {
    const Status st = ram_reclaim_here(m.words[1], m.words[2]);
    send(from, ram_reclaim_reply, m.words[0], static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)));
}
void on_ram_reclaim_reply(std::uint64_t from, const urpc::Message& m) {
    remote_done(from, ram_reclaim_req, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])));
}

void on_list_reply(std::uint64_t from, const urpc::Message& m) {
    remote_done(from, list_req, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])), m.words[2],
                m.words[3], m.words[4]);
}

Status kill(std::uint64_t domain) {
    const DomainRec* r = find_domain(domain);
    if (!r || !r->cap) return Status::not_found;
    const Status st = syscall6(abi::Sys::domain_kill, r->cap).status;
    if (st == Status::ok) ++kills_done;
    return st;
}

std::uint64_t kills() { return kills_done; }

bool may_start(std::uint64_t domain, const char* program) {
    std::uint64_t name[2] = {};
    pack_name16(program, name[0], name[1]);
    // A program holding a privilege (monitor.kill, monitor.memserv) may be started at run time
    // only by a domain holding that privilege itself (else any domain could start memserv or a
    // killer with arguments of its choosing).
    const bool killer = is_killer(name), granter = is_granter(name);
    if (!killer && !granter) return true;
    const DomainRec* r = find_domain(domain);
    return r && (!killer || may_kill(*r)) && (!granter || may_grant(*r));
}

// The memserv pools and the calls that make capabilities of them, checked at start (every refusal,
// and one real create / copy / reclaim cycle): `monitor-ramcheck core=N checks= failures=`.
void check_ram_pools(const abi::TopologyInfo& topo) {
    const std::uint64_t node = topo.core_node[mesh.core];
    if (node >= abi::topo_max_nodes || topo.ram_pool_bytes[node] == 0) return;
    const std::uint64_t base = topo.ram_pool_base[node], bytes = topo.ram_pool_bytes[node];
    const auto slot = alloc_slot();
    if (!slot.ok()) return;
    unsigned checks = 0, failures = 0;
    auto create = [&](std::uint64_t phys, std::uint64_t bits) {
        return syscall6(abi::Sys::cap_create_ram, kernel_cap, phys, bits, *slot).status;
    };
    auto expect = [&](const char* what, Status got, Status want) {
        ++checks;
        if (got == want) return;
        ++failures;
        print("ramcheck: {}: got '{}', want '{}'", what, to_string(got), to_string(want));
    };
    // The smallest power of two at least twice the pool, at the pool's base rounded down to it:
    // aligned, and it covers the pool and more, so it straddles an end of it.
    unsigned wide = 12;
    while ((std::uint64_t{1} << wide) < 2 * bytes) ++wide;
    const std::uint64_t wide_base = base & ~((std::uint64_t{1} << wide) - 1);
    const std::uint64_t ring = topo.chan_pool_base[mesh.core];
    expect("the page after the pool", create(base + bytes, 12), Status::out_of_range);
    expect("the page before the pool", create(base - 4096, 12), Status::out_of_range);
    expect("a block straddling the pool", create(wide_base, wide), Status::out_of_range);
    expect("channel memory as untyped", create(ring, 12), Status::out_of_range);
    expect("kernel memory (page 0)", create(0, 12), Status::out_of_range);
    expect("a misaligned block", create(base + 4096, 13), Status::invalid_argument);
    expect("size 0", create(base, 0), Status::invalid_argument);
    expect("size 2^64", create(base, 64), Status::invalid_argument);
    expect("the pool's last page", create(base + bytes - 4096, 12), Status::ok);
    (void)syscall6(abi::Sys::cap_delete, *slot);
    expect("the whole pool's first half", create(base, 21), Status::ok);
    // A second root overlapping the first on one core: refused (only one may exist here).
    const auto other = alloc_slot();
    if (other.ok()) {
        expect("an overlapping second root",
               syscall6(abi::Sys::cap_create_ram, kernel_cap, base + 4096, 12, *other).status, Status::exists);
        free_slot(*other);
    }
    // Frames over memserv memory for the capability protocol (Sys::cap_create_frame): the same
    // block rules; never where a capability here already names the memory (the half above).
    auto frame = [&](std::uint64_t phys, std::uint64_t bits) {
        return syscall6(abi::Sys::cap_create_frame, kernel_cap, phys, bits, *slot).status;
    };
    auto reclaim = [&](std::uint64_t phys, std::uint64_t bits) { return syscall6(abi::Sys::cap_reclaim_frame, kernel_cap, phys, bits); };
    expect("a frame inside an untyped here", frame(base + 4096, 12), Status::exists);
    expect("a frame after the pool", frame(base + bytes, 12), Status::out_of_range);
    expect("a frame of channel memory", frame(ring, 12), Status::out_of_range);
    expect("a frame of kernel memory", frame(0, 12), Status::out_of_range);
    expect("a frame of 8 KiB", frame(base + bytes - 8192, 13), Status::invalid_argument);
    expect("a misaligned 2 MiB frame", frame(base + bytes - 4096, 21), Status::invalid_argument);
    expect("reclaim outside the pools", reclaim(ring, 12).status, Status::out_of_range);
    (void)syscall6(abi::Sys::cap_delete, *slot);  // the untyped half: its memory is free here again
    const std::uint64_t page = base + bytes - 4096;
    expect("a frame of the pool's last page", frame(page, 12), Status::ok);
    const SysResult sz = syscall6(abi::Sys::cap_phys, kernel_cap, *slot, 1);
    expect("cap_phys: its size", sz.status == Status::ok && sz.value == 4096 ? Status::ok : Status::internal, Status::ok);
    expect("cap_phys: what 3", syscall6(abi::Sys::cap_phys, kernel_cap, *slot, 3).status, Status::invalid_argument);
    const SysResult none = syscall6(abi::Sys::cap_phys, kernel_cap, *slot, 2);
    expect("cap_phys: no copy of it", none.status == Status::ok && none.value == 0 ? Status::ok : Status::internal, Status::ok);
    const auto copy = alloc_slot();
    if (copy.ok()) {
        expect("a second root of it", syscall6(abi::Sys::cap_create_frame, kernel_cap, page, 12, *copy).status, Status::exists);
        expect("a copy of it", syscall6(abi::Sys::cap_copy, *slot, *copy, 0xffff).status, Status::ok);
        const SysResult one = syscall6(abi::Sys::cap_phys, kernel_cap, *slot, 2);
        expect("cap_phys: a copy of it remains", one.status == Status::ok && one.value == 1 ? Status::ok : Status::internal,
               Status::ok);
        const SysResult r = reclaim(page, 12);
        expect("reclaim takes the root and its copy",
               r.status == Status::ok && r.value == 2 ? Status::ok : Status::internal, Status::ok);
        expect("the copy is gone", syscall6(abi::Sys::cap_identify, *copy).status, Status::not_found);
        expect("the root is gone", syscall6(abi::Sys::cap_identify, *slot).status, Status::not_found);
        const SysResult again = reclaim(page, 12);
        expect("a second reclaim finds nothing", again.status == Status::ok && again.value == 0 ? Status::ok : Status::internal,
               Status::ok);
        free_slot(*copy);
    }
    free_slot(*slot);
    emit("monitor-ramcheck core={} checks={} failures={}", mesh.core, checks, failures);
}

} // namespace myr::monitor::binding
