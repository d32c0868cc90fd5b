#pragma once
// The monitors' name table (docs/monitors.md, "Names"): which domain on which core exports a
// service name. Binding (binding.cpp) asks it; this file keeps it consistent across monitors.
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::names {

// This monitor's table: an order-independent digest over (name, core, domain), the number of
// names, and exports of this core's domains still waiting for their outcome.
void summary(std::uint64_t& digest, std::uint64_t& count, std::uint64_t& pending);

// Plan step `names:K` (monitor 0): waits until every monitor holds K names and has no export in
// flight, then compares the digests; prints `names cores=N count=K agree=yes|no ...`. False when
// the tables disagree or never settle. `collect(n)` runs the monitor loop until n summaries came.
[[nodiscard]] bool run_step(std::uint64_t want, void (*collect)(std::uint64_t));
// Monitor messages names_sum_req / names_sum.
void on_sum_request(std::uint64_t from);
void on_sum(std::uint64_t from, const urpc::Message& m);
// Summaries received by monitor 0 since boot.
[[nodiscard]] std::uint64_t summaries();

} // namespace myr::monitor::names
