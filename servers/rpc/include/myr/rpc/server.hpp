#pragma once
// The server side of the RPC runtime (docs/servers.md, "Client and server"): rpc::Server exports
// a name, accepts clients (each a connection of guest.hpp, Conn) and answers their requests
// through dispatch() (interface.hpp); LocalEndpoint, the endpoint it takes same-core calls on;
// map_kept, a server instance's kept memory in the ring window. Clients include guest.hpp only.
#include <myr/rpc/guest.hpp>
#include <myr/user/kept.hpp>

namespace myr::rpc {

// This server instance's kept memory (user/kept.hpp, docs/monitors.md "Kept memory"), 2^bits
// bytes mapped at the top of the ring window, whose last pairs it takes for good: it shares the
// window's page table, so it costs the domain one capability slot. busy: those pairs are in use,
// or no slot is free; otherwise what user::kept_memory answers.
inline Status map_kept(std::uint64_t bits, user::KeptBlock& out) {
    if (bits < abi::kept_min_bits || bits > abi::kept_max_bits) return Status::invalid_argument;
    const std::uint64_t bytes = std::uint64_t{1} << bits, pair = 2 * user::bind_ring_bytes;
    RingWindow& w = RingWindow::instance();
    if (!w.reserve_top(static_cast<unsigned>((bytes + pair - 1) / pair))) return Status::busy;
    const std::uint64_t slot = Slots::instance().alloc();
    if (!slot) return Status::busy;  // the pairs stay taken: nothing else may map there
    const Status s = user::kept_memory(bits, slot, ring_window + window_connections * pair - bytes, w.tables(), out);
    if (s == Status::ok) w.trim_tables();
    else Slots::instance().free(slot);
    return s;
}

// The endpoint this domain's server receives local calls on: one per domain, made from the
// domain's own RAM on first use, so it ends with the domain (every cap minted from it goes, and a
// client blocked on it hears connection_lost). One Server object of a domain owns it: a badge
// names a connection of that object only (a second Server in the domain serves over rings).
class LocalEndpoint {
public:
    static LocalEndpoint& instance() {
        static LocalEndpoint e;
        return e;
    }
    // The endpoint's slot for `owner`, made on first use; 0 when another object owns it or no
    // slot or memory is left (that server then uses rings only).
    std::uint64_t claim(const void* owner) {
        if (m_owner && m_owner != owner) return 0;
        if (!m_slot && !m_failed) {
            const std::uint64_t slot = Slots::instance().alloc();
            if (slot && user::syscall6(abi::Sys::retype, user::cap::ram, user::captype::endpoint, 0, slot, 1).status ==
                            Status::ok) {
                m_slot = slot;
            } else {
                if (slot) Slots::instance().free(slot);
                m_failed = true;
            }
        }
        if (m_slot) m_owner = owner;
        return m_slot;
    }

private:
    const void* m_owner = nullptr;
    std::uint64_t m_slot = 0;
    bool m_failed = false;
};

// A server: exports a name, accepts clients, answers every request with dispatch(). Handler has
// `Status handle(const Caller&, const Op&, Op::Reply&)` for every Op of Iface, and may have
// `void closed(const Caller&)` (not required) to drop per-client state. A handler that cannot
// answer yet (nameserv's sequencer waits until another replica holds a change) returns
// Status::answer_later, keeps the Caller, and later calls answer<Op>(caller, status, reply); the
// client's call waits for that frame within its timeout, as for any reply.
template <typename Iface, typename Handler, unsigned MaxConnections = 12>
class Server {
public:
    explicit Server(Handler& h) : m_handler(h) {}

    Status start(const char* service) { return user::export_name(service); }

