#include "ipc.hpp"
#include "ipc_fast.hpp"

#include "cspace.hpp"

#include <arch/platform.hpp>
#include <myr/kernel/console.hpp>

namespace myr::kernel {
namespace {

using namespace ipc_detail;
using caps::CapType;
using caps::Rights;

void set_status(Domain& d, Status s) { d.regs.rax = static_cast<std::uint64_t>(static_cast<std::uint32_t>(s)); }

[[noreturn]] void return_status(Domain& d, Status s) {
    set_status(d, s);
    arch::resume_user(d.regs, true);
}

WaitQueue& queue_for(std::uint64_t object, IpcWait why) {
    ObjectQueues& q = queues_of(object);
    return why == IpcWait::send || why == IpcWait::call ? q.senders : q.receivers;
}

// Takes d out of q wherever it is (a domain ending while it waits). At most max_domains steps.
void unlink(WaitQueue& q, Domain& d) {
    const std::uint32_t me = link_of(d);
    std::uint32_t prev = 0;
    for (std::uint32_t cur = q.head; cur; prev = cur, cur = domain_of(cur).ipc_next) {
        if (cur != me) continue;
        if (prev) domain_of(prev).ipc_next = d.ipc_next;
        else q.head = d.ipc_next;
        if (q.tail == me) q.tail = prev;
        d.ipc_next = 0;
        return;
    }
}

bool queued(IpcWait why) {
    return why == IpcWait::recv || why == IpcWait::send || why == IpcWait::call || why == IpcWait::notify;
}

// Blocks d on `ep` (an endpoint or notification object), at the back of its queue.
void block(Domain& d, IpcWait why, std::uint64_t ep) {
    d.wait = why;
    d.wait_ep = ep;
    d.state = DomainState::blocked;
    if (queued(why)) enqueue(queue_for(ep, why), d);
}

void wake(Domain& d, Status s) {
    d.wait = IpcWait::none;
    d.state = DomainState::runnable;
    set_status(d, s);
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
Result<std::uint64_t> prepare_send(Domain& d, std::uint64_t cptr, bool call) {
    const caps::SlotIdx e = MYR_TRY(cspace_cap(d, cptr, CapType::endpoint, Rights::send));
    const caps::Cap& ep = cap_table().cap(e);
    d.send_badge = ep.badge();
    d.send_cap_slot = caps::no_slot;
    d.recv_slot = caps::no_slot;
    if (d.regs.r9 != abi::no_cap) {
        const std::uint64_t send = d.regs.r9 & 0xffff'ffff, reply = d.regs.r9 >> 32;
        if (reply != 0) {
            if (!call) return Status::invalid_argument;
            // A capability travels over a call only where the caller's cap has grant, in either
            // direction: a client given a send-only cap neither gives nor takes capabilities.
            if (!caps::has(ep.rights, Rights::grant)) return Status::permission_denied;
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

// A sender now waits on ep with no receiver blocked there: wakes the domain that receives on ep
// when it sleeps in wait_event (a monitor polls its endpoint between its URPC polls), or leaves
// the wake-up pending for its next wait_event. That is the domain that last received on ep; until
// one has, every domain of the core. Never the sender itself: it waits for this very call, and a
// wake-up pending for it sent a client that polls its monitor (bind_poll, would_block, wait_event)
// straight back to the monitor, so the two switched back and forth at full speed until the
// answer came from the other core, which under single-threaded TCG starved that core too.
void note_waiting_sender(Domain& sender, std::uint64_t ep) {
    if (const std::uint32_t r = queues_of(ep).receiver; r != 0 && &domain_of(r) != &sender) {
        Domain& receiver = domain_of(r);
        if (receiver.state != DomainState::free && receiver.state != DomainState::dead) {
            wake_event_waiter(receiver);
            return;
        }
    }
    const bool had = sender.event_pending;
    wake_event_waiters();
    sender.event_pending = had;
}

// Receiver side: checks the endpoint cap and where a capability may land.
Result<std::uint64_t> prepare_recv(Domain& d, std::uint64_t ep_cptr, std::uint64_t recv_cptr) {
    const caps::SlotIdx e = MYR_TRY(cspace_cap(d, ep_cptr, CapType::endpoint, Rights::receive));
    d.recv_slot = caps::no_slot;
    if (recv_cptr != abi::no_cap) d.recv_slot = MYR_TRY(cspace_slot(d, recv_cptr));
    return cap_table().cap(e).base;
}

// Receive on ep for d: take the longest-waiting sender, or block (or, polling, answer
// would_block). With recv_events the receive also ends (would_block) on whatever would end a
// wait_event: a wake-up that came since d last waited ends it at once and is used up, exactly
// as wait_event uses it, so none is lost between a poll of the rings and this receive. Returns
// only to block.
void receive(Domain& d, std::uint64_t ep, std::uint64_t flags = 0) {
    queues_of(ep).receiver = link_of(d);
    Domain* s = dequeue(queues_of(ep).senders);
    if (!s) {
        if (flags & abi::recv_poll) return_status(d, Status::would_block);
        const bool events = (flags & abi::recv_events) != 0;
        if (events && d.event_pending) {
            d.event_pending = false;
            return_status(d, Status::would_block);
        }
        d.recv_events = events;
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
        // ipc_send: rdi = the endpoint's cptr in bits 0-31, flags (send_poll) in bits 32-63.
        const std::uint64_t flags = call ? 0 : d.regs.rdi >> 32;
        if (flags & ~abi::send_poll) return_status(d, Status::invalid_argument);
        const auto ep = prepare_send(d, call ? d.regs.rdi : d.regs.rdi & 0xffff'ffff, call);
        if (!ep.ok()) return_status(d, ep.status());
        Domain* r = dequeue(queues_of(*ep).receivers);
        if (!r) {
            // Nobody receives there now: a polling send leaves nothing queued (a monitor handing
            // on a message from another core must never block).
            if (flags & abi::send_poll) return_status(d, Status::would_block);
            block(d, call ? IpcWait::call : IpcWait::send, *ep);
            note_waiting_sender(d, *ep);
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
        if (d.regs.rdx & ~(abi::recv_poll | abi::recv_events)) return_status(d, Status::invalid_argument);
        const auto ep = prepare_recv(d, d.regs.rdi, d.regs.rsi);
        if (!ep.ok()) return_status(d, ep.status());
        receive(d, *ep, d.regs.rdx);
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
            // A cap the kernel pinned (lent RAM, own cnode, a monitor's privileges) never
            // moves; refused before the reply goes, so the replier can answer again without it.
            if (cap_table().cap(*c).pinned()) return_status(d, Status::permission_denied);
            give = *c;
        }
        d.reply_to = nullptr;
        copy_reply(d, *caller);
        if (give != caps::no_slot && caller->recv_slot != caps::no_slot && cap_table().cap(caller->recv_slot).is_null())
            caller->regs.r9 = cap_table().move(give, caller->recv_slot) == Status::ok ? 1 : 0;
        wake(*caller, Status::ok);
        d.regs.r9 = caller->regs.r9;  // the replier learns whether the cap went
        return_status(d, Status::ok);
    }
    case abi::Sys::ipc_reply_recv: {
        // rdi: the endpoint's cptr in bits 0-31, receive flags in bits 32-63.
        const std::uint64_t flags = d.regs.rdi >> 32;
        if (flags & ~(abi::recv_poll | abi::recv_events)) return_status(d, Status::invalid_argument);
        Domain* caller = d.reply_to;
        d.reply_to = nullptr;
        if (caller && caller->state == DomainState::blocked && caller->wait == IpcWait::reply) {
            copy_reply(d, *caller);
            wake(*caller, Status::ok);
        } else {
            caller = nullptr;
        }
        const auto ep = prepare_recv(d, d.regs.rdi & 0xffff'ffff, d.regs.r9);
        if (!ep.ok()) return_status(d, ep.status());
        receive(d, *ep, flags);
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
    if (Domain* w = dequeue(queues_of(c.base).receivers)) {
        w->regs.rdx = *word;
        *word = 0;
        wake(*w, Status::ok);
    }
    return Status::ok;
}

void ipc_forget(Domain& d) {
    // Still waiting in an object's queue: that object is live (its end would have woken d).
    if (d.state == DomainState::blocked && queued(d.wait)) unlink(queue_for(d.wait_ep, d.wait), d);
    Domain* t = domain_table();
    for (std::uint32_t i = 0; i < max_domains; ++i)
        if (t[i].reply_to == &d) t[i].reply_to = nullptr;
    if (d.reply_to && d.reply_to->state == DomainState::blocked && d.reply_to->wait == IpcWait::reply)
        wake(*d.reply_to, Status::connection_lost);
    d.reply_to = nullptr;
    d.wait = IpcWait::none;
}

void ipc_endpoint_gone(std::uint64_t ep) {
    // Everyone in its queues; a caller waiting for a reply waits on the replier, not on this.
    ObjectQueues& q = queues_of(ep);
    while (Domain* x = dequeue(q.receivers)) wake(*x, Status::connection_lost);
    while (Domain* x = dequeue(q.senders)) wake(*x, Status::connection_lost);
}

bool ipc_keeps_core_busy(const Domain& d) {
    if (d.state == DomainState::runnable) return true;
    // A receive that also waits for events is a wait_event (rings, other cores): busy.
    return d.state == DomainState::blocked && (d.wait != IpcWait::recv || d.recv_events);
}

void ipc_cancel_receive(Domain& d) {
    if (d.state != DomainState::blocked || d.wait != IpcWait::recv) return;
    unlink(queue_for(d.wait_ep, IpcWait::recv), d);
    d.recv_events = false;
    d.wait = IpcWait::none;
    d.state = DomainState::runnable;
}

} // namespace myr::kernel
