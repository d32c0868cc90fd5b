// TOML -> Draft: syntax, value types and unknown keys. Meaning is checked in validate.cpp.
// toml++ is confined to this file (it is a large header-only library).
#include "draft.hpp"

#include <myr/boot_limits.hpp>
#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>
#include <myr/config/units.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace myr::config {
namespace {

using detail::Draft;
using detail::DraftNode;
using detail::Issue;

const char* type_name(toml::node_type t) {
    switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    }
    return "an unknown type";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string join_key(std::string_view prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

// Reads one table's known keys; everything else is an "unknown key" issue (typos must not be
// silently ignored: a misspelt `timeout` would otherwise run with the default).
class TableReader {
public:
    TableReader(const toml::table& table, std::string prefix, std::vector<Issue>& issues)
        : m_table(table), m_prefix(std::move(prefix)), m_issues(issues) {}

    void allow(std::initializer_list<std::string_view> keys) {
        m_known.insert(m_known.end(), keys.begin(), keys.end());
    }

    void report_unknown() const {
        for (const auto& [k, v] : m_table) {
            const std::string_view key = k.str();
            if (std::find(m_known.begin(), m_known.end(), key) != m_known.end()) continue;
            std::string problem = "unknown key";
            for (std::string_view known : m_known)
                if (edit_distance(key, known) <= 2) {
                    problem += " (did you mean '" + join_key(m_prefix, known) + "'?)";
                    break;
                }
            m_issues.push_back({join_key(m_prefix, key), problem});
        }
    }

    [[nodiscard]] const toml::node* get(std::string_view key) const { return m_table.get(key); }
    [[nodiscard]] std::string key(std::string_view k) const { return join_key(m_prefix, k); }

    void wrong_type(std::string_view k, const toml::node& n, std::string_view expected) const {
        m_issues.push_back({key(k), "must be " + std::string(expected) + " (got " + type_name(n.type()) + ")"});
    }

    void read_string(std::string_view k, std::string& out) const {
        if (const toml::node* n = get(k)) {
            if (auto s = n->value<std::string>(); s && n->is_string()) out = *s;
            else wrong_type(k, *n, "a string");
        }
    }
    void read_int(std::string_view k, std::int64_t& out) const {
        if (const toml::node* n = get(k)) {
            if (n->is_integer()) out = n->as_integer()->get();
            else wrong_type(k, *n, "an integer");
        }
    }
    // A size: a string with a K/M/G suffix, or an integer number of MiB.
    void read_size(std::string_view k, std::optional<std::uint64_t>& out) const {
        const toml::node* n = get(k);
        if (!n) return;
        if (n->is_integer()) {
            const std::int64_t v = n->as_integer()->get();
            if (v < 0 || static_cast<std::uint64_t>(v) > (1ull << 40))
                m_issues.push_back({key(k), "must be a non-negative number of MiB (got " + std::to_string(v) + ")"});
            else out = static_cast<std::uint64_t>(v) * mib;
        } else if (n->is_string()) {
            const auto parsed = parse_memory_size(n->as_string()->get());
            if (parsed.ok()) out = parsed.value();
            else m_issues.push_back({key(k), parsed.error()});
        } else {
            wrong_type(k, *n, "a size string like \"512M\" or an integer number of MiB");
        }
    }

private:
    const toml::table& m_table;
    std::string m_prefix;
    std::vector<Issue>& m_issues;
    std::vector<std::string_view> m_known;
};

const toml::table* sub_table(const toml::table& root, std::string_view key, std::vector<Issue>& issues) {
    const toml::node* n = root.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
        issues.push_back({std::string(key), std::string("must be a table (got ") + type_name(n->type()) + ")"});
        return nullptr;
    }
    return n->as_table();
}

void read_cpus(const toml::node& n, const std::string& key, DraftNode& node, std::vector<Issue>& issues) {
    if (n.is_string()) {
        const auto parsed = parse_cpu_list(n.as_string()->get());
        if (parsed.ok()) node.cpus = parsed.value();
        else issues.push_back({key, parsed.error()});
        return;
    }
    if (n.is_array()) {  // [0, 1, 2] is accepted too
        std::vector<unsigned> cpus;
        for (const toml::node& e : *n.as_array()) {
            if (!e.is_integer() || e.as_integer()->get() < 0 || e.as_integer()->get() > 65535) {
                issues.push_back({key, "array items must be CPU indices (non-negative integers)"});
                return;
            }
            cpus.push_back(static_cast<unsigned>(e.as_integer()->get()));
        }
        std::sort(cpus.begin(), cpus.end());
        if (std::adjacent_find(cpus.begin(), cpus.end()) != cpus.end()) {
            issues.push_back({key, "a CPU is listed twice"});
            return;
        }
        node.cpus = cpus;
        return;
    }
    issues.push_back({key, std::string("must be a CPU list string like \"0-3,8\" (got ") + type_name(n.type()) + ")"});
}

void read_nodes(const toml::node& n, Draft& d, std::vector<Issue>& issues) {
    const toml::array* arr = n.as_array();
    if (!arr || !arr->is_array_of_tables()) {
        issues.push_back({"node", "must be an array of tables ([[node]] sections)"});
        return;
    }
    std::vector<DraftNode> nodes;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const std::string prefix = "node[" + std::to_string(i) + "]";
        TableReader t(*arr->get(i)->as_table(), prefix, issues);
        t.allow({"cpus", "memory"});
        t.report_unknown();
        DraftNode node;
        if (const toml::node* c = t.get("cpus")) read_cpus(*c, t.key("cpus"), node, issues);
        t.read_size("memory", node.memory);
        nodes.push_back(node);
    }
    d.nodes = nodes;
}

