// Core 0's plan step `replicate:` (see replication.hpp and docs/replication.md, "In the guest"):
// monitor 0 parses the step and the kernel option repl=, tells every monitor the machine's
// topology and the run, starts the clients once every replica exists, injects malformed
// replication lines, collects every replica's digest and prints the result line. Every monitor's
// replica and client, and the lines, are in replication.cpp; what the two share is in
// replication_state.hpp.
#include "replication.hpp"
#include "replication_state.hpp"

#include <myr/monitor/protocol.hpp>

#include <myr/args.hpp>
#include <myr/repl/endpoint.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

namespace myr::monitor::repl {
namespace detail {

const char* object_name(std::uint8_t id) {
    return id >= 1 && id <= Objects::size ? Objects::names[id - 1].data() : "?";
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

} // namespace detail

using namespace detail;

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
