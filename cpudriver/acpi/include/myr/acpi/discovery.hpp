#pragma once
// Finding the ACPI tables in physical memory: RSDP scan, RSDT/XSDT walk, copies of the tables the
// topology needs. Pure: all memory access goes through PhysReader, so the kernel passes "read
// physical memory" and host tests pass a fake memory image.
#include <myr/acpi/tables.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::acpi {

// Reads `len` bytes of physical memory at `phys` into `dst`; false when that memory cannot be
// read (unmapped, outside the image). Must not be null.
struct PhysReader {
    void* ctx;
    bool (*read)(void* ctx, std::uint64_t phys, std::uint8_t* dst, std::size_t len);

    [[nodiscard]] Status read_into(std::uint64_t phys, std::span<std::uint8_t> dst) const {
        return read(ctx, phys, dst.data(), dst.size()) ? Status::ok : Status::out_of_range;
    }
};

// ACPI 6.5 §5.2.5.3 Table 5.3: the Root System Description Pointer.
struct Rsdp {
    std::uint8_t revision;  // 0: ACPI 1.0 (RSDT only); 2: ACPI 2.0+ (XSDT too)
    std::uint32_t rsdt;     // physical address of the RSDT
    std::uint64_t xsdt;     // physical address of the XSDT; 0 when revision < 2
};

// Validate an RSDP held in `bytes` (20 bytes for revision 0, `Length` bytes for revision >= 2):
// signature, checksum of the first 20 bytes and, for revision >= 2, the extended checksum.
[[nodiscard]] Result<Rsdp> parse_rsdp(Bytes bytes);

// Scan, on 16-byte boundaries, the first KiB of the EBDA (real-mode segment stored at physical
// 0x40E) and then 0xE0000-0xFFFFF for a valid RSDP (ACPI 6.5 §5.2.5.1). Returns its address, or
// not_found. Candidates with the signature but a bad checksum are skipped.
[[nodiscard]] Result<std::uint64_t> find_rsdp(PhysReader reader);

// Walk the root table (the XSDT when revision >= 2 and its address is non-zero, else the RSDT),
// validating its checksum and each entry's header, and copy the MADT, SRAT and SLIT (the first
// of each) into `buffer` one after another. `out` spans point into `buffer`; a table not present
// stays empty. Errors: bad_checksum / malformed for a broken root or wanted table, no_memory
// when `buffer` is too small, out_of_range when the reader fails.
[[nodiscard]] Status load_tables(PhysReader reader, std::uint64_t rsdp_phys,
                                 std::span<std::uint8_t> buffer, TableSet& out);

} // namespace myr::acpi
