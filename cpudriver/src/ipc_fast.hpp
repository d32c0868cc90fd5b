#pragma once
// IPC internals shared by ipc.cpp and the system-call entry (syscall.cpp), which inlines the fast
// paths: the wait queues in an endpoint's memory, and the call / reply-and-receive fast paths.
#include "cspace.hpp"
#include "domain.hpp"

#include <arch/platform.hpp>
#include <myr/abi/syscall.hpp>

namespace myr::kernel::ipc_detail {

using caps::CapType;
using caps::Rights;

// Wait queues live in the waited-on object's own memory: an endpoint or notification is 64 bytes
// of RAM retyped by its owner, reachable only by the kernel (through the cap's base), zeroed at
// retype, so a new object starts with empty queues. Word 0 is a notification's signal bits
// (unused in an endpoint); the queues follow. Links are domain-table index + 1 (0 = none) in
// Domain::ipc_next, FIFO from head to tail. A domain waits on one object at a time.
struct WaitQueue {
    std::uint32_t head;
    std::uint32_t tail;
};
struct ObjectQueues {
    std::uint64_t signal_bits;  // notification only
    WaitQueue receivers;        // endpoint: IpcWait::recv; notification: IpcWait::notify
    WaitQueue senders;          // endpoint: IpcWait::send and IpcWait::call
    std::uint32_t receiver;     // endpoint: link of the domain that last received on it (0: none
                                // yet); a sender that has to queue wakes it (note_waiting_sender)
};
static_assert(sizeof(ObjectQueues) <= (std::size_t{1} << caps::endpoint_bits));
static_assert(sizeof(ObjectQueues) <= (std::size_t{1} << caps::notification_bits));

inline ObjectQueues& queues_of(std::uint64_t object) { return *arch::phys_to_virt<ObjectQueues>(object); }

inline std::uint32_t link_of(const Domain& d) { return static_cast<std::uint32_t>(&d - domain_table()) + 1; }
inline Domain& domain_of(std::uint32_t link) { return domain_table()[link - 1]; }

[[gnu::always_inline]] inline void enqueue(WaitQueue& q, Domain& d) {
    const std::uint32_t me = link_of(d);
    d.ipc_next = 0;
    if (q.tail) domain_of(q.tail).ipc_next = me;
    else q.head = me;
    q.tail = me;
}

// The longest waiter, taken off the queue; null when nobody waits.
[[gnu::always_inline]] inline Domain* dequeue(WaitQueue& q) {
    if (!q.head) return nullptr;
    Domain& d = domain_of(q.head);
    q.head = d.ipc_next;
    if (!q.head) q.tail = 0;
    d.ipc_next = 0;
    return &d;
}

// The reply's four words from replier d into its waiting caller (no badge, no capability yet).
inline void copy_reply(const Domain& d, Domain& caller) {
    caller.regs.rsi = d.regs.rsi;
    caller.regs.rdx = d.regs.rdx;
    caller.regs.r10 = d.regs.r10;
    caller.regs.r8 = d.regs.r8;
    caller.regs.rdi = 0;
    caller.regs.r9 = 0;
}

// The fast paths (docs/user-space.md, "IPC fast path"): a call that finds its server waiting,
// and a reply-and-receive that finds no message waiting, go straight to the partner with no
// dispatch, no Result plumbing and no scheduler. Each does exactly what sys_ipc would do in that
// case; anything else (no partner, a poll, a pending event, a bad cptr or missing right) returns
// and takes sys_ipc, which also produces every error.
template <bool with_caps>
[[gnu::always_inline]] inline void fast_call_impl(Domain& d) {
    arch::TrapFrame& r = d.regs;
    const auto e = cspace_cap(d, r.rdi, CapType::endpoint, Rights::send);
    if (!e.ok()) [[unlikely]] return;
    caps::CapTable& table = cap_table();
    const caps::Cap& ep = table.cap(*e);
    // Capabilities along (r9, abi::ipc_cap): one to give, and a slot for one in the reply. Only
    // with grant (prepare_send in ipc.cpp has the rules and the errors).
    caps::SlotIdx give = caps::no_slot, accept = caps::no_slot;
    if (with_caps) {
        if (!caps::has(ep.rights, Rights::grant)) return;
        const std::uint64_t send = r.r9 & 0xffff'ffff, reply = r.r9 >> 32;
        if (reply != 0) {
            const auto a = cspace_slot(d, reply);
            if (!a.ok()) return;
            accept = *a;
        }
        if (send != abi::ipc_no_send) {
            const auto g = cspace_slot(d, send);
            if (!g.ok() || table.cap(*g).is_null()) return;
            give = *g;
        }
    }
    WaitQueue& receivers = queues_of(ep.base).receivers;
    if (!receivers.head) return;
    Domain& s = *dequeue(receivers);
    s.regs.rsi = r.rsi;
    s.regs.rdx = r.rdx;
    s.regs.r10 = r.r10;
    s.regs.r8 = r.r8;
    s.regs.rdi = ep.badge();
    s.regs.r9 = 0;
    if (with_caps && give != caps::no_slot && s.recv_slot != caps::no_slot && table.cap(s.recv_slot).is_null())
        s.regs.r9 = table.copy_checked(give, s.recv_slot) ? 1 : 0;  // both slots checked above
    s.regs.rax = static_cast<std::uint64_t>(Status::ok);
    s.wait = IpcWait::none;
    s.state = DomainState::runnable;
    s.reply_to = &d;
    d.recv_slot = accept;  // where a capability in the reply may land
    d.wait = IpcWait::reply;
    d.wait_ep = ep.base;
    d.state = DomainState::blocked;
    switch_to_domain(s);
}

// A call with capabilities along is rarer and needs more registers: out of line, so the plain
// call's path (inline in on_syscall) does not pay for them.
[[gnu::noinline]] inline void fast_call_with_caps(Domain& d) { fast_call_impl<true>(d); }

[[gnu::always_inline]] inline void fast_call(Domain& d) {
    if (d.regs.r9 == abi::no_cap) fast_call_impl<false>(d);
    else fast_call_with_caps(d);
}

[[gnu::always_inline]] inline void fast_reply_recv(Domain& d) {
    arch::TrapFrame& r = d.regs;
    const std::uint64_t flags = r.rdi >> 32;
    if (flags & ~std::uint64_t{abi::recv_events}) return;
    Domain* caller = d.reply_to;
    if (!caller || caller->state != DomainState::blocked || caller->wait != IpcWait::reply) return;
    const auto e = cspace_cap(d, r.rdi & 0xffff'ffff, CapType::endpoint, Rights::receive);
    if (!e.ok()) [[unlikely]] return;
    caps::SlotIdx slot = caps::no_slot;
    if (r.r9 != abi::no_cap) {
        const auto c = cspace_slot(d, r.r9);
        if (!c.ok()) [[unlikely]] return;
        slot = *c;
    }
    const std::uint64_t ep = cap_table().cap(*e).base;
    ObjectQueues& q = queues_of(ep);
    if (q.senders.head) return;  // a message waits: sys_ipc hands it over
    const bool events = flags != 0;
    if (events && d.event_pending) return;
    d.reply_to = nullptr;
    copy_reply(d, *caller);
    caller->regs.rax = static_cast<std::uint64_t>(Status::ok);
    caller->wait = IpcWait::none;
    caller->state = DomainState::runnable;
    d.recv_slot = slot;
    d.recv_events = events;
    d.wait = IpcWait::recv;
    d.wait_ep = ep;
    d.state = DomainState::blocked;
    q.receiver = link_of(d);
    enqueue(q.receivers, d);
    switch_to_domain(*caller);
}

// d's system call, when it is one of the fast paths' and qualifies: never returns then.
[[gnu::always_inline]] inline void fastpath(Domain& d) {
    if (d.regs.rax == static_cast<std::uint64_t>(abi::Sys::ipc_call)) fast_call(d);
    else if (d.regs.rax == static_cast<std::uint64_t>(abi::Sys::ipc_reply_recv)) fast_reply_recv(d);
}

} // namespace myr::kernel::ipc_detail
