// Replicated OS state driven by the monitors (see replication.hpp and docs/replication.md, "In
// the guest"). One plan step = one run: monitor 0 tells every monitor the machine's topology and
// the run (object, protocol, operations per core, seed), each monitor builds the same Group,
// constructs a fresh replica and lets its client issue seeded random operations until they all
// complete; monitor 0 then injects malformed replication lines (each must be refused and
// counted), asks every monitor for its replica's digest once it has applied every completed
// update, and prints one machine line. The replicas must agree.
#include "replication.hpp"

#include <myr/monitor/protocol.hpp>

#include <myr/args.hpp>
#include <myr/repl/endpoint.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/user/syscall.hpp>

#include <new>
#include <type_traits>

using namespace myr;
using namespace myr::user;

namespace myr::monitor::repl {
namespace {

namespace r = myr::repl;
constexpr std::uint32_t max_cores = r::max_cores;  // 64: one multicast tree per possible root

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
// The objects a run can replicate: the catalogue (myr/repl/objects/catalog.hpp). spec.object is
// the catalogue's wire id (1-based list position); everything below dispatches through it.
using Objects = r::Objects;
enum Workload : std::uint8_t { mixed = 0, commuting = 1 };  // commuting: reads + commuting updates only
const char* object_name(std::uint8_t id) {
    return id >= 1 && id <= Objects::size ? Objects::names[id - 1].data() : "?";
}

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

// This core's client.
struct Client {
    std::uint64_t done, updates, retries, consecutive_busy, backoff_until, rng, token, bad_ops;
    bool go, inflight, have_op, done_sent, report_pending;
    std::uint64_t report_after;  // report once the replica applied this many updates
    std::uint64_t op[r::op_words];
};
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

// A control message to a monitor, or to ourselves (handled at once: only counters change).
void control(std::uint32_t to, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]);

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

// ---- Monitor 0's view of a run -----------------------------------------------------------------
struct Totals {
    std::uint32_t ready, done_msgs, reports, replica_reports;
    std::uint64_t ops, updates, retries, bad_ops;
    std::uint64_t digest0, applied_min, applied_max, sent, rejected, send_failures, ignored;
    bool disagree;
};
Totals totals;

void record(std::uint64_t from, const urpc::Message& m) {
    if (m.header.type == repl_ready) {
        ++totals.ready;
        return;
    }
    if (m.header.type == repl_done) {
        ++totals.done_msgs;
        totals.ops += m.words[1];
        totals.updates += m.words[2];
        totals.retries += m.words[3];
        totals.bad_ops += m.words[4];
        return;
    }
    // repl_report: digests and applied counts of the replicas only (forwarding clients hold none)
    ++totals.reports;
    if (placement.is_replica(static_cast<std::uint32_t>(from))) {
        if (totals.replica_reports == 0) {
            totals.digest0 = m.words[1];
            totals.applied_min = totals.applied_max = m.words[2];
        } else {
            if (m.words[1] != totals.digest0) totals.disagree = true;
            if (m.words[2] < totals.applied_min) totals.applied_min = m.words[2];
            if (m.words[2] > totals.applied_max) totals.applied_max = m.words[2];
        }
        ++totals.replica_reports;
    } else if (m.words[1] != 0 || m.words[2] != 0) {
        totals.disagree = true;  // a client core claims a copy of the object: something is wrong
    }
    totals.sent += m.words[3];
    totals.rejected += m.words[4];
    totals.send_failures += m.words[5];
    totals.ignored += m.words[6];
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

void wait_until_quiet() { (void)syscall6(abi::Sys::wait_event); }

// ---- Plan step parsing (monitor 0) -------------------------------------------------------------
bool equal(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}
bool number(const char* s, std::uint64_t& v) {
    v = 0;
    return args::whole_decimal(s, std::uint64_t{1} << 62, v);
}
// Splits `s` at `sep` in place: returns the rest (or the empty string).
char* cut(char* s, char sep) {
    while (*s && *s != sep) ++s;
    if (*s) *s++ = '\0';
    return s;
}
std::uint8_t object_by_name(const char* s) {
    for (std::uint8_t i = 1; i <= Objects::size; ++i)
        if (equal(s, Objects::names[i - 1].data())) return i;
    return 0;
}
// "registry, memory, counter, kv, ..." (the catalogue's names) for messages.
const char* object_list() {
    static char text[160];
    std::size_t n = 0;
    for (std::size_t k = 0; k < Objects::size; ++k) {
        const std::string_view name = Objects::names[k];
        for (std::size_t i = 0; i < name.size() && n + 3 < sizeof text; ++i) text[n++] = name[i];
        if (k + 1 < Objects::size && n + 3 < sizeof text) {
            text[n++] = ',';
            text[n++] = ' ';
        }
    }
    text[n] = '\0';
    return text;
}
bool protocol_by_name(const char* s, r::Protocol& p) {
    // By hand: string_view comparisons would call memcmp/strlen, which user programs lack.
    for (r::Protocol q : r::all_protocols) {
        const std::string_view name = r::to_string(q);
        std::size_t i = 0;
        while (i < name.size() && s[i] == name[i]) ++i;
        if (i == name.size() && s[i] == '\0') {
            p = q;
            return true;
        }
    }
    return false;
}

// Settings for `object` from the kernel option `repl=` (myriadctl writes it from the config's
// [replication] table): OBJ:PROTO[:seq=N][:owner=N][:coord=origin|owner][:reads=local|lin],...
// and `fanout:tree|unicast`. False (with a message) when the option names the object badly.
bool settings_from_option(std::uint8_t object, bool& have_protocol) {
    char opt[512];
    have_protocol = false;
    if (!host.option("repl", opt, sizeof opt)) return true;
    bool ok = true;
    // `replicas:core|node` for every object, unless the object's own item says `replicas=`.
    bool object_replicas = false;
    const auto replicas_by_name = [](const char* s, r::Replicas& out) {
        if (equal(s, "node")) out = r::Replicas::per_node;
        else if (equal(s, "core")) out = r::Replicas::per_core;
        else return false;
        return true;
    };
    char* p = opt;
    while (*p && ok) {
        char* item = p;
        p = cut(p, ',');
        char* rest = cut(item, ':');
        if (equal(item, "fanout")) {
            if (equal(rest, "unicast")) spec.fanout = r::Fanout::unicast;
            else if (equal(rest, "tree")) spec.fanout = r::Fanout::tree;
            else ok = false;
            continue;
        }
        if (equal(item, "replicas")) {
            r::Replicas m{};
            ok = replicas_by_name(rest, m);
            if (ok && !object_replicas) spec.replicas = m;
            continue;
        }
        if (object_by_name(item) == 0) ok = false;
        if (!ok || object_by_name(item) != object) continue;
        char* fields = cut(rest, ':');
        ok = protocol_by_name(rest, spec.protocol);
        have_protocol = ok;
        while (ok && *fields) {
            char* f = fields;
            fields = cut(fields, ':');
            char* value = cut(f, '=');
            std::uint64_t v = 0;
            if (equal(f, "seq") && number(value, v) && v < spec.cores) spec.sequencer = static_cast<std::uint16_t>(v);
            else if (equal(f, "owner") && number(value, v) && v < spec.cores) spec.owner = static_cast<std::uint16_t>(v);
            else if (equal(f, "coord") && equal(value, "owner")) spec.coordinator = r::Coordinator::owner;
            else if (equal(f, "coord") && equal(value, "origin")) spec.coordinator = r::Coordinator::origin;
            else if (equal(f, "reads") && equal(value, "lin")) spec.reads = r::ReadMode::linearizable;
            else if (equal(f, "reads") && equal(value, "local")) spec.reads = r::ReadMode::local;
            else if (equal(f, "replicas") && replicas_by_name(value, spec.replicas)) object_replicas = true;
            else ok = false;
        }
    }
    if (!ok) print("replicate: bad kernel option repl= (item for '{}'); see docs/replication.md", object_name(object));
    return ok;
}

// Critical-path hops per update, from the multicast trees the group built (the trees every
// message travels): to the origin's completion, and until every replica has applied it.
// Averaged over origin cores, in hundredths.
// Replicas per node: the trees are over replica ranks; a client core adds one hop to its node's
// replica (counted in both) and one back (counted to completion).
void hops(std::uint64_t& complete100, std::uint64_t& reach100) {
    std::uint64_t c = 0, a = 0;
    for (std::uint32_t core = 0; core < spec.cores; ++core) {
        const std::uint32_t o = placement.rank_of(placement.replica_of(core));
        const std::uint32_t fwd = placement.is_replica(core) ? 0 : 1;
        c += 2 * fwd;
        a += fwd;
        switch (spec.protocol) {
        case r::Protocol::broadcast: a += group->tree(o).depth(); break;
        case r::Protocol::two_pc: {
            const std::uint32_t root = spec.coordinator == r::Coordinator::owner ? group->config().owner : o;
            const std::uint32_t d = group->tree(root).depth(), extra = root == o ? 0 : 1;
            c += 2 * d + 2 * extra;  // (request,) prepare down, votes up (, reply)
            a += 3 * d + extra;      // ... and the commit down
            break;
        }
        case r::Protocol::sequencer: {
            const std::uint32_t s = group->config().sequencer, extra = s == o ? 0 : 1;
            c += extra + group->tree(s).hops(o);
            a += extra + group->tree(s).depth();
            break;
        }
        default: break;
        }
    }
    complete100 = c * 100 / spec.cores;
    reach100 = a * 100 / spec.cores;
}

std::uint64_t run_number;

} // namespace

void init(const Host& h) { host = h; }

bool handles(std::uint8_t type) {
    return (type >= repl_first && type <= repl_last) || (type >= r::kind_first && type <= r::forward_last) ||
           type == r::seq_resend_kind;
}

void on_message(std::uint64_t from, const urpc::Message& m) {
    const std::uint8_t type = m.header.type;
    if ((type >= r::kind_first && type <= r::forward_last) || type == r::seq_resend_kind) {  // replication and forwarding lines
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

bool run_step(char* text, const std::uint32_t* node_of) {
    spec = Spec{};
    spec.cores = host.cores;
    spec.ops = 50;
    spec.fanout = r::Fanout::tree;
    char* rest = cut(text, ':');
    spec.object = object_by_name(text);
    if (spec.object == 0) {
        print("replicate: unknown object '{}' ({})", text, object_list());
        return false;
    }
    if (host.cores > max_cores) {
        print("replicate: {} cores; replication handles at most {}", host.cores, max_cores);
        return false;
    }
    // Defaults, then the config's settings (kernel option repl=), then the step's own fields.
    bool commutes = false;
    (void)Objects::visit(spec.object, [&](auto tag) {
        using O = typename decltype(tag)::type;
        spec.protocol = O::default_protocol;
        commutes = O::commutes;
    });
    bool configured = false;
    if (!settings_from_option(spec.object, configured)) return false;
    while (*rest) {
        char* field = rest;
        rest = cut(rest, ':');
        std::uint64_t v = 0;
        if (number(field, v) && v > 0 && v <= 1000000) spec.ops = v;
        else if (equal(field, "add")) spec.workload = commuting;
        else if (equal(field, "node")) spec.replicas = r::Replicas::per_node;
        else if (equal(field, "core")) spec.replicas = r::Replicas::per_core;
        else if (!protocol_by_name(field, spec.protocol)) {
            print("replicate: bad field '{}' (PROTOCOL: broadcast, 2pc, sequencer; OPS: 1..1000000; add; "
                  "node or core: replicas per NUMA node or per core)", field);
            return false;
        }
    }
    const char* pname = r::to_string(spec.protocol).data();
    if (!r::uses_messages(spec.protocol)) {
        print("replicate: protocol {} needs memory shared between the monitors; they share only the URPC "
              "mesh, so the guest runs broadcast, 2pc and sequencer only", pname);
        return false;
    }
    if (spec.protocol == r::Protocol::broadcast) {
        if (!commutes) {
            print("replicate: {} updates do not commute; broadcast would let replicas diverge (use 2pc or "
                  "sequencer)", object_name(spec.object));
            return false;
        }
        spec.workload = commuting;
    }
    // Topology: the nodes monitor 0 learnt from the hellos; distances from the SLIT the CPU
    // driver parsed (every monitor reads the same table), or 10 local / 20 remote without it.
    spec.nodes = 1;
    for (std::uint32_t c = 0; c < spec.cores; ++c) {
        core_node[c] = static_cast<std::uint16_t>(node_of[c]);
        if (node_of[c] + 1 > spec.nodes) spec.nodes = node_of[c] + 1;
    }
    if (spec.nodes > r::max_cores) {
        print("replicate: node numbers up to {}; at most {} supported", spec.nodes - 1, r::max_cores);
        return false;
    }
    fill_distances(spec.nodes);
    ++run_number;
    spec.id = static_cast<std::uint16_t>(spec.object | (run_number % 4096) << r::object_id_bits);
    spec.seed = r::mix64(0x5eed0000 + run_number);

    totals = Totals{};
    for (std::uint32_t first = 0; first < spec.cores; first += 48) {
        std::uint64_t w[urpc::payload_words] = {first};
        for (std::uint32_t i = 0; i < 48 && first + i < spec.cores; ++i)
            w[1 + i / 8] |= std::uint64_t{static_cast<std::uint8_t>(core_node[first + i])} << (8 * (i % 8));
        for (std::uint32_t c = 1; c < spec.cores; ++c) control(c, repl_nodes, w);
    }
    const std::uint64_t flags = std::uint64_t{spec.object} | std::uint64_t{static_cast<std::uint8_t>(spec.protocol)} << 8 |
                                std::uint64_t{static_cast<std::uint8_t>(spec.fanout)} << 16 |
                                std::uint64_t{static_cast<std::uint8_t>(spec.coordinator)} << 24 |
                                std::uint64_t{static_cast<std::uint8_t>(spec.reads)} << 32 |
                                std::uint64_t{spec.workload} << 40 | std::uint64_t{spec.id} << 48;
    const std::uint64_t start[urpc::payload_words] = {
        flags, spec.ops, spec.seed, spec.sequencer,
        spec.owner | std::uint64_t{static_cast<std::uint8_t>(spec.replicas)} << 16, spec.cores, spec.nodes};
    for (std::uint32_t c = 1; c < spec.cores; ++c) control(c, repl_start, start);
    if (!start_local()) return false;
    // Clients start only once every replica exists: a replication line must never reach a core
    // that has not built this run's replica yet (channels from different cores are not ordered).
    while (totals.ready < spec.cores - 1)
        if (!host.poll()) wait_until_quiet();
    const std::uint64_t go[urpc::payload_words] = {};
    for (std::uint32_t c = 1; c < spec.cores; ++c) control(c, repl_go, go);
    client.go = true;
    const std::uint64_t t0 = rdtsc();
    while (totals.done_msgs < spec.cores)
        if (!host.poll()) wait_until_quiet();
    const std::uint64_t ticks = rdtsc() - t0;

    // Malformed lines every replica must refuse and count: another run's object id, a sender that
    // is not the channel's core, an origin that does not exist.
    std::uint64_t injected = 0;
    for (std::uint32_t c = 1; c < spec.cores; ++c) {
        for (unsigned k = 0; k < 3; ++k) {
            r::Packet p{};
            p.kind = spec.protocol == r::Protocol::sequencer ? r::Kind::seq_entry
                     : spec.protocol == r::Protocol::two_pc  ? r::Kind::tpc_prepare
                                                             : r::Kind::bcast;
            p.object = k == 0 ? static_cast<std::uint16_t>(spec.id + (1u << r::object_id_bits)) : spec.id;
            p.from = k == 1 ? static_cast<std::uint16_t>(c % (spec.cores - 1) + 1) : 0;
            p.origin = k == 2 ? static_cast<std::uint16_t>(spec.cores + 5) : 0;
            p.id = r::make_id(0, 0xbad);
            std::uint64_t w[urpc::payload_words];
            r::encode(p, w);
            control(c, static_cast<std::uint8_t>(p.kind), w);
            ++injected;
        }
        if (spec.replicas == r::Replicas::per_node) {
            // And a forwarding reply nobody asked for: a client of node 0 must not find the id, any
            // other core must refuse it as not coming from its replica (or as a reply to a replica).
            std::uint64_t w[urpc::payload_words] = {std::uint64_t{spec.id} | std::uint64_t{c} << 16,
                                                    (std::uint64_t{1} << 40) | 0xbad, 0};
            control(c, r::forward_last, w);
            ++injected;
        }
    }
    // Collect once every replica has applied every completed update and is idle.
    const std::uint64_t collect[urpc::payload_words] = {totals.updates};
    for (std::uint32_t c = 1; c < spec.cores; ++c) control(c, repl_collect, collect);
    client.report_pending = true;
    client.report_after = totals.updates;
    while (totals.reports < spec.cores)
        if (!host.poll()) wait_until_quiet();

    std::uint64_t c100 = 0, a100 = 0;
    hops(c100, a100);
    const std::uint64_t ops = totals.ops ? totals.ops : 1, updates = totals.updates ? totals.updates : 1;
    const std::uint64_t per_op10 = totals.sent * 10 / ops, per_update10 = totals.sent * 10 / updates;
    const bool applied_all = totals.applied_min == totals.updates && totals.applied_max == totals.updates &&
                             totals.replica_reports == placement.replicas();
    const bool agree = !totals.disagree && applied_all;
    const bool ok = agree && totals.rejected == injected && totals.send_failures == 0 && totals.bad_ops == 0 &&
                    totals.ops == spec.ops * spec.cores;
    emit("replicate object={} protocol={} cores={} ops={} updates={} messages={} msgs-per-op={}.{} "
         "msgs-per-update={}.{} hops={}.{:02} reach={}.{:02} replicas={} retries={} agree={} rejected={} injected={} "
         "fanout={}",
         object_name(spec.object), pname, spec.cores, totals.ops, totals.updates, totals.sent, per_op10 / 10,
         per_op10 % 10, per_update10 / 10, per_update10 % 10, c100 / 100, c100 % 100, a100 / 100, a100 % 100,
         spec.replicas == r::Replicas::per_node ? "node" : "core", totals.retries, agree ? "yes" : "no", totals.rejected,
         injected,
         spec.fanout == r::Fanout::tree ? "tree" : "unicast");
    print("replicate {} {}: {} replicas, digest {:#x}, applied {}..{} of {}, send failures {}, ignored {}, "
          "outbox peak {}, {} ticks for the operations{}",
          object_name(spec.object), pname, placement.replicas(), totals.digest0, totals.applied_min,
          totals.applied_max, totals.updates,
          totals.send_failures, totals.ignored, outbox_peak, ticks, ok ? "" : " -- FAILED");
    return ok;
}

} // namespace myr::monitor::repl
