#pragma once
// Heartbeats to this core's monitor (docs/monitors.md, "Supervision"): a server instance whose
// [[server]] table sets `heartbeat` must call MonitorOp::heartbeat within every period, or its
// monitor ends it as hung and restarts it by its policy. Call poll() on every pass of the serving
// loop (rpc::Server does): it costs one `ticks` call, and a monitor call a quarter period apart.
// The first call asks the monitor for the period; a domain without one never calls again.
#include <myr/user/monitor_call.hpp>

namespace myr::user {

// How often this domain's monitor restarted it after crashes (0: its first start, or not a
// supervised server instance): a restarted server recovers its state instead of starting empty.
inline std::uint64_t restarts() {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::heartbeat);
    return monitor_call(m) == Status::ok ? m.w[3] : 0;
}

class Heartbeat {
public:
    void poll() {
        if (m_off) return;
        const std::uint64_t now = ticks();
        if (m_asked && now < m_next) return;
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::heartbeat);
        if (monitor_call(m) != Status::ok || m.w[1] == 0) {
            m_off = true;  // not supervised by heartbeat (or an old monitor): never again
            return;
        }
        m_asked = true;
        ++m_beats;
        const std::uint64_t quarter = m.w[2] / 4;  // the period in this core's ticks
        m_next = now + (quarter ? quarter : 1);
    }
    [[nodiscard]] std::uint64_t beats() const { return m_beats; }

private:
    bool m_off = false, m_asked = false;
    std::uint64_t m_next = 0, m_beats = 0;
};

// The domain's heartbeat: the serving loop beats (rpc::Server::poll), and so does a wait that is
// bounded and part of serving (an RPC call's wait for its reply, rpc::Client): a server that waits
// on another server is not hung, and is not ended for it while the call's own timeout runs. One
// per domain (a domain runs one thread).
inline Heartbeat& heartbeat() {
    static Heartbeat h;
    return h;
}

// wait_event inside such a bounded wait (the RPC and name-service runtimes' retry loops).
inline void wait_beating() {
    heartbeat().poll();
    wait_event();
}

// The wait between tries of a request refused for now (a bind answered busy, a name not there
// yet): the first tries follow each other at the pace of wake-ups, then each wait doubles, up to
// `max_ticks` timer ticks, and is cut to a random part between half and all of it, so clients
// refused together do not all come back together. Retrying at every wake-up while kvstore's
// primary stalled, the 63 clients of qemu_servers_all_8s8c once made the monitors carry 104 085
// lines instead of the usual ~14 300, mostly retried binds (384 to 1100 lines from each client's
// core; how many went to which core was not counted).
class Backoff {
public:
    explicit Backoff(std::uint64_t max_ticks = 16) : m_max(max_ticks ? max_ticks : 1) {}
    void wait() {
        if (m_tries < quick_tries) {
            ++m_tries;
            return wait_beating();
        }
        const std::uint64_t next = m_step == 0 ? 2 : m_step * 2;
        m_step = next > m_max ? m_max : next;
        if (m_rng.s == 0) m_rng.s = rdtsc() | 1;
        const std::uint64_t half = m_step / 2;
        const std::uint64_t until = ticks() + m_step - half + m_rng.next() % (half + 1);
        do wait_beating();
        while (ticks() < until);
    }

private:
    static constexpr unsigned quick_tries = 3;
    std::uint64_t m_max, m_step = 0;
    unsigned m_tries = 0;
    Rng m_rng{0};
};

} // namespace myr::user
