#pragma once
// Supervision of one core's server instances (docs/monitors.md, "Supervision"): pure, so the
// monitor (monitor/servers.cpp, which keeps each instance's program and arguments and starts and
// kills domains) and the host simulation (tests/unit/supervision_sim_test.cpp, which crashes,
// hangs and stops instances at every step against a model of the rules) run one implementation.
//
// An instance of a configured server has a slot from its first start on. Per slot:
//   * heartbeats: with a period P, the instance must call heartbeat (MonitorOp::heartbeat) within
//     every P (the first within 2P of its start); next() hands the shell a `kill` for one that did
//     not, and its end then counts as a crash (hung);
//   * a crash (a fault, an exit with a code other than 0, hung, injected by the plan, or an end
//     nobody saw) asks its restart policy (myr/supervise.hpp): restart after the backoff, or stay
//     down for good; a clean exit, or a kill on request (stop:), is not a crash;
//   * a due restart comes out of next() as a `restart`, and the shell reports how it went.
// Clocks: the core's timer ticks (hz per second); policies count in milliseconds.
#include <myr/supervise.hpp>

#include <cstdint>

namespace myr::monitor::supervision {

enum class End : std::uint8_t {
    exit_ok,      // exit(0): done, not a crash
    exit_failed,  // exit with another code
    faulted,      // killed by the CPU for a fault
    killed,       // ended on request (stop:, a privileged kill): not a crash
    hung,         // ended by its monitor for a missed heartbeat
    injected,     // ended by a crash: plan step (fault injection)
    unknown,      // ended, how not known (or a restart that could not start)
};
[[nodiscard]] constexpr bool is_crash(End e) { return e != End::exit_ok && e != End::killed; }

struct Outcome {
    enum class Kind : std::uint8_t { none, restart, down } kind = Kind::none;
    End how = End::exit_ok;     // as counted (hung when the monitor ended it for its heartbeat)
    std::uint64_t delay_ms = 0; // restart: after this long
    std::uint64_t at = 0;       // restart: at this tick
    std::uint32_t restarts = 0; // restarts of the instance so far
};

struct Action {
    enum class Kind : std::uint8_t { kill_hung, restart } kind = Kind::restart;
    int slot = -1;
    std::uint32_t domain = 0;  // kill_hung: the domain to end; restart: the instance's last domain
};

template <unsigned Capacity = 16>
class Supervisor {
public:
    static constexpr unsigned capacity = Capacity;

    explicit constexpr Supervisor(std::uint64_t hz = 100) : m_hz(hz ? hz : 100) {}
    constexpr void set_hz(std::uint64_t hz) { m_hz = hz ? hz : 100; }
    [[nodiscard]] constexpr const supervise::Policy& policy(int slot) const { return m_e[valid(slot) ? slot : 0].policy; }

    [[nodiscard]] constexpr std::uint64_t ticks_of(std::uint64_t ms) const { return (ms * m_hz + 999) / 1000; }
    [[nodiscard]] constexpr std::uint64_t ms_of(std::uint64_t ticks) const { return ticks * 1000 / m_hz; }

    // A new supervised instance: its slot, or -1 when every slot is taken.
    [[nodiscard]] constexpr int add(const supervise::Policy& policy, std::uint64_t beat_ms) {
        for (unsigned i = 0; i < Capacity; ++i)
            if (!m_e[i].used) {
                m_e[i] = Entry{};
                m_e[i].used = true;
                m_e[i].policy = policy;
                m_e[i].beat = beat_ms ? ticks_of(beat_ms) : 0;
                m_e[i].beat_ms = beat_ms;
                return static_cast<int>(i);
            }
        return -1;
    }

    // The instance runs as `domain` (its first start, a restart, a start: step of the plan after it
    // ended or went down, or a move from another core).
    constexpr void started(int slot, std::uint32_t domain, std::uint64_t now) {
        if (!valid(slot)) return;
        Entry& e = m_e[slot];
        e.running = true;
        e.down = false;
        e.hung = false;
        e.domain = domain;
        e.beat_due = now + 2 * e.beat;  // the first beat gets two periods: the program starts first
    }
    // Moved here from a removed core: counts as restarted once, so it recovers its state.
    constexpr void adopted(int slot, std::uint32_t domain, std::uint64_t now) {
        if (!valid(slot)) return;
        started(slot, domain, now);
        if (m_e[slot].restarts == 0) m_e[slot].restarts = 1;
    }

    // MonitorOp::heartbeat from the running instance: its period in ticks (0: none asked).
    constexpr std::uint64_t beat(int slot, std::uint64_t now) {
        if (!valid(slot)) return 0;
        Entry& e = m_e[slot];
        if (!e.running || e.hung || !e.beat) return 0;
        e.beat_due = now + e.beat;
        return e.beat;
    }

