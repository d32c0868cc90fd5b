#pragma once
// The run plan (plan.cpp, docs/monitors.md "Run plan"): the boot core's monitor runs the steps of
// the kernel option `plan=`; every monitor answers the rounds those steps run.
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::plan {

// From the kernel options: this monitor answers no ping (monitor.mute_pings, to test the loss
// count), and monitor 0 measures the round trip at shutdown (./myriad bench monitors).
void init(bool mute_pings, bool bench_rtt);
// A message of the plan's rounds: hello, members, ping_all, ping, pong, ping_tally, ping_done,
// spawn_reply, status_req/reply, census_req/reply, bcast_probe/ack, plan_step, plan_where_req/plan_where.
void on_message(std::uint64_t from, const urpc::Message& m);
// Monitor 0: waits for every monitor's hello, announces the membership and runs the plan; ends
// the machine (shutdown) when it is done.
[[noreturn]] void run();
// Every other monitor, each pass of its loop: whether it is the new coordinator and the plan's
// runner was removed (docs/monitors.md, "The plan outlives its core"); then take_over() asks every
// monitor how far the plan went and runs the rest.
[[nodiscard]] bool takeover_due();
[[noreturn]] void take_over();

} // namespace myr::monitor::plan
