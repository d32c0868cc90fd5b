#pragma once
// Core membership in the monitor (docs/monitors.md, "Membership and core failure"): the shell
// around the pure protocol of myr/monitor/election.hpp (an elected coordinator: core 0 at boot).
// It turns protocol messages into mesh lines, runs the beat and the election timers from the
// monitor's loop, and applies each new view: a removed core gets no more lines (mesh_exclude), its
// domains count as ended (the death feed), and requests waiting on it end; at the coordinator, a
// committed view moves the removed cores' server instances to live cores (servers::cores_lost). A
// monitor whose own core was removed stops it.
//
// Off unless kernel option monitor.heartbeat=MS (a config's [system] core_heartbeat) sets the beat
// period: beats cost every core a wake-up per period.
#include "servers.hpp"

#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::liveness {

void init(servers::KernelOption option);
[[nodiscard]] bool enabled();
// The membership's coordinator as this monitor knows it (0 at boot; el::none while an election
// is open).
[[nodiscard]] std::uint32_t coordinator();
// Whether every live monitor applied this monitor's newest view (heartbeats on).
[[nodiscard]] bool view_committed();
[[nodiscard]] bool handles(std::uint8_t type);
void on_message(std::uint64_t from, const urpc::Message& m);
// Every pass of the monitor's loop: the coordinator's beats and timeouts, commits.
void tick();
// Plan step kill-core:N (the plan's runner, the coordinator): stops core N and waits until the
// membership removed it; N may be the runner's own core (its successor goes on with the plan). A
// refusal (no heartbeats, a core not in the membership, too few cores left, ...) says why and
// returns false.
[[nodiscard]] bool run_kill(const char* spec, servers::Waiter wait);

} // namespace myr::monitor::liveness
