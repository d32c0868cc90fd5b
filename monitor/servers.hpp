#pragma once
// Servers and program arguments (docs/monitors.md, "Program arguments", "Servers"): every
// program this monitor starts keeps an argument string that the domain reads back (MonitorOp::
// args); domains start programs on any core (MonitorOp::spawn, staged by spawn_arg); the boot
// core's monitor starts the configured servers (kernel options server.N=) before the plan and
// runs the plan steps start:NAME[@CORE] and stop:NAME[@CORE].
#include <myr/status.hpp>
#include <myr/urpc/message.hpp>
#include <myr/user/syscall.hpp>

#include <cstdint>

namespace myr::monitor::servers {

using KernelOption = bool (*)(const char* key, char* buf, std::uint64_t size);
// Runs the monitor's loop until done() (loop.hpp's run_until).
using Waiter = void (*)(bool (*done)());

void init(KernelOption option);

// Starts program `name` on this core: rdi = `arg` (this core's number when ~0), argument string
// text[0..len) (len <= args::max_len); the domain's record is kept until it ends.
user::SysResult start_local(const char* name, std::uint64_t name_len, std::uint64_t arg, const char* text, std::uint64_t len);

// A domain's call: MonitorOp::args, spawn, spawn_arg. The answer: w0 = status | high << 32.
struct Answer {
    Status status;
    std::uint64_t high, w1, w2, w3;
};
[[nodiscard]] Answer serve(std::uint64_t domain, const std::uint64_t (&w)[4]);
// A domain of this core ended (binding.cpp's reap; `how` as domain_status answers): its record,
// staging and tickets go; a crashed instance of a configured server is restarted by its policy.
void domain_ended(std::uint64_t domain, std::uint64_t how);
// Starts the instances whose restart is due (the monitor's loop calls it on every pass).
void supervise_tick();
// How often the supervisor restarted the instance that is now `domain` (0 for any other).
[[nodiscard]] std::uint32_t restarts_of(std::uint64_t domain);
// The supervision slot of `domain` when it is the running instance of a supervised server of
// this core (its kept memory is that slot's: MonitorOp::kept), else -1.
[[nodiscard]] int instance_slot(std::uint64_t domain);
// Timer ticks per second (kernel option timer_hz, 100 without it).
[[nodiscard]] std::uint64_t timer_hz();

// Monitor messages: spawn_args, spawn_req, stop_req, stop_reply; spawn_reply when its tag is
// ours (returns false for the plan's own tags).
void on_spawn_args(std::uint64_t from, const urpc::Message& m);
void on_spawn_request(std::uint64_t from, const urpc::Message& m);
void on_stop_request(std::uint64_t from, const urpc::Message& m);
void on_stop_reply(std::uint64_t from, const urpc::Message& m);
[[nodiscard]] bool on_spawn_reply(std::uint64_t from, const urpc::Message& m);

// Boot core: the configured servers, after membership and before the plan. True when every
// instance started (or there are none: then nothing is printed).
[[nodiscard]] bool start_boot(Waiter wait);
// Plan steps start:SPEC and stop:SPEC (SPEC = NAME[@CORE]); false fails the plan.
[[nodiscard]] bool run_start(const char* spec, Waiter wait);
// crash:SPEC (fault injection): the same, but each instance ends as crashed, so its restart
// policy applies (reason=injected).
[[nodiscard]] bool run_stop(const char* spec, Waiter wait, bool crash = false);
// Domains the stop: steps so far ended (the kernel counts them as faulted; step `wait` does not).
[[nodiscard]] std::uint64_t stopped();
// Server instances of this core still running: domains this monitor started with a `replicas=`
// word in their arguments (configured servers and start: instances). Step `wait` does not wait
// for them: servers serve until stopped.
[[nodiscard]] std::uint64_t live_servers();
// Server instances of this core that faulted, or exited with a failure, and were restarted by
// their policy: the kernel counts them with the faulted and failed domains; step `wait` does not
// (a crash that left its server down still counts).
[[nodiscard]] std::uint64_t restarted_faults();
[[nodiscard]] std::uint64_t restarted_exits();
// Monitor 0, when the membership removed cores (bits: core c is word c / 64, bit c % 64, four
// words): each configured server instance that lived on one of them starts again on a live core,
// of the same node where one is left (the one with the fewest instances), as a restart of that
// instance (its restarts() answers 1 or more, so it recovers its state like a restarted one), and
// that core's monitor supervises it from then on; a server under restart = never is reported lost.
void cores_lost(const std::uint64_t* removed_bits);
// Every monitor: the coordinator's server_placed line (each move cores_lost made, broadcast), taken
// only from the membership's coordinator; and, at a new coordinator, the placement table it
// starts from, logged (`placement name= replica= core=`, one line per configured instance).
void on_placed(std::uint64_t from, const urpc::Message& m);
// A monitor newly elected coordinator (liveness.cpp): asks every monitor for the moves it heard
// of (placed_req) and takes each instance's latest, so a move whose server_placed broadcast the
// old coordinator's stop cut short is known; until every live monitor answered (placed_end),
// cores_lost waits. Then logs the placement table it starts from (`placement name= replica=
// core=`, one line per configured instance).
void taking_over();
void log_placement();
void on_placed_request(std::uint64_t from);
void on_placed_is(std::uint64_t from, const urpc::Message& m);
void on_placed_end(std::uint64_t from);
// The coordinator, every pass of the loop: whether the answers are all in; then the moves that waited.
void placement_tick();

// Whether `domain` of this core is such a server instance (MonitorOp::list reports it).
[[nodiscard]] bool is_instance(std::uint64_t domain);
// Whether `domain` of this core runs a [[server]] table's program with that table's arguments
// (placed by the config, restarted or moved by a monitor, or spawned the same way): it gets the
// larger budget of binding rings (binding.cpp, ring_budget).
[[nodiscard]] bool configured_instance(std::uint64_t domain);

} // namespace myr::monitor::servers
