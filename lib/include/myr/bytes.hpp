#pragma once
// Bounds-checked little-endian reads from untrusted bytes (firmware tables, messages). Every
// parser reads through this, so a length field pointing outside its buffer becomes an error
// value instead of an out-of-bounds read.
#include <myr/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr {

using Bytes = std::span<const std::uint8_t>;

template <typename T>
[[nodiscard]] constexpr Result<T> read_le(Bytes bytes, std::size_t offset) {
    static_assert(std::is_unsigned_v<T>);
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return Status::truncated;
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        v = static_cast<T>(v | static_cast<T>(static_cast<T>(bytes[offset + i]) << (8 * i)));
    return v;
}

// sub(bytes, off, len): the sub-span, or truncated when it does not fit.
[[nodiscard]] inline Result<Bytes> sub(Bytes bytes, std::size_t offset, std::size_t length) {
    if (offset > bytes.size() || bytes.size() - offset < length) return Status::truncated;
    return bytes.subspan(offset, length);
}

} // namespace myr
