// libFuzzer target for the ACPI parser and the table walker. Input layout:
//   byte 0        flags: bit 0 = repair each table's length and checksum (so the fuzzer reaches
//                 the subtable parsers instead of dying at the checksum), bit 1 = run discovery
//   bytes 1-2     MADT length (LE), bytes 3-4 SRAT length (LE), then MADT, SRAT, and the rest
//                 as SLIT. Lengths are clamped to what is there.
// Discovery treats the whole input as physical memory at 0 and at 0xE0000.
#include <myr/acpi/discovery.hpp>
#include <myr/acpi/format.hpp>
#include <myr/acpi/topology.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace {

using myr::acpi::PhysReader;

void repair(std::vector<std::uint8_t>& t) {
    if (t.size() < myr::acpi::header_size) return;
    const auto len = static_cast<std::uint32_t>(t.size());
    for (std::size_t i = 0; i < 4; ++i) t[4 + i] = static_cast<std::uint8_t>(len >> (8 * i));
    t[9] = 0;
    t[9] = static_cast<std::uint8_t>(0x100 - myr::acpi::checksum(t));
}

struct Image {
    const std::uint8_t* data;
    std::size_t size;
};

bool read_image(void* ctx, std::uint64_t phys, std::uint8_t* dst, std::size_t len) {
    const auto* img = static_cast<const Image*>(ctx);
    // The image appears twice: at 0 (RSDT/XSDT and tables) and at 0xE0000 (RSDP scan).
    for (std::uint64_t base : {std::uint64_t{0}, std::uint64_t{0xe0000}}) {
        if (phys >= base && phys - base <= img->size && img->size - (phys - base) >= len) {
            std::memcpy(dst, img->data + (phys - base), len);
            return true;
        }
    }
    return false;
}

void exercise_topology(const myr::acpi::TableSet& set) {
    static auto topo = std::make_unique<myr::acpi::Topology>();
    if (myr::acpi::parse_topology(set, *topo) != myr::Status::ok) return;
    // Invariants every accepted topology must satisfy.
    if (topo->num_cpus == 0 || topo->num_nodes == 0) __builtin_trap();
    for (std::uint32_t i = 0; i < topo->num_cpus; ++i)
        if (topo->cpus[i].node >= topo->num_nodes) __builtin_trap();
    for (std::uint32_t i = 0; i < topo->num_nodes; ++i) {
        if (topo->nodes[i].nearest_mem_node >= topo->num_nodes) __builtin_trap();
        if (topo->distance[i][i] != 10) __builtin_trap();
    }
    char line[1024];
    for (std::uint16_t n = 0; n < topo->num_nodes; ++n)
        (void)myr::acpi::format_node_line(*topo, n, line);
    for (std::uint32_t c = 0; c < topo->num_cpus; ++c)
        (void)myr::acpi::format_cpu_line(*topo, c, line);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    const std::uint8_t flags = data[0];
    std::size_t madt_len = static_cast<std::size_t>(data[1] | data[2] << 8);
    std::size_t srat_len = static_cast<std::size_t>(data[3] | data[4] << 8);
    const std::uint8_t* p = data + 5;
    std::size_t left = size - 5;
    if (madt_len > left) madt_len = left;
    std::vector<std::uint8_t> madt(p, p + madt_len);
    p += madt_len;
    left -= madt_len;
    if (srat_len > left) srat_len = left;
    std::vector<std::uint8_t> srat(p, p + srat_len);
    p += srat_len;
    left -= srat_len;
    std::vector<std::uint8_t> slit(p, p + left);
    if ((flags & 1) != 0) {
        repair(madt);
        repair(srat);
        repair(slit);
    }
    exercise_topology({myr::Bytes(madt), myr::Bytes(srat), myr::Bytes(slit)});

    if ((flags & 2) != 0) {
        Image img{data, size};
        const PhysReader reader{&img, read_image};
        auto rsdp = myr::acpi::find_rsdp(reader);
        // Also walk from a fuzzer-chosen address, not only from a valid RSDP.
        const std::uint64_t start = rsdp.ok() ? *rsdp : static_cast<std::uint64_t>(data[1]) * 16;
        static std::uint8_t buffer[16384];
        myr::acpi::TableSet set;
        if (myr::acpi::load_tables(reader, start, buffer, set) == myr::Status::ok)
            exercise_topology(set);
    }
    return 0;
}
