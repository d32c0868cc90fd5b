// Replicated OS state driven by the monitors (see replication.hpp and docs/replication.md, "In
// the guest"). One plan step = one run: monitor 0 tells every monitor the machine's topology and
// the run (object, protocol, operations per core, seed), each monitor builds the same Group,
// constructs a fresh replica and lets its client issue seeded random operations until they all
// complete; monitor 0 then injects malformed replication lines (each must be refused and
// counted), asks every monitor for its replica's digest once it has applied every completed
// update, and prints one machine line. The replicas must agree.
//
// This file: every monitor's side of a run (its replica and client, the replication and control
// lines it handles). Monitor 0's side (the plan step and the repl= option parsed, the run started,
// checked and printed) is in replication_step.cpp; what the two share is in replication_state.hpp.
#include "replication.hpp"
#include "replication_state.hpp"

#include <myr/monitor/protocol.hpp>

#include <myr/repl/endpoint.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/user/syscall.hpp>

#include <new>
#include <type_traits>

using namespace myr;
using namespace myr::user;

namespace myr::monitor::repl {
namespace detail {

Host host;

// ---- Sending -----------------------------------------------------------------------------------
// Lines go through the monitor's own ordered outbox (mesh.cpp), which never blocks and drains on
// every poll. The client adds no work while that outbox holds more than client_backlog_limit
// lines, which bounds what a run queues; a line the outbox cannot take (nearly full) is counted
// as an overflow, printed, and fails the run.
constexpr std::uint32_t client_backlog_limit = 64;
std::uint64_t outbox_overflows, outbox_peak;

bool queue(std::uint32_t to, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) {
    if (to >= max_cores || to >= host.cores || to == host.core) return false;
    if (!host.try_send(to, type, w)) {
        if (outbox_overflows++ == 0) print("replication outbox full: a line to core {} is lost", to);
        return false;
    }
    const std::uint64_t queued = host.queued();
    if (queued > outbox_peak) outbox_peak = queued;
    return true;
}

class MeshTransport final : public r::Transport {
public:
    Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) override {
        return queue(dst, type, words) ? Status::ok : Status::overflow;
    }
};

// ---- The run -----------------------------------------------------------------------------------
Spec spec;
bool active;
std::uint16_t core_node[max_cores];
std::uint8_t distance[max_cores * max_cores];

void fill_distances(std::uint32_t nodes) {
    const abi::TopologyInfo* t = host.topology;
    const bool slit = t && t->nodes == nodes;
    for (std::uint32_t i = 0; i < nodes; ++i)
        for (std::uint32_t j = 0; j < nodes; ++j)
            distance[i * nodes + j] = slit ? t->distance[i * nodes + j] : (i == j ? 10 : 20);
}
alignas(r::Group) unsigned char group_mem[sizeof(r::Group)];
r::Group* group;
alignas(MeshTransport) unsigned char transport_mem[sizeof(MeshTransport)];
MeshTransport* transport;
r::Placement placement;  // where the replicas are; the group is built over its replica cores

// This core's endpoint: a replica, or (replicas per node, not the node's replica core) a client
// proxy forwarding to its node's replica core. One buffer for whichever object the run uses,
// sized for the largest in the catalogue; the budget keeps an object's state from silently
// growing the monitor (every core's monitor holds this buffer in its bss).
template <typename O>
struct endpoint_size {
    static constexpr std::size_t value = sizeof(r::Endpoint<O>);
};
constexpr std::size_t replica_budget = 160 * 1024;
static_assert(Objects::max_size<endpoint_size>() <= replica_budget,
              "a catalogued object's Endpoint (replica + tables) is larger than the monitor's replica_budget: "
              "shrink its state or raise the budget knowingly");
alignas(64) unsigned char replica_mem[Objects::max_size<endpoint_size>()];
template <typename O>
r::Endpoint<O>& replica() {
    return *std::launder(reinterpret_cast<r::Endpoint<O>*>(replica_mem));
}
template <typename F>
void with_replica(F&& f) {
    (void)Objects::visit(spec.object, [&](auto tag) { f(replica<typename decltype(tag)::type>()); });
}
template <typename T> struct object_of;
template <typename O> struct object_of<r::Endpoint<O>> { using type = O; };

Client client;
std::uint32_t refusals_printed;
std::uint64_t stray_lines, stale_lines, bad_control;

std::uint64_t next_random() {
    client.rng += 0x9e3779b97f4a7c15ULL;
    return r::mix64(client.rng);
}

// Seeded random operations: the object's own generator (its `sample`, small key spaces so
// clients conflict); commuting-only under broadcast and with the step's `add`.
template <typename O>
typename O::Op make_op(std::uint64_t x) {
    return O::sample(x, r::SampleContext{static_cast<std::uint16_t>(host.core), spec.cores, spec.workload == commuting});
}

void backoff() {
    ++client.retries;
    if (client.consecutive_busy < 10) ++client.consecutive_busy;
    // Randomised exponential backoff in TSC ticks: conflicting 2pc clients must not retry in step.
    client.backoff_until = rdtsc() + next_random() % (std::uint64_t{20000} << client.consecutive_busy);
}

template <typename O>
bool drive(r::Endpoint<O>& rep) {
    using Op = typename O::Op;
    bool any = false;
    r::Completion<O> c;
    while (rep.take_completion(c)) {
        any = true;
        client.inflight = false;
        if (c.status == Status::ok) {
            ++client.done;
            Op op{};
            __builtin_memcpy(&op, client.op, sizeof op);
            if (!O::is_read(op)) ++client.updates;
            client.have_op = false;
            client.consecutive_busy = 0;
        } else {
            backoff();  // busy: a 2pc conflict aborted it, or a read met a locked key: retry it
        }
    }
    if (client.go && !client.inflight && client.done < spec.ops && host.queued() < client_backlog_limit &&
        rdtsc() >= client.backoff_until) {
        if (!client.have_op) {
            const Op op = make_op<O>(next_random());
            for (auto& w : client.op) w = 0;
            __builtin_memcpy(client.op, &op, sizeof op);
            client.have_op = true;
        }
        Op op{};
        __builtin_memcpy(&op, client.op, sizeof op);
        const Status s = rep.submit(op, ++client.token);
        if (s == Status::ok) {
            client.inflight = true;
            any = true;
        } else if (s == Status::busy) {
            backoff();
        } else {
            ++client.bad_ops;  // the generator made an op the object calls invalid: skip it
            ++client.done;
            client.have_op = false;
        }
    }
    if (client.done == spec.ops && !client.inflight && !client.done_sent) {
        client.done_sent = true;
        const std::uint64_t w[urpc::payload_words] = {host.core, client.done - client.bad_ops, client.updates,
                                                      client.retries, client.bad_ops};
        control(0, repl_done, w);
        any = true;
    }
    // A replica reports once it applied every completed update; a forwarding client (no copy of
    // the object) once nothing of its own is in flight.
    const bool holds = rep.is_replica();
    if (client.report_pending && (!holds || rep.applied() >= client.report_after) && rep.idle()) {
        client.report_pending = false;
        const std::uint64_t w[urpc::payload_words] = {host.core, holds ? rep.replica().object().digest() : 0,
                                                      rep.applied(), rep.sent(), rep.rejected(),
                                                      rep.send_failures() + outbox_overflows,
                                                      holds ? rep.replica().stats().ignored : 0};
        control(0, repl_report, w);
        any = true;
    }
    return any;
}

// Builds the group and a fresh replica for `spec` on this core; false when the group is refused.
bool start_local() {
    active = false;
    r::GroupConfig cfg{};
    cfg.protocol = spec.protocol;
    cfg.object = spec.id;
    cfg.cores = spec.cores;
    cfg.nodes = spec.nodes;
    cfg.distance = std::span<const std::uint8_t>(distance, std::size_t{spec.nodes} * spec.nodes);
    cfg.core_node = std::span<const std::uint16_t>(core_node, spec.cores);
    cfg.sequencer = spec.sequencer;
    cfg.owner = spec.owner;
    cfg.coordinator = spec.coordinator;
    cfg.reads = spec.reads;
    cfg.fanout = spec.fanout;
    if (group == nullptr) group = new (group_mem) r::Group();
    if (transport == nullptr) transport = new (transport_mem) MeshTransport();
    Status st = placement.build(spec.cores, cfg.core_node, spec.nodes, spec.replicas);
    if (st == Status::ok) st = group->build(placement.group_config(cfg));
    client = Client{};
    client.rng = spec.seed ^ r::mix64(host.core + 1);
    refusals_printed = 0;
    outbox_overflows = 0;
    if (st != Status::ok) {
        print("replicate: core {} cannot build the group ({})", host.core, static_cast<std::int64_t>(st));
        return false;
    }
    const std::uint16_t self = static_cast<std::uint16_t>(host.core);
    if (!Objects::visit(spec.object, [&](auto tag) {
            new (replica_mem) r::Endpoint<typename decltype(tag)::type>(*group, placement, self, *transport);
        }))
        return false;
    active = true;
    return true;
}

void control(std::uint32_t to, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) {
    if (to != host.core) {
        if (!queue(to, type, w)) ++outbox_overflows;
        return;
    }
    urpc::Message m{};
    m.header.type = type;
    for (unsigned i = 0; i < urpc::payload_words; ++i) m.words[i] = w[i];
    record(host.core, m);
}

} // namespace detail