    // One pass over new clients, local calls waiting and every connection: at most one request
    // per connection, so a client that floods the server cannot starve the others. True when
    // anything happened. Never blocks (wait() does).
    bool poll() {
        user::heartbeat().poll();  // supervised servers (docs/monitors.md, "Supervision")
        // Asking the monitor for a new client is a local IPC round trip: every pass while idle
        // (the last pass found nothing to do: a bind's wake-up then finds it at once), every 64th
        // while clients keep the server busy, and every pass after one that found a client, until
        // none waits: a storm of binds (63 clients at boot) is taken in quickly, since each bind
        // not yet accepted holds slots of the server's monitor for its rings.
        const bool ask = m_passes++ % 64 == 0 || m_backlog || m_idle || open_connections() == 0;
        bool progress = ask && accept_one();
        if (ask) m_backlog = progress;
        // Same-core clients blocked in a call while we were busy: a few per pass.
        if (m_endpoint) progress = serve_local(false) || progress;
        for (unsigned i = 0; i < MaxConnections; ++i) {
            if (!m_conns[i].open) continue;
            const Status s = serve_conn(i, true);
            if (s == Status::would_block) continue;
            progress = true;
            // A local client's frame served by this pass before its call reached us (it was
            // preempted between writing the frame and calling): the call will find the ring
            // empty, and that is not a bad request.
            if (s == Status::ok && m_conns[i].open && m_conns[i].badge) m_conns[i].early = true;
        }
        // Connections of clients that ended without closing them (exit, fault, kill) are dropped
        // every half second while idle, not only when the table is full: each holds its binding's
        // entries at this core's monitor, and a monitor whose table is full of them refuses every
        // new bind on its core busy. nameserv's replica on a kvstore backup's core kept 16 such
        // sessions of dead backup instances: the next instance could not bind to it, so it never
        // served, and the restarted primary waited 10 s for it at start (the 10 000-fault
        // campaign: 134 of 3 481 primary restarts). The clock is a system call: it is read every
        // 8th idle pass only, which an idle server makes at least once a tick (wait() ends on the
        // next one), so a look comes at most 8 ticks after it is due.
        if (!progress && ++m_idle_passes % reap_every_idle_passes == 0 && open_connections() > 0) {
            const std::uint64_t now = user::ticks();
            if (now >= m_next_reap) {
                m_next_reap = now + 50;
                const std::uint64_t before = m_reaped;
                progress = reap_dead() != MaxConnections;
                if (progress)
                    user::print("rpc: dropped {} connection(s) of clients that ended ({} open)", m_reaped - before,
                                open_connections());
            }
        }
        m_idle = !progress;
        return progress;
    }

    // Sleeps until there may be work: wait_event, or, once a same-core client connected, a
    // receive on our endpoint that also ends on whatever ends wait_event (abi::recv_events):
    // local calls are served right there, each reply switching straight back to its caller
    // (ipc_reply_recv), until a wake-up (a doorbell, the next tick) says the rings need a pass.
    void wait() {
        if (m_endpoint) (void)serve_local(true);
        else user::wait_event();
    }

    // Takes one new client if the monitor has one: true when it did. For servers with their own
    // loop that sleep in wait_event (poll() asks only every 64th pass while clients are open).
    bool accept() { return accept_one(); }

    // Serves until stop() returns true (checked between passes).
    template <typename Stop>
    void run(Stop stop) {
        for (std::uint64_t idle = 0; !stop();) {
            idle = poll() ? 0 : idle + 1;
            idle_step(idle);
        }
    }
    // Idle, a server polls its rings a few more passes, then sleeps in wait(): a client's doorbell
    // (or, with an endpoint, its call) wakes it, and while it sleeps the other domains of its
    // core run. It used to yield for 2 000 passes first, so that a client on its core got the CPU
    // at once; but a waiting client yields or sleeps too, and two such domains switching to each
    // other kept the core (and, under single-threaded TCG, the whole machine) busy: the 3-replica
    // fault campaign's plan (configs/faults-k3.toml, 8 clients x 300 operations) took 15.9 s of
    // host time with the yields and 6.1 s without (QEMU 100% busy in both).
    void idle_step(std::uint64_t idle) {
        if (idle > 16) wait();
    }

