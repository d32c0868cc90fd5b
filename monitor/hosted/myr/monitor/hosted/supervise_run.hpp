#pragma once
// Supervision (myr/monitor/supervisor.hpp) on Linux threads: the monitor's Supervisor on a thread
// pinned to core 0, with real time for its clock (1 tick = 1 ms), supervising server instances that
// are threads of their own. Each instance beats over a URPC channel to the supervisor (the guest's
// MonitorOp::heartbeat) and, after a random while, crashes (an exit with a failing code, or a
// fault), hangs (stops beating and waits to be ended), or exits cleanly; its end comes over the same
// channel, as the CPU driver reports a domain's end to its monitor. The supervisor ends hung
// instances (kill_hung) and starts due restarts; a cleanly exited instance is started again after a
// pause, as a `start:` step of a plan would. Checked against the rules with the host's clock:
// - no restart starts before its backoff has passed;
// - an instance ended as hung had sent no beat for at least its period;
// - a `never` instance is never restarted, a budget `N/T` one never more than N times within any T,
//   and one that went down stays down;
// - every hang is ended (an instance ended as hung while it still beat, because the host stalled
//   it for a whole period, is counted apart: killed_while_beating).
// Used by tests/hosted/supervise_hosted_test.cpp (also under TSan). Host only.
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/supervisor.hpp>
#include <myr/urpc/urpc.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace myr::monitor::hosted {

struct SuperviseRunConfig {
    std::uint64_t run_ms = 3000;  // how long the instances crash and restart
    std::uint64_t beat_ms = supervise::min_heartbeat_ms * 2;
    std::uint32_t seed = 1;
};

struct SuperviseRun {
    bool ok = false;
    std::string failure;  // the first broken rule ("" when none)
    std::uint64_t starts = 0, crashes = 0, restarts = 0, hangs = 0, hung_kills = 0, downs = 0, clean_exits = 0;
    std::uint64_t killed_while_beating = 0;  // ended as hung though its last beat was recent (host stalls)
};

