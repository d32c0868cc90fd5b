// Draft -> Config: every rule a config must satisfy before QEMU is started (docs/configs.md lists
// them). All problems are collected, not just the first, so one edit cycle fixes a file.
#include "draft.hpp"

#include <myr/config/apic_ids.hpp>
#include <myr/config/units.hpp>

#include <algorithm>

namespace myr::config::detail {
namespace {

bool valid_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

std::string got(std::int64_t v) { return " (got " + std::to_string(v) + ")"; }

// Checks lo <= v <= hi and narrows; reports the key otherwise.
unsigned in_range(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* key, std::vector<Issue>& issues) {
    if (v < lo) {
        issues.push_back({key, "must be >= " + std::to_string(lo) + got(v)});
        return static_cast<unsigned>(lo);
    }
    if (v > hi) {
        issues.push_back({key, "must be <= " + std::to_string(hi) + got(v)});
        return static_cast<unsigned>(lo);
    }
    return static_cast<unsigned>(v);
}

void check_node_memory(std::uint64_t bytes, const std::string& key, std::vector<Issue>& issues) {
    if (bytes == 0) return;
    // QEMU's memory backends and the SRAT work in MiB granules here; a node smaller than 32M
    // cannot hold a CPU driver copy plus its page tables and channels with room to spare.
    if (bytes % mib != 0)
        issues.push_back({key, "must be a whole number of MiB (got " + format_memory_size(bytes) + ")"});
    else if (bytes < min_node_memory)
        issues.push_back({key, "must be 0 (memory-less) or at least 32M (got " + format_memory_size(bytes) + ")"});
}

// Nodes from [[node]] tables: memory given by every node or by none (then split evenly).
std::vector<Node> explicit_nodes(const std::vector<DraftNode>& draft, const Config& c, std::vector<Issue>& issues) {
    const unsigned n_cpus = c.cpu_count();
    std::vector<Node> nodes(draft.size());
    std::vector<int> owner(n_cpus, -1);
    std::size_t with_memory = 0;
    for (std::size_t i = 0; i < draft.size(); ++i) {
        const std::string key = "node[" + std::to_string(i) + "]";
        if (draft[i].memory) ++with_memory;
        for (unsigned cpu : draft[i].cpus.value_or(std::vector<unsigned>{})) {
            if (cpu >= n_cpus) {
                issues.push_back({key + ".cpus", "CPU " + std::to_string(cpu) + " is out of range (the machine has " +
                                                     std::to_string(n_cpus) + " CPUs: 0-" + std::to_string(n_cpus - 1) + ")"});
                continue;
            }
            if (owner[cpu] >= 0) {
                issues.push_back({key + ".cpus", "CPU " + std::to_string(cpu) + " is already in node[" +
                                                     std::to_string(owner[cpu]) + "]"});
                continue;
            }
            owner[cpu] = static_cast<int>(i);
            nodes[i].cpus.push_back(cpu);
        }
    }
    std::vector<unsigned> orphans;
    for (unsigned cpu = 0; cpu < n_cpus; ++cpu)
        if (owner[cpu] < 0) orphans.push_back(cpu);
    if (!orphans.empty())
        issues.push_back({"node", "CPUs " + format_cpu_list(orphans) + " are in no node (every CPU 0-" +
                                      std::to_string(n_cpus - 1) + " must be in exactly one node)"});

    if (with_memory != 0 && with_memory != draft.size()) {
        issues.push_back({"node", "give memory for every node or for none (" + std::to_string(with_memory) + " of " +
                                      std::to_string(draft.size()) + " nodes have it)"});
        return nodes;
    }
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < draft.size(); ++i) {
        const std::string key = "node[" + std::to_string(i) + "]";
        nodes[i].memory_bytes = with_memory ? *draft[i].memory : c.memory_bytes / draft.size();
        if (with_memory) check_node_memory(nodes[i].memory_bytes, key + ".memory", issues);
        sum += nodes[i].memory_bytes;
        if (nodes[i].cpus.empty() && nodes[i].memory_bytes == 0)
            issues.push_back({key, "has neither CPUs nor memory"});
    }
    if (with_memory && sum != c.memory_bytes)
        issues.push_back({"machine.memory", "must equal the sum of the node memories (" + format_memory_size(sum) +
                                                "; got " + format_memory_size(c.memory_bytes) + ")"});
    if (!with_memory) {
        const std::uint64_t each = c.memory_bytes / draft.size();
        if (each * draft.size() != c.memory_bytes || each % mib != 0 || each < min_node_memory)
            issues.push_back({"machine.memory", "cannot be split evenly into " + std::to_string(draft.size()) +
                                                    " nodes of whole MiB, each at least 32M (got " +
                                                    format_memory_size(c.memory_bytes) + "); give node[i].memory"});
    }
    if (!nodes.empty() && nodes[0].memory_bytes == 0)
        issues.push_back({"node[0].memory", "node 0 must have memory: the firmware, the boot core's kernel and "
                                            "low memory live there"});
    return nodes;
}

// Default: one node per socket holding that socket's CPUs, memory split evenly.
std::vector<Node> socket_nodes(const Config& c, std::vector<Issue>& issues) {
    std::vector<Node> nodes(c.sockets);
    for (unsigned cpu = 0; cpu < c.cpu_count(); ++cpu) nodes[c.socket_of(cpu)].cpus.push_back(cpu);
    const std::uint64_t each = c.memory_bytes / c.sockets;
    if (each * c.sockets != c.memory_bytes || each % mib != 0 || each < min_node_memory)
        issues.push_back({"machine.memory", "cannot be split evenly into " + std::to_string(c.sockets) +
                                                " socket nodes of whole MiB, each at least 32M (got " +
                                                format_memory_size(c.memory_bytes) + "); add [[node]] tables"});
    for (Node& n : nodes) n.memory_bytes = each;
    return nodes;
}

std::vector<std::vector<unsigned>> effective_distances(const Draft& d, std::size_t n, std::vector<Issue>& issues) {
    std::vector<std::vector<unsigned>> m(n, std::vector<unsigned>(n, default_remote_distance));
    for (std::size_t i = 0; i < n; ++i) m[i][i] = local_distance;
    if (!d.matrix) return m;
    const auto& rows = *d.matrix;
    if (rows.size() != n) {
        issues.push_back({"distances.matrix", "must have one row per node: " + std::to_string(n) + " rows (got " +
                                                  std::to_string(rows.size()) + ")"});
        return m;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const std::string row_key = "distances.matrix[" + std::to_string(i) + "]";
        if (rows[i].size() != n) {
            issues.push_back({row_key, "must have " + std::to_string(n) + " entries, one per node (got " +
                                           std::to_string(rows[i].size()) + ")"});
            continue;
        }
        for (std::size_t j = 0; j < n; ++j) {
            const std::string key = row_key + "[" + std::to_string(j) + "]";
            const std::int64_t v = rows[i][j];
            if (i == j && v != local_distance)
                issues.push_back({key, "the diagonal (local distance) must be 10" + got(v)});
            else if (v < local_distance || v > max_distance)
                issues.push_back({key, "must be between 10 and 254" + got(v)});
            else
                m[i][j] = static_cast<unsigned>(v);
        }
    }
    return m;
}

void check_options(const std::vector<std::string>& options, std::vector<Issue>& issues) {
    for (std::size_t i = 0; i < options.size(); ++i) {
        const std::string key = "kernel.options[" + std::to_string(i) + "]";
        const std::string& o = options[i];
        // -append is one argv string split on spaces by the kernel: a word must stay one word.
        if (o.empty()) issues.push_back({key, "must not be empty"});
        else if (o.find_first_of(" \t\r\n\"'\\") != std::string::npos)
            issues.push_back({key, "must be one word without spaces, quotes or backslashes (got '" + o + "')"});
        else if (o.rfind("timer_hz=", 0) == 0 || o.rfind("config=", 0) == 0)
            issues.push_back({key, "'" + o.substr(0, o.find('=')) + "' is set by the tool; use kernel.timer_hz or name"});
        else if (o.rfind("repl=", 0) == 0)
            issues.push_back({key, "'repl' is set by the tool; use the [replication] table"});
    }
}

} // namespace

