#pragma once
// The RPC runtime in a Myriad domain (docs/servers.md): connections are bindings the monitors set
// up (myr/user/bind.hpp), one pair of 4 KiB URPC rings each, on the same core or across cores;
// frames go over them with link.hpp. A Client binds once and calls operations of an interface;
// a Server (server.hpp) accepts clients and answers each request through dispatch()
// (interface.hpp). This file holds the Client and what both sides use: the connection (Conn),
// its capability slots and ring window, send_frame.
//
// Across cores, waiting is polling that sleeps: spin a little (answers across cores come fast),
// then wait_event (an IPI from the peer's doorbell, or the next timer tick). Timeouts count
// wake-ups. On one core a connection also carries local calls (docs/servers.md, "Two
// transports"): the client writes its frame into the ring as always, then ipc_calls the server's
// endpoint with a cap badged for its connection; the kernel switches straight to the server
// waiting in receive, which serves that connection's frame and replies, switching straight back.
#include <myr/rpc/link.hpp>
#include <myr/user/bind.hpp>
#include <myr/user/heartbeat.hpp>
#include <myr/user/domains.hpp>

namespace myr::rpc {

// Capability slots of this domain not used by the runtime's callers: the runtime takes its ring
// and doorbell slots here. Programs that use fixed slots of their own reserve them first.
class Slots {
public:
    static Slots& instance() {
        static Slots s;
        return s;
    }
    // A free slot, or 0 when none is left.
    std::uint64_t alloc() {
        for (std::uint64_t i = user::cap::first_free; i < user::cap::slots; ++i)
            if (!(m_used & (std::uint64_t{1} << i))) {
                m_used |= std::uint64_t{1} << i;
                return i;
            }
        return 0;
    }
    void free(std::uint64_t slot) {
        if (slot >= user::cap::first_free && slot < user::cap::slots) m_used &= ~(std::uint64_t{1} << slot);
    }
    void reserve(std::uint64_t slot) {
        if (slot < user::cap::slots) m_used |= std::uint64_t{1} << slot;
    }

private:
    std::uint64_t m_used = 0;
};

// Where the runtime maps rings: one 2 MiB window (one page table, made on first use) holding 256
// connections of two 4 KiB rings each.
inline constexpr std::uint64_t ring_window = 0x3000'0000;
inline constexpr unsigned window_connections = 256;

class RingWindow {
public:
    static RingWindow& instance() {
        static RingWindow w;
        return w;
    }
    // A free pair of pages in the window (its index), or -1.
    int alloc() {
        for (unsigned i = 0; i < window_connections; ++i)
            if (!(m_used[i / 64] & (std::uint64_t{1} << (i % 64)))) {
                m_used[i / 64] |= std::uint64_t{1} << (i % 64);
                return static_cast<int>(i);
            }
        return -1;
    }
    void free(int i) {
        if (i >= 0 && static_cast<unsigned>(i) < window_connections)
            m_used[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    }
    // Takes the window's last `pairs` pairs for good (a kept block mapped there: map_kept in
    // server.hpp); false when one of them is in use.
    bool reserve_top(unsigned pairs) {
        if (pairs == 0 || pairs > window_connections) return false;
        for (unsigned i = window_connections - pairs; i < window_connections; ++i)
            if (m_used[i / 64] & (std::uint64_t{1} << (i % 64))) return false;
        for (unsigned i = window_connections - pairs; i < window_connections; ++i) m_used[i / 64] |= std::uint64_t{1} << (i % 64);
        return true;
    }
    static std::uint64_t address(int i) { return ring_window + static_cast<std::uint64_t>(i) * 2 * user::bind_ring_bytes; }
    // Slots for the page tables over the window (up to three levels may be missing the first time).
    user::TableSlots& tables() {
        if (m_tables.end == 0) {
            m_tables.next = Slots::instance().alloc();
            for (int k = 0; k < 2; ++k) (void)Slots::instance().alloc();  // consecutive: alloc is lowest-first
            m_tables.end = m_tables.next + 3;
        }
        return m_tables;
    }
    // Once something is mapped in the window its page table exists, and no later map there makes
    // another: the slots set aside but not used go back (a domain has 64, and a server with many
    // connections needs nearly all of them).
    void trim_tables() {
        if (m_tables.end == 0) return;
        for (std::uint64_t t = m_tables.next; t < m_tables.end; ++t) Slots::instance().free(t);
        m_tables.end = m_tables.next;
    }

private:
    std::uint64_t m_used[window_connections / 64] = {};
    user::TableSlots m_tables{0, 0};
};

inline std::uint32_t own_core() {
    static std::uint32_t core = ~0u;
    if (core == ~0u) core = static_cast<std::uint32_t>(user::syscall6(abi::Sys::domain_info).value >> 32);
    return core;
}

enum class Side : std::uint8_t { client, server };

// One open connection's resources: ring slots, doorbell, window entry, the link; on one core
// also the local-call cap (client) or the badge its calls carry (server).
struct Conn {
    bool open = false;
    std::uint64_t rx_slot = 0, tx_slot = 0, bell_slot = 0;
    std::uint64_t local_slot = 0;  // client: send-only cap to the server's endpoint (0: rings only)
    std::uint64_t badge = 0;       // server: badge of this connection's local calls (0: none)
    bool early = false;            // server: a pass served its frame before the local call came
    bool later = false;            // server: its request is answered later (Server::answer)
    int window = -1;
    std::uint32_t peer_core = 0, peer_domain = 0;
    user::Channel channel{};
    Link link;

