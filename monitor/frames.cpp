// Frames across cores in the guest (docs/capabilities.md, "Frames across cores in the guest"):
// the monitors carry the capability protocol (myr/monitor/cap_protocol.hpp, CapNode) for frames
// that domains carved from memserv grants, so a domain can give a frame to a domain on another core
// and take every such copy back.
//
// Each monitor's CapNode keeps a table of its own: a record of the frames that crossed cores, not
// the kernel's table. On the giver's core a frame it gives becomes a root there (CapNode::adopt,
// owner: this core, the core whose monitor holds the grant). A copy that lands on another core is
// a record there too, and the kernel capability the target domain takes is made then
// (cap_create_frame). A revoke's sweep that reaches a core removes every kernel frame capability
// inside the frame there, mappings included (cap_reclaim_frame): a domain that held it faults on
// its next access. The owner answers the revoke only once every core swept.
//
// Memory safety across the grant's end: when the giver returns the grant, memserv reclaims it, or
// the giver ends, the copies on other cores are revoked first; return and reclaim answer busy
// until then, and the death of a giver with copies out is reported (the death feed memserv frees
// grants from) only once the revokes finished (binding.cpp, forget()).
//
// Ownership moves (frame_move): the giver hands the ownership to the domain holding the copy on
// another core (CapNode::move_owner), which may then revoke the other copies and pass its own on
// without asking the giver's core. The memory stays the giver's grant: this core is the frame's
// home, keeps its copy through any revoke, and its revoke or the grant's end goes through the new
// owner. When the owning domain ends, its monitor moves the ownership back home.
#include "binding_internal.hpp"
#include "deaths.hpp"
#include "mesh.hpp"
#include <myr/monitor/cap_protocol.hpp>
#include <myr/monitor/protocol.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::binding::detail {
namespace {

using namespace myr::user;

constexpr unsigned table_slots = 256;  // records: roots given from here and copies held here
caps::Slot table_mem[table_slots];
CapNode node;
bool enabled;
// What this monitor keeps beside each record of the table, set and cleared as one so that no mark
// outlives its record.
struct Rec {
    // The domain of this core the record is for: the giver (a root owned here) or the domain a
    // copy was given to. 0: none (a free slot, or a copy whose domain did not take it yet).
    std::uint32_t holder;
    // A frame adopted here from its holder's grant (this core is its home), owned here or moved
    // away: the grant's end revokes its copies first, wherever the ownership is.
    bool mine;
};
Rec rec_of[table_slots];
// The holder of a record whose owning domain ended while its ownership goes back home.
constexpr std::uint32_t orphaned = 0xffff'ffff;

// Gives and revokes in flight: a domain's (polled with frame_poll) or our own (`internal`: the
// revoke of a frame whose grant ends; its record goes when it finishes).
enum class Kind : std::uint8_t { give, revoke, move };
struct Op {
    bool used, done, internal, sent;  // sent: a give whose copy is on its way (frame_landed answers)
    Kind kind;
    std::uint32_t domain, target, core;  // give: the target domain and its core
    std::uint64_t ticket;
    Status st;
    caps::SlotIdx slot;
};
constexpr unsigned max_ops = 16, ops_per_domain = 4;
Op ops[max_ops];
std::uint64_t next_ticket;

// Copies that landed here and wait for their domain to take them: a kernel frame cap in our slot.
struct Offer {
    bool used;
    std::uint32_t domain, from;  // from: the owner core, which sent the copy
    std::uint32_t asker;         // the core whose domain gave it (the owner's, or a holder's that passed it on)
    std::uint64_t slot, seq;
    caps::Cap obj;
};
constexpr unsigned max_offers = 4;  // each holds one of the monitor's 64 cnode slots
// Givers on one core may fill at most this many of them (counted by the core whose domain gave:
// a holder that passes copies on uses its own core's share, not its giver's): a domain that
// never takes then blocks only the givers of one core, not every other core's.
constexpr unsigned offers_per_core = max_offers / 2;
Offer offers[max_offers];
std::uint64_t offer_seq;

unsigned size_bits(std::uint64_t size) {
    unsigned b = 0;
    while (b < 63 && (std::uint64_t{1} << b) < size) ++b;
    return b;
}

// The tag a copy carries to its core: the target domain, the op's index, the core that asked for
// the give (this one; the owner's when a holder passes its copy on) and the low bits of its ticket.
std::uint64_t tag_of(const Op& o) {
    return std::uint64_t{o.target} | std::uint64_t(&o - ops) << 32 | (mesh.core & 0xff) << 40 | (o.ticket & 0xffff) << 48;
}
std::uint64_t tag_asker(std::uint64_t tag) { return tag >> 40 & 0xff; }

class Out final : public CapOut {
public:
    void send(const CapMsg& m) override {
        std::uint64_t w[cap_wire_words];
        encode(m, w);
        monitor::send(m.to, cap_line, w[0], w[1], w[2], w[3], w[4], w[5], 0);
    }
    void done(std::uint64_t op, Status st) override;
    void installed(const caps::Cap& obj, std::uint64_t tag, std::uint32_t from) override;
    void swept(const caps::Cap& root, std::uint32_t asker) override;
    void took_ownership(const caps::Cap& obj, std::uint32_t from) override;
};
Out out;

Op* op_of(std::uint64_t ticket) {
    for (Op& o : ops)
        if (o.used && o.ticket == ticket) return &o;
    return nullptr;
}

void drop_record(caps::SlotIdx s) {
    (void)node.remove(s, out);
    rec_of[s] = {};
}

Op* new_op(std::uint32_t domain, Kind kind, bool internal);

// The monitor's own revoke of the frame in record `s` (every copy elsewhere; through the owner
// when that is another core): the record goes once it finished. False: no room now.
bool revoke_internal(caps::SlotIdx s) {
    Op* o = new_op(0, Kind::revoke, true);
    if (!o) return false;
    o->slot = s;
    node.revoke(o->ticket, s, out);
    return true;
}

void Out::done(std::uint64_t ticket, Status st) {
    Op* o = op_of(ticket);
    if (!o) return;
    if (o->internal) {
        // A grant ended and its frame was revoked everywhere, or an ended owner's frame went back
        // home: the record goes. A revoke refused (busy: another runs) leaves it, and the grant's
        // end asks again; an ownership that could not go home (the home dropped its copy) ends
        // with a revoke of every copy.
        const caps::SlotIdx s = o->slot;
        const Kind kind = o->kind;
        *o = {};
        if (s >= table_slots || node.table().cap(s).is_null()) return;
        if (st == Status::ok) return drop_record(s);
        if (kind == Kind::move) (void)revoke_internal(s);
        return;
    }
    if (o->kind == Kind::give && st == Status::ok) {
        o->sent = true;  // the target's monitor answers with frame_landed (it may have already)
        return;
    }
    if (o->done) return;  // a give whose frame_landed overtook the owner's answer: answered already
    o->done = true;
    o->st = st;
    wake_local_domains();
}

void landed(std::uint32_t to, std::uint64_t tag, Status st) {
    monitor::send(to, frame_landed, tag, static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)));
}