Config build_config(const Draft& d, std::vector<Issue>& issues) {
    Config c;
    if (!d.name) issues.push_back({"name", "is required"});
    else if (d.name->empty() || d.name->size() > 64 || !std::all_of(d.name->begin(), d.name->end(), valid_name_char))
        issues.push_back({"name", "must be 1-64 characters of A-Z a-z 0-9 - _ . (it goes on the kernel command line; got '" +
                                      *d.name + "')"});
    else c.name = *d.name;
    c.description = d.description;

    c.sockets = in_range(d.sockets, 1, max_cpus, "machine.sockets", issues);
    c.cores = in_range(d.cores, 1, max_cpus, "machine.cores", issues);
    if (d.threads != 1 && d.threads != 2) issues.push_back({"machine.threads", "must be 1 or 2" + got(d.threads)});
    else c.threads = static_cast<unsigned>(d.threads);
    const std::uint64_t cpus = std::uint64_t{c.sockets} * c.cores * c.threads;
    if (cpus > max_cpus) {
        issues.push_back({"machine", "sockets x cores x threads = " + std::to_string(cpus) +
                                         " CPUs; at most 255 are supported (xAPIC), and only in shapes whose APIC ids fit"});
        return c;  // node and CPU checks would only repeat this
    }
    if (const std::string e = apic_id_problem(c.sockets, c.cores, c.threads); !e.empty()) {
        issues.push_back({"machine", e});
        return c;
    }
    if (cpus > supported_cpus)
        c.warnings.push_back("machine: " + std::to_string(cpus) + " CPUs is beyond the 64 this project is tested with");

    if (!d.memory) {
        issues.push_back({"machine.memory", "is required (e.g. \"1G\")"});
        return c;
    }
    c.memory_bytes = *d.memory;
    if (c.memory_bytes % mib != 0 || c.memory_bytes < min_memory || c.memory_bytes > max_memory) {
        issues.push_back({"machine.memory", "must be a whole number of MiB between 64M and 64G (got " +
                                                format_memory_size(c.memory_bytes) + ")"});
        return c;
    }

    if (d.nodes) {
        if (d.nodes->empty()) issues.push_back({"node", "must have at least one [[node]] table when present"});
        else if (d.nodes->size() > max_nodes)
            issues.push_back({"node", "at most " + std::to_string(max_nodes) + " nodes (got " +
                                          std::to_string(d.nodes->size()) + ")"});
        else c.nodes = explicit_nodes(*d.nodes, c, issues);
        c.nodes_explicit = true;
    } else {
        c.nodes = socket_nodes(c, issues);
    }
    if (!c.nodes.empty()) {
        c.distances = effective_distances(d, c.nodes.size(), issues);
        c.distances_explicit = d.matrix.has_value();
    } else if (d.matrix) {
        issues.push_back({"distances.matrix", "cannot be checked without valid nodes"});
    }

    c.timer_hz = in_range(d.timer_hz, 10, 10000, "kernel.timer_hz", issues);
    check_options(d.options, issues);
    c.kernel_options = d.options;
    // [replication] first: replicate: plan steps are checked against it.
    if (d.replication) build_replication(*d.replication, c, issues);
    build_system(d, c, issues);
    // A plan in kernel.options (not [system]): its replicate: steps are checked here too.
    for (std::size_t i = 0; i < d.options.size(); ++i) {
        const std::string& o = d.options[i];
        // Its length is checked with every other plan word (kernel_word_problems, load.cpp).
        if (o.rfind("plan=", 0) != 0) continue;
        std::size_t at = 5, n = 0;
        while (at <= o.size()) {
            const std::size_t comma = std::min(o.find(',', at), o.size());
            const std::string step = o.substr(at, comma - at);
            ++n;
            if (step.rfind("replicate:", 0) == 0)
                if (const std::string e = check_replicate_step(step.substr(10), c); !e.empty())
                    issues.push_back({"kernel.options[" + std::to_string(i) + "] plan step " + std::to_string(n), e});
            at = comma + 1;
        }
    }

    c.timeout_s = in_range(d.timeout, 1, 86400, "run.timeout", issues);
    if (d.accel == "auto") c.accel = Accel::automatic;
    else if (d.accel == "tcg") c.accel = Accel::tcg;
    else if (d.accel == "kvm") c.accel = Accel::kvm;
    else issues.push_back({"run.accel", "must be \"auto\", \"tcg\" or \"kvm\" (got \"" + d.accel + "\")"});
    if (d.tcg_threads == "auto") c.tcg_threads = TcgThreads::automatic;
    else if (d.tcg_threads == "single") c.tcg_threads = TcgThreads::single;
    else if (d.tcg_threads == "multi") c.tcg_threads = TcgThreads::multi;
    else issues.push_back({"run.tcg_threads", "must be \"auto\", \"single\" or \"multi\" (got \"" + d.tcg_threads + "\")"});
    return c;
}

} // namespace myr::config::detail