    // Takes the binding's doorbell and rings, maps them and attaches the link. On one core, a
    // server with an endpoint offers it first (`endpoint`); a client takes the cap if offered.
    // A failed offer or take leaves the connection on its rings.
    Status open_from(const user::Binding& b, std::uint64_t tries, Side side = Side::client, std::uint64_t endpoint = 0) {
        Slots& slots = Slots::instance();
        rx_slot = slots.alloc();
        tx_slot = slots.alloc();
        bell_slot = slots.alloc();
        window = RingWindow::instance().alloc();
        if (!rx_slot || !tx_slot || !bell_slot || window < 0) {
            release();
            return Status::busy;
        }
        channel = user::Channel{};
        Status s = user::take_doorbell(b, bell_slot, channel);
        if (s == Status::ok && b.peer_core == own_core()) {
            if (side == Side::server && endpoint) {
                if (user::local_offer(b, endpoint, badge) != Status::ok) badge = 0;
            } else if (side == Side::client && (local_slot = slots.alloc()) != 0) {
                // Any failure, a timeout included, leaves us on the rings: we take and format
                // ours as a client always did, so a server that accepts late (after a caller's
                // short `tries`) is not left waiting for a ring nobody formats.
                if (user::local_take(b, local_slot, tries) != Status::ok) {
                    slots.free(local_slot);
                    local_slot = 0;
                }
            }
        }
        if (s == Status::ok)
            s = user::open_channel(b, rx_slot, tx_slot, RingWindow::address(window), RingWindow::instance().tables(),
                                   channel, tries);
        if (s != Status::ok) {
            release();
            return s;
        }
        RingWindow::instance().trim_tables();
        link.attach(channel.tx, channel.rx);
        peer_core = static_cast<std::uint32_t>(b.peer_core);
        peer_domain = static_cast<std::uint32_t>(b.peer_domain);
        open = true;
        return Status::ok;
    }

    // Deletes the ring and doorbell capabilities (which unmaps the rings), gives the rings back
    // to the monitor (their memory is used again once the peer closed or ended too) and frees
    // the slots.
    void release() {
        Slots& slots = Slots::instance();
        user::close_channel(channel, rx_slot, tx_slot);
        for (std::uint64_t* slot : {&rx_slot, &tx_slot, &bell_slot, &local_slot}) {
            if (*slot) {
                (void)user::cap_delete(*slot);
                slots.free(*slot);
            }
            *slot = 0;
        }
        RingWindow::instance().free(window);
        window = -1;
        badge = 0;
        early = false;
        later = false;
        open = false;
    }

