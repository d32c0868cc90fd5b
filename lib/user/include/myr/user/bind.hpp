#pragma once
// Binding: a URPC channel between two domains on different cores, set up by their monitors
// (docs/monitors.md, "Binding"). A server exports a name; a client on any core binds to it; each
// side then holds two 4 KiB rings as channel_memory capabilities — the one it receives on lives
// in its own node's memory (receiver-local), the one it sends on in the
// peer's — maps both and talks with the interconnect library, no kernel on the data path.
//
// Set-up calls go to this core's monitor over local IPC (cap::monitor); the monitor answers at
// once, so waiting (for a peer core's monitor, for a client) is a poll that sleeps in wait_event
// between tries: the monitor wakes the core when an answer arrives.
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>
#include <myr/user/heartbeat.hpp>
#include <myr/user/monitor_call.hpp>
#include <myr/user/vspace.hpp>

namespace myr::user {

struct Binding {
    std::uint64_t id;           // the binding's number at this core's monitor
    std::uint64_t peer_core;
    std::uint64_t peer_domain;  // the peer's domain id on its core
    std::uint64_t service = 0;  // accept_service: the word the client passed to bind_to (0: by name)
};

inline constexpr std::uint64_t bind_ring_bytes = std::uint64_t{1} << abi::bind_ring_bits;
inline constexpr std::uint32_t bind_ring_slots = 32;  // 32 lines + control: 2.3 KiB of the 4 KiB ring
inline constexpr std::uint64_t bind_spare_offset = 3072;  // bytes past the ring free for experiments

// Clients on any core may bind to `name` (up to 16 bytes) once this returns ok. The monitors
// agree on every name first (of two domains exporting one name at once exactly one gets ok, the
// other `exists`): the monitor answers would_block until then, and this polls, sleeping in
// wait_event between tries (the monitor wakes the core when the outcome arrives); timeout after
// `tries` timer ticks.
inline Status export_name(const char* name, std::uint64_t tries = 100000) {
    for (Deadline limit(tries); !limit.passed();) {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::export_name);
        pack_name16(name, m.w[1], m.w[2]);
        const Status s = monitor_call(m);
        if (s != Status::would_block) return s;
        wait_event();
    }
    return Status::timeout;
}

// Withdraws a bind (or bind_to) whose ticket the caller will not poll again (MonitorOp::bind_cancel).
// A ticket left unpolled would count against the caller's bindings in set-up for the rest of its
// life: after two, every later bind of the domain was refused busy.
inline Status cancel_bind(std::uint64_t ticket) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_cancel);
    m.w[1] = ticket;
    return monitor_call(m);
}

// Polls op until it stops answering would_block (or `tries` timer ticks pass: timeout). A bind
// given up on that way is withdrawn (cancel_bind).
inline Status poll_binding(Message request, Binding& out, std::uint64_t tries) {
    for (Deadline limit(tries); !limit.passed();) {
        Message m = request;
        const Status s = monitor_call(m);
        if (s == Status::ok) {
            out = {m.w[1], m.w[2], m.w[3]};
            return s;
        }
        if (s != Status::would_block) return s;
        wait_event();
    }
    if (request.w[0] == static_cast<std::uint64_t>(abi::MonitorOp::bind_poll)) (void)cancel_bind(request.w[1]);
    return Status::timeout;
}

// Binds to the domain that exported `name`; not_found until some core's export reached ours.
inline Status bind(const char* name, Binding& out, std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind);
    pack_name16(name, m.w[1], m.w[2]);
    const Status s = monitor_call(m);
    if (s != Status::ok) return s;
    Message poll{};
    poll.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_poll);
    poll.w[1] = m.w[1];
    return poll_binding(poll, out, tries);
}

// Binds to domain `domain` of core `core` (an address, e.g. from a name server) that has called
// accept at least once; `service` reaches the server with the binding (accept_service), so one
// server can tell its interfaces apart. not_found when the domain never accepted or is gone.
inline Status bind_to(std::uint64_t core, std::uint64_t domain, std::uint64_t service, Binding& out,
                      std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_to);
    m.w[1] = core;
    m.w[2] = domain;
    m.w[3] = service;
    const Status s = monitor_call(m);
    if (s != Status::ok) return s;
    Message poll{};
    poll.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_poll);
    poll.w[1] = m.w[1];
    return poll_binding(poll, out, tries);
}

// A bind whose answer is asked for later: a single-threaded server starts it, goes on serving,
// and polls it between requests, so the other core's monitor's round trip never stalls it
// (kvstore's primary bringing back a backup). Withdrawn when dropped unanswered.
class PendingBind {
public:
    PendingBind() = default;
    PendingBind(const PendingBind&) = delete;
    PendingBind& operator=(const PendingBind&) = delete;
    ~PendingBind() { cancel(); }