void Out::installed(const caps::Cap& obj, std::uint64_t tag, std::uint32_t from) {
    const auto domain = static_cast<std::uint32_t>(tag);
    // The core whose domain asked for the give hears frame_landed: the owner's, or the holder's
    // that passed its copy on (it asked through the owner). `from` is the owner, whose domain
    // the copy names as giver.
    const auto asker = static_cast<std::uint32_t>(tag_asker(tag) < mesh.cores ? tag_asker(tag) : from);
    // The record CapNode just made for it: the copy of this object no domain holds yet.
    caps::SlotIdx rec = caps::no_slot;
    const auto slots = node.table().slots();
    for (caps::SlotIdx i = 1; i < slots.size() && rec == caps::no_slot; ++i)
        if (!slots[i].cap.is_null() && caps::same_object(slots[i].cap, obj) && rec_of[i].holder == 0) rec = i;
    Status st = Status::ok;
    Offer* free = nullptr;
    unsigned from_there = 0;
    for (Offer& o : offers) {
        if (!o.used) free = &o;
        else from_there += o.asker == asker;
    }
    // A copy of this memory held here already (waiting as an offer, or taken): the kernel would
    // refuse a second one (exists); say so before any question of room, so the answer does not
    // depend on how busy this monitor is.
    bool held = false;
    for (caps::SlotIdx i = 1; i < slots.size(); ++i)
        held |= i != rec && rec_of[i].holder != 0 && !slots[i].cap.is_null() && caps::same_object(slots[i].cap, obj);
    const DomainRec* d = find_domain(domain);
    if (rec == caps::no_slot) st = Status::internal;
    else if (held) st = Status::exists;
    else if (!d || !d->cap || deaths::ended(mesh.core, domain)) st = Status::connection_lost;
    else if (!free || from_there >= offers_per_core || free_slots() < 24)
        st = Status::busy;  // rings in transit and domain caps first
    std::uint64_t slot = 0;
    if (st == Status::ok) {
        const auto s = alloc_slot();
        slot = s.ok() ? *s : 0;
        st = slot ? syscall6(abi::Sys::cap_create_frame, kernel_cap, obj.base, size_bits(obj.size), slot).status : Status::busy;
    }
    if (st != Status::ok) {
        if (slot) vacate(slot);
        if (rec != caps::no_slot) drop_record(rec);  // the owner hears `gone`
        return landed(asker, tag, st);
    }
    *free = {true, domain, from, asker, slot, ++offer_seq, obj};
    rec_of[rec] = {domain, false};  // a copy of another core's memory
    landed(asker, tag, Status::ok);
    wake_local_domains();
}