    void ring() const { user::ring(channel); }
};

// Sends a whole frame, waiting while the ring has no room (the peer drains it), at most `tries`
// timer ticks. `doorbell` false: a local call or its reply carries the news instead.
inline Status send_frame(Conn& c, std::uint8_t type, std::span<const std::uint8_t> frame, std::uint64_t tries,
                         bool doorbell = true) {
    user::Deadline limit(tries);
    for (std::uint64_t spin = 0;; ++spin) {
        const Status s = c.link.send(type, frame);
        if (s != Status::would_block) {
            if (s == Status::ok && doorbell) c.ring();
            return s;
        }
        if (spin > 64) {
            if (limit.passed()) return Status::timeout;
            c.ring();
            user::wait_beating();
        }
    }
}

// A client of one server: bind once, then call operations of its interface. When the
// connection is lost (the server ended: crashed, killed, restarted) or a reply does not come in
// time, a call of an operation that is safe to send again (retryable<Op>(), interface.hpp) binds
// again by the name it first bound by and sends the same request, same session and id, up to
// `retries` times: the server may be the same one restarted, or another replica that took the
// name over (docs/servers.md, "Retries").
class Client {
public:
    // Timer ticks a call waits for its reply (at 100 Hz: 10 s).
    std::uint64_t timeout_ticks = 1000;
    // TSC ticks a call spins for a reply from another core before it sleeps.
    std::uint64_t spin_ticks = 50000;
    // Times a retryable call binds again and resends after a lost connection or a timeout.
    unsigned retries = 3;

    // How to bind again: `rebind(client, name)` connects the (closed) client to `name` once more.
    // connect() and nameserv::connect set it; without it a lost connection stays lost.
    using Rebind = Status (*)(Client&, const char* name);
    void set_rebind(const char* name, Rebind fn) {
        std::size_t i = 0;
        for (; name && name[i] && i + 1 < sizeof m_name; ++i) m_name[i] = name[i];
        m_name[i] = '\0';
        m_rebind = (name && name[i] == '\0') ? fn : nullptr;  // a name too long to keep: no rebinding
    }

    // Binds to the server that holds `service`. not_found: no such name (after `tries` timer ticks
    // of waiting for it to appear); busy: the monitors' or our own limits.
    Status connect(const char* service, std::uint64_t tries = 2000) {
        if (m_conn.open) return Status::exists;
        user::Binding b{};
        Status s = Status::not_found;
        user::Backoff pause;
        for (user::Deadline limit(tries); !limit.passed();) {
            s = user::bind(service, b);
            // not_found: the name may not have reached this core's monitor yet; busy: a monitor
            // short of slots for rings in transit asks us to come back (nothing was charged).
            if (s != Status::not_found && s != Status::busy) break;
            pause.wait();
        }
        if (s != Status::ok) return s;
        set_rebind(service, [](Client& c, const char* name) { return c.connect(name); });
        return m_conn.open_from(b, tries);
    }

    // Binds by address: to domain `domain` of core `core` (e.g. what a name server answered),
    // which must have accepted bindings at least once; `service` reaches the server with the
    // binding. not_found: no such accepting domain (or it is gone).
    Status connect_to(std::uint64_t core, std::uint64_t domain, std::uint64_t service = 0, std::uint64_t tries = 2000) {
        if (m_conn.open) return Status::exists;
        user::Binding b{};
        Status s = Status::busy;
        user::Backoff pause;
        for (user::Deadline limit(tries); !limit.passed();) {
            s = user::bind_to(core, domain, service, b, tries);
            if (s != Status::busy) break;  // busy: as for connect(), retry while time is left
            pause.wait();
        }
        if (s != Status::ok) return s;
        return m_conn.open_from(b, tries);
    }

