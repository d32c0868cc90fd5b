#pragma once
// Endpoints and notifications across cores (docs/capabilities.md, "Endpoints and notifications
// across cores"): a domain gives its endpoint or notification capability to a domain on another
// core (far_give), which takes a far capability (far_take). A call on it (far_send) carries four
// words to the object on its own core: a send the server receives with the badge of the
// capability that was given, or a signal (bits = the first word, 0: that badge). Asynchronous:
// ok means the words are on their way; busy while four of them still wait there.
#include <myr/user/monitor_call.hpp>

namespace myr::user {

namespace detail {
inline Status far_wait(std::uint64_t ticket, std::uint64_t tries) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::far_poll);
    m.w[1] = ticket;
    return remote_call(m, tries);
}
} // namespace detail

// Gives the endpoint or notification in slot `cap` (it needs the send right) to `domain` on
// `core`; ok once that core's monitor holds a far capability for it (MonitorOp::far_give).
inline Status far_give(std::uint64_t cap, std::uint64_t core, std::uint64_t domain, std::uint64_t tries = 100000) {
    std::uint64_t ticket = 0;
    const Status s = monitor_call_with_cap(abi::MonitorOp::far_give, cap, core, domain, ticket);
    return s == Status::ok ? detail::far_wait(ticket, tries) : s;
}

// Every far capability this domain gave of the object `cap` names goes, on every core; ok once
// none is left. (Revoking the capability it gave, with cap_revoke, or ending the object, also
// ends them, within a timer tick.)
inline Status far_revoke(std::uint64_t cap, std::uint64_t tries = 100000) {
    std::uint64_t ticket = 0;
    const Status s = monitor_call_with_cap(abi::MonitorOp::far_revoke, cap, 0, 0, ticket);
    return s == Status::ok ? detail::far_wait(ticket, tries) : s;
}

struct FarCap {
    std::uint64_t owner_core, giver, kind;  // kind: 1 endpoint, 2 notification
};
// Takes the oldest far capability given to this domain into `slot`, waiting up to `tries` ticks.
inline Status far_take(std::uint64_t slot, FarCap& out, std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::far_take);
    const Status s = remote_call(m, tries, slot);
    if (s != Status::ok) return s;
    out = {m.w[1], m.w[2], m.w[3]};
    return m.cap_arrived == 1 ? s : Status::internal;
}

// Four words to the object far capability `cap` names: ok once on their way; busy while four
// earlier ones wait there (try again); not_found once it was revoked.
inline Status far_send(std::uint64_t cap, std::uint64_t w0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
                       std::uint64_t w3 = 0) {
    Message m{};
    m.w[0] = w0;
    m.w[1] = w1;
    m.w[2] = w2;
    m.w[3] = w3;
    const Status s = ipc(abi::Sys::ipc_call, cap, m);
    return s == Status::ok ? static_cast<Status>(static_cast<std::int32_t>(m.w[0])) : s;
}

// far_send, sleeping and trying again while busy, up to `tries` timer ticks.
inline Status far_send_wait(std::uint64_t cap, std::uint64_t w0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
                            std::uint64_t w3 = 0, std::uint64_t tries = 100000) {
    for (Deadline limit(tries); !limit.passed();) {
        const Status s = far_send(cap, w0, w1, w2, w3);
        if (s != Status::busy) return s;
        wait_event();
    }
    return Status::timeout;
}

} // namespace myr::user
