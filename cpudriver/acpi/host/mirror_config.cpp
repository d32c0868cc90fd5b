// Mirror config writer: see mirror_config.hpp for the choices.
#include "mirror_config.hpp"

#include <myr/acpi/format.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace myr::acpi {
namespace {

constexpr std::uint64_t mib = 1024 * 1024;

bool has_ht_siblings(const Topology& topo) {
    if (topo.num_cpus % 2 != 0) return false;
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        const Cpu& cpu = topo.cpus[i];
        // Firmware lists first threads first: the first half holds only even ids.
        if (i < topo.num_cpus / 2 && cpu.apic_id % 2 != 0) return false;
        bool found = false;
        for (std::uint32_t j = 0; j < topo.num_cpus && !found; ++j)
            found = topo.cpus[j].apic_id == (cpu.apic_id ^ 1u) && topo.cpus[j].node == cpu.node;
        if (!found) return false;
    }
    return true;
}

// Real size in MiB, rounded up: whole MiB keep the product below with the budget (<= 2^12) far
// from overflow for any real machine (< 2^52 MiB), and a tiny node still counts.
std::uint64_t real_mib(const Node& node) { return (node.mem_bytes + mib - 1) / mib; }

// Per node MiB: proportional to the real sizes, floors, minimum for memory nodes.
Result<std::vector<std::uint64_t>> scale_memory(const Topology& topo) {
    const std::size_t n = topo.num_nodes;
    std::vector<std::uint64_t> out(n, 0);
    std::uint64_t real_total = 0;
    for (std::size_t i = 0; i < n; ++i) real_total += topo.nodes[i].mem_bytes;
    if (real_total == 0) {
        // No sizes known: split the default evenly (the guest still needs memory somewhere).
        const std::uint64_t each = std::max(mirror_min_node_mib, mirror_default_total_mib / n);
        std::fill(out.begin(), out.end(), each);
        return out;
    }
    const std::uint64_t budget = std::min(mirror_max_total_mib, real_total / mib);
    std::vector<bool> pinned(n, false); // held at the minimum
    for (;;) {
        std::uint64_t free_budget = budget;
        std::uint64_t free_real = 0; // MiB
        for (std::size_t i = 0; i < n; ++i) {
            if (topo.nodes[i].mem_bytes == 0) continue;
            if (pinned[i]) {
                if (free_budget < mirror_min_node_mib) return Status::unsupported;
                free_budget -= mirror_min_node_mib;
            } else {
                free_real += real_mib(topo.nodes[i]);
            }
        }
        bool changed = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (topo.nodes[i].mem_bytes == 0) continue;
            if (pinned[i]) {
                out[i] = mirror_min_node_mib;
                continue;
            }
            const std::uint64_t share = real_mib(topo.nodes[i]) * free_budget / free_real;
            if (share < mirror_min_node_mib) {
                pinned[i] = true;
                changed = true;
            }
            out[i] = share;
        }
        if (!changed) return out;
    }
}

std::string size_text(std::uint64_t mib_count) {
    if (mib_count == 0) return "0";
    if (mib_count % 1024 == 0) return fmt::format("{}G", mib_count / 1024);
    return fmt::format("{}M", mib_count);
}

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

} // namespace

Result<MirrorPlan> plan_mirror(const Topology& topo) {
    if (topo.num_cpus == 0 || topo.num_nodes == 0) return Status::invalid_argument;
    MirrorPlan plan;
    plan.threads = has_ht_siblings(topo) ? 2 : 1;

    std::vector<std::uint32_t> counts(topo.num_nodes);
    for (std::uint32_t i = 0; i < topo.num_nodes; ++i) counts[i] = topo.nodes[i].num_cpus;
    const bool equal = std::all_of(counts.begin(), counts.end(), [&](std::uint32_t c) {
        return c == counts[0] && c % plan.threads == 0;
    });
    if (equal && counts[0] != 0) {
        plan.sockets = topo.num_nodes;
        plan.cores = counts[0] / plan.threads;
    } else {
        // Siblings must not be split across nodes in QEMU's socket-major numbering.
        if (std::any_of(counts.begin(), counts.end(), [](std::uint32_t c) { return c % 2 != 0; }))
            plan.threads = 1;
        plan.sockets = 1;
        plan.cores = topo.num_cpus / plan.threads;
    }

    std::uint32_t next = 0;
    for (std::uint32_t count : counts) {
        std::vector<std::uint32_t> ids(count);
        std::iota(ids.begin(), ids.end(), next);
        next += count;
        char text[64];
        const auto len = MYR_TRY(format_index_list(ids, text));
        plan.node_cpus.emplace_back(text, len);
    }
    plan.node_mib = MYR_TRY(scale_memory(topo));
    return plan;
}

Result<std::string> mirror_config(const Topology& topo, std::string_view name,
                                  std::string_view description) {
    const MirrorPlan plan = MYR_TRY(plan_mirror(topo));
    const std::uint64_t total = std::accumulate(plan.node_mib.begin(), plan.node_mib.end(),
                                                std::uint64_t{0});
    std::string out;
    out += fmt::format("name = {}\ndescription = {}\n\n", toml_string(name),
                       toml_string(description));
    out += fmt::format("[machine]\nsockets = {}\ncores = {}\nthreads = {}\nmemory = \"{}\"\n",
                       plan.sockets, plan.cores, plan.threads, size_text(total));
    for (std::uint32_t i = 0; i < topo.num_nodes; ++i) {
        out += fmt::format("\n[[node]]\ncpus = \"{}\"\nmemory = \"{}\"\n", plan.node_cpus[i],
                           size_text(plan.node_mib[i]));
    }
    out += "\n[distances]\nmatrix = [";
    for (std::uint32_t i = 0; i < topo.num_nodes; ++i) {
        out += i == 0 ? "[" : ", [";
        for (std::uint32_t j = 0; j < topo.num_nodes; ++j)
            out += fmt::format("{}{}", j == 0 ? "" : ",", topo.distance[i][j]);
        out += "]";
    }
    out += "]\n";
    return out;
}

} // namespace myr::acpi
