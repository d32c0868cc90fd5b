// Supervision (monitor/include/myr/monitor/supervisor.hpp) in a deterministic simulation: one
// core's supervisor with four server instances under different policies, each instance a
// simulated program that beats, crashes (faults, failed exits), exits cleanly, is stopped, is
// crashed by the plan, or hangs, at random; on top of that a crash is forced at every step of the
// run. A model of the rules, written apart from the implementation, checks every decision:
// restarts after exactly the backoff, budgets never exceeded, a spent budget is down for good,
// `never` never restarts, a hung instance ended within a tick of its missed deadline and one that
// beats never, and the restart count each instance is told.
#include <myr/monitor/supervisor.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace myr::monitor::supervision {
namespace {

constexpr std::uint64_t hz = 100;

struct Spec {
    supervise::Policy policy;
    std::uint64_t beat_ms;
};

// The model: the rules of docs/monitors.md, "Supervision", restated.
struct Model {
    std::vector<std::uint64_t> decisions_ms;  // restart decisions (crash times) that restarted
    bool down = false;
    std::uint32_t restarts = 0;

    // delay of the restart after a crash at now_ms, or -1 for down.
    std::int64_t on_crash(const supervise::Policy& p, std::uint64_t now_ms) {
        if (p.kind == supervise::Kind::never) return -1;
        const std::uint64_t window = p.kind == supervise::Kind::budget ? p.window_ms : supervise::always_window_ms;
        std::uint32_t recent = 0;
        for (std::uint64_t t : decisions_ms) recent += now_ms - t < window ? 1u : 0u;
        if (p.kind == supervise::Kind::budget && recent >= p.max) return -1;
        decisions_ms.push_back(now_ms);
        const unsigned shift = recent < supervise::max_backoff_shift ? recent : supervise::max_backoff_shift;
        return static_cast<std::int64_t>(p.backoff_ms << shift);
    }
};

enum class Ev { none, fault, exit_failed, exit_ok, stop, inject, hang };

struct Program {
    int slot = -1;
    bool running = false, hung = false;
    std::uint32_t domain = 0;
    std::uint64_t deadline = 0;   // model: the tick before which the next beat must come
    std::uint64_t next_beat = 0;  // when this program beats next
    std::uint64_t restart_at = 0; // model: when the due restart must come
    bool restart_due = false;
    Model model;
};

struct World {
    std::mt19937_64 rng;
    Supervisor<16> sup{hz};
    std::vector<Spec> specs;
    std::vector<Program> progs;
    std::uint64_t now = 0, step = 0, force_at = ~0ull;
    std::uint32_t next_domain = 10;
    std::uint64_t crashes = 0, restarts = 0, hung_kills = 0, downs = 0;
    std::string where;

    explicit World(std::uint64_t seed) : rng(seed) {
        using K = supervise::Kind;
        specs = {{{K::always, 0, 0, 20}, 200},  // always, 20 ms backoff, heartbeat 200 ms
                 {{K::budget, 2, 1000, 50}, 0}, // 2 restarts per second, 50 ms backoff
                 {{K::never, 0, 0, 0}, 100},    // never, heartbeat 100 ms
                 {{K::budget, 3, 2000, 10}, 50}};
        for (const Spec& s : specs) {
            Program p;
            p.slot = sup.add(s.policy, s.beat_ms);
            EXPECT_GE(p.slot, 0);
            progs.push_back(p);
        }
        for (std::size_t i = 0; i < progs.size(); ++i) start(i);
    }

    std::uint64_t period(std::size_t i) const { return specs[i].beat_ms ? sup.ticks_of(specs[i].beat_ms) : 0; }

    bool stepped() { return ++step == force_at; }

    void start(std::size_t i) {
        Program& p = progs[i];
        p.domain = next_domain++;
        p.running = true;
        p.hung = false;
        sup.started(p.slot, p.domain, now);
        p.deadline = now + 2 * period(i);
        p.next_beat = now + 1 + rng() % (period(i) ? period(i) : 5);
    }