void Out::swept(const caps::Cap& root, std::uint32_t asker) {
    // Copies of it here went from the table; the kernel's go now (the domains' and ours, mapped or not).
    if (asker != mesh.core)
        (void)syscall6(abi::Sys::cap_reclaim_frame, kernel_cap, root.base, size_bits(root.size));
    for (Offer& o : offers)
        if (o.used && o.obj.base < root.base + root.size && root.base < o.obj.base + o.obj.size) {
            free_slot(o.slot);  // emptied by the reclaim
            o = {};
        }
    const auto slots = node.table().slots();
    for (caps::SlotIdx i = 0; i < slots.size(); ++i)
        if (slots[i].cap.is_null()) {
            rec_of[i] = {};
        }
}

void Out::took_ownership(const caps::Cap& obj, std::uint32_t from) {
    const auto slots = node.table().slots();
    for (caps::SlotIdx i = 1; i < slots.size(); ++i)
        if (rec_of[i].holder != 0 && !slots[i].cap.is_null() && caps::same_object(slots[i].cap, obj))
            print("frame {:#x} of core {}: owned here now, by domain {}", obj.base, from, rec_of[i].holder);
}

Op* new_op(std::uint32_t domain, Kind kind, bool internal) {
    unsigned its = 0;
    Op* free = nullptr;
    for (Op& o : ops) {
        if (!o.used) free = free ? free : &o;
        else if (!internal && !o.internal && o.domain == domain) ++its;
    }
    if (!free || (!internal && its >= ops_per_domain)) return nullptr;
    *free = {};
    free->used = true;
    free->internal = internal;
    free->kind = kind;
    free->domain = domain;
    free->ticket = ++next_ticket;
    return free;
}

// The frame capability the caller sent with its call: base and size, or why not.
Status sent_frame(const user::Message& m, std::uint64_t incoming, caps::Cap& f) {
    if (!incoming) return Status::busy;  // the monitor had no slot to take it in: call again
    if (m.cap_arrived != 1) return Status::invalid_argument;
    const SysResult id = syscall6(abi::Sys::cap_identify, incoming);
    if (id.status != Status::ok) return Status::invalid_argument;
    if ((id.value >> 32) != captype::frame) return Status::wrong_type;
    f = {};
    f.type = caps::CapType::frame;
    f.base = syscall6(abi::Sys::cap_phys, kernel_cap, incoming, 0).value;
    f.size = syscall6(abi::Sys::cap_phys, kernel_cap, incoming, 1).value;
    return f.size ? Status::ok : Status::invalid_argument;
}

// The record of frame `f` held for `domain` (a frame it gave, or a copy it took), or no_slot.
caps::SlotIdx record_of(const caps::Cap& f, std::uint32_t domain) {
    const auto slots = node.table().slots();
    for (caps::SlotIdx i = 1; i < slots.size(); ++i)
        if (rec_of[i].holder == domain && !slots[i].cap.is_null() && caps::same_object(slots[i].cap, f)) return i;
    return caps::no_slot;
}

bool owned(const caps::Cap& f) {
    std::uint64_t copies = 0;
    return node.owns(f, copies);
}

