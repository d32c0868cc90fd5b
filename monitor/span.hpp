#pragma once
// Address spaces that span cores, and the unmap experiment (docs/unmap.md): a domain with one
// dispatcher on each of cores 0..N-1, all mapping the same shared page at the same addresses, and
// unmaps of those pages run as a TLB shootdown among the monitors (myr/monitor/shootdown.hpp:
// broadcast, unicast, multicast, NUMA-aware multicast, ipi). Plan step `unmap:N[:R]` on monitor 0;
// a member dispatcher may unmap a page of its span itself (MonitorOp::span_unmap).
#include "servers.hpp"

#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::span {

// Mesh lines of this module (protocol.hpp's SpanType).
[[nodiscard]] bool handles(std::uint8_t type);
void on_message(std::uint64_t from, const urpc::Message& m);

// MonitorOp::span_join, span_poll and span_unmap from domain `who` of this core (answered with
// binding's reply).
void serve(std::uint64_t who, const std::uint64_t (&w)[4]);

// Each round of the monitor's loop: notices a member dispatcher that ended.
void tick();
// While this core is a member of a running span, the monitor polls its inbox without sleeping
// (a shootdown line would otherwise wait for the next timer tick, 10 ms).
[[nodiscard]] bool polling();
// Each round of the monitor's poll: the broadcast line (true when a request was on it).
bool pump();

// unmap:N[:R]: a span over cores 0..N-1, R unmaps per protocol (1-10, default 10), and one by the
// dispatcher on core N-1 itself; then the span ends and every member checks that no page is
// reachable. Emits `bench-unmap ...` per protocol, `unmap-own ...` and `unmap-span ...`. False
// (with a message) when refused or when a check failed.
[[nodiscard]] bool run_step(const char* args, servers::Waiter wait);

} // namespace myr::monitor::span
