// RSDP scan and root-table walk (ACPI 6.5 §5.2.5 - §5.2.8).
#include <myr/acpi/discovery.hpp>

namespace myr::acpi {
namespace {

// §5.2.5.3 Table 5.3: Signature (8) "RSD PTR ", Checksum (1) over bytes 0-19, OEMID (6),
// Revision (1) at 15, RsdtAddress (4) at 16; revision >= 2 adds Length (4) at 20,
// XsdtAddress (8) at 24, Extended Checksum (1) over the whole structure, reserved (3).
constexpr std::uint64_t rsdp_signature = 0x2052545020445352; // "RSD PTR " little-endian
constexpr std::size_t rsdp_v1_size = 20;
constexpr std::size_t rsdp_v2_size = 36;
constexpr std::uint8_t rsdp_rev_xsdt = 2;
// Longer than any published revision, but a sane bound for a length read from memory.
constexpr std::size_t rsdp_max_size = 64;

// §5.2.5.1: the EBDA segment word at 0x40E, the first KiB of the EBDA, and the BIOS read-only area.
constexpr std::uint64_t ebda_pointer = 0x40e;
constexpr std::uint64_t ebda_scan_size = 1024;
constexpr std::uint64_t bios_area_start = 0xe0000;
constexpr std::uint64_t bios_area_end = 0x100000;
constexpr std::uint64_t rsdp_alignment = 16;
constexpr std::size_t scan_chunk = 1024;

// §5.2.7 / §5.2.8: entries after the header, 4-byte (RSDT) or 8-byte (XSDT) physical addresses.
constexpr std::size_t rsdt_entry_size = 4;
constexpr std::size_t xsdt_entry_size = 8;

// Read and validate the RSDP at `phys`; its size depends on its revision byte.
Result<Rsdp> read_rsdp(PhysReader reader, std::uint64_t phys) {
    std::uint8_t raw[rsdp_max_size] = {};
    MYR_TRY(reader.read_into(phys, std::span(raw, rsdp_v1_size)));
    std::size_t size = rsdp_v1_size;
    if (raw[15] >= rsdp_rev_xsdt) {
        MYR_TRY(reader.read_into(phys, std::span(raw, rsdp_v2_size)));
        const auto length = MYR_TRY(read_le<std::uint32_t>(Bytes(raw, rsdp_v2_size), 20));
        if (length < rsdp_v2_size || length > rsdp_max_size) return Status::malformed;
        size = length;
        MYR_TRY(reader.read_into(phys, std::span(raw, size)));
    }
    return parse_rsdp(Bytes(raw, size));
}

// Scan [start, end) on 16-byte boundaries, reading a chunk at a time.
Result<std::uint64_t> scan(PhysReader reader, std::uint64_t start, std::uint64_t end) {
    std::uint8_t chunk[scan_chunk];
    for (std::uint64_t base = start; base < end; base += scan_chunk) {
        const std::size_t len = static_cast<std::size_t>(
            end - base < scan_chunk ? end - base : scan_chunk);
        if (reader.read_into(base, std::span(chunk, len)) != Status::ok) continue;
        for (std::size_t off = 0; off + 8 <= len; off += rsdp_alignment) {
            const auto sig = read_le<std::uint64_t>(Bytes(chunk, len), off);
            if (!sig.ok() || *sig != rsdp_signature) continue;
            if (read_rsdp(reader, base + off).ok()) return base + off;
        }
    }
    return Status::not_found;
}

// Read the header of the table at `phys`, then the whole table into `dst`; validate it.
Result<Bytes> copy_table(PhysReader reader, std::uint64_t phys, Signature sig,
                         std::span<std::uint8_t> dst) {
    std::uint8_t header[header_size];
    MYR_TRY(reader.read_into(phys, std::span(header)));
    const auto length = MYR_TRY(read_le<std::uint32_t>(Bytes(header), header_length_offset));
    if (length < header_size) return Status::malformed;
    if (length > dst.size()) return Status::no_memory;
    MYR_TRY(reader.read_into(phys, dst.first(length)));
    return check_table(Bytes(dst.data(), length), sig);
}

// Checksum of `length` bytes at `phys` without holding them all (the root table can be large).
Result<std::uint8_t> checksum_at(PhysReader reader, std::uint64_t phys, std::uint32_t length) {
    std::uint8_t chunk[256];
    std::uint8_t sum = 0;
    for (std::uint32_t done = 0; done < length;) {
        const std::uint32_t n = length - done < sizeof chunk ? length - done : sizeof chunk;
        MYR_TRY(reader.read_into(phys + done, std::span(chunk, n)));
        sum = static_cast<std::uint8_t>(sum + checksum(Bytes(chunk, n)));
        done += n;
    }
    return sum;
}

} // namespace

Result<Rsdp> parse_rsdp(Bytes bytes) {
    const auto sig = MYR_TRY(read_le<std::uint64_t>(bytes, 0));
    if (sig != rsdp_signature) return Status::malformed;
    const Bytes v1 = MYR_TRY(sub(bytes, 0, rsdp_v1_size));
    if (checksum(v1) != 0) return Status::bad_checksum;
    Rsdp rsdp{v1[15], MYR_TRY(read_le<std::uint32_t>(v1, 16)), 0};
    if (rsdp.revision >= rsdp_rev_xsdt) {
        const auto length = MYR_TRY(read_le<std::uint32_t>(bytes, 20));
        if (length < rsdp_v2_size) return Status::malformed;
        const Bytes whole = MYR_TRY(sub(bytes, 0, length));
        if (checksum(whole) != 0) return Status::bad_checksum;
        rsdp.xsdt = MYR_TRY(read_le<std::uint64_t>(whole, 24));
    }
    return rsdp;
}

Result<std::uint64_t> find_rsdp(PhysReader reader) {
    std::uint8_t seg_raw[2];
    if (reader.read_into(ebda_pointer, std::span(seg_raw)) == Status::ok) {
        const std::uint64_t ebda = static_cast<std::uint64_t>(seg_raw[0] | seg_raw[1] << 8) << 4;
        if (ebda != 0) {
            auto found = scan(reader, ebda, ebda + ebda_scan_size);
            if (found.ok()) return *found;
        }
    }
    return scan(reader, bios_area_start, bios_area_end);
}

static Status walk_root(PhysReader reader, std::uint64_t rsdp_phys,
                        std::span<std::uint8_t> buffer, TableSet& out) {
    const Rsdp rsdp = MYR_TRY(read_rsdp(reader, rsdp_phys));

    // ACPI 6.5 §5.2.5.3: an ACPI 2.0+ OS uses the XSDT when there is one.
    const bool use_xsdt = rsdp.revision >= rsdp_rev_xsdt && rsdp.xsdt != 0;
    const std::uint64_t root = use_xsdt ? rsdp.xsdt : rsdp.rsdt;
    const Signature root_sig = use_xsdt ? sig_xsdt : sig_rsdt;
    const std::size_t entry_size = use_xsdt ? xsdt_entry_size : rsdt_entry_size;
    if (root == 0) return Status::not_found;

    std::uint8_t header[header_size];
    MYR_TRY(reader.read_into(root, std::span(header)));
    if (MYR_TRY(read_le<std::uint32_t>(Bytes(header), 0)) != root_sig) return Status::malformed;
    const auto root_length = MYR_TRY(read_le<std::uint32_t>(Bytes(header), header_length_offset));
    if (root_length < header_size) return Status::malformed;
    if (MYR_TRY(checksum_at(reader, root, root_length)) != 0) return Status::bad_checksum;

    std::size_t used = 0;
    const std::size_t entries = (root_length - header_size) / entry_size;
    for (std::size_t i = 0; i < entries; ++i) {
        std::uint8_t addr_raw[xsdt_entry_size] = {};
        MYR_TRY(reader.read_into(root + header_size + i * entry_size,
                                 std::span(addr_raw, entry_size)));
        const auto phys = MYR_TRY(read_le<std::uint64_t>(Bytes(addr_raw), 0));
        if (phys == 0) continue;
        std::uint8_t sig_raw[4];
        MYR_TRY(reader.read_into(phys, std::span(sig_raw)));
        const auto sig = MYR_TRY(read_le<std::uint32_t>(Bytes(sig_raw), 0));

        Bytes* slot = sig == sig_madt ? &out.madt
                    : sig == sig_srat ? &out.srat
                    : sig == sig_slit ? &out.slit
                                      : nullptr;
        if (slot == nullptr || !slot->empty()) continue; // not wanted, or a second copy
        const Bytes table = MYR_TRY(copy_table(reader, phys, sig, buffer.subspan(used)));
        *slot = table;
        used += table.size();
    }
    return Status::ok;
}

Status load_tables(PhysReader reader, std::uint64_t rsdp_phys, std::span<std::uint8_t> buffer,
                   TableSet& out) {
    out = TableSet{};
    const Status status = walk_root(reader, rsdp_phys, buffer, out);
    if (status != Status::ok) out = TableSet{};
    return status;
}

} // namespace myr::acpi
