#pragma once
// Frames across cores (docs/capabilities.md, "Frames across cores in the guest"): a frame this
// domain carved from a memserv grant goes to a domain on another core (frame_give), which takes it
// as a frame capability of its own core (frame_take); the giver can take every such copy back
// (frame_revoke): once it returns ok no other core can reach the memory through it.
#include <myr/user/monitor_call.hpp>

namespace myr::user {

// Polls a give's or a revoke's ticket until it is answered, sleeping between tries (timeout after
// `tries` timer ticks; the ticket stays the monitor's until it is answered).
inline Status frame_wait(std::uint64_t ticket, std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::frame_poll);
    m.w[1] = ticket;
    return remote_call(m, tries);
}

// Gives a copy of the frame in slot `frame` to `domain` on `core` and waits until that core's
// monitor holds it for the domain (ok), or says why not (MonitorOp::frame_give, frame_poll).
inline Status frame_give(std::uint64_t frame, std::uint64_t core, std::uint64_t domain, std::uint64_t tries = 100000) {
    std::uint64_t ticket = 0;
    const Status s = monitor_call_with_cap(abi::MonitorOp::frame_give, frame, core, domain, ticket);
    return s == Status::ok ? frame_wait(ticket, tries) : s;
}

// Removes every copy of the frame in slot `frame` that was given to other cores, with their
// mappings; ok once none is left (this domain's own capabilities stay).
inline Status frame_revoke(std::uint64_t frame, std::uint64_t tries = 100000) {
    std::uint64_t ticket = 0;
    const Status s = monitor_call_with_cap(abi::MonitorOp::frame_revoke, frame, 0, 0, ticket);
    return s == Status::ok ? frame_wait(ticket, tries) : s;
}

// Moves the ownership of the frame in slot `frame` (this domain gave it) to the domain holding its
// copy on `core`, which may then revoke the other copies (not this core's) and pass its own on;
// ok once it owns it (MonitorOp::frame_move). This domain keeps its copy, and can still take every
// other copy back with frame_revoke: the memory stays its grant's.
inline Status frame_move(std::uint64_t frame, std::uint64_t core, std::uint64_t tries = 100000) {
    std::uint64_t ticket = 0;
    const Status s = monitor_call_with_cap(abi::MonitorOp::frame_move, frame, core, 0, ticket);
    return s == Status::ok ? frame_wait(ticket, tries) : s;
}

struct GivenFrame {
    std::uint64_t from_core, base, size;
};
// Takes the oldest frame given to this domain into `slot`, waiting up to `tries` timer ticks.
inline Status frame_take(std::uint64_t slot, GivenFrame& out, std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::frame_take);
    const Status s = remote_call(m, tries, slot);
    if (s != Status::ok) return s;
    out = {m.w[1], m.w[2], m.w[3]};
    return m.cap_arrived == 1 ? s : Status::internal;
}

} // namespace myr::user
