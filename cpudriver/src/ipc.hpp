#pragma once
// Local synchronous IPC between domains of this core (endpoints). Register-only messages of
// abi::ipc_words words; a capability can travel with a message when the sender's endpoint cap
// has the grant right. The fast path switches straight from sender to receiver.
#include "domain.hpp"

#include <myr/abi/syscall.hpp>

namespace myr::kernel {

// ipc_send / ipc_recv / ipc_call / ipc_reply_recv for the current domain `d` (its registers are
// in d.regs). Never returns: resumes d or switches to another domain.
[[noreturn]] void sys_ipc(Domain& d, abi::Sys op);

void ipc_forget(Domain& d);                // d is being destroyed
void ipc_endpoint_gone(std::uint64_t ep);  // the endpoint object's last capability went away
bool ipc_keeps_core_busy(const Domain& d); // false for a server idling in receive

} // namespace myr::kernel