namespace supervise_run_detail {

enum class Msg : std::uint8_t { beat = 1, end = 2 };

struct Instance {
    supervise::Policy policy{};
    int slot = -1;
    std::unique_ptr<myr::hosted::ChannelMemory> memory;
    urpc::Sender tx;  // used by one instance thread at a time (handed over by start and join)
    urpc::Receiver rx;
    std::thread thread;
    std::atomic<bool> kill{false};
    std::atomic<bool> hanging{false};  // set by the instance when it stops beating on purpose
    bool alive = false, down = false;
    std::uint32_t domain = 0;
    std::uint64_t last_beat = 0, started_at = 0;
    std::vector<std::uint64_t> decisions;  // when each crash was decided a restart (ms)
    std::uint64_t due_at = 0;              // the restart decided last may start from here
    std::uint64_t clean_restart_at = 0;        // a clean exit: started again at this time (0: none)
};

inline std::uint64_t now_ms(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

} // namespace supervise_run_detail

inline SuperviseRun run_supervision(myr::hosted::Runtime& rt, const SuperviseRunConfig& cfg) {
    using namespace supervise_run_detail;
    using supervision::Action;
    using supervision::End;
    using supervision::Outcome;
    SuperviseRun result;
    // Four instances, one per kind of policy (two of them `always`, with different backoffs).
    const supervise::Policy policies[] = {
        {supervise::Kind::always, 0, 0, 5},
        {supervise::Kind::budget, 3, 1000, 5},
        {supervise::Kind::never, 0, 0, 0},
        {supervise::Kind::always, 0, 0, 1},
    };
    constexpr unsigned count = sizeof policies / sizeof policies[0];
    std::vector<std::unique_ptr<Instance>> inst;
    for (unsigned i = 0; i < count; ++i) {
        auto in = std::make_unique<Instance>();
        in->policy = policies[i];
        auto mem = rt.channel(0, 0, urpc::ChannelConfig{64, urpc::Wake::poll});
        if (!mem.ok()) return result;
        in->memory = std::make_unique<myr::hosted::ChannelMemory>(std::move(*mem));
        auto tx = urpc::Sender::attach(in->memory->bytes());
        auto rx = urpc::Receiver::attach(in->memory->bytes());
        if (!tx.ok() || !rx.ok()) return result;
        in->tx = *tx;
        in->rx = *rx;
        inst.push_back(std::move(in));
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::string failure;
    const auto fail = [&](const std::string& why) {
        if (failure.empty()) failure = why;
    };
    std::uint32_t next_domain = 1;
    std::mt19937 seeds(cfg.seed);
    // An instance: beats every quarter period for a while, then ends one way or another.
    const auto start = [&](Instance& in, std::uint64_t now) {
        in.kill.store(false);
        in.alive = true;
        in.hanging.store(false);
        in.domain = next_domain++;
        in.started_at = now;
        in.last_beat = now;
        ++result.starts;
        const auto seed = static_cast<std::uint32_t>(seeds());
        const std::uint64_t quarter = cfg.beat_ms / 4;
        in.thread = std::thread([&in, seed, quarter] {
            std::mt19937 rng(seed);
            const auto beats = static_cast<unsigned>(1 + rng() % 6);
            const auto how = static_cast<unsigned>(rng() % 8);  // 0-2 exit failing, 3-4 fault, 5-6 hang, 7 clean exit
            const auto send = [&](Msg m, std::uint64_t word) {
                std::uint64_t w[urpc::payload_words] = {static_cast<std::uint64_t>(m), word};
                while (in.tx.try_send(1, w) != Status::ok) {
                    if (in.kill.load()) return;
                    urpc::cpu_relax();
                }
            };
            for (unsigned b = 0; b < beats && !in.kill.load(); ++b) {
                send(Msg::beat, 0);
                std::this_thread::sleep_for(std::chrono::milliseconds(quarter));
            }
            if (how == 5 || how == 6) {  // hang: no beat, no end, until ended
                in.hanging.store(true);
                while (!in.kill.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                return;
            }
            if (in.kill.load()) return;
            const End end = how < 3 ? End::exit_failed : how < 5 ? End::faulted : End::exit_ok;
            send(Msg::end, static_cast<std::uint64_t>(end));
        });
    };
    // What the supervisor decided for an instance's end.
    const auto record = [&](Instance& in, const Outcome& o, std::uint64_t now) {
        if (o.kind == Outcome::Kind::down) {
            ++result.downs;
            in.down = true;
        } else if (o.kind == Outcome::Kind::restart) {
            in.decisions.push_back(now);
            in.due_at = now + o.delay_ms;
        }
    };
    const std::uint32_t sup_core = 0;
    const Status s = rt.run({&sup_core, 1}, [&](std::uint32_t) {
        supervision::Supervisor<16> sup(1000);
        for (auto& in : inst) {
            in->slot = sup.add(in->policy, cfg.beat_ms);
            start(*in, now_ms(t0));
            sup.started(in->slot, in->domain, now_ms(t0));
        }
        // Until run_ms, then until every instance is down or between lives with nothing due.
        for (;;) {
            const std::uint64_t now = now_ms(t0);
            const bool stopping = now >= cfg.run_ms;
            bool active = false;
            for (auto& inp : inst) {
                Instance& in = *inp;
                urpc::Message msg{};
                while (in.alive && in.rx.try_recv(msg) == Status::ok) {
                    if (msg.words[0] == static_cast<std::uint64_t>(Msg::beat)) {
                        in.last_beat = now;
                        (void)sup.beat(in.slot, now);
                    } else if (msg.words[0] == static_cast<std::uint64_t>(Msg::end)) {
                        in.thread.join();
                        in.alive = false;
                        const auto how = static_cast<End>(msg.words[1]);
                        const Outcome o = sup.ended(in.slot, how, now);
                        if (how == End::exit_ok) {
                            ++result.clean_exits;
                            in.clean_restart_at = now + 5;
                        } else {
                            ++result.crashes;
                        }
                        record(in, o, now);
                        if (o.kind == Outcome::Kind::restart && how == End::exit_ok) fail("a clean exit was restarted as a crash");
                    }
                }
                if (stopping) in.clean_restart_at = 0;
                if (!in.alive && in.clean_restart_at && now >= in.clean_restart_at) {
                    in.clean_restart_at = 0;
                    start(in, now);
                    sup.started(in.slot, in.domain, now);
                }
                active |= in.alive || in.clean_restart_at != 0 || sup.restart_due(in.slot);
            }
            Action a;
            while (sup.next(now, a)) {
                Instance* in = nullptr;
                for (auto& x : inst)
                    if (x->slot == a.slot) in = x.get();
                if (!in) {
                    fail("an action for a slot nobody has");
                    break;
                }
                if (a.kind == Action::Kind::kill_hung) {
                    ++result.hung_kills;
                    if (now - in->last_beat < cfg.beat_ms)
                        fail("slot " + std::to_string(a.slot) + " ended as hung " + std::to_string(now - in->last_beat) +
                             " ms after its last beat (period " + std::to_string(cfg.beat_ms) + " ms)");
                    if (!in->hanging.load()) ++result.killed_while_beating;
                    else ++result.hangs;
                    in->kill.store(true);
                    in->thread.join();
                    in->alive = false;
                    // What the instance sent before it stopped is still counted (a last beat).
                    urpc::Message msg{};
                    while (in->rx.try_recv(msg) == Status::ok) {
                    }
                    const Outcome o = sup.ended(a.slot, End::killed, now);
                    if (o.how != End::hung) fail("an instance ended for its heartbeat was not counted as hung");
                    ++result.crashes;
                    record(*in, o, now);
                } else {
                    if (in->down) fail("slot " + std::to_string(a.slot) + " restarted after it went down");
                    if (in->policy.kind == supervise::Kind::never) fail("a `never` instance was restarted");
                    if (now < in->due_at) fail("slot " + std::to_string(a.slot) + " restarted before its backoff passed");
                    if (stopping) {
                        // Past the end of the run: the restart is due, so the rules held; the
                        // instance is not started again.
                        (void)sup.restarted(a.slot, true, next_domain++, now);
                        (void)sup.ended(a.slot, End::killed, now);
                        continue;
                    }
                    ++result.restarts;
                    start(*in, now);
                    (void)sup.restarted(a.slot, true, in->domain, now);
                }
            }
            if (stopping && !active) break;
            if (stopping) {
                // Hung instances still left past the end: they must be ended within two periods.
                for (auto& in : inst)
                    if (in->alive && now > cfg.run_ms + 4 * cfg.beat_ms + 1000) {
                        fail("slot " + std::to_string(in->slot) + " was never ended");
                        in->kill.store(true);
                        in->thread.join();
                        in->alive = false;
                    }
            }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    result.ok = s == Status::ok;
    // Budgets: never more than N restarts within any T.
    for (auto& in : inst) {
        if (in->thread.joinable()) in->thread.join();
        if (in->policy.kind != supervise::Kind::budget) continue;
        const auto& t = in->decisions;
        for (std::size_t i = 0; i < t.size(); ++i) {
            std::size_t within = 0;
            for (std::size_t j = i; j < t.size() && t[j] - t[i] < in->policy.window_ms; ++j) ++within;
            if (within > in->policy.max)
                fail(std::to_string(within) + " restarts within " + std::to_string(in->policy.window_ms) + " ms, budget " +
                     std::to_string(in->policy.max));
        }
    }
    result.failure = failure;
    return result;
}

} // namespace myr::monitor::hosted