void give(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    const std::uint64_t core = m.w[1], domain = m.w[2];
    if (!enabled) return (void)reply(Status::unsupported);
    if (core >= mesh.cores || core == mesh.core || domain == 0 || domain > 0xffffffff) return (void)reply(Status::invalid_argument);
    caps::Cap f{};
    if (const Status st = sent_frame(m, incoming, f); st != Status::ok) return (void)reply(st);
    // The giver holds the grant the frame was carved from; else the caller passes on a copy it
    // was given (its owner, here or on another core, sends the new copy and counts it).
    const bool granted = grant_covers(who, f.base, f.size);
    caps::SlotIdx rec = record_of(f, static_cast<std::uint32_t>(who));
    if (rec == caps::no_slot && !granted) return (void)reply(Status::permission_denied);
    if (!mesh_alive(core) || deaths::ended(core, domain)) return (void)reply(Status::connection_lost);
    if (rec == caps::no_slot) {
        const auto slots = node.table().slots();
        for (caps::SlotIdx i = 1; i < slots.size() && rec == caps::no_slot; ++i)
            if (slots[i].cap.is_null()) rec = i;
        if (rec == caps::no_slot) return (void)reply(Status::no_memory);
        if (const Status st = node.adopt(rec, f); st != Status::ok) return (void)reply(st);
        rec_of[rec] = {static_cast<std::uint32_t>(who), true};
    }
    Op* o = new_op(static_cast<std::uint32_t>(who), Kind::give, false);
    if (!o) return (void)reply(Status::busy);
    o->target = static_cast<std::uint32_t>(domain);
    o->core = static_cast<std::uint32_t>(core);
    o->slot = rec;
    const std::uint64_t ticket = o->ticket;
    (void)reply(Status::ok, ticket);  // the domain polls; an answer that comes at once waits for it
    node.transfer(ticket, rec, static_cast<std::uint32_t>(core), out, tag_of(*o));
}

void revoke(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    if (!enabled) return (void)reply(Status::unsupported);
    caps::Cap f{};
    if (const Status st = sent_frame(m, incoming, f); st != Status::ok) return (void)reply(st);
    // The grant's holder (through the owner, when ownership moved away), or the domain that owns
    // the frame now; not a holder of a copy.
    const caps::SlotIdx rec = record_of(f, static_cast<std::uint32_t>(who));
    if (!grant_covers(who, f.base, f.size) && (rec == caps::no_slot || !owned(f))) return (void)reply(Status::permission_denied);
    if (rec == caps::no_slot) return (void)reply(Status::not_found);
    Op* o = new_op(static_cast<std::uint32_t>(who), Kind::revoke, false);
    if (!o) return (void)reply(Status::busy);
    o->slot = rec;
    const std::uint64_t ticket = o->ticket;
    (void)reply(Status::ok, ticket);
    node.revoke(ticket, rec, out);
}

void move(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    const std::uint64_t core = m.w[1];
    if (!enabled) return (void)reply(Status::unsupported);
    if (core >= mesh.cores || core == mesh.core) return (void)reply(Status::invalid_argument);
    caps::Cap f{};
    if (const Status st = sent_frame(m, incoming, f); st != Status::ok) return (void)reply(st);
    const caps::SlotIdx rec = record_of(f, static_cast<std::uint32_t>(who));
    if (rec == caps::no_slot) return (void)reply(grant_covers(who, f.base, f.size) ? Status::not_found : Status::permission_denied);
    if (!owned(f)) return (void)reply(Status::permission_denied);
    if (!mesh_alive(core)) return (void)reply(Status::connection_lost);
    Op* o = new_op(static_cast<std::uint32_t>(who), Kind::move, false);
    if (!o) return (void)reply(Status::busy);
    o->slot = rec;
    o->core = static_cast<std::uint32_t>(core);
    const std::uint64_t ticket = o->ticket;
    (void)reply(Status::ok, ticket);
    node.move_owner(ticket, rec, static_cast<std::uint32_t>(core), out);
}

void poll(std::uint64_t who, std::uint64_t ticket) {
    Op* o = op_of(ticket);
    if (!o || o->internal || o->domain != who) return (void)reply(Status::not_found);
    if (!o->done) return (void)reply(Status::would_block);
    const Status st = o->st;
    *o = {};
    reply(st);
}

void take(std::uint64_t who) {
    Offer* first = nullptr;
    for (Offer& o : offers)
        if (o.used && o.domain == who && (!first || o.seq < first->seq)) first = &o;
    if (!first) return (void)reply(Status::would_block);
    if (reply(Status::ok, first->from, first->obj.base, first->obj.size, first->slot)) {
        vacate(first->slot);  // moved
        *first = {};
    }
}

} // namespace

void frames_init() {
    enabled = mesh.cores <= CapNode::max_cores &&
              node.init(static_cast<std::uint32_t>(mesh.core), static_cast<std::uint32_t>(mesh.cores), table_mem, 0) == Status::ok;
}

void frames_serve(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    switch (static_cast<abi::MonitorOp>(m.w[0])) {
    case abi::MonitorOp::frame_give: return give(who, m, incoming);
    case abi::MonitorOp::frame_poll: return poll(who, m.w[1]);
    case abi::MonitorOp::frame_take: return take(who);
    case abi::MonitorOp::frame_revoke: return revoke(who, m, incoming);
    case abi::MonitorOp::frame_move: return move(who, m, incoming);
    default: return (void)reply(Status::invalid_argument);
    }
}

