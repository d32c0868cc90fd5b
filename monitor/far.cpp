// Endpoints and notifications across cores in the guest (docs/capabilities.md, "Endpoints and
// notifications across cores"): the monitors run FarBook (myr/monitor/far_book.hpp) over their
// kernels' capabilities.
//
// On the owner's core the record's copy is derived from the capability the giver sent with its
// call, so the giver's own revoke of that capability (or the object's end with its domain) takes
// it, and the next sweep ends the far capability everywhere. On the holder's core the far
// capability is minted from this monitor's own endpoint (send only, badge far_badge | record id):
// a call on it lands in serve_local like any monitor call, and far_send carries its four words
// on. The domain takes a copy (far_take); its copies derive from the monitor's original, so
// revoking that original removes every copy on this core, whoever they were passed to.
#include "binding_internal.hpp"
#include "deaths.hpp"
#include "mesh.hpp"
#include <myr/monitor/far_book.hpp>
#include <myr/monitor/protocol.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::binding::detail {
namespace {

using namespace myr::user;

constexpr std::uint64_t service_ep = 7;  // the receiving copy of this monitor's endpoint
FarBook book;
std::uint64_t last_tick;

class Env final : public FarEnv {
public:
    void send(std::uint32_t to, FarLine type, const std::uint64_t (&w)[far_line_words]) override {
        monitor::send(to, far_line, static_cast<std::uint64_t>(type), w[0], w[1], w[2], w[3], w[4], w[5]);
    }
    std::uint64_t mint(std::uint32_t id) override {
        if (free_slots() < 24) return 0;  // rings in transit and domain caps first
        const auto s = alloc_slot();
        if (!s.ok()) return 0;
        if (cap_mint(service_ep, *s, rights::send, abi::far_badge | id) != Status::ok) {
            vacate(*s);
            return 0;
        }
        return *s;
    }
    void drop(std::uint64_t slot) override {
        (void)cap_revoke(slot);  // the holder's side: every copy a domain of this core holds
        free_slot(slot);
    }
    Status deliver(std::uint64_t slot, FarKind kind, const std::uint64_t (&w)[4]) override {
        if (kind == FarKind::notification) return syscall6(abi::Sys::notify_signal, slot, w[0]).status;
        // Handed over only to a receiver that waits there now. One that is about to (woken by the
        // same tick as this monitor, or still busy with the message before) gets the core once,
        // and the send is tried again; else again on the next round.
        for (unsigned tries = 0;; ++tries) {
            Message m{};
            for (unsigned i = 0; i < 4; ++i) m.w[i] = w[i];
            const Status st = ipc(abi::Sys::ipc_send, slot | abi::send_poll << 32, m);
            if (st != Status::would_block || tries == 1) return st;
            user::yield();
        }
    }
    bool present(std::uint64_t slot) override { return cap_identify(slot).status == Status::ok; }
    bool copies_out(std::uint64_t slot) override {
        const SysResult r = syscall6(abi::Sys::cap_phys, kernel_cap, slot, 2);
        return r.status == Status::ok && r.value == 1;
    }
    bool domain_alive(std::uint32_t domain) override {
        const DomainRec* d = find_domain(domain);
        return d && d->cap && !deaths::ended(mesh.core, domain);
    }
    void answered() override { wake_local_domains(); }
};
Env env;

// The endpoint or notification capability the caller sent with its call: kind and object.
Status sent_object(const user::Message& m, std::uint64_t incoming, FarKind& kind, std::uint64_t& base) {
    if (!incoming) return Status::busy;  // the monitor had no slot to take it in: call again
    if (m.cap_arrived != 1) return Status::invalid_argument;
    const SysResult id = cap_identify(incoming);
    if (id.status != Status::ok) return Status::invalid_argument;
    const std::uint64_t type = id.value >> 32, r = id.value & 0xffff;
    if (type != captype::endpoint && type != captype::notification) return Status::wrong_type;
    if (!(r & rights::send)) return Status::permission_denied;
    // A far capability of another core's object (minted by this monitor) is not given on: its
    // messages would pass two monitors.
    if (type == captype::endpoint && (syscall6(abi::Sys::cap_phys, kernel_cap, incoming, 0).value ==
                                      syscall6(abi::Sys::cap_phys, kernel_cap, service_ep, 0).value))
        return Status::invalid_argument;
    kind = type == captype::endpoint ? FarKind::endpoint : FarKind::notification;
    base = syscall6(abi::Sys::cap_phys, kernel_cap, incoming, 0).value;
    return Status::ok;
}

void give(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    const std::uint64_t core = m.w[1], domain = m.w[2];
    if (core >= mesh.cores || core == mesh.core || domain == 0 || domain > 0xffff'ffff)
        return (void)reply(Status::invalid_argument);
    FarKind kind{};
    std::uint64_t base = 0;
    if (const Status st = sent_object(m, incoming, kind, base); st != Status::ok) return (void)reply(st);
    if (!mesh_alive(core) || deaths::ended(core, domain)) return (void)reply(Status::connection_lost);
    if (free_slots() < 24) return (void)reply(Status::busy);
    // Our copy is the one the call brought, derived from the giver's capability: the giver's
    // revoke, or the object's end, takes it. Kept where it landed (a copy of it would go when the
    // kernel deletes it: a delete takes the copies derived from a capability). The monitor only
    // ever sends on it, with no capability.
    std::uint64_t ticket = 0;
    const std::uint64_t slot = keep_incoming();
    const Status st = book.give(static_cast<std::uint32_t>(who), slot, kind, base, static_cast<std::uint32_t>(core),
                                static_cast<std::uint32_t>(domain), ticket, env);
    if (st != Status::ok) {
        free_slot(slot);
        return (void)reply(st);
    }
    (void)reply(Status::ok, ticket);
}

void revoke(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    FarKind kind{};
    std::uint64_t base = 0;
    if (const Status st = sent_object(m, incoming, kind, base); st != Status::ok) return (void)reply(st);
    std::uint64_t ticket = 0;
    const Status st = book.revoke(static_cast<std::uint32_t>(who), kind, base, ticket, env);
    if (st != Status::ok) return (void)reply(st);
    (void)reply(Status::ok, ticket);
}

void take(std::uint64_t who) {
    FarBook::Offer o{};
    if (!book.offered(static_cast<std::uint32_t>(who), o)) return (void)reply(Status::would_block);
    const auto s = alloc_slot();
    if (!s.ok()) return (void)reply(Status::busy);
    if (cap_copy(o.slot, *s, rights::send) != Status::ok) {
        vacate(*s);
        return (void)reply(Status::busy);
    }
    if (reply(Status::ok, o.from, o.giver, static_cast<std::uint64_t>(o.kind), *s)) {
        vacate(*s);  // moved
        book.taken(o.id);
    } else {
        free_slot(*s);
    }
}

} // namespace

void far_init() { book.init(static_cast<std::uint32_t>(mesh.core), static_cast<std::uint32_t>(mesh.cores)); }

void far_serve(std::uint64_t who, const user::Message& m, std::uint64_t incoming) {
    switch (static_cast<abi::MonitorOp>(m.w[0])) {
    case abi::MonitorOp::far_give: return give(who, m, incoming);
    case abi::MonitorOp::far_poll: return (void)reply(book.poll(static_cast<std::uint32_t>(who), m.w[1]));
    case abi::MonitorOp::far_take: return take(who);
    case abi::MonitorOp::far_revoke: return revoke(who, m, incoming);
    default: return (void)reply(Status::invalid_argument);
    }
}

void far_send(std::uint64_t badge, const user::Message& m) {
    const std::uint64_t w[4] = {m.w[0], m.w[1], m.w[2], m.w[3]};
    (void)reply(book.send(static_cast<std::uint32_t>(badge & 0xffff'ffff), w, env));
}

void far_tick() {
    const std::uint64_t now = ticks();
    const bool sweep = now != last_tick;
    last_tick = now;
    book.tick(sweep, env);
}

void far_domain_ended(std::uint32_t domain) { book.domain_ended(domain, env); }
void far_core_lost(std::uint64_t core) {
    if (core < mesh.cores) book.core_lost(static_cast<std::uint32_t>(core), env);
}

void far_line_in(std::uint64_t from, const urpc::Message& m) {
    const std::uint64_t type = m.words[0];
    const std::uint64_t w[far_line_words] = {m.words[1], m.words[2], m.words[3], m.words[4], m.words[5], m.words[6]};
    if (type >= static_cast<std::uint64_t>(FarLine::count) ||
        !book.receive(static_cast<std::uint32_t>(from), static_cast<FarLine>(type), w, env)) {
        ++malformed;
        print("far_line {} from core {} naming what that core does not hold or own: ignored", type, from);
    }
}

} // namespace myr::monitor::binding::detail