void read_matrix(const toml::node& n, Draft& d, std::vector<Issue>& issues) {
    const std::string key = "distances.matrix";
    const toml::array* rows = n.as_array();
    if (!rows) {
        issues.push_back({key, std::string("must be an array of arrays of integers (got ") + type_name(n.type()) + ")"});
        return;
    }
    std::vector<std::vector<std::int64_t>> m;
    for (std::size_t i = 0; i < rows->size(); ++i) {
        const toml::array* row = rows->get(i)->as_array();
        if (!row) {
            issues.push_back({key + "[" + std::to_string(i) + "]", "must be an array of integers"});
            return;
        }
        std::vector<std::int64_t> r;
        for (std::size_t j = 0; j < row->size(); ++j) {
            const toml::node* e = row->get(j);
            if (!e->is_integer()) {
                issues.push_back({key + "[" + std::to_string(i) + "][" + std::to_string(j) + "]",
                                  std::string("must be an integer (got ") + type_name(e->type()) + ")"});
                return;
            }
            r.push_back(e->as_integer()->get());
        }
        m.push_back(r);
    }
    d.matrix = m;
}

void read_strings(const toml::node& n, const std::string& key, std::vector<std::string>& out, std::vector<Issue>& issues) {
    const toml::array* arr = n.as_array();
    if (!arr) {
        issues.push_back({key, std::string("must be an array of strings (got ") + type_name(n.type()) + ")"});
        return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node* e = arr->get(i);
        if (!e->is_string()) {
            issues.push_back({key + "[" + std::to_string(i) + "]", std::string("must be a string (got ") + type_name(e->type()) + ")"});
            continue;
        }
        out.push_back(e->as_string()->get());
    }
}

void read_options(const toml::node& n, Draft& d, std::vector<Issue>& issues) {
    const toml::array* arr = n.as_array();
    if (!arr) {
        issues.push_back({"kernel.options", std::string("must be an array of strings (got ") + type_name(n.type()) + ")"});
        return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node* e = arr->get(i);
        if (!e->is_string()) {
            issues.push_back({"kernel.options[" + std::to_string(i) + "]",
                              std::string("must be a string (got ") + type_name(e->type()) + ")"});
            continue;
        }
        d.options.push_back(e->as_string()->get());
    }
}

void read_servers(const toml::node& n, Draft& d, std::vector<Issue>& issues) {
    const toml::array* arr = n.as_array();
    if (!arr || !arr->is_array_of_tables()) {
        issues.push_back({"server", "must be an array of tables ([[server]] sections)"});
        return;
    }
    d.has_servers = true;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const std::string prefix = "server[" + std::to_string(i) + "]";
        TableReader t(*arr->get(i)->as_table(), prefix, issues);
        t.allow({"name", "program", "cores", "args", "replicas", "restart", "restart_backoff", "heartbeat"});
        t.report_unknown();
        detail::DraftServer s;
        for (auto [key, out] : {std::pair{"name", &s.name}, std::pair{"program", &s.program}, std::pair{"cores", &s.cores},
                                std::pair{"args", &s.args}, std::pair{"restart", &s.restart},
                                std::pair{"restart_backoff", &s.restart_backoff}, std::pair{"heartbeat", &s.heartbeat}})
            if (const toml::node* v = t.get(key)) {
                std::string text;
                t.read_string(key, text);
                if (v->is_string()) *out = text;
            }
        if (const toml::node* v = t.get("replicas")) {
            std::int64_t k = 0;
            t.read_int("replicas", k);
            if (v->is_integer()) s.replicas = k;
        }
        d.servers.push_back(s);
    }
}

