#pragma once
// Local synchronous IPC between domains of this core (endpoints). Register-only messages of
// abi::ipc_words words; a capability can travel with a message, or back with the reply to a
// call, when the sender's (caller's) endpoint cap has the grant right; a reply never moves a
// pinned cap. The fast path switches straight from sender to receiver.
#include "domain.hpp"

#include <myr/abi/syscall.hpp>

namespace myr::kernel {

// ipc_send / ipc_recv / ipc_call / ipc_reply_recv for the current domain `d` (its registers are
// in d.regs). Never returns: resumes d or switches to another domain.
[[noreturn]] void sys_ipc(Domain& d, abi::Sys op);

// Notifications: a word of signal bits in the object's memory. signal ORs bits (or the cap's
// badge when bits is 0) and wakes a waiter; wait returns the bits and clears them, or blocks.
[[noreturn]] void sys_notify_wait(Domain& d, std::uint64_t cptr);
Status sys_notify_signal(Domain& d, std::uint64_t cptr, std::uint64_t bits);

void ipc_forget(Domain& d);                // d is being destroyed
void ipc_endpoint_gone(std::uint64_t ep);  // an endpoint's or notification's last capability went away
bool ipc_keeps_core_busy(const Domain& d); // false for a server idling in receive (without recv_events)
// Takes d, blocked in receive, off its endpoint's queue and makes it runnable (its status is the
// caller's to set): a receive with recv_events ended by a wake-up.
void ipc_cancel_receive(Domain& d);

} // namespace myr::kernel