bool frames_release(std::uint32_t domain, std::uint64_t phys, std::uint64_t size) {
    if (!enabled) return false;
    bool busy = false;
    const auto slots = node.table().slots();
    for (caps::SlotIdx i = 1; i < slots.size(); ++i) {
        const caps::Cap c = slots[i].cap;
        std::uint64_t copies = 0;
        if (rec_of[i].holder != domain || c.is_null() || c.base < phys || c.base - phys >= size) continue;
        const bool own = node.owns(c, copies);
        if (!own && !rec_of[i].mine) continue;  // a copy given to it, not memory of its grant
        bool revoking = false;
        for (const Op& o : ops)
            revoking |= o.used && o.internal && o.slot == i;
        if (revoking) {
            busy = true;
        } else if (copies || !own) {
            // Copies elsewhere (or, with the ownership moved away, perhaps): they go first, through
            // the owner; the record stays until the revoke finished. No room now: asked again (the
            // caller retries while busy).
            busy = true;
            (void)revoke_internal(i);
        } else {
            drop_record(i);
        }
    }
    return busy;
}

bool frames_domain_ended(std::uint32_t d) {
    if (!enabled) return false;
    for (Offer& o : offers)
        if (o.used && o.domain == d) {
            free_slot(o.slot);
            o = {};
        }
    for (Op& o : ops)
        if (o.used && !o.internal && o.domain == d) o = {};
    // Copies it was given: the kernel removed its caps; the owners hear that the copy is gone.
    // Copies whose ownership moved here for it: the ownership goes back to the frame's home (which
    // keeps its copy), else every copy is revoked. Its death waits for neither: no memory of its
    // own is involved.
    const auto slots = node.table().slots();
    for (caps::SlotIdx i = 1; i < slots.size(); ++i) {
        if (rec_of[i].holder != d || slots[i].cap.is_null() || rec_of[i].mine) continue;
        if (!owned(slots[i].cap)) {
            drop_record(i);
            continue;
        }
        rec_of[i].holder = orphaned;
        Op* o = new_op(0, Kind::move, true);
        if (!o) {
            (void)revoke_internal(i);  // no room for a move: every copy goes (none: the home's revoke or return ends it)
            continue;
        }
        o->slot = i;
        node.move_owner(o->ticket, i, node.home_of(slots[i].cap), out);
    }
    // Frames it gave: every copy on another core goes before its death is reported.
    return frames_release(d, 0, ~0ull);
}

void frames_core_lost(std::uint64_t core) {
    if (!enabled || core >= mesh.cores) return;
    node.core_lost(static_cast<std::uint32_t>(core), out);
    for (Op& o : ops)
        if (o.used && !o.internal && o.kind == Kind::give && o.sent && !o.done && o.core == core) {
            o.done = true;  // its frame_landed will never come
            o.st = Status::connection_lost;
            wake_local_domains();
        }
}

void frames_landed(std::uint64_t from, std::uint64_t tag, std::uint64_t status) {
    const std::uint64_t index = tag >> 32 & 0xff;
    if (index >= max_ops) return;
    Op& o = ops[index];
    // A holder's give goes through the owner, whose answer (sent) comes straight from it while the
    // copy travels on to the target, whose frame_landed comes from there: the two lines take
    // different channels, so frame_landed may arrive first (qemu_frames_4s4c's passer once waited
    // for good on a give whose frame_landed was dropped as one for no give). It answers the give
    // either way; what it names must still match.
    if (!o.used || o.internal || o.kind != Kind::give || o.done || (o.ticket & 0xffff) != (tag >> 48) ||
        tag_asker(tag) != mesh.core ||
        o.target != static_cast<std::uint32_t>(tag) || o.core != from) {  // only the target's core answers
        ++malformed;
        print("frame_landed from core {} for no give of ours: ignored", from);
        return;
    }
    o.done = true;
    o.st = static_cast<Status>(static_cast<std::int32_t>(status & 0xffffffff));
    wake_local_domains();
}

void frames_line(std::uint64_t from, const urpc::Message& m) {
    std::uint64_t w[cap_wire_words];
    for (unsigned i = 0; i < cap_wire_words; ++i) w[i] = m.words[i];
    CapMsg c{};
    if (!enabled || !decode(w, c) || c.from != from || c.to != mesh.core) {
        ++malformed;
        print("cap_line from core {} that no monitor sends: ignored", from);
        return;
    }
    if (!node.receive(c, out)) {
        ++malformed;
        print("cap_line {} from core {} naming what that core does not own, or answering what was not asked of it: ignored",
              static_cast<unsigned>(c.type), from);
    }
}

} // namespace myr::monitor::binding::detail
