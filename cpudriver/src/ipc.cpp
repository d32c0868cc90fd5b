#include "ipc.hpp"

#include "cspace.hpp"

#include <arch/platform.hpp>
#include <myr/kernel/console.hpp>

namespace myr::kernel {
namespace {

using caps::CapType;
using caps::Rights;

std::uint64_t next_seq;  // FIFO stamp for blocked senders (this core's)

void set_status(Domain& d, Status s) { d.regs.rax = static_cast<std::uint64_t>(static_cast<std::uint32_t>(s)); }

[[noreturn]] void return_status(Domain& d, Status s) {
    set_status(d, s);
    arch::resume_user(d.regs, true);
}

void block(Domain& d, IpcWait why, std::uint64_t ep) {
    d.wait = why;
    d.wait_ep = ep;
    d.wait_seq = ++next_seq;
    d.state = DomainState::blocked;
}

void wake(Domain& d, Status s) {
    d.wait = IpcWait::none;
    d.state = DomainState::runnable;
    set_status(d, s);
}

// The longest-waiting domain blocked on `ep` in one of the given ways.
Domain* find_waiter(std::uint64_t ep, IpcWait a, IpcWait b) {
    Domain* best = nullptr;
    Domain* t = domain_table();
    for (std::uint32_t i = 0; i < max_domains; ++i) {
        Domain& x = t[i];
        if (x.state != DomainState::blocked || x.wait_ep != ep || (x.wait != a && x.wait != b)) continue;
        if (!best || x.wait_seq < best->wait_seq) best = &x;
    }
    return best;
}

// Copies the message (and a capability, where offered and accepted) from sender s to receiver r.
void deliver(Domain& s, Domain& r) {
    r.regs.rsi = s.regs.rsi;
    r.regs.rdx = s.regs.rdx;
    r.regs.r10 = s.regs.r10;
    r.regs.r8 = s.regs.r8;
    r.regs.rdi = s.send_badge;
    r.regs.r9 = 0;
    if (s.send_cap_slot != caps::no_slot && r.recv_slot != caps::no_slot &&
        cap_table().cap(r.recv_slot).is_null() && !cap_table().cap(s.send_cap_slot).is_null())
        r.regs.r9 = cap_table().copy(s.send_cap_slot, r.recv_slot) == Status::ok ? 1 : 0;
    set_status(r, Status::ok);
}

// Sender side of send and call: checks the endpoint cap, the offered capability and (call only)
// the slot where a capability in the reply may land (r9 layout: abi::ipc_cap).
Result<std::uint64_t> prepare_send(Domain& d, bool call) {
    const caps::SlotIdx e = MYR_TRY(cspace_cap(d, d.regs.rdi, CapType::endpoint, Rights::send));
    const caps::Cap& ep = cap_table().cap(e);
    d.send_badge = ep.badge();
    d.send_cap_slot = caps::no_slot;
    d.recv_slot = caps::no_slot;
    if (d.regs.r9 != abi::no_cap) {
        const std::uint64_t send = d.regs.r9 & 0xffff'ffff, reply = d.regs.r9 >> 32;
        if (reply != 0) {
            if (!call) return Status::invalid_argument;
            d.recv_slot = MYR_TRY(cspace_slot(d, reply));
        }
        if (send != abi::ipc_no_send) {
            if (!caps::has(ep.rights, Rights::grant)) return Status::permission_denied;
            const caps::SlotIdx c = MYR_TRY(cspace_slot(d, send));
            if (cap_table().cap(c).is_null()) return Status::not_found;
            d.send_cap_slot = c;
        }
    }
    return ep.base;
}

// Wakes the domains sleeping in wait_event (a monitor polling its endpoint between URPC polls):
// a sender now waits for them.
void note_waiting_sender() { wake_event_waiters(); }

// Receiver side: checks the endpoint cap and where a capability may land.
Result<std::uint64_t> prepare_recv(Domain& d, std::uint64_t recv_cptr) {
    const caps::SlotIdx e = MYR_TRY(cspace_cap(d, d.regs.rdi, CapType::endpoint, Rights::receive));
    d.recv_slot = caps::no_slot;
    if (recv_cptr != abi::no_cap) d.recv_slot = MYR_TRY(cspace_slot(d, recv_cptr));
    return cap_table().cap(e).base;
}

// Receive on ep for d: take the longest-waiting sender, or block (or, polling, answer
// would_block). Returns only to block.
void receive(Domain& d, std::uint64_t ep, bool poll = false) {
    Domain* s = find_waiter(ep, IpcWait::send, IpcWait::call);
    if (!s) {
        if (poll) return_status(d, Status::would_block);
        block(d, IpcWait::recv, ep);
        return;
    }
    deliver(*s, d);
    if (s->wait == IpcWait::call) {
        s->wait = IpcWait::reply;  // stays blocked until d replies
        d.reply_to = s;
    } else {
        wake(*s, Status::ok);
    }
    arch::resume_user(d.regs, true);
}

} // namespace

void sys_ipc(Domain& d, abi::Sys op) {
    switch (op) {
    case abi::Sys::ipc_send:
    case abi::Sys::ipc_call: {
        const bool call = op == abi::Sys::ipc_call;
        const auto ep = prepare_send(d, call);
        if (!ep.ok()) return_status(d, ep.status());
        Domain* r = find_waiter(*ep, IpcWait::recv, IpcWait::recv);
        if (!r) {
            block(d, call ? IpcWait::call : IpcWait::send, *ep);
            note_waiting_sender();
            schedule();
        }
        deliver(d, *r);
        r->wait = IpcWait::none;
        r->state = DomainState::runnable;
        if (!call) {
            r->reply_to = nullptr;
            return_status(d, Status::ok);
        }
        r->reply_to = &d;
        block(d, IpcWait::reply, *ep);
        switch_to_domain(*r);  // fast path: straight to the receiver
    }
    case abi::Sys::ipc_recv: {
        const auto ep = prepare_recv(d, d.regs.rsi);
        if (!ep.ok()) return_status(d, ep.status());
        if (d.regs.rdx & ~abi::recv_poll) return_status(d, Status::invalid_argument);
        receive(d, *ep, d.regs.rdx & abi::recv_poll);
        schedule();
    }
    case abi::Sys::ipc_reply: {
        Domain* caller = d.reply_to;
        if (!caller || caller->state != DomainState::blocked || caller->wait != IpcWait::reply)
            return_status(d, Status::not_found);
        caps::SlotIdx give = caps::no_slot;
        if (d.regs.r9 != abi::no_cap) {
            const auto c = cspace_slot(d, d.regs.r9);
            if (!c.ok()) return_status(d, c.status());
            if (cap_table().cap(*c).is_null()) return_status(d, Status::not_found);
            give = *c;
        }
        d.reply_to = nullptr;
        caller->regs.rsi = d.regs.rsi;
        caller->regs.rdx = d.regs.rdx;
        caller->regs.r10 = d.regs.r10;
        caller->regs.r8 = d.regs.r8;
        caller->regs.rdi = 0;
        caller->regs.r9 = 0;
        if (give != caps::no_slot && caller->recv_slot != caps::no_slot && cap_table().cap(caller->recv_slot).is_null())
            caller->regs.r9 = cap_table().move(give, caller->recv_slot) == Status::ok ? 1 : 0;
        wake(*caller, Status::ok);
        d.regs.r9 = caller->regs.r9;  // the replier learns whether the cap went
        return_status(d, Status::ok);
    }
    case abi::Sys::ipc_reply_recv: {
        Domain* caller = d.reply_to;
        d.reply_to = nullptr;
        if (caller && caller->state == DomainState::blocked && caller->wait == IpcWait::reply) {
            caller->regs.rsi = d.regs.rsi;
            caller->regs.rdx = d.regs.rdx;
            caller->regs.r10 = d.regs.r10;
            caller->regs.r8 = d.regs.r8;
            caller->regs.rdi = 0;
            caller->regs.r9 = 0;
            wake(*caller, Status::ok);
        } else {
            caller = nullptr;
        }
        const auto ep = prepare_recv(d, d.regs.r9);
        if (!ep.ok()) return_status(d, ep.status());
        receive(d, *ep);
        if (caller) switch_to_domain(*caller);  // fast path: straight back to the caller
        schedule();
    }
    default:
        return_status(d, Status::invalid_argument);
    }
}

void sys_notify_wait(Domain& d, std::uint64_t cptr) {
    const auto slot = cspace_cap(d, cptr, CapType::notification, Rights::receive);
    if (!slot.ok()) return_status(d, slot.status());
    const std::uint64_t object = cap_table().cap(*slot).base;
    auto* word = arch::phys_to_virt<std::uint64_t>(object);
    if (*word) {
        d.regs.rdx = *word;
        *word = 0;
        return_status(d, Status::ok);
    }
    block(d, IpcWait::notify, object);
    schedule();
}

Status sys_notify_signal(Domain& d, std::uint64_t cptr, std::uint64_t bits) {
    const caps::SlotIdx slot = MYR_TRY(cspace_cap(d, cptr, CapType::notification, Rights::send));
    const caps::Cap& c = cap_table().cap(slot);
    auto* word = arch::phys_to_virt<std::uint64_t>(c.base);
    *word |= bits ? bits : c.badge();
    if (!*word) return Status::ok;
    if (Domain* w = find_waiter(c.base, IpcWait::notify, IpcWait::notify)) {
        w->regs.rdx = *word;
        *word = 0;
        wake(*w, Status::ok);
    }
    return Status::ok;
}

void ipc_forget(Domain& d) {
    Domain* t = domain_table();
    for (std::uint32_t i = 0; i < max_domains; ++i)
        if (t[i].reply_to == &d) t[i].reply_to = nullptr;
    if (d.reply_to && d.reply_to->state == DomainState::blocked && d.reply_to->wait == IpcWait::reply)
        wake(*d.reply_to, Status::connection_lost);
    d.reply_to = nullptr;
    d.wait = IpcWait::none;
}

void ipc_endpoint_gone(std::uint64_t ep) {
    Domain* t = domain_table();
    for (std::uint32_t i = 0; i < max_domains; ++i) {
        Domain& x = t[i];
        if (x.state == DomainState::blocked && x.wait_ep == ep && x.wait != IpcWait::reply)
            wake(x, Status::connection_lost);
    }
}

bool ipc_keeps_core_busy(const Domain& d) {
    if (d.state == DomainState::runnable) return true;
    return d.state == DomainState::blocked && d.wait != IpcWait::recv;
}

} // namespace myr::kernel
