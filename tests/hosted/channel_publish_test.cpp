// Channel set-up race (issue 10, item 5): the receiver formats a fresh ring while its peer is
// already polling it to attach, as a bound domain's peer does (lib/user bind.hpp connect_channel)
// and a monitor does with a peer's inbox (monitor/mesh.cpp). The peer must never attach to a
// half-formatted channel: its first line must arrive intact, and (under ThreadSanitizer, label
// tsan) no access to the descriptor may race with the format. Fresh zeroed memory each round, as
// the kernel hands out retyped ring memory.
#include "hosted_test_util.hpp"

#include <myr/urpc/urpc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

namespace myr::urpc {
namespace {

using hosted::test::env_count;
using hosted::test::make_payload;
using hosted::test::payload_ok;

constexpr std::uint32_t slots = 32;

struct alignas(line_bytes) Ring {
    std::byte bytes[channel_bytes(slots)];
};

TEST(ChannelPublish, PeerPollingDuringFormatGetsTheFirstLine) {
    const std::uint64_t rounds = env_count("MYRIAD_PUBLISH_ROUNDS", 20000);
    std::uint64_t lost = 0, attach_before_format = 0;
    for (std::uint64_t r = 0; r < rounds; ++r) {
        auto ring = std::make_unique<Ring>();
        std::memset(ring->bytes, 0, sizeof ring->bytes);
        const std::span<std::byte> mem(ring->bytes, sizeof ring->bytes);
        std::atomic<bool> go{false};
        std::atomic<std::uint64_t> early{0};
        std::thread peer([&] {
            while (!go.load(std::memory_order_acquire)) {}
            // Poll for the channel exactly like connect_channel, without sleeping.
            for (;;) {
                auto s = Sender::attach(mem);
                if (!s.ok()) {
                    early.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                std::uint64_t w[payload_words];
                make_payload(w, 1, r);
                while (s->try_send(7, w) == Status::would_block) {}
                return;
            }
        });
        go.store(true, std::memory_order_release);
        // Format only once the peer is polling (on a loaded host it may not get a CPU in time
        // otherwise): it then keeps polling while the owner formats, the overlap under test.
        while (early.load(std::memory_order_relaxed) == 0) std::this_thread::yield();
        ASSERT_EQ(format_channel(mem, {slots, Wake::poll}), Status::ok);
        auto rx = Receiver::attach(mem);
        ASSERT_TRUE(rx.ok());
        Message m{};
        Status st = Status::would_block;
        // The peer sends once it sees the channel: wait for it (it cannot fail to come).
        for (std::uint64_t spin = 0; st == Status::would_block; ++spin) {
            st = rx->try_recv(m);
            if (spin > 1000) std::this_thread::yield();
            if (spin > 50'000'000) break;
        }
        peer.join();
        attach_before_format += early.load() != 0;
        if (st != Status::ok || m.header.type != 7 || !payload_ok(m.words, 1, r)) ++lost;
    }
    std::printf("  %llu rounds, peer polled an unformatted channel in %llu, first line lost in %llu\n",
                static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(attach_before_format),
                static_cast<unsigned long long>(lost));
    EXPECT_EQ(lost, 0u);
    // The overlap the test is about really happened in every round (else it proves nothing).
    EXPECT_EQ(attach_before_format, rounds);
}

TEST(ChannelPublish, UnformattedAndWrongMagicRefused) {
    Ring ring{};
    const std::span<std::byte> mem(ring.bytes, sizeof ring.bytes);
    EXPECT_EQ(Sender::attach(mem).status(), Status::malformed);
    ASSERT_EQ(format_channel(mem, {slots, Wake::poll}), Status::ok);
    EXPECT_TRUE(Sender::attach(mem).ok());
    ring.bytes[0] = std::byte{0};  // the magic's first byte
    EXPECT_EQ(Sender::attach(mem).status(), Status::malformed);
}

} // namespace
} // namespace myr::urpc
