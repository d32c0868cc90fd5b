// parse_topology: MADT, then SRAT, then SLIT, then the derived per-node facts.
#include "parse.hpp"

namespace myr::acpi {

const char* to_string(WarningCode code) {
    switch (code) {
    case WarningCode::cpu_without_srat_entry: return "CPU has no SRAT entry; placed on node 0";
    case WarningCode::duplicate_apic_id: return "duplicate enabled APIC id in MADT; ignored";
    case WarningCode::slit_bad_size: return "SLIT locality count does not fit the table; default distances";
    case WarningCode::slit_bad_distance: return "SLIT entry below 10 or diagonal not 10; default distances";
    case WarningCode::slit_domain_too_large: return "proximity domain beyond SLIT; default distances";
    case WarningCode::srat_no_nodes: return "SRAT has no usable entry; treated as absent";
    case WarningCode::srat_bad_memory_range: return "SRAT memory range wraps around; ignored";
    case WarningCode::srat_memory_overlap: return "SRAT memory ranges overlap";
    case WarningCode::srat_no_memory: return "SRAT lists no enabled memory";
    }
    return "unknown warning";
}

namespace detail {

void add_warning(Topology& topo, WarningCode code, std::uint32_t value) {
    if (topo.num_warnings >= max_warnings) {
        ++topo.warnings_dropped;
        return;
    }
    topo.warnings[topo.num_warnings++] = Warning{code, value};
}

} // namespace detail

namespace {

using detail::unassigned_node;

// Without (usable) SRAT: one node holding every CPU; the memory map tells where memory is.
void single_node(Topology& topo) {
    topo.has_srat = false;
    topo.num_ranges = 0;
    topo.num_nodes = 1;
    topo.nodes[0] = Node{0, 0, 0, 0};
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        topo.cpus[i].node = 0;
        topo.cpus[i].proximity = 0;
    }
}

void place_unassigned_cpus(Topology& topo) {
    // Fallback for a CPU the SRAT forgot: node 0, the lowest domain, which on PC firmware holds
    // the boot CPU and low memory. A guess, so it is reported.
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        Cpu& cpu = topo.cpus[i];
        if (cpu.node != unassigned_node) continue;
        cpu.node = 0;
        cpu.proximity = topo.nodes[0].proximity;
        detail::add_warning(topo, WarningCode::cpu_without_srat_entry, cpu.apic_id);
    }
}

void set_nearest_mem_nodes(Topology& topo) {
    for (std::uint32_t n = 0; n < topo.num_nodes; ++n) {
        Node& node = topo.nodes[n];
        node.nearest_mem_node = static_cast<std::uint16_t>(n);
        if (node.mem_bytes != 0 || !topo.has_srat) continue;
        std::uint32_t best_distance = 0x100;
        for (std::uint32_t m = 0; m < topo.num_nodes; ++m) {
            // Strict "<" keeps the lowest index among equally near nodes.
            if (topo.nodes[m].mem_bytes != 0 && topo.distance[n][m] < best_distance) {
                best_distance = topo.distance[n][m];
                node.nearest_mem_node = static_cast<std::uint16_t>(m);
            }
        }
    }
}

Status parse_all(const TableSet& tables, Topology& out) {
    if (tables.madt.empty()) return Status::not_found;
    MYR_TRY(detail::parse_madt(tables.madt, out));

    out.has_srat = !tables.srat.empty();
    if (out.has_srat) {
        MYR_TRY(detail::parse_srat(tables.srat, out));
        if (out.num_nodes == 0) {
            detail::add_warning(out, WarningCode::srat_no_nodes, 0);
            single_node(out);
        } else {
            place_unassigned_cpus(out);
            if (out.num_ranges == 0) detail::add_warning(out, WarningCode::srat_no_memory, 0);
        }
    } else {
        single_node(out);
    }
    for (std::uint32_t i = 0; i < out.num_cpus; ++i) ++out.nodes[out.cpus[i].node].num_cpus;

    MYR_TRY(detail::parse_slit(tables.slit, out));
    set_nearest_mem_nodes(out);
    return Status::ok;
}

} // namespace

Status parse_topology(const TableSet& tables, Topology& out) {
    out = Topology{};
    const Status status = parse_all(tables, out);
    if (status != Status::ok) out = Topology{};
    return status;
}

} // namespace myr::acpi