    // The reply to a request whose handler returned Status::answer_later, sent now with a
    // doorbell. connection_lost when that client's connection is gone (closed, dropped, or taken
    // by another client since: the handler's closed() is the time to forget its answers);
    // invalid_argument for a caller no handler was given.
    template <typename Op>
    Status answer(const Caller& caller, Status status, const typename Op::Reply& reply) {
        if (caller.connection >= MaxConnections) return Status::invalid_argument;
        Conn& c = m_conns[caller.connection];
        if (!c.open || c.peer_core != caller.core || c.peer_domain != caller.domain) return Status::connection_lost;
        std::uint8_t out[max_frame];
        std::size_t len = 0;
        if (encode_answer<Op>(caller, status, reply, out, len) != Status::ok) return Status::invalid_argument;
        c.later = false;
        if (send_frame(c, type_reply, std::span<const std::uint8_t>(out, len), 20, true) != Status::ok) {
            drop(caller.connection, caller);
            return Status::connection_lost;
        }
        return Status::ok;
    }

    [[nodiscard]] std::uint64_t served() const { return m_served; }
    // Connections dropped because the client ended without closing them (reap_dead).
    [[nodiscard]] std::uint64_t reaped() const { return m_reaped; }
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
        if (free == MaxConnections) free = reap_dead();
        if (free == MaxConnections) return false;  // full: clients wait at their monitor
        user::Binding b{};
        if (user::try_accept(b) != Status::ok) return false;
        if (b.peer_core == own_core() && !m_endpoint) m_endpoint = LocalEndpoint::instance().claim(this);
        const std::uint64_t ep = b.peer_core == own_core() ? m_endpoint : 0;
        if (const Status s = m_conns[free].open_from(b, 2000, Side::server, ep); s != Status::ok)
            user::print("rpc: could not open the connection of core {} domain {}: {}", b.peer_core, b.peer_domain,
                        to_string(s));
        return true;
    }

    // One request of connection i, if a whole one is there: would_block (none), ok (answered,
    // the reply frame in the ring), connection_lost (the connection was closed or dropped).
    // `doorbell`: ring the client's core (not for a local call: its reply wakes the client).
    Status serve_conn(unsigned i, bool doorbell) {
        Conn& c = m_conns[i];
        const Status s = c.link.poll();
        if (s == Status::would_block) return s;
        const Caller caller{c.peer_core, c.peer_domain, i};
        if (s != Status::ok || (c.link.type() != type_request && c.link.type() != type_close)) {
            ++m_bad;
            answer_bad(c, doorbell);
            return Status::ok;
        }
        if (c.link.type() == type_close) {
            drop(i, caller);
            return Status::connection_lost;
        }
        std::uint8_t out[max_frame];
        std::size_t len = 0;
        c.later = false;
        if (dispatch(Iface{}, m_handler, caller, c.link.frame(), out, len) != Status::ok) return Status::ok;
        if (len == 0) {  // the handler answers later (answer())
            c.later = true;
            ++m_served;
            return Status::ok;
        }
        FrameHeader h{};
        std::span<const std::uint8_t> body;
        if (split_frame(std::span<const std::uint8_t>(out, len), h, body) == Status::ok &&
            h.status == static_cast<std::int16_t>(Status::bad_request))
            ++m_bad;
        ++m_served;
        // A client that never drains its ring must not stall the server: a few wake-ups, then
        // the reply is dropped (the client times out) and the connection closed.
        if (send_frame(c, type_reply, std::span<const std::uint8_t>(out, len), 20, doorbell) != Status::ok) {
            drop(i, caller);
            return Status::connection_lost;
        }
        return Status::ok;
    }