    // The program ended `how`; the supervisor decides; the model checks it.
    void end(std::size_t i, End how) {
        Program& p = progs[i];
        const bool was_hung_kill = how == End::killed && p.hung && hung_killed;
        p.running = false;
        const Outcome o = sup.ended(p.slot, how, now);
        const End counted = was_hung_kill ? End::hung : how;
        EXPECT_EQ(o.how, counted) << where;
        EXPECT_EQ(o.restarts, p.model.restarts) << where;
        if (!is_crash(counted)) {
            EXPECT_EQ(o.kind, Outcome::Kind::none) << where << ": a clean end or a stop restarted";
            return;
        }
        ++crashes;
        const std::int64_t delay = p.model.on_crash(specs[i].policy, sup.ms_of(now));
        if (delay < 0) {
            EXPECT_EQ(o.kind, Outcome::Kind::down) << where;
            p.model.down = true;
            ++downs;
            return;
        }
        EXPECT_EQ(o.kind, Outcome::Kind::restart) << where;
        EXPECT_EQ(o.delay_ms, static_cast<std::uint64_t>(delay)) << where;
        p.restart_due = true;
        p.restart_at = now + sup.ticks_of(static_cast<std::uint64_t>(delay));
        EXPECT_EQ(o.at, p.restart_at) << where;
    }
    bool hung_killed = false;

    Ev random_event() {
        switch (rng() % 200) {
        case 0: return Ev::fault;
        case 1: return Ev::exit_failed;
        case 2: return Ev::exit_ok;
        case 3: return Ev::stop;
        case 4: return Ev::inject;
        case 5: return Ev::hang;
        default: return Ev::none;
        }
    }

    void tick() {
        for (std::size_t i = 0; i < progs.size(); ++i) {
            Program& p = progs[i];
            if (!p.running && !p.restart_due && rng() % 50 == 0) {
                // The plan starts it again (start:), after a clean end, a stop, or a spent budget.
                p.model.down = false;
                start(i);
                continue;
            }
            if (!p.running) continue;
            Ev ev = random_event();
            if (stepped()) ev = static_cast<Ev>(1 + rng() % 6);  // the forced fault of this run
            where = "step " + std::to_string(step) + " tick " + std::to_string(now) + " instance " + std::to_string(i);
            switch (ev) {
            case Ev::fault: end(i, End::faulted); continue;
            case Ev::exit_failed: end(i, End::exit_failed); continue;
            case Ev::exit_ok: end(i, End::exit_ok); continue;
            case Ev::stop: end(i, End::killed); continue;
            case Ev::inject: end(i, End::injected); continue;
            case Ev::hang: p.hung = true; break;
            case Ev::none: break;
            }
            if (!p.hung && period(i) && now >= p.next_beat) {
                EXPECT_EQ(sup.beat(p.slot, now), period(i)) << where;
                p.deadline = now + period(i);
                p.next_beat = now + 1 + rng() % period(i);  // always within the period
            }
        }
        Action a;
        while (sup.next(now, a)) {
            std::size_t i = 0;
            while (i < progs.size() && progs[i].slot != a.slot) ++i;
            ASSERT_LT(i, progs.size());
            Program& p = progs[i];
            where = "step " + std::to_string(step) + " tick " + std::to_string(now) + " instance " + std::to_string(i);
            (void)stepped();
            if (a.kind == Action::Kind::kill_hung) {
                // Only a program that stopped beating, and only in the first tick past its deadline.
                EXPECT_TRUE(p.running && p.hung) << where << ": killed as hung while beating";
                EXPECT_EQ(now, p.deadline + 1) << where;
                EXPECT_EQ(a.domain, p.domain) << where;
                ++hung_kills;
                hung_killed = true;
                end(i, End::killed);
                hung_killed = false;
                continue;
            }
            EXPECT_TRUE(p.restart_due && !p.model.down) << where << ": restart nobody decided";
            EXPECT_EQ(now, p.restart_at) << where << ": restart not at its time";
            EXPECT_FALSE(p.running) << where;
            p.restart_due = false;
            if (rng() % 10 == 0) {  // the program cannot start: a crash of its own
                const Outcome o = sup.restarted(p.slot, false, 0, now);
                ++crashes;
                const std::int64_t delay = p.model.on_crash(specs[i].policy, sup.ms_of(now));
                if (delay < 0) {
                    EXPECT_EQ(o.kind, Outcome::Kind::down) << where;
                    p.model.down = true;
                } else {
                    EXPECT_EQ(o.kind, Outcome::Kind::restart) << where;
                    EXPECT_EQ(o.delay_ms, static_cast<std::uint64_t>(delay)) << where;
                    p.restart_due = true;
                    p.restart_at = now + sup.ticks_of(static_cast<std::uint64_t>(delay));
                }
                continue;
            }
            ++p.model.restarts;
            ++restarts;
            const std::uint32_t d = next_domain;
            const Outcome o = sup.restarted(p.slot, true, d, now);
            EXPECT_EQ(o.restarts, p.model.restarts) << where;
            start(i);
            EXPECT_EQ(p.domain, d);
        }
        // Everything due happened: no restart late, none missed.
        for (std::size_t i = 0; i < progs.size(); ++i) {
            const Program& p = progs[i];
            if (p.restart_due) {
                EXPECT_GT(p.restart_at, now) << "instance " << i << " restart missed at tick " << now;
            }
            if (p.running && period(i) && !p.hung) {
                EXPECT_GE(p.deadline, now) << "instance " << i;
            }
            EXPECT_EQ(sup.restarts(p.slot), p.model.restarts) << "instance " << i;
            EXPECT_EQ(sup.down(p.slot), p.model.down) << "instance " << i;
            if (p.running) {
                EXPECT_EQ(sup.slot_of(p.domain), p.slot) << "instance " << i;
            }
        }
        ++now;
    }
};

TEST(SupervisionSim, RandomFaultsMatchTheModel) {
    std::uint64_t crashes = 0, restarts = 0, hung = 0, downs = 0;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        World w(seed);
        for (int t = 0; t < 3000 && !testing::Test::HasFailure(); ++t) w.tick();
        crashes += w.crashes;
        restarts += w.restarts;
        hung += w.hung_kills;
        downs += w.downs;
        if (HasFailure()) return;
    }
    // The runs did exercise every path.
    EXPECT_GT(crashes, 300u);
    EXPECT_GT(restarts, 200u);
    EXPECT_GT(hung, 20u);
    EXPECT_GT(downs, 40u);
}

