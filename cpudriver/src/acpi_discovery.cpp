#include "acpi_discovery.hpp"

#include <arch/layout.h>
#include <arch/platform.hpp>
#include <myr/acpi/discovery.hpp>
#include <myr/kernel/console.hpp>

namespace myr::kernel {
namespace {

// Firmware tables in QEMU and on real machines lie below 4 GiB; the boot tables map that much.
constexpr std::uint64_t readable_limit = 4ull << 30;
[[gnu::section(BOOT_ONLY_SECTION)]] std::uint8_t table_buffer[64 * 1024];  // copies of MADT, SRAT, SLIT

bool read_phys(void*, std::uint64_t phys, std::uint8_t* dst, std::size_t len) {
    if (phys >= readable_limit || len > readable_limit - phys) return false;
    const auto* src = arch::phys_to_virt<const std::uint8_t>(phys);
    for (std::size_t i = 0; i < len; ++i) dst[i] = src[i];
    return true;
}

void dump_table(const char* sig, Bytes t) {
    constexpr std::size_t per_line = 96;
    for (std::size_t off = 0; off < t.size(); off += per_line) {
        char hex[per_line * 2 + 1];
        FixedBuffer h(hex, sizeof hex);
        for (std::size_t i = off; i < t.size() && i < off + per_line; ++i) format_to(h, "{:02x}", t[i]);
        emit("acpi-table {} {} {}", sig, off, hex);
    }
}

} // namespace

Status discover_topology(acpi::Topology& topo, bool dump) {
    const acpi::PhysReader reader{nullptr, read_phys};
    const std::uint64_t rsdp = MYR_TRY(acpi::find_rsdp(reader));
    acpi::TableSet tables{};
    MYR_TRY(acpi::load_tables(reader, rsdp, table_buffer, tables));
    if (dump) {
        dump_table("APIC", tables.madt);
        dump_table("SRAT", tables.srat);
        dump_table("SLIT", tables.slit);
    }
    MYR_TRY(acpi::parse_topology(tables, topo));
    for (std::uint32_t i = 0; i < topo.num_warnings; ++i)
        log("ACPI warning: {} ({})", acpi::to_string(topo.warnings[i].code), topo.warnings[i].value);
    log("ACPI: {} CPUs, {} nodes{}{}", topo.num_cpus, topo.num_nodes, topo.has_srat ? "" : " (no SRAT: one node)",
        topo.has_slit ? "" : " (no SLIT: default distances)");
    return Status::ok;
}

} // namespace myr::kernel