    // A local call with `badge`: serves that connection's frame. The answer's w0 (the caller's
    // view): ok, bad_request (no whole frame in the ring: counted as a bad request, nothing
    // served), connection_lost (no open connection has this badge: closed, or never ours).
    Status serve_call(std::uint64_t badge) {
        for (unsigned i = 0; i < MaxConnections; ++i) {
            if (!m_conns[i].open || m_conns[i].badge != badge || badge == 0) continue;
            const bool early = m_conns[i].early;
            m_conns[i].early = false;
            const Status s = serve_conn(i, false);
            // Answered by a pass already, or to be answered later: the caller then waits for the frame.
            if (s == Status::would_block && early) return m_conns[i].later ? Status::answer_later : Status::ok;
            if (s == Status::ok && m_conns[i].open && m_conns[i].later) return Status::answer_later;
            if (s == Status::would_block) ++m_bad;
            return s == Status::would_block ? Status::bad_request : s;
        }
        ++m_bad;
        return Status::connection_lost;
    }

    // Local calls on our endpoint. Polling (from a pass): up to 4 waiting callers, each answered
    // with ipc_reply. Blocking (wait()): receive with recv_events, and answer each call with
    // ipc_reply_recv (the kernel switches straight to the caller and back here with the next
    // call) until a wake-up ends the receive (would_block); every 64 calls in a row go back to
    // a pass, so the rings are polled however busy the same-core clients keep us.
    bool serve_local(bool block) {
        user::Message m{};
        m.w[0] = abi::no_cap;
        m.w[1] = block ? abi::recv_events : abi::recv_poll;
        Status s = user::ipc(abi::Sys::ipc_recv, m_endpoint, m);
        unsigned calls = 0;
        while (s == Status::ok) {
            const Status answer = serve_call(m.badge);
            ++calls;
            m = {};
            m.w[0] = static_cast<std::uint64_t>(static_cast<std::uint32_t>(answer));
            if (!block || calls >= 64) {
                (void)user::ipc(abi::Sys::ipc_reply, 0, m);
                if (!block && calls < 4) {
                    m = {};
                    m.w[0] = abi::no_cap;
                    m.w[1] = abi::recv_poll;
                    s = user::ipc(abi::Sys::ipc_recv, m_endpoint, m);
                    continue;
                }
                break;
            }
            s = user::ipc(abi::Sys::ipc_reply_recv, m_endpoint | abi::recv_events << 32, m);
        }
        return calls > 0;
    }

    void answer_bad(Conn& c, bool doorbell = true) {
        std::uint8_t out[header_bytes];
        std::size_t len = 0;
        const FrameHeader bad{0, 0, static_cast<std::int16_t>(Status::bad_request)};
        if (encode_frame<Empty>(bad, nullptr, out, len) == Status::ok)
            (void)send_frame(c, type_reply, std::span<const std::uint8_t>(out, len), 20, doorbell);
    }

    // Full: the connections of clients that ended without saying goodbye (exit, fault, kill) are
    // dropped, so dead clients cannot keep the server full for the living (one alive() call to
    // our monitor per open connection, only when full). The index of a freed entry, or
    // MaxConnections when every client is alive.
    unsigned reap_dead() {
        unsigned free = MaxConnections;
        for (unsigned i = 0; i < MaxConnections; ++i) {
            Conn& c = m_conns[i];
            if (!c.open || user::alive(c.peer_core, c.peer_domain) != Status::connection_lost) continue;
            drop(i, Caller{c.peer_core, c.peer_domain, i});
            ++m_reaped;
            if (free == MaxConnections) free = i;
        }
        return free;
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
    std::uint64_t m_reaped = 0;  // connections dropped because their client had ended
    std::uint64_t m_next_reap = 0;  // ticks: the next idle look for dead clients
    std::uint64_t m_idle_passes = 0;  // passes that found nothing to do: every 8th reads the clock
    static constexpr std::uint64_t reap_every_idle_passes = 8;
    bool m_backlog = false;  // the last accept found a client: ask again next pass
    bool m_idle = true;      // the last pass found nothing to do
    std::uint64_t m_endpoint = 0;  // slot of our endpoint for local calls (0: none yet)
};

} // namespace myr::rpc
