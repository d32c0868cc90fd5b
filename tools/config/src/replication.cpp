// [replication]: which agreement protocol each replicated object uses in the guest (docs/
// replication.md), checked here and handed to the monitors as one kernel option, `repl=`.
//
//   [replication]
//   registry = "2pc"                 # broadcast | 2pc | sequencer   (per object)
//   registry_coordinator = "owner"   # 2pc: origin (default) | owner
//   registry_owner = 0               # 2pc with coordinator owner: the coordinating core
//   kv = "sequencer"
//   kv_sequencer = 0                 # sequencer: the ordering core
//   kv_reads = "linearizable"        # sequencer: local (default) | linearizable
//   fanout = "tree"                  # tree (default) | unicast
//   replicas = "node"                # core (default): a replica on every core | node: one per NUMA
//                                    # node (its lowest core), the node's other cores forward to it
//   kv_replicas = "core"             # per object, overrides `replicas`
#include "draft.hpp"

#include <myr/repl/objects/catalog.hpp>
#include <myr/repl/protocol.hpp>

#include <algorithm>
#include <optional>

namespace myr::config {

const std::vector<std::string>& replication_objects() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (std::string_view s : repl::Objects::names) n.emplace_back(s);
        return n;
    }();
    return names;
}

namespace detail {
namespace {

// From the class (its `commutes`): may the object run under broadcast?
bool commutes(const std::string& object) {
    bool c = false;
    (void)repl::Objects::visit(repl::Objects::id_of(object), [&](auto tag) { c = decltype(tag)::type::commutes; });
    return c;
}

repl::Protocol default_protocol(const std::string& object) {
    repl::Protocol p = repl::Protocol::two_pc;
    (void)repl::Objects::visit(repl::Objects::id_of(object),
                               [&](auto tag) { p = decltype(tag)::type::default_protocol; });
    return p;
}

std::string object_names() {
    std::string s;
    for (const std::string& n : replication_objects()) s += (s.empty() ? "" : ", ") + n;
    return s;
}

} // namespace

void build_replication(const DraftReplication& d, Config& c, std::vector<Issue>& issues) {
    const auto key = [](const std::string& k) { return "replication." + k; };
    const auto string_of = [&](const std::string& k) -> const std::string* {
        for (const auto& [name, value] : d.strings)
            if (name == k) return &value;
        for (const auto& [name, value] : d.integers)
            if (name == k) issues.push_back({key(k), "must be a string (got an integer)"});
        return nullptr;
    };
    const auto int_of = [&](const std::string& k, int& out) -> bool {
        for (const auto& [name, value] : d.strings)
            if (name == k) issues.push_back({key(k), "must be an integer core number (got a string)"});
        for (const auto& [name, value] : d.integers) {
            if (name != k) continue;
            if (value < 0 || value >= static_cast<std::int64_t>(c.cpu_count())) {
                issues.push_back({key(k), "must be a core of this machine, 0.." + std::to_string(c.cpu_count() - 1) +
                                              " (got " + std::to_string(value) + ")"});
                return false;
            }
            out = static_cast<int>(value);
            return true;
        }
        return false;
    };

    Replication r;
    if (const std::string* f = string_of("fanout")) {
        if (*f != "tree" && *f != "unicast")
            issues.push_back({key("fanout"), "must be \"tree\" or \"unicast\" (got \"" + *f + "\")"});
        else r.fanout = *f;
    }
    const auto replicas_of = [&](const std::string& k, std::string& out) {
        if (const std::string* v = string_of(k)) {
            if (*v != "core" && *v != "node")
                issues.push_back({key(k), "must be \"core\" (a replica on every core) or \"node\" (one per NUMA "
                                          "node, on its lowest core) (got \"" + *v + "\")"});
            else out = *v;
        }
    };
    replicas_of("replicas", r.replicas);
    for (const std::string& name : replication_objects()) {
        const std::string o = name;
        ReplicationObject obj;
        obj.object = o;
        const std::string* proto = string_of(o);
        const std::size_t before = issues.size();
        if (proto != nullptr) {
            const auto p = repl::parse_protocol(*proto);
            if (!p.ok()) {
                issues.push_back({key(o), "unknown protocol \"" + *proto +
                                              "\" (broadcast, 2pc, sequencer; nr and shared are host-only)"});
            } else if (!repl::uses_messages(*p)) {
                issues.push_back({key(o), "protocol \"" + *proto +
                                              "\" needs memory shared between the monitors, which the guest does not "
                                              "have (they share only the URPC mesh): use broadcast, 2pc or sequencer"});
            } else if (*p == repl::Protocol::broadcast && !commutes(o)) {
                issues.push_back({key(o), "updates of " + o +
                                              " do not commute, so broadcast would let replicas diverge: use 2pc or "
                                              "sequencer"});
            } else {
                obj.protocol = std::string(repl::to_string(*p));
            }
        }
        // Settings that belong to one protocol: refused with any other (a typo must not be ignored).
        const auto needs = [&](const std::string& k, const char* protocol) {
            if (proto == nullptr)
                issues.push_back({key(k), "is set but replication." + o + " (its protocol) is not"});
            else if (!obj.protocol.empty() && obj.protocol != protocol)
                issues.push_back({key(k), std::string("applies to protocol ") + protocol + " only (" + o + " uses " +
                                              obj.protocol + ")"});
        };
        const auto present = [&](const std::string& k) {
            return std::any_of(d.strings.begin(), d.strings.end(), [&](const auto& e) { return e.first == k; }) ||
                   std::any_of(d.integers.begin(), d.integers.end(), [&](const auto& e) { return e.first == k; });
        };
        if (present(o + "_sequencer")) {
            needs(o + "_sequencer", "sequencer");
            int_of(o + "_sequencer", obj.sequencer);
        }
        if (present(o + "_reads")) {
            needs(o + "_reads", "sequencer");
            if (const std::string* v = string_of(o + "_reads")) {
                if (*v != "local" && *v != "linearizable")
                    issues.push_back({key(o + "_reads"), "must be \"local\" or \"linearizable\" (got \"" + *v + "\")"});
                else obj.reads = *v;
            }
        }
        if (present(o + "_coordinator")) {
            needs(o + "_coordinator", "2pc");
            if (const std::string* v = string_of(o + "_coordinator")) {
                if (*v != "origin" && *v != "owner")
                    issues.push_back({key(o + "_coordinator"), "must be \"origin\" or \"owner\" (got \"" + *v + "\")"});
                else obj.coordinator = *v;
            }
        }
        if (present(o + "_owner")) {
            needs(o + "_owner", "2pc");
            int_of(o + "_owner", obj.owner);
            if (obj.coordinator != "owner")
                issues.push_back({key(o + "_owner"), "needs replication." + o + "_coordinator = \"owner\""});
        }
        if (present(o + "_replicas")) {
            if (proto == nullptr) issues.push_back({key(o + "_replicas"), "is set but replication." + o + " (its protocol) is not"});
            replicas_of(o + "_replicas", obj.replicas);
        }
        // Per node, only the lowest core of each node holds a replica: the sequencer and the 2pc
        // owner must be one of those (the monitors would otherwise use the node's replica silently).
        const std::string& mode = obj.replicas.empty() ? r.replicas : obj.replicas;
        const auto on_replica = [&](const std::string& k, int core) {
            if (mode != "node" || core < 0 || c.nodes.empty()) return;
            const unsigned node = c.node_of(static_cast<unsigned>(core));
            if (node >= c.nodes.size() || c.nodes[node].cpus.empty()) return;
            const unsigned lowest = c.nodes[node].cpus.front();
            if (static_cast<unsigned>(core) != lowest)
                issues.push_back({key(k), "with replicas = \"node\" only the lowest core of each node holds a replica; "
                                          "core " + std::to_string(core) + " is on node " + std::to_string(node) +
                                          ", whose replica is core " + std::to_string(lowest)});
        };
        on_replica(o + "_sequencer", obj.sequencer);
        on_replica(o + "_owner", obj.owner);
        if (proto != nullptr && issues.size() == before) r.objects.push_back(obj);
    }
    if (!r.empty() && c.cpu_count() > replication_max_cpus)
        issues.push_back({"replication", "the monitors replicate on at most " + std::to_string(replication_max_cpus) +
                                             " cores (this machine has " + std::to_string(c.cpu_count()) + ")"});
    c.replication = r;
}

} // namespace detail

