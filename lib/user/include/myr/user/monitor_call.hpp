#pragma once
// Calls to this core's monitor over local IPC (cap::monitor), the wire format of names, and the
// death feed's answer (docs/monitors.md). The monitor answers at once; see bind.hpp for the
// operations that poll.
#include <myr/user/syscall.hpp>

namespace myr::user {

// A name of up to 16 bytes as two words (the monitor's wire format).
inline void pack_name16(const char* name, std::uint64_t& w0, std::uint64_t& w1) {
    w0 = w1 = 0;
    for (unsigned i = 0; i < 16 && name[i]; ++i)
        (i < 8 ? w0 : w1) |= std::uint64_t{static_cast<unsigned char>(name[i])} << (8 * (i % 8));
}

// One call to this core's monitor: its answer's status comes in w0 (values in w1..w3).
inline Status monitor_call(Message& m, std::uint64_t reply_slot = 0) {
    const Status s = ipc(abi::Sys::ipc_call, cap::monitor, m, reply_slot ? abi::ipc_cap(abi::ipc_no_send, reply_slot) : abi::no_cap);
    if (s != Status::ok) return s;
    return static_cast<Status>(static_cast<std::int32_t>(m.w[0]));
}

// A monitor call that sends the capability in slot `cap` with it (w0 = op, w1, w2): its status, and
// the ticket it answered (w1) for a poll (frame_give, frame_revoke, far_give, ...).
inline Status monitor_call_with_cap(abi::MonitorOp op, std::uint64_t cap, std::uint64_t w1, std::uint64_t w2,
                                    std::uint64_t& ticket) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(op);
    m.w[1] = w1;
    m.w[2] = w2;
    Status s = ipc(abi::Sys::ipc_call, cap::monitor, m, abi::ipc_cap(cap, 0));
    if (s == Status::ok) s = static_cast<Status>(static_cast<std::int32_t>(m.w[0]));
    ticket = m.w[1];
    return s;
}

// Calls the monitor with `request` until it stops answering would_block (kill and list on another
// core, polls of gives and revokes, takes), sleeping in wait_event between tries; `request` then
// holds the answer. timeout after `tries` timer ticks. A capability in the answer lands in
// `reply_slot` (0: none).
inline Status remote_call(Message& request, std::uint64_t tries, std::uint64_t reply_slot = 0) {
    for (Deadline limit(tries); !limit.passed();) {
        Message m = request;
        const Status s = monitor_call(m, reply_slot);
        if (s != Status::would_block) {
            request = m;
            return s;
        }
        wait_event();
    }
    return Status::timeout;
}

// ok while no death of (core, domain) reached this core's monitor; connection_lost once one did.
inline Status alive(std::uint64_t core, std::uint64_t domain) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::alive);
    m.w[1] = core;
    m.w[2] = domain;
    return monitor_call(m);
}

} // namespace myr::user