    // By name (the monitors' table) or by address; ok: started, poll it; else the refusal.
    Status start(const char* name) {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind);
        pack_name16(name, m.w[1], m.w[2]);
        return begin(m);
    }
    Status start_to(std::uint64_t core, std::uint64_t domain, std::uint64_t service = 0) {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_to);
        m.w[1] = core;
        m.w[2] = domain;
        m.w[3] = service;
        return begin(m);
    }
    // One look: would_block while unanswered; ok with the binding, or the refusal. Done then.
    Status poll(Binding& out) {
        if (!m_active) return Status::not_found;
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_poll);
        m.w[1] = m_ticket;
        const Status s = monitor_call(m);
        if (s == Status::would_block) return s;
        m_active = false;
        if (s == Status::ok) out = {m.w[1], m.w[2], m.w[3]};
        return s;
    }
    void cancel() {
        if (m_active) (void)cancel_bind(m_ticket);
        m_active = false;
    }
    [[nodiscard]] bool active() const { return m_active; }
    [[nodiscard]] std::uint64_t started_at() const { return m_started; }  // timer ticks

private:
    Status begin(Message& m) {
        cancel();
        const Status s = monitor_call(m);
        if (s != Status::ok) return s;
        m_ticket = m.w[1];
        m_started = ticks();
        m_active = true;
        return s;
    }
    std::uint64_t m_ticket = 0, m_started = 0;
    bool m_active = false;
};

// One look for a client bound by name or by address, with its service word; would_block when
// none waits. The first accept of either kind lets clients bind to this domain by address.
inline Status try_accept_service(Binding& out) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::accept);
    m.w[1] = abi::accept_service;
    const Status s = monitor_call(m);
    if (s == Status::ok) out = {m.w[1], m.w[2] >> 32, m.w[2] & 0xffffffff, m.w[3]};
    return s;
}

// The next client bound to this domain's exported name.
inline Status accept(Binding& out, std::uint64_t tries = 100000) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::accept);
    return poll_binding(m, out, tries);
}

// One look without waiting: would_block when no client is waiting.
inline Status try_accept(Binding& out) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::accept);
    const Status s = monitor_call(m);
    if (s == Status::ok) out = {m.w[1], m.w[2], m.w[3]};
    return s;
}

// The two ends of a binding, mapped: rx on the ring in our memory, tx on the peer's.
struct Channel {
    urpc::Sender tx;
    urpc::Receiver rx;
    std::byte* rx_ring;
    std::byte* tx_ring;
    std::uint64_t doorbell = 0;  // slot of an IPI cap that rings only the peer's core (0: none)
    std::uint64_t peer_core = 0;
    std::uint64_t handle[2] = {};  // the rings' handles at our monitor (rx, tx) for unbind_ring; 0: not taken
};

// Gives a ring back (MonitorOp::unbind_ring): the caller deleted its capability first.
inline Status unbind_ring(std::uint64_t handle) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::unbind_ring);
    m.w[1] = handle;
    return monitor_call(m);
}

// Ends our side of a binding: deletes the ring capabilities (which unmaps them) and gives both
// rings back, so their memory is used again once the peer closed too or ended (docs/monitors.md,
// "Ring memory comes back"). The slots are empty afterwards; the doorbell is the caller's.
inline void close_channel(Channel& c, std::uint64_t rx_slot, std::uint64_t tx_slot) {
    const std::uint64_t slots[2] = {rx_slot, tx_slot};
    for (unsigned k = 0; k < 2; ++k) {
        if (slots[k]) (void)cap_delete(slots[k]);
        if (c.handle[k]) (void)unbind_ring(c.handle[k]);
        c.handle[k] = 0;
    }
    c.rx_ring = c.tx_ring = nullptr;
}

// A doorbell for the binding: an IPI capability that wakes only the peer's core (a peer sleeping
// in wait_event then runs at once instead of at its next timer tick). Take it before
// open_channel: the monitor forgets the binding once both rings are taken.
inline Status take_doorbell(const Binding& b, std::uint64_t slot, Channel& c) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::doorbell);
    m.w[1] = b.id;
    if (const Status s = monitor_call(m, slot); s != Status::ok) return s;
    if (m.cap_arrived != 1) return Status::not_found;
    c.doorbell = slot;
    c.peer_core = b.peer_core;
    return Status::ok;
}

