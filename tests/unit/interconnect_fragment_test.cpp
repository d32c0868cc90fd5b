// Fragmentation and reassembly, including out-of-sequence and oversized input.
#include <myr/urpc/fragment.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace myr::urpc {
namespace {

template <std::uint32_t Slots>
struct alignas(64) Region {
    std::byte bytes[channel_bytes(Slots)];
    std::span<std::byte> span() { return bytes; }
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 31);
    return v;
}

Message line(std::uint8_t type, std::uint8_t length, std::uint8_t flags, std::uint8_t frag) {
    Message m{};
    m.header = Header{1, type, length, flags, frag};
    return m;
}

TEST(UrpcFragment, FragmentCount) {
    EXPECT_EQ(fragments_for(0), 1u);
    EXPECT_EQ(fragments_for(56), 1u);
    EXPECT_EQ(fragments_for(57), 2u);
    EXPECT_EQ(fragments_for(112), 2u);
    EXPECT_EQ(fragments_for(113), 3u);
}

TEST(UrpcFragment, RoundTripsEveryLength) {
    Region<64> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{64, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    Receiver rx = *Receiver::attach(r.span());
    std::vector<std::uint8_t> buffer(64 * payload_bytes);
    Reassembler re(buffer);
    for (std::size_t len = 0; len <= 600; ++len) {
        const auto msg = pattern(len, static_cast<std::uint8_t>(len));
        ASSERT_EQ(try_send_message(tx, 9, msg), Status::ok) << len;
        Status s = Status::would_block;
        std::size_t lines = 0;
        while (s == Status::would_block) {
            s = try_recv_message(rx, re);
            ++lines;
            ASSERT_LE(lines, fragments_for(len));
        }
        ASSERT_EQ(s, Status::ok) << len;
        EXPECT_EQ(lines, fragments_for(len));
        EXPECT_EQ(re.type(), 9);
        ASSERT_EQ(re.bytes().size(), len);
        EXPECT_TRUE(std::equal(msg.begin(), msg.end(), re.bytes().begin())) << len;
    }
}

TEST(UrpcFragment, SendsWholeOrNothing) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    const auto three = pattern(3 * payload_bytes, 1);
    const auto five = pattern(5 * payload_bytes, 1);
    EXPECT_EQ(try_send_message(tx, 1, five), Status::overflow);
    ASSERT_EQ(try_send_message(tx, 1, three), Status::ok);
    EXPECT_EQ(try_send_message(tx, 1, three), Status::would_block);
    EXPECT_EQ(tx.sent(), 3u);
    EXPECT_EQ(try_send_message(tx, type_invalid, three), Status::invalid_argument);
}

TEST(UrpcFragment, ContinuationWithoutStartIsRejected) {
    std::uint8_t buf[256];
    Reassembler re(buf);
    EXPECT_EQ(re.feed(line(1, 56, 0, 1)), Status::malformed);
    EXPECT_EQ(re.feed(line(1, 10, frag_last, 1)), Status::malformed);
}

TEST(UrpcFragment, StartWhileOpenIsRejectedThenRecovers) {
    std::uint8_t buf[256];
    Reassembler re(buf);
    EXPECT_EQ(re.feed(line(1, 56, frag_first, 0)), Status::would_block);
    EXPECT_EQ(re.feed(line(1, 56, frag_first, 0)), Status::malformed);
    EXPECT_EQ(re.feed(line(2, 3, frag_single, 0)), Status::ok);
    EXPECT_EQ(re.type(), 2);
    EXPECT_EQ(re.bytes().size(), 3u);
}

TEST(UrpcFragment, WrongIndexOrTypeIsRejected) {
    std::uint8_t buf[256];
    Reassembler re(buf);
    EXPECT_EQ(re.feed(line(1, 56, frag_first, 0)), Status::would_block);
    EXPECT_EQ(re.feed(line(1, 56, 0, 2)), Status::malformed);  // skipped index 1
    EXPECT_EQ(re.feed(line(1, 56, frag_first, 0)), Status::would_block);
    EXPECT_EQ(re.feed(line(7, 56, 0, 1)), Status::malformed);  // type changed
}

TEST(UrpcFragment, OversizedMessageIsRejectedNotWritten) {
    std::uint8_t buf[100 + 8];
    for (auto& b : buf) b = 0xAA;
    Reassembler re(std::span<std::uint8_t>(buf, 100));
    Message first = line(1, 56, frag_first, 0);
    for (auto& w : first.words) w = 0x1111111111111111ULL;
    EXPECT_EQ(re.feed(first), Status::would_block);
    EXPECT_EQ(re.feed(line(1, 56, 0, 1)), Status::overflow);
    for (std::size_t i = 100; i < sizeof buf; ++i) EXPECT_EQ(buf[i], 0xAA);
    // A hand-made length beyond the line is refused too.
    EXPECT_EQ(re.feed(line(1, 200, frag_single, 0)), Status::malformed);
}

TEST(UrpcFragment, RejectedLineOnTheRingSurfacesAsMalformed) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Receiver rx = *Receiver::attach(r.span());
    Slot* slots = view_channel(r.span())->slots;
    slots[0].header.store(encode(Header{1, 0, 0, frag_single, 0}), std::memory_order_release);
    std::uint8_t buf[64];
    Reassembler re(buf);
    EXPECT_EQ(try_recv_message(rx, re), Status::malformed);
    EXPECT_EQ(try_recv_message(rx, re), Status::would_block);
}

} // namespace
} // namespace myr::urpc