    // The running instance ended `how`: restart it, leave it down, or nothing (not a crash).
    constexpr Outcome ended(int slot, End how, std::uint64_t now) {
        Outcome o;
        if (!valid(slot) || !m_e[slot].running) return o;
        Entry& e = m_e[slot];
        e.running = false;
        o.how = e.hung ? End::hung : how;
        e.hung = false;
        o.restarts = e.restarts;
        if (!is_crash(o.how)) return o;
        const supervise::Decision d = e.history.on_crash(e.policy, ms_of(now));
        if (!d.restart) {
            e.down = true;
            o.kind = Outcome::Kind::down;
            return o;
        }
        e.due = true;
        e.at = now + ticks_of(d.delay_ms);
        o.kind = Outcome::Kind::restart;
        o.delay_ms = d.delay_ms;
        o.at = e.at;
        return o;
    }

    // What the shell must do now, one action per call (call until false): end an instance that
    // missed its heartbeat, or start one whose restart is due.
    constexpr bool next(std::uint64_t now, Action& a) {
        for (unsigned i = 0; i < Capacity; ++i) {
            Entry& e = m_e[i];
            if (!e.used) continue;
            if (e.running && e.beat && !e.hung && now > e.beat_due) {
                e.hung = true;
                a = {Action::Kind::kill_hung, static_cast<int>(i), e.domain};
                return true;
            }
            if (e.due && now >= e.at) {
                e.due = false;
                a = {Action::Kind::restart, static_cast<int>(i), e.domain};
                return true;
            }
        }
        return false;
    }

    // The shell could not end a hung instance (it ended already, or no capability to it): watch it
    // no more, or the same kill would come every tick.
    constexpr void kill_failed(int slot) {
        if (!valid(slot)) return;
        m_e[slot].hung = false;
        m_e[slot].beat = 0;
    }

    // The restart next() asked for: started as `domain`, or it could not start (a crash of its
    // own, counted against the budget: a program that cannot start stays down).
    constexpr Outcome restarted(int slot, bool ok, std::uint32_t domain, std::uint64_t now) {
        Outcome o;
        if (!valid(slot)) return o;
        Entry& e = m_e[slot];
        if (ok) {
            ++e.restarts;
            started(slot, domain, now);
            o.restarts = e.restarts;
            return o;
        }
        e.running = true;  // as if it had started and crashed at once
        return ended(slot, End::unknown, now);
    }

    [[nodiscard]] constexpr std::uint32_t restarts(int slot) const { return valid(slot) ? m_e[slot].restarts : 0; }
    [[nodiscard]] constexpr bool down(int slot) const { return valid(slot) && m_e[slot].down; }
    [[nodiscard]] constexpr bool running(int slot) const { return valid(slot) && m_e[slot].running; }
    [[nodiscard]] constexpr bool restart_due(int slot) const { return valid(slot) && m_e[slot].due; }
    [[nodiscard]] constexpr std::uint64_t beat_ms(int slot) const { return valid(slot) ? m_e[slot].beat_ms : 0; }
    [[nodiscard]] constexpr std::uint32_t domain(int slot) const { return valid(slot) ? m_e[slot].domain : 0; }
    [[nodiscard]] constexpr bool used(int slot) const { return valid(slot); }
    // The slot whose running instance is `domain`; -1 for none.
    [[nodiscard]] constexpr int slot_of(std::uint32_t domain) const {
        for (unsigned i = 0; i < Capacity; ++i)
            if (m_e[i].used && m_e[i].running && m_e[i].domain == domain) return static_cast<int>(i);
        return -1;
    }
    // Running instances with a heartbeat period (the shell's loop skips next() when none and no
    // restart is due).
    [[nodiscard]] constexpr bool idle() const {
        for (unsigned i = 0; i < Capacity; ++i)
            if (m_e[i].used && (m_e[i].due || (m_e[i].running && m_e[i].beat && !m_e[i].hung))) return false;
        return true;
    }

private:
    struct Entry {
        bool used = false, running = false, hung = false, due = false, down = false;
        supervise::Policy policy{};
        std::uint64_t beat = 0, beat_ms = 0;  // heartbeat period in ticks / ms (0: none)
        std::uint64_t beat_due = 0;           // ticks: the next beat must come before this
        std::uint64_t at = 0;                 // ticks: when the due restart starts
        std::uint32_t domain = 0;             // the current (or last) domain
        std::uint32_t restarts = 0;           // over the whole run
        supervise::History history{};
    };

    [[nodiscard]] constexpr bool valid(int slot) const {
        return slot >= 0 && static_cast<unsigned>(slot) < Capacity && m_e[slot].used;
    }

    std::uint64_t m_hz;
    Entry m_e[Capacity] = {};
};

} // namespace myr::monitor::supervision
