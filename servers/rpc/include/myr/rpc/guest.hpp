#pragma once
// The RPC runtime in a Myriad domain (docs/servers.md): connections are bindings the monitors set
// up (myr/user/bind.hpp), one pair of 4 KiB URPC rings each, on the same core or across cores;
// frames go over them with link.hpp. A Client binds once and calls operations of an interface;
// a Server accepts clients and answers each request through dispatch() (interface.hpp).
//
// Waiting is polling that sleeps: spin a little (answers across cores come fast), then
// wait_event (an IPI from the peer's doorbell, or the next timer tick). Timeouts count wake-ups.
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

private:
    std::uint64_t m_used[window_connections / 64] = {};
    user::TableSlots m_tables{0, 0};
};

// One open connection's resources: ring slots, doorbell, window entry, the link.
struct Conn {
    bool open = false;
    std::uint64_t rx_slot = 0, tx_slot = 0, bell_slot = 0;
    int window = -1;
    std::uint32_t peer_core = 0, peer_domain = 0;
    user::Channel channel{};
    Link link;

    // Takes the binding's doorbell and rings, maps them and attaches the link.
    Status open_from(const user::Binding& b, std::uint64_t tries) {
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
        if (s == Status::ok)
            s = user::open_channel(b, rx_slot, tx_slot, RingWindow::address(window), RingWindow::instance().tables(),
                                   channel, tries);
        if (s != Status::ok) {
            release();
            return s;
        }
        link.attach(channel.tx, channel.rx);
        peer_core = static_cast<std::uint32_t>(b.peer_core);
        peer_domain = static_cast<std::uint32_t>(b.peer_domain);
        open = true;
        return Status::ok;
    }

    // Deletes the ring and doorbell capabilities (which unmaps the rings) and frees the slots.
    void release() {
        Slots& slots = Slots::instance();
        for (std::uint64_t* slot : {&rx_slot, &tx_slot, &bell_slot}) {
            if (*slot) {
                (void)user::cap_delete(*slot);
                slots.free(*slot);
            }
            *slot = 0;
        }
        RingWindow::instance().free(window);
        window = -1;
        open = false;
    }

    void ring() const { user::ring(channel); }
};

// Sends a whole frame, waiting while the ring has no room (the peer drains it), at most `tries`
// timer ticks.
inline Status send_frame(Conn& c, std::uint8_t type, std::span<const std::uint8_t> frame, std::uint64_t tries) {
    user::Deadline limit(tries);
    for (std::uint64_t spin = 0;; ++spin) {
        const Status s = c.link.send(type, frame);
        if (s != Status::would_block) {
            if (s == Status::ok) c.ring();
            return s;
        }
        if (spin > 64) {
            if (limit.passed()) return Status::timeout;
            c.ring();
            user::wait_event();
        }
    }
}

// A client of one server: bind once, then call operations of its interface.
class Client {
public:
    // Timer ticks a call waits for its reply (at 100 Hz: 10 s).
    std::uint64_t timeout_ticks = 1000;
    // TSC ticks a call spins for a reply from another core before it sleeps.
    std::uint64_t spin_ticks = 50000;

    // Binds to the server that holds `service`. not_found: no such name (after `tries` timer ticks
    // of waiting for it to appear); busy: the monitors' or our own limits.
    Status connect(const char* service, std::uint64_t tries = 2000) {
        if (m_conn.open) return Status::exists;
        user::Binding b{};
        Status s = Status::not_found;
        for (user::Deadline limit(tries); !limit.passed();) {
            s = user::bind(service, b);
            if (s != Status::not_found) break;
            user::wait_event();  // the name may not have reached this core's monitor yet
        }
        if (s != Status::ok) return s;
        return m_conn.open_from(b, tries);
    }

