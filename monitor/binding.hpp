#pragma once
// Binding (docs/monitors.md, "Binding"): the monitor's service to the domains of its core
// (export a name, bind to one, accept, take the rings and a doorbell) and the monitor-to-monitor
// half of setting up a channel between domains on different cores.
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::binding {

// Keeps one ring of the channel pool forever, so ring memory is never reused (no cross-core
// revoke yet).
void pin_pool();
// Serves the calls waiting on this core's monitor endpoint (never blocks); true when any came.
bool serve_local();
// Monitor messages: export_note, bind_req, bind_reply.
void on_export(std::uint64_t from, const urpc::Message& m);
void on_bind_request(std::uint64_t from, const urpc::Message& m);
void on_bind_reply(std::uint64_t from, const urpc::Message& m);
// Bindings this core's monitor set up (status).
[[nodiscard]] std::uint64_t made();

} // namespace myr::monitor::binding
