// libFuzzer target for the URPC decoder: arbitrary bytes become raw ring lines (header word and
// payload as a hostile peer might write them) fed through Receiver::try_recv and the
// Reassembler. Nothing may read or write out of bounds (ASan/UBSan), and whatever is accepted
// must satisfy the decoder's promises.
#include <myr/urpc/fragment.hpp>
#include <myr/urpc/receiver.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

constexpr std::uint32_t slots = 8;

struct alignas(64) Region {
    std::byte bytes[myr::urpc::channel_bytes(slots)];
};

void require(bool ok) {
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace myr::urpc;
    // Pure decoder on every 8-byte word.
    for (std::size_t off = 0; off + 8 <= size; off += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, data + off, 8);
        myr::Result<Header> h = decode(word);
        if (h.ok()) require(h->length <= payload_bytes && h->type != type_invalid);
    }

    // Through a real ring: each 64-byte chunk becomes a line. The sequence number is forced
    // right for half the lines (so the receiver takes them) and left as fuzzed for the rest.
    static Region region;
    if (format_channel(region.bytes, ChannelConfig{slots, Wake::poll}) != myr::Status::ok) std::abort();
    Receiver rx = *Receiver::attach(region.bytes);
    Slot* ring = view_channel(region.bytes)->slots;
    std::uint8_t buffer[300];
    Reassembler re(buffer);
    std::uint64_t pos = 0;
    for (std::size_t off = 0; off + line_bytes <= size; off += line_bytes) {
        Slot& s = ring[pos % slots];
        std::memcpy(s.payload, data + off, payload_bytes);
        std::uint64_t word = 0;
        std::memcpy(&word, data + off + payload_bytes, 8);
        if ((word >> 63) == 0) word = (word & ~0xffffffffULL) | static_cast<std::uint32_t>(pos + 1);
        s.header.store(word, std::memory_order_release);
        Message m;
        const myr::Status st = rx.try_recv(m);
        if (st == myr::Status::would_block) continue;  // wrong sequence: not a message yet
        ++pos;
        if (st != myr::Status::ok) continue;
        require(m.header.length <= payload_bytes);
        const myr::Status fed = re.feed(m);
        if (fed == myr::Status::ok) require(re.bytes().size() <= sizeof buffer);
    }
    return 0;
}