// Local calls (docs/monitors.md, "Local calls"): on a binding between two domains of one core,
// the server offers its own endpoint (an unbadged cap with receive, in `endpoint`) before it
// takes its rings; the monitor mints the client a send-only cap to it badged with `badge`, a
// number the server sees on every call from this client and that no other binding ever gets.
inline Status local_offer(const Binding& b, std::uint64_t endpoint, std::uint64_t& badge) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::local_offer);
    m.w[1] = b.id;
    const Status s = ipc(abi::Sys::ipc_call, cap::monitor, m, abi::ipc_cap(endpoint, 0));
    if (s != Status::ok) return s;
    const auto answer = static_cast<Status>(static_cast<std::int32_t>(m.w[0]));
    if (answer == Status::ok) badge = m.w[1];
    return answer;
}

// The client's side, before open_channel: the send cap the server offered, into `slot`; waits
// (sleeping in wait_event) while the server has not decided, at most `tries` timer ticks.
// not_found: the server serves this binding over its rings only; unsupported: another core.
inline Status local_take(const Binding& b, std::uint64_t slot, std::uint64_t tries = 100000) {
    for (Deadline limit(tries);;) {  // asks at least once
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::local_take);
        m.w[1] = b.id;
        const Status s = monitor_call(m, slot);
        if (s == Status::ok) return m.cap_arrived == 1 ? s : Status::not_found;
        if (s != Status::would_block) return s;
        if (limit.passed()) return Status::timeout;
        wait_event();
    }
}

// Wakes the peer's core (no-op without a doorbell).
inline void ring(const Channel& c) {
    if (c.doorbell) (void)syscall6(abi::Sys::send_ipi, c.doorbell, c.peer_core);
}

// Attaches the sending end once the peer has formatted its receive ring (timeout after `tries`
// timer ticks; 0: one look).
// connection_lost: the peer (core, domain) ended before it formatted its ring (asked of our
// monitor every 16 wake-ups: a server accepting a client that was killed meanwhile does not wait
// out `tries` for it, and holds up its other clients no longer than that).
inline Status connect_channel(Channel& c, std::uint64_t tries = 100000, std::uint64_t peer_core = ~0ull,
                              std::uint64_t peer_domain = 0) {
    const std::span<std::byte> tx_mem(c.tx_ring, urpc::channel_bytes(bind_ring_slots));
    Deadline limit(tries);
    for (std::uint64_t wakeups = 0;; ++wakeups) {
        auto s = urpc::Sender::attach(tx_mem);
        if (s.ok()) {
            c.tx = *s;
            return Status::ok;
        }
        if (limit.passed()) return Status::timeout;
        if (peer_core != ~0ull && wakeups % 16 == 15 && alive(peer_core, peer_domain) == Status::connection_lost)
            return Status::connection_lost;
        wait_beating();
    }
}

// Takes the binding's two ring capabilities into slots rx_slot and tx_slot, maps them at vaddr
// (two pages; a page table that is missing there is made from cap::ram into the next of `tables`,
// see map_with_tables), formats the receive ring and attaches to the peer's once the peer
// formatted it.
inline Status open_channel(const Binding& b, std::uint64_t rx_slot, std::uint64_t tx_slot, std::uint64_t vaddr,
                           TableSlots& tables, Channel& out, std::uint64_t tries = 100000) {
    const std::uint64_t slots[2] = {rx_slot, tx_slot};
    for (std::uint64_t which = 0; which < 2; ++which) {
        // busy: the monitor makes the capability of a ring on another core when it is taken,
        // and had no free slot for it this moment.
        Message m{};
        Status took = Status::busy;
        for (Deadline limit(tries);; wait_event()) {
            m = Message{};
            m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::take_ring);
            m.w[1] = b.id;
            m.w[2] = which;
            took = monitor_call(m, slots[which]);
            if (took != Status::busy || limit.passed()) break;
        }
        if (took != Status::ok) return took;
        if (m.cap_arrived != 1) return Status::not_found;
        out.handle[which] = m.w[1];
        if (const Status s = map_with_tables(slots[which], vaddr + which * bind_ring_bytes, abi::map_write, cap::ram, tables);
            s != Status::ok) {
            print("open_channel: map ring {} (slot {}) at {:#x}: {}", which, slots[which], vaddr + which * bind_ring_bytes, to_string(s));
            return s;
        }
    }
    out.rx_ring = reinterpret_cast<std::byte*>(vaddr);
    out.tx_ring = reinterpret_cast<std::byte*>(vaddr + bind_ring_bytes);
    const std::span<std::byte> rx_mem(out.rx_ring, urpc::channel_bytes(bind_ring_slots));
    if (const Status s = urpc::format_channel(rx_mem, {bind_ring_slots, urpc::Wake::poll}); s != Status::ok) return s;
    out.rx = *urpc::Receiver::attach(rx_mem);
    return connect_channel(out, tries, b.peer_core, b.peer_domain);
}

} // namespace myr::user
