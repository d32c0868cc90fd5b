#pragma once
// What replication.cpp (every monitor's replica and client, the replication and control lines)
// and replication_step.cpp (core 0's plan step `replicate:`: the step and the repl= option parsed,
// the run started, checked and reported) share inside the monitor: the run's settings, the group
// and its placement, this core's client, and sending a control message. Not an interface for
// anything else (replication.hpp is monitor.cpp's).
#include "replication.hpp"

#include <myr/repl/endpoint.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::repl::detail {

namespace r = myr::repl;
constexpr std::uint32_t max_cores = r::max_cores;  // 64: one multicast tree per possible root

extern Host host;
extern std::uint64_t outbox_peak;  // the longest the monitor's outbox was after a line of ours joined it

// The objects a run can replicate: the catalogue (myr/repl/objects/catalog.hpp). spec.object is
// the catalogue's wire id (1-based list position); everything dispatches through it.
using Objects = r::Objects;
enum Workload : std::uint8_t { mixed = 0, commuting = 1 };  // commuting: reads + commuting updates only

struct Spec {
    std::uint8_t object;  // catalogue id, 1..Objects::size
    r::Protocol protocol;
    r::Fanout fanout;
    r::Coordinator coordinator;
    r::ReadMode reads;
    Workload workload;
    std::uint64_t ops;   // per core
    std::uint64_t seed;
    std::uint16_t sequencer, owner;
    std::uint32_t cores, nodes;
    std::uint16_t id;    // object id on the wire: object | run number << object_id_bits (stale lines told apart)
    r::Replicas replicas;  // per core, or per NUMA node (the node's lowest core; the others forward)
};
extern Spec spec;
extern std::uint16_t core_node[max_cores];
void fill_distances(std::uint32_t nodes);
extern r::Group* group;
extern r::Placement placement;  // where the replicas are; the group is built over its replica cores

// This core's client.
struct Client {
    std::uint64_t done, updates, retries, consecutive_busy, backoff_until, rng, token, bad_ops;
    bool go, inflight, have_op, done_sent, report_pending;
    std::uint64_t report_after;  // report once the replica applied this many updates
    std::uint64_t op[r::op_words];
};
extern Client client;

// A control message to a monitor, or to ourselves (handled at once: only counters change).
void control(std::uint32_t to, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]);
// Builds the group and a fresh replica for `spec` on this core; false when the group is refused.
bool start_local();
// replication_step.cpp, monitor 0: counts a repl_ready, repl_done or repl_report line of a run.
void record(std::uint64_t from, const urpc::Message& m);

} // namespace myr::monitor::repl::detail