// Mirrors the monitor's run_step (monitor/replication.cpp): same fields, same refusals, so a bad
// step is a config error before boot instead of a failed plan after it.
std::string check_replicate_step(const std::string& spec, const Config& c) {
    std::vector<std::string> fields;
    for (std::size_t i = 0;;) {
        const std::size_t colon = spec.find(':', i);
        fields.push_back(spec.substr(i, colon == std::string::npos ? std::string::npos : colon - i));
        if (colon == std::string::npos) break;
        i = colon + 1;
    }
    const std::string& object = fields[0];
    if (repl::Objects::id_of(object) == 0)
        return "unknown object '" + object + "' (" + detail::object_names() + ")";
    if (c.cpu_count() > replication_max_cpus)
        return "the monitors replicate on at most " + std::to_string(replication_max_cpus) + " cores (this machine has " +
               std::to_string(c.cpu_count()) + ")";
    std::optional<repl::Protocol> protocol;
    for (std::size_t i = 1; i < fields.size(); ++i) {
        const std::string& f = fields[i];
        if (!f.empty() && f.size() <= 7 && std::all_of(f.begin(), f.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
            const unsigned long ops = std::stoul(f);
            if (ops == 0 || ops > 1000000) return "OPS '" + f + "' must be 1..1000000";
            continue;
        }
        if (f == "add" || f == "node" || f == "core") continue;
        bool known = false;
        for (repl::Protocol p : repl::all_protocols)
            if (repl::to_string(p) == f) protocol = p, known = true;
        if (!known)
            return "bad field '" + f + "' in 'replicate:" + spec +
                   "' (PROTOCOL: broadcast, 2pc, sequencer; OPS: 1..1000000; add; node or core)";
    }
    if (!protocol) {
        protocol = detail::default_protocol(object);
        for (const ReplicationObject& o : c.replication.objects)
            if (o.object == object && repl::parse_protocol(o.protocol).ok()) protocol = *repl::parse_protocol(o.protocol);
    }
    if (!repl::uses_messages(*protocol))
        return "protocol " + std::string(repl::to_string(*protocol)) +
               " needs memory shared between the monitors; they share only the URPC mesh (broadcast, 2pc, sequencer)";
    if (*protocol == repl::Protocol::broadcast && !detail::commutes(object))
        return object + " updates do not commute; broadcast would let replicas diverge (use 2pc or sequencer)";
    return "";
}

std::string replication_kernel_option(const Replication& r) {
    if (r.empty()) return "";
    std::string s = "repl=";
    bool first = true;
    const auto item = [&](const std::string& text) {
        if (!first) s += ",";
        s += text;
        first = false;
    };
    for (const ReplicationObject& o : r.objects) {
        std::string t = o.object + ":" + o.protocol;
        if (o.sequencer >= 0) t += ":seq=" + std::to_string(o.sequencer);
        if (!o.reads.empty()) t += std::string(":reads=") + (o.reads == "linearizable" ? "lin" : "local");
        if (!o.coordinator.empty()) t += ":coord=" + o.coordinator;
        if (o.owner >= 0) t += ":owner=" + std::to_string(o.owner);
        if (!o.replicas.empty()) t += ":replicas=" + o.replicas;
        item(t);
    }
    if (!r.fanout.empty()) item("fanout:" + r.fanout);
    if (!r.replicas.empty()) item("replicas:" + r.replicas);
    return s;
}

} // namespace myr::config