Draft read_draft(const toml::table& root, std::vector<Issue>& issues) {
    Draft d;
    TableReader top(root, "", issues);
    top.allow({"name", "description", "machine", "node", "distances", "kernel", "run", "system", "replication", "server"});
    top.report_unknown();
    if (const toml::node* n = root.get("name")) {
        if (n->is_string()) d.name = n->as_string()->get();
        else top.wrong_type("name", *n, "a string");
    }
    top.read_string("description", d.description);

    if (const toml::table* t = sub_table(root, "machine", issues)) {
        TableReader m(*t, "machine", issues);
        m.allow({"sockets", "cores", "threads", "memory"});
        m.report_unknown();
        m.read_int("sockets", d.sockets);
        m.read_int("cores", d.cores);
        m.read_int("threads", d.threads);
        m.read_size("memory", d.memory);
    }
    if (const toml::node* n = root.get("node")) read_nodes(*n, d, issues);
    if (const toml::table* t = sub_table(root, "distances", issues)) {
        TableReader r(*t, "distances", issues);
        r.allow({"matrix"});
        r.report_unknown();
        if (const toml::node* n = t->get("matrix")) read_matrix(*n, d, issues);
    }
    if (const toml::table* t = sub_table(root, "kernel", issues)) {
        TableReader k(*t, "kernel", issues);
        k.allow({"timer_hz", "options"});
        k.report_unknown();
        k.read_int("timer_hz", d.timer_hz);
        if (const toml::node* n = t->get("options")) read_options(*n, d, issues);
    }
    if (const toml::table* t = sub_table(root, "replication", issues)) {
        TableReader r(*t, "replication", issues);
        // Per catalogued object (replication_objects()): OBJ, OBJ_sequencer, OBJ_owner, OBJ_coordinator,
        // OBJ_reads, OBJ_replicas.
        static const std::vector<std::string> keys = [] {
            std::vector<std::string> k = {"fanout", "replicas"};
            for (const std::string& o : replication_objects())
                for (const char* suffix : {"", "_sequencer", "_owner", "_coordinator", "_reads", "_replicas"})
                    k.push_back(o + suffix);
            return k;
        }();
        for (const std::string& k : keys) r.allow({k});
        r.report_unknown();
        detail::DraftReplication dr;
        for (const auto& [k, v] : *t) {
            const std::string key(k.str());
            if (v.is_string()) dr.strings.emplace_back(key, v.as_string()->get());
            else if (v.is_integer()) dr.integers.emplace_back(key, v.as_integer()->get());
            else r.wrong_type(key, v, "a string or an integer");
        }
        d.replication = dr;
    }
    if (const toml::table* t = sub_table(root, "run", issues)) {
        TableReader r(*t, "run", issues);
        r.allow({"timeout", "accel", "tcg_threads"});
        r.report_unknown();
        r.read_int("timeout", d.timeout);
        r.read_string("accel", d.accel);
        r.read_string("tcg_threads", d.tcg_threads);
    }
    if (const toml::node* n = root.get("server")) read_servers(*n, d, issues);
    if (const toml::table* t = sub_table(root, "system", issues)) {
        d.has_system = true;
        TableReader r(*t, "system", issues);
        r.allow({"monitor", "programs", "spawn", "plan", "core_heartbeat"});
        r.report_unknown();
        r.read_string("monitor", d.monitor);
        if (const toml::node* n = t->get("core_heartbeat")) {
            std::string v;
            r.read_string("core_heartbeat", v);
            if (n->is_string()) d.core_heartbeat = v;
        }
        if (const toml::node* n = t->get("plan")) {
            std::string plan;
            r.read_string("plan", plan);
            if (n->is_string()) d.plan = plan;
        }
        if (const toml::node* n = t->get("programs")) read_strings(*n, "system.programs", d.programs, issues);
        if (const toml::node* n = t->get("spawn")) read_strings(*n, "system.spawn", d.spawn, issues);
    }
    return d;
}

LoadResult fail(std::string_view source, const std::vector<Issue>& issues) {
    LoadResult r;
    for (const Issue& i : issues)
        r.errors.push_back(std::string(source) + ": " + (i.key.empty() ? "" : i.key + ": ") + i.problem);
    return r;
}

} // namespace

LoadResult load_config_string(std::string_view toml_text, std::string_view source) {
    std::vector<Issue> issues;
    try {
        // toml++ is built with exceptions here (host code); a TOML_EXCEPTIONS=0 build would
        // return a parse_result instead, which this code does not support by design.
        const toml::table root = toml::parse(toml_text, source);
        const Draft draft = read_draft(root, issues);
        if (!issues.empty()) return fail(source, issues);
        Config cfg = detail::build_config(draft, issues);
        if (!issues.empty()) return fail(source, issues);
        for (KernelWordProblem& p : kernel_word_problems(cfg)) issues.push_back({std::move(p.from), std::move(p.problem)});
        if (!issues.empty()) return fail(source, issues);
        // Everything the config puts on the kernel command line (its plan, servers, options)
        // must fit, with room for the kernel's path: a longer one stops the boot with a panic.
        if (const std::size_t n = kernel_command_line(cfg, {}).size(); n > config_cmdline_bytes)
            return fail(source, {{"system", "the kernel command line this config makes is " + std::to_string(n) +
                                                " bytes; at most " + std::to_string(config_cmdline_bytes) +
                                                " fit (shorten the plan, the servers' args or kernel.options)"}});
        cfg.source = std::string(source);
        LoadResult r;
        r.config = std::move(cfg);
        return r;
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        LoadResult r;
        r.errors.push_back(std::string(source) + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                           ": TOML syntax error: " + std::string(e.description()));
        return r;
    } catch (const std::exception& e) {
        return fail(source, {{"", std::string("cannot load: ") + e.what()}});
    }
}

LoadResult load_config_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(path.string(), {{"", "cannot open file"}});
    std::ostringstream text;
    text << in.rdbuf();
    return load_config_string(text.str(), path.string());
}

} // namespace myr::config