using namespace detail;

void init(const Host& h) { host = h; }

bool handles(std::uint8_t type) {
    return (type >= repl_first && type <= repl_last) || (type >= r::kind_first && type <= r::forward_last) ||
           (type >= r::seq_resend_kind && type <= r::seq_ready_kind);
}

void on_message(std::uint64_t from, const urpc::Message& m) {
    const std::uint8_t type = m.header.type;
    if ((type >= r::kind_first && type <= r::forward_last) || (type >= r::seq_resend_kind && type <= r::seq_ready_kind)) {  // replication and forwarding lines
        const std::uint16_t id = r::packet_object(m);
        if (active && (id >> r::object_id_bits) < (spec.id >> r::object_id_bits)) {
            ++stale_lines;  // a late line of an earlier run (an abort nobody waits for): harmless
            return;
        }
        if (!active) {
            ++stray_lines;
            print("replication line type {} from core {} with no replica here: refused", type, from);
            return;
        }
        with_replica([&](auto& rep) {
            const Status s = rep.on_message(static_cast<std::uint16_t>(from), m);
            if (s != Status::ok && refusals_printed < 4) {
                ++refusals_printed;
                print("replication line type {} from core {} refused ({}), counted", type, from,
                      static_cast<std::int64_t>(s));
            }
        });
        return;
    }
    switch (type) {
    case repl_nodes: {
        if (from != 0) break;
        for (std::uint64_t i = 0; i < 48; ++i) {
            const std::uint64_t c = m.words[0] + i;
            if (c < max_cores) core_node[c] = static_cast<std::uint8_t>(m.words[1 + i / 8] >> (8 * (i % 8)));
        }
        return;
    }
    case repl_start: {
        if (from != 0) break;
        const std::uint64_t f = m.words[0];
        spec.object = static_cast<std::uint8_t>(f);
        spec.protocol = static_cast<r::Protocol>((f >> 8) & 0xff);
        spec.fanout = static_cast<r::Fanout>((f >> 16) & 0xff);
        spec.coordinator = static_cast<r::Coordinator>((f >> 24) & 0xff);
        spec.reads = static_cast<r::ReadMode>((f >> 32) & 0xff);
        spec.workload = static_cast<Workload>((f >> 40) & 0xff);
        spec.id = static_cast<std::uint16_t>(f >> 48);
        spec.ops = m.words[1];
        spec.seed = m.words[2];
        spec.sequencer = static_cast<std::uint16_t>(m.words[3]);
        spec.owner = static_cast<std::uint16_t>(m.words[4]);
        spec.replicas = static_cast<r::Replicas>((m.words[4] >> 16) & 0xff);
        spec.cores = static_cast<std::uint32_t>(m.words[5]);
        spec.nodes = static_cast<std::uint32_t>(m.words[6]);
        if (spec.cores != host.cores || spec.nodes == 0 || spec.nodes > max_cores || spec.object < 1 ||
            spec.object > Objects::size) {
            active = false;
            break;
        }
        fill_distances(spec.nodes);
        const bool built = start_local();
        const std::uint64_t ready[urpc::payload_words] = {host.core};
        control(0, repl_ready, ready);
        if (!built) {
            // Tell monitor 0 at once: no operations were done here, so the run fails.
            const std::uint64_t w[urpc::payload_words] = {host.core, 0, 0, 0, spec.ops};
            control(0, repl_done, w);
        }
        return;
    }
    case repl_go:
        if (from != 0 || !active) break;
        client.go = true;
        return;
    case repl_collect:
        if (from != 0 || !active) break;
        client.report_pending = true;
        client.report_after = m.words[0];
        return;
    case repl_ready:
    case repl_done:
    case repl_report:
        if (host.core != 0 || from == 0) break;
        record(from, m);
        return;
    default: break;
    }
    ++bad_control;
    print("replication control message type {} from core {} unexpected: ignored", type, from);
}

bool pump() {
    bool any = false;
    if (active) with_replica([&](auto& rep) { any = drive(rep) || any; });
    return any;
}

} // namespace myr::monitor::repl
