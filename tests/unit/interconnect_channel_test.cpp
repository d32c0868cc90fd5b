// Ring and credits, single-threaded (the concurrent versions are tests/hosted).
#include <myr/urpc/binding.hpp>
#include <myr/urpc/poll_block.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

namespace myr::urpc {
namespace {

template <std::uint32_t Slots>
struct alignas(64) Region {
    std::byte bytes[channel_bytes(Slots)];
    std::span<std::byte> span() { return bytes; }
};

std::uint64_t g_words[payload_words] = {1, 2, 3, 4, 5, 6, 7};

void fill(std::uint64_t (&w)[payload_words], std::uint64_t v) {
    for (std::size_t i = 0; i < payload_words; ++i) w[i] = v * 10 + i;
}

TEST(UrpcChannel, LayoutIsCacheLineExact) {
    EXPECT_EQ(channel_bytes(8), 4 * 64 + 8 * 64u);
    EXPECT_TRUE(valid_slot_count(2));
    EXPECT_TRUE(valid_slot_count(1024));
    EXPECT_FALSE(valid_slot_count(0));
    EXPECT_FALSE(valid_slot_count(1));
    EXPECT_FALSE(valid_slot_count(48));
}

TEST(UrpcChannel, FormatRefusesBadRegions) {
    Region<8> r;
    EXPECT_EQ(format_channel(r.span(), ChannelConfig{6, Wake::poll}), Status::invalid_argument);
    EXPECT_EQ(format_channel(r.span(), ChannelConfig{16, Wake::poll}), Status::truncated);
    EXPECT_EQ(format_channel(r.span().subspan(8), ChannelConfig{2, Wake::poll}),
              Status::invalid_argument);  // misaligned
    EXPECT_EQ(format_channel(r.span().first(100), ChannelConfig{2, Wake::poll}), Status::truncated);
    EXPECT_EQ(format_channel(std::span<std::byte>{}, ChannelConfig{}), Status::invalid_argument);
}

TEST(UrpcChannel, AttachRefusesUnformattedOrCorruptMemory) {
    Region<8> r{};
    EXPECT_EQ(Receiver::attach(r.span()).status(), Status::malformed);
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{8, Wake::poll}), Status::ok);
    EXPECT_EQ(Receiver::attach(r.span().first(channel_bytes(4))).status(), Status::truncated);
    r.bytes[8] = std::byte{3};  // descriptor slot count 3: not a power of two
    EXPECT_EQ(Sender::attach(r.span()).status(), Status::malformed);
}

// What the boot core does to every monitor inbox channel instead of zeroing it: memory that held
// a channel (or anything else) reads as no channel until its receiver formats it, and the
// receiver's format then gives a working, empty ring whatever the slots held before.
TEST(UrpcChannel, RetractedChannelIsRefusedUntilFormatted) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    retract_channel(r.span());
    EXPECT_EQ(Sender::attach(r.span()).status(), Status::malformed);
    EXPECT_EQ(Receiver::attach(r.span()).status(), Status::malformed);
    // Junk in every slot, then the receiver formats: nothing is pending, and lines go through.
    for (std::size_t i = sizeof(ChannelControl); i < sizeof r.bytes; ++i) r.bytes[i] = std::byte{0xa5};
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Receiver rx = *Receiver::attach(r.span());
    Message m;
    EXPECT_EQ(rx.try_recv(m), Status::would_block);
    tx = *Sender::attach(r.span());
    ASSERT_EQ(tx.try_send(2, g_words), Status::ok);
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    EXPECT_EQ(m.header.type, 2);
    // A region too small or misaligned to be a channel is left alone.
    retract_channel(r.span().subspan(8));
    EXPECT_TRUE(Receiver::attach(r.span()).ok());
}

TEST(UrpcChannel, DoorbellChannelNeedsAHook) {
    Region<8> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{8, Wake::doorbell}), Status::ok);
    EXPECT_EQ(Sender::attach(r.span()).status(), Status::invalid_argument);
}

TEST(UrpcChannel, SendReceiveInOrderAcrossManyLaps) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    Receiver rx = *Receiver::attach(r.span());
    Message m;
    EXPECT_EQ(rx.try_recv(m), Status::would_block);
    for (std::uint64_t i = 0; i < 1000; ++i) {
        std::uint64_t w[payload_words];
        fill(w, i);
        ASSERT_EQ(tx.try_send(static_cast<std::uint8_t>(1 + i % 200), w,
                              static_cast<std::uint8_t>(i % 57)),
                  Status::ok);
        ASSERT_EQ(rx.try_recv(m), Status::ok);
        EXPECT_EQ(m.header.type, 1 + i % 200);
        EXPECT_EQ(m.header.length, i % 57);
        EXPECT_EQ(m.header.seq, i + 1);
        for (std::size_t k = 0; k < payload_words; ++k) EXPECT_EQ(m.words[k], i * 10 + k);
        EXPECT_EQ(rx.try_recv(m), Status::would_block);
    }
}

