#pragma once
// The URPC wire format, defined once and used by the CPU drivers, monitors, the
// hosted runtime, the tests and the fuzzer alike.
//
// A message line is one 64-byte cache line: seven payload words, then the header word. The
// sender writes the payload with plain stores and the header last with release order; the
// receiver polls the header with acquire order, so a header that carries the expected sequence
// number guarantees the payload beside it is complete. Putting the sequence number in the slot
// itself means there is no shared head index: the receiver touches only the line it will read.
#include <myr/result.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace myr::urpc {

inline constexpr std::size_t line_bytes = 64;
inline constexpr std::size_t payload_words = 7;
inline constexpr std::size_t payload_bytes = payload_words * 8;  // 56

// Fragment flags. A single-line message is first|last; a middle fragment has neither.
inline constexpr std::uint8_t frag_first = 0x1;
inline constexpr std::uint8_t frag_last = 0x2;
inline constexpr std::uint8_t frag_single = frag_first | frag_last;

// Type 0 is never valid: a zeroed (never written) line therefore cannot decode as a message.
inline constexpr std::uint8_t type_invalid = 0;

struct alignas(line_bytes) Slot {
    std::uint64_t payload[payload_words];   // plain stores; published by the header's release
    std::atomic<std::uint64_t> header;      // encode(Header), written last
};
static_assert(sizeof(Slot) == line_bytes, "a message is exactly one cache line");
static_assert(alignof(Slot) == line_bytes, "slots must not straddle cache lines");
static_assert(offsetof(Slot, payload) == 0);
static_assert(offsetof(Slot, header) == payload_bytes, "header is the last word of the line");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "header must be a plain 8-byte store");

// Header word layout (bit ranges, little-endian word):
//   0..31  seq      position in the channel + 1, modulo 2^32 (never 0 for a fresh ring's first
//                   lap, and differs from the previous lap's value at the same slot)
//   32..39 type     1..255, chosen by the protocol above; 0 is invalid
//   40..47 length   payload bytes used in this line, 0..56; non-last fragments carry exactly 56
//   48..49 flags    frag_first / frag_last
//   50..55 reserved must be zero
//   56..63 frag     fragment index modulo 256 (0 on the first fragment)
struct Header {
    std::uint32_t seq;
    std::uint8_t type;
    std::uint8_t length;
    std::uint8_t flags;
    std::uint8_t frag;
};

inline constexpr unsigned hdr_type_shift = 32;
inline constexpr unsigned hdr_length_shift = 40;
inline constexpr unsigned hdr_flags_shift = 48;
inline constexpr unsigned hdr_frag_shift = 56;
inline constexpr std::uint64_t hdr_reserved_mask = 0x3FULL << 50;

[[nodiscard]] constexpr std::uint64_t encode(const Header& h) {
    return std::uint64_t{h.seq} | (std::uint64_t{h.type} << hdr_type_shift) |
           (std::uint64_t{h.length} << hdr_length_shift) |
           (std::uint64_t{static_cast<std::uint8_t>(h.flags & frag_single)} << hdr_flags_shift) |
           (std::uint64_t{h.frag} << hdr_frag_shift);
}

[[nodiscard]] constexpr std::uint32_t header_seq(std::uint64_t word) {
    return static_cast<std::uint32_t>(word);
}

// decode: validate everything a receiver relies on before it touches the payload. Whatever the
// sender (or a fuzzer) wrote, a decoded header never lets a reader go past the 56 payload bytes.
[[nodiscard]] inline Result<Header> decode(std::uint64_t word) {
    Header h{};
    h.seq = header_seq(word);
    h.type = static_cast<std::uint8_t>(word >> hdr_type_shift);
    h.length = static_cast<std::uint8_t>(word >> hdr_length_shift);
    h.flags = static_cast<std::uint8_t>((word >> hdr_flags_shift) & 0x3);
    h.frag = static_cast<std::uint8_t>(word >> hdr_frag_shift);
    if ((word & hdr_reserved_mask) != 0) return Status::malformed;
    if (h.type == type_invalid) return Status::malformed;
    if (h.length > payload_bytes) return Status::malformed;
    if ((h.flags & frag_first) != 0 && h.frag != 0) return Status::malformed;
    if ((h.flags & frag_last) == 0 && h.length != payload_bytes) return Status::malformed;
    return h;
}

// A received line, copied out of the ring so the slot can be recycled at once.
struct Message {
    Header header;
    std::uint64_t words[payload_words];
};

// Word-wise packing of bytes. Fixed 8-byte __builtin_memcpy compiles to one mov (also under
// -mgeneral-regs-only), and the tail goes byte by byte, so no libc memcpy call is emitted.
constexpr void pack_bytes(std::uint64_t (&words)[payload_words], const std::uint8_t* bytes,
                          std::size_t length) {
    for (std::size_t w = 0; w < payload_words; ++w) {
        std::uint64_t v = 0;
        for (std::size_t b = 0; b < 8; ++b) {
            const std::size_t i = w * 8 + b;
            if (i < length) v |= std::uint64_t{bytes[i]} << (8 * b);
        }
        words[w] = v;
    }
}

constexpr void unpack_bytes(const std::uint64_t (&words)[payload_words], std::uint8_t* bytes,
                            std::size_t length) {
    for (std::size_t i = 0; i < length && i < payload_bytes; ++i)
        bytes[i] = static_cast<std::uint8_t>(words[i / 8] >> (8 * (i % 8)));
}

} // namespace myr::urpc
