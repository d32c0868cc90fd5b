#pragma once
// The monitors' name table (docs/monitors.md, "Names"): which domain on which core exports a
// service name. Exporting adds a name only if it is absent, which does not commute, so the table
// is a replicated Registry (replication/include/myr/repl/objects/registry.hpp) that the monitors
// of the first 64 cores (the largest agreement group replication/ builds) keep by the sequencer
// protocol: every add and remove is ordered by monitor 0 and applied in that order everywhere,
// and of two exports of one name exactly one wins on every monitor. Monitors of cores 64 and up
// forward their exports to a group monitor and keep a copy of the table from the outcomes the
// group monitors send them. Lookups (bind) read this monitor's own copy.
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::names {

// Builds this monitor's part (before the first message is polled).
void init();

// A domain of this core exports a name (two words, 16 bytes): would_block until the agreement
// decided (the domain polls with the same call), then its outcome once: ok, exists (another
// domain holds it), overflow (the table is full); exists again afterwards. invalid_argument for
// an empty name, no_memory once the domain holds (or waits for) names_per_domain names, busy
// while this monitor's table of exports is full.
[[nodiscard]] Status export_name(std::uint32_t domain, std::uint64_t n0, std::uint64_t n1);
// The domain that exports the name, per this monitor's copy; false when none does.
[[nodiscard]] bool lookup(std::uint64_t n0, std::uint64_t n1, std::uint32_t& core, std::uint32_t& domain);
// A domain of this core ended: its names are removed through the agreement (and exports still
// waiting are withdrawn once decided). Returns how many names it held or waited for.
unsigned domain_ended(std::uint32_t domain);

// Core `core` was removed from the membership. Every group monitor rebuilds the agreement's trees
// without it and asks the sequencer for entries that were in flight through it (Group::exclude,
// Replica::resync); monitor 0 also removes the names its domains held, through the agreement on
// their behalf (pump() submits them).
void core_lost(std::uint64_t core);
// Replication lines of the name table (types 0x40..0x4a carrying its object id).
[[nodiscard]] bool handles(const urpc::Message& m);
void on_message(std::uint64_t from, const urpc::Message& m);
// Monitor messages names_fwd, names_fwd_reply, names_note.
void on_forward(std::uint64_t from, const urpc::Message& m);
void on_forward_reply(std::uint64_t from, const urpc::Message& m);
void on_note(std::uint64_t from, const urpc::Message& m);
// Retries what waits (submissions refused as busy, lines the outbox could not take); true on progress.
bool pump();

// This monitor's table: an order-independent digest over (name, core, domain), the number of
// names, and exports of this core's domains still waiting for their outcome.
void summary(std::uint64_t& digest, std::uint64_t& count, std::uint64_t& pending);

// Plan step `names:K` (monitor 0): waits until every monitor holds K names and has no export in
// flight, then compares the digests; prints `names cores=N count=K agree=yes|no ...`. False when
// the tables disagree or never settle. `collect(n)` runs the monitor loop until n summaries came;
// `pause(t)` runs it for t timer ticks (between rounds).
[[nodiscard]] bool run_step(std::uint64_t want, void (*collect)(std::uint64_t), void (*pause)(std::uint64_t));
// Monitor messages names_sum_req / names_sum.
void on_sum_request(std::uint64_t from);
void on_sum(std::uint64_t from, const urpc::Message& m);
// Summaries received by monitor 0 since boot.
[[nodiscard]] std::uint64_t summaries();

} // namespace myr::monitor::names
