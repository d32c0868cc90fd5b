#pragma once
// Helpers for the ACPI tests: fixture loading and a builder for synthetic tables.
#include <myr/acpi/topology.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace myr::acpi::test {

using ByteVec = std::vector<std::uint8_t>;

// The fixtures live in the repository (tests/fixtures/acpi, MYRIAD_ACPI_FIXTURES from CMake: not
// __FILE__, which a compiler cache may have made relative); a missing file fails the test.
inline ByteVec load_fixture(const std::string& machine, const std::string& table) {
    const auto path = std::filesystem::path(MYRIAD_ACPI_FIXTURES) / machine / table;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << path;
    return ByteVec(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Appends little-endian fields; finish() sets the header length and checksum (ACPI 6.5 §5.2.6).
class TableBuilder {
public:
    TableBuilder(const char (&sig)[5], std::uint8_t revision) {
        for (int i = 0; i < 4; ++i) m_bytes.push_back(static_cast<std::uint8_t>(sig[i]));
        u32(0);                 // length, patched
        u8(revision);
        u8(0);                  // checksum, patched
        raw("BOCHS ");          // OEM id, as QEMU writes it
        raw("BXPC    ");        // OEM table id
        u32(1);                 // OEM revision
        raw("BXPC");            // creator id
        u32(1);                 // creator revision
    }
    TableBuilder& u8(std::uint64_t v) { return put(v, 1); }
    TableBuilder& u16(std::uint64_t v) { return put(v, 2); }
    TableBuilder& u32(std::uint64_t v) { return put(v, 4); }
    TableBuilder& u64(std::uint64_t v) { return put(v, 8); }
    TableBuilder& raw(const char* s) {
        while (*s != '\0') m_bytes.push_back(static_cast<std::uint8_t>(*s++));
        return *this;
    }
    [[nodiscard]] ByteVec finish() const {
        ByteVec out = m_bytes;
        const auto len = static_cast<std::uint32_t>(out.size());
        for (int i = 0; i < 4; ++i) out[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (8 * i));
        fix_checksum(out);
        return out;
    }
    static void fix_checksum(ByteVec& table) {
        table[9] = 0;
        std::uint8_t sum = 0;
        for (std::uint8_t b : table) sum = static_cast<std::uint8_t>(sum + b);
        table[9] = static_cast<std::uint8_t>(0x100 - sum);
    }

private:
    TableBuilder& put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) m_bytes.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    ByteVec m_bytes;
};

// MADT entries (ACPI 6.5 §5.2.12.2, §5.2.12.12).
inline void madt_header(TableBuilder& t) { t.u32(0xfee00000).u32(1); }
inline void madt_lapic(TableBuilder& t, std::uint32_t uid, std::uint32_t apic, std::uint32_t flags) {
    t.u8(0).u8(8).u8(uid).u8(apic).u32(flags);
}
inline void madt_x2apic(TableBuilder& t, std::uint32_t uid, std::uint32_t id, std::uint32_t flags) {
    t.u8(9).u8(16).u16(0).u32(id).u32(flags).u32(uid);
}
// SRAT entries (ACPI 6.5 §5.2.16.1-3).
inline void srat_header(TableBuilder& t) { t.u32(1).u64(0); }
inline void srat_cpu(TableBuilder& t, std::uint32_t apic, std::uint32_t pxm, std::uint32_t flags) {
    t.u8(0).u8(16).u8(pxm & 0xff).u8(apic).u32(flags).u8(0);
    t.u8((pxm >> 8) & 0xff).u8((pxm >> 16) & 0xff).u8(pxm >> 24).u32(0);
}
inline void srat_mem(TableBuilder& t, std::uint64_t base, std::uint64_t len, std::uint32_t pxm,
                     std::uint32_t flags) {
    t.u8(1).u8(40).u32(pxm).u16(0).u64(base).u64(len).u32(0).u32(flags).u64(0);
}
inline void srat_x2apic(TableBuilder& t, std::uint32_t id, std::uint32_t pxm, std::uint32_t flags) {
    t.u8(2).u8(24).u16(0).u32(pxm).u32(id).u32(flags).u32(0).u32(0);
}
inline ByteVec slit(const std::vector<std::vector<std::uint8_t>>& m) {
    TableBuilder t("SLIT", 1);
    t.u64(m.size());
    for (const auto& row : m)
        for (std::uint8_t d : row) t.u8(d);
    return t.finish();
}

inline std::unique_ptr<Topology> make_topology() { return std::make_unique<Topology>(); }

inline TableSet tables(const ByteVec& madt, const ByteVec& srat = {}, const ByteVec& slit = {}) {
    return TableSet{Bytes(madt), Bytes(srat), Bytes(slit)};
}

inline bool has_warning(const Topology& topo, WarningCode code) {
    for (std::uint32_t i = 0; i < topo.num_warnings; ++i)
        if (topo.warnings[i].code == code) return true;
    return false;
}

} // namespace myr::acpi::test
