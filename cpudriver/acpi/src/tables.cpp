// Table header validation, shared by discovery (tables read from physical memory) and the
// topology parser (tables handed in as spans).
#include <myr/acpi/tables.hpp>

namespace myr::acpi {

Result<Bytes> check_table(Bytes table, Signature expected) {
    if (table.size() < header_size) return Status::truncated;
    const Signature sig = MYR_TRY(read_le<std::uint32_t>(table, 0));
    if (sig != expected) return Status::malformed;
    const std::uint32_t length = MYR_TRY(read_le<std::uint32_t>(table, header_length_offset));
    if (length < header_size) return Status::malformed;
    const Bytes whole = MYR_TRY(sub(table, 0, length));
    if (checksum(whole) != 0) return Status::bad_checksum;
    return whole;
}

} // namespace myr::acpi