TEST(UrpcChannel, FullRingBlocksUntilCreditsReturn) {
    Region<8> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{8, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    Receiver rx = *Receiver::attach(r.span());
    for (int i = 0; i < 8; ++i) ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    EXPECT_EQ(tx.try_send(1, g_words), Status::would_block);
    EXPECT_EQ(tx.reserve(1), Status::would_block);
    EXPECT_EQ(tx.reserve(9), Status::overflow);

    Message m;
    // One line read: below the batch (8/4 = 2), nothing returned yet.
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    EXPECT_EQ(tx.try_send(1, g_words), Status::would_block);
    // Second line completes a batch: two credits back.
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    EXPECT_EQ(tx.try_send(1, g_words), Status::ok);
    EXPECT_EQ(tx.try_send(1, g_words), Status::ok);
    EXPECT_EQ(tx.try_send(1, g_words), Status::would_block);
    EXPECT_EQ(tx.sent(), 10u);
}

TEST(UrpcChannel, IdlePollReturnsPartialCredits) {
    Region<8> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{8, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    Receiver rx = *Receiver::attach(r.span());
    for (int i = 0; i < 8; ++i) ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    Message m;
    for (int i = 0; i < 7; ++i) ASSERT_EQ(rx.try_recv(m), Status::ok);
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    EXPECT_EQ(rx.try_recv(m), Status::would_block);  // ring empty: everything goes back
    EXPECT_EQ(tx.reserve(8), Status::ok);
}

TEST(UrpcChannel, RejectsInvalidSends) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    EXPECT_EQ(tx.try_send(type_invalid, g_words), Status::invalid_argument);
    EXPECT_EQ(tx.try_send(1, g_words, 57), Status::invalid_argument);
    EXPECT_EQ(tx.try_send(1, g_words, 56, 4), Status::invalid_argument);
    EXPECT_EQ(tx.sent(), 0u);
}

TEST(UrpcChannel, MalformedLineIsConsumedAndRejected) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    Receiver rx = *Receiver::attach(r.span());
    // A corrupt writer: right sequence number, invalid length.
    Slot* slots = view_channel(r.span())->slots;
    slots[0].header.store(encode(Header{1, 5, 56, frag_single, 0}) | (200ULL << hdr_length_shift),
                          std::memory_order_release);
    Message m;
    EXPECT_EQ(rx.try_recv(m), Status::malformed);
    // The channel carries on with the next position.
    ASSERT_EQ(tx.try_send(9, g_words), Status::ok);  // lands in slot 0 (tx is still at 0)
    EXPECT_EQ(rx.try_recv(m), Status::would_block); // rx expects seq 2 in slot 1
}

TEST(UrpcChannel, StaleLapIsNotAMessage) {
    Region<2> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{2, Wake::poll}), Status::ok);
    Sender tx = *Sender::attach(r.span());
    Receiver rx = *Receiver::attach(r.span());
    Message m;
    ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    // Slot 0 still holds seq 1; the receiver wants seq 3 there.
    EXPECT_FALSE(rx.pending());
    EXPECT_EQ(rx.try_recv(m), Status::would_block);
}

TEST(UrpcChannel, BindingPairsTwoChannels) {
    Region<4> a;
    Region<4> b;
    ASSERT_EQ(format_channel(a.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    ASSERT_EQ(format_channel(b.span(), ChannelConfig{4, Wake::poll}), Status::ok);
    Binding left = *Binding::attach(a.span(), b.span());
    Binding right = *Binding::attach(b.span(), a.span());
    Message m;
    ASSERT_EQ(left.tx.try_send(3, g_words), Status::ok);
    ASSERT_EQ(right.rx.try_recv(m), Status::ok);
    ASSERT_EQ(right.tx.try_send(4, g_words), Status::ok);
    ASSERT_EQ(left.rx.try_recv(m), Status::ok);
    EXPECT_EQ(m.header.type, 4);
}

struct HookLog {
    int wakes = 0;
};

void count_wake(std::atomic<std::uint32_t>& word, void* ctx) {
    EXPECT_EQ(word.load(), 0u);  // cleared before the hook runs
    ++static_cast<HookLog*>(ctx)->wakes;
}

TEST(UrpcChannel, DoorbellWakesOnlyAnArmedReceiver) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::doorbell}), Status::ok);
    HookLog log;
    Sender tx = *Sender::attach(r.span(), WakeHook{count_wake, &log});
    Receiver rx = *Receiver::attach(r.span());
    ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    EXPECT_EQ(log.wakes, 0);
    EXPECT_FALSE(rx.arm());  // a message is pending: do not sleep
    EXPECT_EQ(rx.doorbell_word().load(), 0u);
    Message m;
    ASSERT_EQ(rx.try_recv(m), Status::ok);
    EXPECT_TRUE(rx.arm());
    ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    EXPECT_EQ(log.wakes, 1);
    ASSERT_EQ(tx.try_send(1, g_words), Status::ok);
    EXPECT_EQ(log.wakes, 1);  // not re-armed
}

TEST(UrpcChannel, PollThenBlockSleepsAfterTheBudget) {
    Region<4> r;
    ASSERT_EQ(format_channel(r.span(), ChannelConfig{4, Wake::doorbell}), Status::ok);
    HookLog log;
    Sender tx = *Sender::attach(r.span(), WakeHook{count_wake, &log});
    Receiver rx = *Receiver::attach(r.span());
    std::uint64_t fake_now = 0;
    int blocks = 0;
    // The "block" primitive delivers the message, as a waking sender would.
    auto block = [&](std::atomic<std::uint32_t>& word, std::uint32_t expected) {
        EXPECT_EQ(word.load(), expected);
        ++blocks;
        EXPECT_EQ(tx.try_send(2, g_words), Status::ok);
    };
    auto now = [&] { return fake_now += 1000; };
    PollBlockStats stats;
    Message m;
    ASSERT_EQ(recv_poll_then_block(rx, m, 20'000, now, block, &stats), Status::ok);
    EXPECT_EQ(blocks, 1);
    EXPECT_EQ(log.wakes, 1);
    EXPECT_EQ(stats.received, 1u);
    EXPECT_EQ(stats.blocked, 1u);
    EXPECT_GE(fake_now, 20'000u);
}

} // namespace
} // namespace myr::urpc
