// MADT (ACPI 6.5 §5.2.12): which CPUs exist and are enabled at boot.
#include "parse.hpp"

namespace myr::acpi::detail {
namespace {

// ACPI 6.5 §5.2.12 Table 5.19: Local Interrupt Controller Address (4 bytes) at 36, Flags (4) at
// 40, then the interrupt controller structures.
constexpr std::size_t madt_lapic_address_offset = 36;
constexpr std::size_t madt_entries_offset = 44;

// Every interrupt controller structure starts with Type (1) and Length (1) (§5.2.12, Table 5.20).
constexpr std::size_t subtable_min_length = 2;

// §5.2.12.2 Table 5.22: Processor Local APIC: UID (1) at 2, APIC ID (1) at 3, Flags (4) at 4.
constexpr std::uint8_t type_local_apic = 0;
constexpr std::size_t local_apic_length = 8;
// §5.2.12.8 Table 5.30: Local APIC Address Override: reserved (2), address (8) at 4.
constexpr std::uint8_t type_lapic_override = 5;
constexpr std::size_t lapic_override_length = 12;
// §5.2.12.12 Table 5.37: Processor Local x2APIC: reserved (2), x2APIC ID (4) at 4, Flags (4) at
// 8, UID (4) at 12.
constexpr std::uint8_t type_local_x2apic = 9;
constexpr std::size_t local_x2apic_length = 16;

// §5.2.12.2 Table 5.23: bit 0 Enabled. Bit 1 (Online Capable) means "may be enabled later",
// so such a CPU is not started at boot and is not part of the topology.
constexpr std::uint32_t lapic_flag_enabled = 1u << 0;

Status add_cpu(Topology& topo, std::uint32_t apic_id, std::uint32_t uid, bool x2apic) {
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        if (topo.cpus[i].apic_id == apic_id) {
            add_warning(topo, WarningCode::duplicate_apic_id, apic_id);
            return Status::ok;
        }
    }
    if (topo.num_cpus >= max_cpus) return Status::overflow;
    Cpu& cpu = topo.cpus[topo.num_cpus++];
    cpu.apic_id = apic_id;
    cpu.acpi_uid = uid;
    cpu.proximity = 0;
    cpu.node = unassigned_node;
    cpu.x2apic = x2apic;
    return Status::ok;
}

} // namespace

Status parse_madt(Bytes table, Topology& topo) {
    const Bytes madt = MYR_TRY(check_table(table, sig_madt));
    if (madt.size() < madt_entries_offset) return Status::truncated;
    topo.lapic_address = MYR_TRY(read_le<std::uint32_t>(madt, madt_lapic_address_offset));

    std::size_t offset = madt_entries_offset;
    while (offset < madt.size()) {
        const std::uint8_t type = MYR_TRY(read_le<std::uint8_t>(madt, offset));
        const std::uint8_t length = MYR_TRY(read_le<std::uint8_t>(madt, offset + 1));
        // A length below the common prefix would make this loop stand still or go backwards.
        if (length < subtable_min_length) return Status::malformed;
        const Bytes entry = MYR_TRY(sub(madt, offset, length));
        offset += length;

        switch (type) {
        case type_local_apic: {
            if (entry.size() < local_apic_length) return Status::malformed;
            const auto flags = MYR_TRY(read_le<std::uint32_t>(entry, 4));
            if ((flags & lapic_flag_enabled) == 0) break;
            MYR_TRY(add_cpu(topo, entry[3], entry[2], false));
            break;
        }
        case type_local_x2apic: {
            if (entry.size() < local_x2apic_length) return Status::malformed;
            const auto flags = MYR_TRY(read_le<std::uint32_t>(entry, 8));
            if ((flags & lapic_flag_enabled) == 0) break;
            const auto id = MYR_TRY(read_le<std::uint32_t>(entry, 4));
            const auto uid = MYR_TRY(read_le<std::uint32_t>(entry, 12));
            MYR_TRY(add_cpu(topo, id, uid, true));
            break;
        }
        case type_lapic_override:
            if (entry.size() < lapic_override_length) return Status::malformed;
            topo.lapic_address = MYR_TRY(read_le<std::uint64_t>(entry, 4));
            break;
        default: break; // I/O APICs, overrides, NMIs: not topology
        }
    }
    if (topo.num_cpus == 0) return Status::not_found;
    return Status::ok;
}

} // namespace myr::acpi::detail
