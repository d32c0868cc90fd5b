// SLIT (ACPI 6.5 §5.2.17): relative memory latency between proximity domains.
#include "parse.hpp"

namespace myr::acpi::detail {
namespace {

// §5.2.17 Table 5.75: Number of System Localities (8) at 36, then N*N one-byte entries, row i
// holding the distances from locality i.
constexpr std::size_t slit_count_offset = 36;
constexpr std::size_t slit_entries_offset = 44;
// Beyond this a SLIT cannot fit a 32-bit table length anyway; also keeps N*N from overflowing.
constexpr std::uint64_t slit_max_localities = 0xffff;
// §5.2.17: values 0-9 are reserved; the diagonal is 10 (local).
constexpr std::uint8_t slit_min_distance = local_distance;

void set_defaults(Topology& topo) {
    for (std::uint32_t i = 0; i < topo.num_nodes; ++i)
        for (std::uint32_t j = 0; j < topo.num_nodes; ++j)
            topo.distance[i][j] = i == j ? local_distance : default_remote_distance;
}

} // namespace

Status parse_slit(Bytes table, Topology& topo) {
    set_defaults(topo);
    topo.has_slit = false;
    if (table.empty()) return Status::ok;

    const Bytes slit = MYR_TRY(check_table(table, sig_slit));
    const auto raw_count = read_le<std::uint64_t>(slit, slit_count_offset);
    if (!raw_count.ok() || *raw_count == 0 || *raw_count > slit_max_localities ||
        *raw_count * *raw_count > slit.size() - slit_entries_offset) {
        add_warning(topo, WarningCode::slit_bad_size,
                    raw_count.ok() ? static_cast<std::uint32_t>(*raw_count) : 0);
        return Status::ok;
    }
    const auto count = static_cast<std::size_t>(*raw_count);
    const Bytes matrix = slit.subspan(slit_entries_offset, count * count);

    for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t j = 0; j < count; ++j) {
            const std::uint8_t d = matrix[i * count + j];
            if ((i == j && d != local_distance) || d < slit_min_distance) {
                add_warning(topo, WarningCode::slit_bad_distance,
                            static_cast<std::uint32_t>(i * count + j));
                return Status::ok;
            }
        }
    }
    // Localities are proximity domains, and firmware may list domains no enabled entry uses
    // (Dell R820: locality 0), so index through each node's domain.
    for (std::uint32_t n = 0; n < topo.num_nodes; ++n) {
        if (topo.nodes[n].proximity >= count) {
            add_warning(topo, WarningCode::slit_domain_too_large, topo.nodes[n].proximity);
            return Status::ok;
        }
    }
    for (std::uint32_t i = 0; i < topo.num_nodes; ++i)
        for (std::uint32_t j = 0; j < topo.num_nodes; ++j)
            topo.distance[i][j] = matrix[topo.nodes[i].proximity * count + topo.nodes[j].proximity];
    topo.has_slit = true;
    return Status::ok;
}

} // namespace myr::acpi::detail