    // Opens the connection of a binding made elsewhere (user::bind without the waiting above).
    Status attach(const user::Binding& b, std::uint64_t tries = 2000) {
        if (m_conn.open) return Status::exists;
        return m_conn.open_from(b, tries);
    }

    // One request and its reply. The status is the server's answer (ok, not_found, busy,
    // bad_request, ...) or the runtime's: timeout (no reply in time), connection_lost (not
    // connected), invalid_argument (the request holds more than its fields' limits).
    template <typename Op>
    Status call(const Op& request, typename Op::Reply& reply) {
        constexpr bool again = retryable<Op>();
        if (!m_conn.open && !(again && m_rebind)) return Status::connection_lost;
        if (m_session == 0) m_session = next_session();
        const std::uint32_t id = ++m_next_id == 0 ? ++m_next_id : m_next_id;
        std::uint8_t buf[max_frame];
        std::size_t len = 0;
        if (const Status s = encode_frame(FrameHeader{id, Op::op, 0, m_session}, &request, buf, len); s != Status::ok)
            return s == Status::overflow ? Status::invalid_argument : s;
        const std::span<const std::uint8_t> frame(buf, len);
        Status s = m_conn.open ? exchange<Op>(frame, id, reply) : Status::connection_lost;
        if constexpr (again) {
            for (unsigned k = 0; k < retries && m_rebind && (s == Status::connection_lost || s == Status::timeout); ++k) {
                hang_up();  // timed out: say goodbye to the old server (it may be hung)
                if (m_rebind(*this, m_name) != Status::ok) return Status::connection_lost;
                ++m_retried;
                s = exchange<Op>(frame, id, reply);
            }
        }
        return s;
    }

    // Sends raw bytes as a request frame and waits for whatever answer comes (tests of servers'
    // decoders: truncated or oversized frames, unknown operations).
    Status call_raw(std::span<const std::uint8_t> frame, FrameHeader& answer) {
        if (!m_conn.open) return Status::connection_lost;
        if (const Status s = send_request(frame); s != Status::ok) return s;
        if (const Status s = next_reply(); s != Status::ok) return s;
        std::span<const std::uint8_t> body;
        return split_frame(m_conn.link.frame(), answer, body);
    }

    // Says goodbye (the server frees the connection) and frees ours. A closed client stays
    // closed: calls are connection_lost until it connects again (no rebinding by itself).
    void close() {
        m_rebind = nullptr;
        hang_up();
    }

    [[nodiscard]] bool connected() const { return m_conn.open; }
    // Requests sent again on a new connection (after a lost one or a timeout).
    [[nodiscard]] std::uint64_t retried() const { return m_retried; }
    [[nodiscard]] std::uint32_t session() const { return m_session; }
    [[nodiscard]] const Conn& connection() const { return m_conn; }
    [[nodiscard]] std::uint32_t peer_core() const { return m_conn.peer_core; }
    [[nodiscard]] std::uint32_t peer_domain() const { return m_conn.peer_domain; }
    // Whether calls go over local IPC (same core, the server offered its endpoint).
    [[nodiscard]] bool local() const { return m_conn.local_slot != 0; }

private:
    template <typename Op>
    Status exchange(std::span<const std::uint8_t> frame, std::uint32_t id, typename Op::Reply& reply) {
        if (const Status s = send_request(frame); s != Status::ok) return s;
        for (;;) {
            if (const Status s = next_reply(); s != Status::ok) return s;
            Status call_status = Status::internal;
            if (decode_reply<Op>(m_conn.link.frame(), id, reply, call_status) == Status::ok) return call_status;
            // A late reply to an earlier call that timed out: not ours, keep waiting.
            FrameHeader h{};
            std::span<const std::uint8_t> body;
            if (split_frame(m_conn.link.frame(), h, body) == Status::ok && h.id != 0 && h.id < id) continue;
            return Status::bad_request;  // the server answered something that is not our reply
        }
    }