// A fault forced at every step of the first 2000 (each beat, end and action is a step).
TEST(SupervisionSim, AFaultAtEveryStep) {
    for (std::uint64_t at = 1; at <= 2000; ++at) {
        World w(at * 7919);
        w.force_at = at;
        for (int t = 0; t < 400 && !testing::Test::HasFailure(); ++t) w.tick();
        if (HasFailure()) {
            ADD_FAILURE() << "fault forced at step " << at;
            return;
        }
    }
}

TEST(Supervision, FullTableAndUnknownSlots) {
    Supervisor<2> sup(100);
    const supervise::Policy always{supervise::Kind::always, 0, 0, 10};
    EXPECT_EQ(sup.add(always, 0), 0);
    EXPECT_EQ(sup.add(always, 0), 1);
    EXPECT_EQ(sup.add(always, 0), -1);
    // Unknown slots are ignored.
    EXPECT_EQ(sup.ended(5, End::faulted, 0).kind, Outcome::Kind::none);
    EXPECT_EQ(sup.ended(-1, End::faulted, 0).kind, Outcome::Kind::none);
    EXPECT_EQ(sup.beat(7, 0), 0u);
    // An end of an instance that is not running decides nothing (a late or repeated report).
    EXPECT_EQ(sup.ended(0, End::faulted, 0).kind, Outcome::Kind::none);
    sup.started(0, 3, 0);
    EXPECT_EQ(sup.ended(0, End::faulted, 1).kind, Outcome::Kind::restart);
    EXPECT_EQ(sup.ended(0, End::faulted, 1).kind, Outcome::Kind::none);
    // A moved instance counts as restarted once.
    sup.adopted(1, 9, 0);
    EXPECT_EQ(sup.restarts(1), 1u);
    EXPECT_EQ(sup.slot_of(9), 1);
}

} // namespace
} // namespace myr::monitor::supervision
