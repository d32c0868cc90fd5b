#pragma once
// The common ACPI table header and the set of tables the topology parser reads. Layouts from
// ACPI 6.5 §5.2.6 (System Description Table Header).
#include <myr/bytes.hpp>
#include <myr/result.hpp>

#include <cstddef>
#include <cstdint>

namespace myr::acpi {

// A 4-byte table signature as the little-endian u32 it reads as from memory, so a header's
// signature compares with one read_le<uint32_t>.
using Signature = std::uint32_t;

constexpr Signature make_signature(const char (&s)[5]) {
    return static_cast<Signature>(static_cast<std::uint8_t>(s[0])) |
           static_cast<Signature>(static_cast<std::uint8_t>(s[1])) << 8 |
           static_cast<Signature>(static_cast<std::uint8_t>(s[2])) << 16 |
           static_cast<Signature>(static_cast<std::uint8_t>(s[3])) << 24;
}

inline constexpr Signature sig_madt = make_signature("APIC"); // ACPI 6.5 §5.2.12
inline constexpr Signature sig_srat = make_signature("SRAT"); // ACPI 6.5 §5.2.16
inline constexpr Signature sig_slit = make_signature("SLIT"); // ACPI 6.5 §5.2.17
inline constexpr Signature sig_rsdt = make_signature("RSDT"); // ACPI 6.5 §5.2.7
inline constexpr Signature sig_xsdt = make_signature("XSDT"); // ACPI 6.5 §5.2.8

// ACPI 6.5 §5.2.6 Table 5.4: Signature(4) Length(4) Revision(1) Checksum(1) OEMID(6)
// OEM Table ID(8) OEM Revision(4) Creator ID(4) Creator Revision(4) = 36 bytes.
inline constexpr std::size_t header_size = 36;
inline constexpr std::size_t header_length_offset = 4;
inline constexpr std::size_t header_revision_offset = 8;

// Raw table bytes, as firmware wrote them; an empty span means "table absent".
struct TableSet {
    Bytes madt;
    Bytes srat;
    Bytes slit;
};

// Sum of all bytes modulo 256; a valid ACPI structure sums to 0 (ACPI 6.5 §5.2.6, §5.2.5.3).
[[nodiscard]] constexpr std::uint8_t checksum(Bytes bytes) {
    std::uint8_t sum = 0;
    for (std::uint8_t b : bytes) sum = static_cast<std::uint8_t>(sum + b);
    return sum;
}

// Validate a whole table: signature, a length field that is at least a header and no larger than
// the bytes we hold (truncated otherwise), and the checksum. Returns the table cut to its length
// field, so trailing bytes in the caller's buffer are never parsed as subtables.
[[nodiscard]] Result<Bytes> check_table(Bytes table, Signature expected);

// Revision byte of a table already accepted by check_table.
[[nodiscard]] inline std::uint8_t table_revision(Bytes table) {
    return table.size() > header_revision_offset ? table[header_revision_offset] : 0;
}

} // namespace myr::acpi