    // The request frame into the ring; a local call then runs the server until it replied: the
    // reply frame is in the ring by then, and the answer's w0 says what the server made of the
    // call (ok: served; bad_request: no complete frame was there; connection_lost: not a
    // connection of its any more). No timeout: the kernel blocks us until the server replies or
    // ends (then connection_lost; see docs/servers.md).
    Status send_request(std::span<const std::uint8_t> frame) {
        const bool local = m_conn.local_slot != 0;
        if (const Status s = send_frame(m_conn, type_request, frame, timeout_ticks, !local); s != Status::ok) return s;
        if (!local) return Status::ok;
        user::Message m{};
        if (user::ipc(abi::Sys::ipc_call, m_conn.local_slot, m) != Status::ok) {
            m_conn.release();  // the server ended: its endpoint, and our cap, are gone
            return Status::connection_lost;
        }
        m_answer = static_cast<Status>(static_cast<std::int32_t>(m.w[0]));
        return Status::ok;
    }

    Status next_reply() {
        if (!m_conn.local_slot) return await_frame();
        for (;;) {
            const Status s = m_conn.link.poll();
            if (s == Status::ok) {
                if (m_conn.link.type() == type_reply) return s;
                continue;
            }
            if (s != Status::would_block) return Status::bad_request;
            const Status answer = m_answer;
            m_answer = Status::bad_request;  // one answer per call
            if (answer == Status::connection_lost) {
                m_conn.release();
                return answer;
            }
            // The server answers later (Status::answer_later): its frame comes with a doorbell,
            // within our timeout or not at all.
            if (answer == Status::answer_later) return await_frame();
            return answer == Status::ok ? Status::bad_request : answer;  // served, yet no reply frame
        }
    }

    // Waits for the next reply frame. A server on another core usually answers within a few
    // microseconds: spin that long (bounded by the TSC) before sleeping in wait_event, which costs
    // a wake-up IPI and a halt. On our own core spinning only delays the server: sleep at once.
    Status await_frame() {
        const bool same_core = m_conn.peer_core == own_core();
        std::uint64_t t0 = user::rdtsc();
        user::Deadline limit(timeout_ticks);
        for (std::uint64_t wakeups = 0;;) {
            const Status s = m_conn.link.poll();
            if (s == Status::ok) {
                if (m_conn.link.type() == type_reply) return s;
                continue;  // not a reply (a server does not send anything else): skip it
            }
            if (s != Status::would_block) return Status::bad_request;
            if (same_core || user::rdtsc() - t0 > spin_ticks) {
                if (limit.passed()) return Status::timeout;
                user::wait_beating();  // waiting for a reply within the timeout is not a hang
                ++wakeups;
                // A server that died answers nothing: every few wake-ups ask our monitor whether
                // the death feed reported it (a local answer, no message), and give up at once.
                if (wakeups % 16 == 0 && user::alive(m_conn.peer_core, m_conn.peer_domain) == Status::connection_lost) {
                    m_conn.release();
                    return Status::connection_lost;
                }
                t0 = user::rdtsc();
            }
        }
    }

    void hang_up() {
        if (!m_conn.open) return;
        (void)send_frame(m_conn, type_close, {}, 10);
        m_conn.release();
    }

    // Sessions of this domain's clients: 1, 2, 3, ... (a server tells domains apart by core and domain).
    static std::uint32_t next_session() {
        static std::uint32_t last = 0;
        return ++last == 0 ? ++last : last;
    }

    Conn m_conn;
    std::uint32_t m_next_id = 0;
    std::uint32_t m_session = 0;
    Status m_answer = Status::bad_request;
    Rebind m_rebind = nullptr;
    char m_name[64] = {};
    std::uint64_t m_retried = 0;
};

} // namespace myr::rpc
