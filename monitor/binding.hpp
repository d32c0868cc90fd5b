#pragma once
// Binding (docs/monitors.md, "Binding"): the monitor's service to the domains of its core
// (export a name, bind to one, accept, take the rings and a doorbell) and the monitor-to-monitor
// half of setting up a channel between domains on different cores.
#include <myr/abi/syscall.hpp>
#include <myr/status.hpp>
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::binding {

// This core's channel pool, from the topology (docs/monitors.md, "Ring memory comes back").
void init_rings(const abi::TopologyInfo& topo);
// When kernel option memserv.pool gave this monitor's node a pool: asks the kernel for untyped
// capabilities to blocks it must refuse and to one it must grant (Sys::cap_create_ram), and emits
// `monitor-ramcheck core=C checks=N failures=F` (the qemu tests count it). Nothing is kept.
void check_ram_pools(const abi::TopologyInfo& topo);
// A slot for a domain cap to a program this monitor starts (spawn's dest), or no_cap when the
// cnode is too full to track it; then started() with the spawn's outcome: the monitor keeps the
// cap and frees what the domain held once domain_status says it ended.
[[nodiscard]] std::uint64_t spawn_slot();
// `name` (len bytes, the first 16 kept) is the program's: MonitorOp::list answers it, and the
// kill rule (kernel option monitor.kill) is decided by it.
void started(std::uint64_t domain, std::uint64_t slot, bool ok, const char* name, std::uint64_t len);
// Looks for domains of this core that ended (core_status changed) and frees what they held.
void reap();
// Serves the calls waiting on this core's monitor endpoint (never blocks); true when any came.
bool serve_local();
// Monitor messages: domain_gone (the death feed), bind_req, bind_reply, bind_to_req, kill_req,
// kill_reply, list_req, list_reply, bind_cancel.
void on_domain_gone(std::uint64_t from, const urpc::Message& m);
// A core was removed from the membership: kill, list and grant requests waiting on it end
// connection_lost (new ones are refused so at once).
void core_lost(std::uint64_t core);
void on_bind_to_request(std::uint64_t from, const urpc::Message& m);
void on_bind_cancel(std::uint64_t from, const urpc::Message& m);
void on_kill_request(std::uint64_t from, const urpc::Message& m);
void on_kill_reply(std::uint64_t from, const urpc::Message& m);
void on_list_request(std::uint64_t from, const urpc::Message& m);
void on_list_reply(std::uint64_t from, const urpc::Message& m);
// memserv grants (docs/servers.md, "memserv"): ram_grant_req / ram_reclaim_req and their replies.
void on_ram_grant_request(std::uint64_t from, const urpc::Message& m);
void on_ram_grant_reply(std::uint64_t from, const urpc::Message& m);
void on_ram_reclaim_request(std::uint64_t from, const urpc::Message& m);
void on_ram_reclaim_reply(std::uint64_t from, const urpc::Message& m);
void on_bind_request(std::uint64_t from, const urpc::Message& m);
void on_bind_reply(std::uint64_t from, const urpc::Message& m);
// Frames across cores (frames.cpp): the capability protocol's lines, and a give's answer.
void on_cap_line(std::uint64_t from, const urpc::Message& m);
void on_frame_landed(std::uint64_t from, const urpc::Message& m);
void on_far_line(std::uint64_t from, const urpc::Message& m);
// ring_gone: the peer core is done with a ring of ours.
void on_ring_gone(std::uint64_t from, const urpc::Message& m);
// A ring of this core's pool for something other than a binding (span.cpp: the shared page of an
// address space spanning cores): our capability in `slot`, charged to nobody. Its user must see
// that no other core holds a capability to it (their monitors reclaimed theirs) before
// release_own_ring, which removes every capability to it here and frees it. no_memory: none free.
[[nodiscard]] Status take_own_ring(std::uint64_t& slot, std::uint64_t& phys);
void release_own_ring(std::uint64_t& slot, std::uint64_t phys);
// Ends a domain this monitor started (domain_kill on the cap it keeps); not_found when it holds
// none, connection_lost when the domain already ended.
[[nodiscard]] Status kill(std::uint64_t domain);
// Domains this monitor ended on request so far (kill op, stop: step); the kernel counts them as faulted.
[[nodiscard]] std::uint64_t kills();
// Whether domain (of this core) may start `program` at run time: a program monitor.kill names
// holds the kill privilege, so only a domain that holds it itself may start another (else any
// domain could start a privileged program with arguments of its choosing).
[[nodiscard]] bool may_start(std::uint64_t domain, const char* program);
// Bindings this core's monitor set up (status).
[[nodiscard]] std::uint64_t made();
[[nodiscard]] std::uint64_t refused_busy();
// Kept memory (kept.cpp, MonitorOp::kept): answers the call of `who`; kept_release frees the block
// of supervision slot `owner` (down for good), every capability to it on this core with it.
void kept_serve(std::uint64_t who, const std::uint64_t (&w)[4]);
void kept_release(int owner);

} // namespace myr::monitor::binding