    // Binds by address: to domain `domain` of core `core` (e.g. what a name server answered),
    // which must have accepted bindings at least once; `service` reaches the server with the
    // binding. not_found: no such accepting domain (or it is gone).
    Status connect_to(std::uint64_t core, std::uint64_t domain, std::uint64_t service = 0, std::uint64_t tries = 2000) {
        if (m_conn.open) return Status::exists;
        user::Binding b{};
        Status s = Status::busy;
        for (user::Deadline limit(tries); !limit.passed();) {
            s = user::bind_to(core, domain, service, b, tries);
            if (s != Status::busy) break;  // busy: as for connect(), retry while time is left
            user::wait_event();
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
        if (!m_conn.open) return Status::connection_lost;
        const std::uint32_t id = ++m_next_id == 0 ? ++m_next_id : m_next_id;
        std::uint8_t buf[max_frame];
        std::size_t len = 0;
        if (const Status s = encode_frame(FrameHeader{id, Op::op, 0}, &request, buf, len); s != Status::ok)
            return s == Status::overflow ? Status::invalid_argument : s;
        return exchange<Op>(std::span<const std::uint8_t>(buf, len), id, reply);
    }

    // Sends raw bytes as a request frame and waits for whatever answer comes (tests of servers'
    // decoders: truncated or oversized frames, unknown operations).
    Status call_raw(std::span<const std::uint8_t> frame, FrameHeader& answer) {
        if (!m_conn.open) return Status::connection_lost;
        if (const Status s = send_frame(m_conn, type_request, frame, timeout_ticks); s != Status::ok) return s;
        if (const Status s = await_frame(); s != Status::ok) return s;
        std::span<const std::uint8_t> body;
        return split_frame(m_conn.link.frame(), answer, body);
    }

    // Says goodbye (the server frees the connection) and frees ours.
    void close() {
        if (!m_conn.open) return;
        (void)send_frame(m_conn, type_close, {}, 10);
        m_conn.release();
    }

    [[nodiscard]] bool connected() const { return m_conn.open; }
    [[nodiscard]] const Conn& connection() const { return m_conn; }
    [[nodiscard]] std::uint32_t peer_core() const { return m_conn.peer_core; }
    [[nodiscard]] std::uint32_t peer_domain() const { return m_conn.peer_domain; }

private:
    template <typename Op>
    Status exchange(std::span<const std::uint8_t> frame, std::uint32_t id, typename Op::Reply& reply) {
        if (const Status s = send_frame(m_conn, type_request, frame, timeout_ticks); s != Status::ok) return s;
        for (;;) {
            if (const Status s = await_frame(); s != Status::ok) return s;
            Status call_status = Status::internal;
            if (decode_reply<Op>(m_conn.link.frame(), id, reply, call_status) == Status::ok) return call_status;
            // A late reply to an earlier call that timed out: not ours, keep waiting.
            FrameHeader h{};
            std::span<const std::uint8_t> body;
            if (split_frame(m_conn.link.frame(), h, body) == Status::ok && h.id != 0 && h.id < id) continue;
            return Status::bad_request;  // the server answered something that is not our reply
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
                user::wait_event();
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

    static std::uint32_t own_core() {
        static std::uint32_t core = ~0u;
        if (core == ~0u) core = static_cast<std::uint32_t>(user::syscall6(abi::Sys::domain_info).value >> 32);
        return core;
    }

    Conn m_conn;
    std::uint32_t m_next_id = 0;
};

// A server: exports a name, accepts clients, answers every request with dispatch(). Handler has
// `Status handle(const Caller&, const Op&, Op::Reply&)` for every Op of Iface, and may have
// `void closed(const Caller&)` (not required) to drop per-client state.
template <typename Iface, typename Handler, unsigned MaxConnections = 12>
class Server {
public:
    explicit Server(Handler& h) : m_handler(h) {}

    Status start(const char* service) { return user::export_name(service); }

    // One pass over new clients and every connection: at most one request per connection, so a
    // client that floods the server cannot starve the others. True when anything happened.
    bool poll() {
        m_heartbeat.poll();  // supervised servers (docs/monitors.md, "Supervision")
        // Asking the monitor for a new client is a local IPC round trip: every pass while idle,
        // every 64th while clients keep the server busy.
        bool progress = (m_passes++ % 64 == 0 || open_connections() == 0) && accept_one();
        for (unsigned i = 0; i < MaxConnections; ++i) {
            Conn& c = m_conns[i];
            if (!c.open) continue;
            const Status s = c.link.poll();
            if (s == Status::would_block) continue;
            progress = true;
            const Caller caller{c.peer_core, c.peer_domain, i};
            if (s != Status::ok) {
                ++m_bad;
                answer_bad(c);
                continue;
            }
            if (c.link.type() == type_close) {
                drop(i, caller);
                continue;
            }
            if (c.link.type() != type_request) {
                ++m_bad;
                answer_bad(c);
                continue;
            }
            std::uint8_t out[max_frame];
            std::size_t len = 0;
            if (dispatch(Iface{}, m_handler, caller, c.link.frame(), out, len) != Status::ok) continue;
            FrameHeader h{};
            std::span<const std::uint8_t> body;
            if (split_frame(std::span<const std::uint8_t>(out, len), h, body) == Status::ok &&
                h.status == static_cast<std::int16_t>(Status::bad_request))
                ++m_bad;
            ++m_served;
            // A client that never drains its ring must not stall the server: a few wake-ups, then
            // the reply is dropped (the client times out) and the connection closed.
            if (send_frame(c, type_reply, std::span<const std::uint8_t>(out, len), 20) != Status::ok) drop(i, caller);
        }
        return progress;
    }

    // Serves until stop() returns true (checked between passes).
    // Idle, it first yields (a client on this core gets the CPU at once instead of at the next
    // tick), then sleeps in wait_event (a client's doorbell wakes it).
    template <typename Stop>
    void run(Stop stop) {
        for (std::uint64_t idle = 0; !stop();) {
            idle = poll() ? 0 : idle + 1;
            idle_step(idle);
        }
    }
    static void idle_step(std::uint64_t idle) {
        if (idle > 2000) user::wait_event();
        else if (idle > 16) user::yield();
    }

    [[nodiscard]] std::uint64_t served() const { return m_served; }
    // Lines sent and received over every connection (closed ones included).
    [[nodiscard]] std::uint64_t lines_out() const {
        std::uint64_t n = m_closed_lines_out;
        for (const Conn& c : m_conns) n += c.open ? c.link.lines_out() : 0;
        return n;
    }
    [[nodiscard]] std::uint64_t lines_in() const {
        std::uint64_t n = m_closed_lines_in;
        for (const Conn& c : m_conns) n += c.open ? c.link.lines_in() : 0;
        return n;
    }
    [[nodiscard]] Conn& connection(unsigned i) { return m_conns[i]; }
    [[nodiscard]] std::uint64_t bad_requests() const { return m_bad; }
    [[nodiscard]] unsigned open_connections() const {
        unsigned n = 0;
        for (const Conn& c : m_conns) n += c.open ? 1 : 0;
        return n;
    }

private:
    bool accept_one() {
        unsigned free = MaxConnections;
        for (unsigned i = 0; i < MaxConnections; ++i)
            if (!m_conns[i].open) {
                free = i;
                break;
            }
        if (free == MaxConnections) return false;  // full: clients wait at their monitor
        user::Binding b{};
        if (user::try_accept(b) != Status::ok) return false;
        if (const Status s = m_conns[free].open_from(b, 2000); s != Status::ok)
            user::print("rpc: could not open the connection of core {} domain {}: {}", b.peer_core, b.peer_domain,
                        to_string(s));
        return true;
    }

    void answer_bad(Conn& c) {
        std::uint8_t out[header_bytes];
        std::size_t len = 0;
        const FrameHeader bad{0, 0, static_cast<std::int16_t>(Status::bad_request)};
        if (encode_frame<Empty>(bad, nullptr, out, len) == Status::ok)
            (void)send_frame(c, type_reply, std::span<const std::uint8_t>(out, len), 20);
    }

    void drop(unsigned i, const Caller& caller) {
        if constexpr (requires { m_handler.closed(caller); }) m_handler.closed(caller);
        m_closed_lines_out += m_conns[i].link.lines_out();
        m_closed_lines_in += m_conns[i].link.lines_in();
        m_conns[i].release();
    }

    Handler& m_handler;
    Conn m_conns[MaxConnections];
    std::uint64_t m_served = 0, m_bad = 0;
    std::uint64_t m_closed_lines_out = 0, m_closed_lines_in = 0;
    std::uint64_t m_passes = 0;
    user::Heartbeat m_heartbeat;
};

} // namespace myr::rpc
