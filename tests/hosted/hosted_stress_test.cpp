// Real concurrency on real cores: every ordered pair of the machine's cores exchanges at least
// MYRIAD_STRESS_MESSAGES lines (default 1e7) at once, all cores running, and every receiver checks
// that each source's stream arrives complete, once, in order, with intact payload. Then the same
// for fragmented messages, and for receivers that poll-then-block on a futex doorbell.
#include "hosted_test_util.hpp"

#include <myr/hosted/clock.hpp>
#include <myr/hosted/futex.hpp>
#include <myr/hosted/runtime.hpp>
#include <myr/urpc/urpc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace myr::hosted {
namespace {

using test::env_count;

struct Mesh {
    std::unique_ptr<Runtime> rt;
    std::vector<std::uint32_t> cores;
    std::vector<ChannelMemory> channels;  // [src * n + dst], empty on the diagonal
    std::size_t n = 0;

    std::span<std::byte> channel(std::size_t src, std::size_t dst) {
        return channels[src * n + dst].bytes();
    }
};

// One channel per ordered pair, placed on the receiver's node.
Mesh make_mesh(urpc::ChannelConfig config) {
    Mesh m;
    auto rt = Runtime::create();
    EXPECT_TRUE(rt.ok());
    if (!rt.ok()) return m;
    m.rt = std::move(*rt);
    for (const Core& c : m.rt->cores()) m.cores.push_back(c.index);
    m.n = m.cores.size();
    for (std::size_t s = 0; s < m.n; ++s)
        for (std::size_t d = 0; d < m.n; ++d) {
            auto mem = m.rt->channel(m.cores[s], m.cores[d], config);
            EXPECT_TRUE(mem.ok());
            m.channels.push_back(std::move(*mem));
        }
    return m;
}

std::uint64_t progress(const std::vector<std::uint64_t>& sent, const std::vector<std::uint64_t>& got) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) sum += sent[i] + got[i];
    return sum;
}

// The machine is shared: when a peer thread is descheduled, spinning only delays it further.
// After a run of fruitless rounds, give the CPU away.
struct IdleBackoff {
    std::uint32_t fruitless = 0;
    void step(bool progressed) {
        if (progressed) {
            fruitless = 0;
        } else if (++fruitless >= 256) {
            fruitless = 0;
            std::this_thread::yield();
        }
    }
};

struct Tally {
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> out_of_order{0};  // lost, duplicated or reordered
    std::atomic<std::uint64_t> corrupt{0};
    std::atomic<std::uint64_t> extra{0};         // lines after the last expected one
};

TEST(HostedStress, AllPairsLinesArriveOnceInOrder) {
    const std::uint64_t count = env_count("MYRIAD_STRESS_MESSAGES", 10'000'000);
    Mesh m = make_mesh(urpc::ChannelConfig{64, urpc::Wake::poll});
    if (m.n < 2) GTEST_SKIP() << "needs two cores";
    Tally tally;
    const std::uint64_t t0 = now_ns();
    ASSERT_EQ(m.rt->run(m.cores, [&](std::uint32_t me) {
        std::vector<urpc::Sender> tx(m.n);
        std::vector<urpc::Receiver> rx(m.n);
        for (std::size_t p = 0; p < m.n; ++p) {
            if (p == me) continue;
            tx[p] = *urpc::Sender::attach(m.channel(me, p));
            rx[p] = *urpc::Receiver::attach(m.channel(p, me));
        }
        std::vector<std::uint64_t> sent(m.n, 0);
        std::vector<std::uint64_t> got(m.n, 0);
        std::uint64_t bad_order = 0;
        std::uint64_t bad_payload = 0;
        bool busy = true;
        IdleBackoff idle;
        while (busy) {
            busy = false;
            const std::uint64_t before = progress(sent, got);
            for (std::size_t p = 0; p < m.n; ++p) {
                if (p == me) continue;
                for (int burst = 0; burst < 32 && sent[p] < count; ++burst) {
                    std::uint64_t w[urpc::payload_words];
                    test::make_payload(w, me, sent[p]);
                    if (tx[p].try_send(1, w) != Status::ok) break;
                    ++sent[p];
                }
                for (int burst = 0; burst < 64; ++burst) {
                    urpc::Message msg{};
                    const Status s = rx[p].try_recv(msg);
                    if (s == Status::would_block) break;
                    if (s != Status::ok || msg.words[1] != p) {
                        ++bad_payload;
                        continue;
                    }
                    if (msg.words[0] != got[p]) ++bad_order;
                    if (!test::payload_ok(msg.words, static_cast<std::uint32_t>(p), msg.words[0]))
                        ++bad_payload;
                    got[p] = msg.words[0] + 1;
                    tally.received.fetch_add(1, std::memory_order_relaxed);
                }
                busy = busy || sent[p] < count || got[p] < count;
            }
            idle.step(progress(sent, got) != before);
        }
        for (std::size_t p = 0; p < m.n; ++p) {
            if (p == me) continue;
            urpc::Message msg{};
            if (rx[p].try_recv(msg) != Status::would_block) tally.extra.fetch_add(1);
        }
        tally.out_of_order.fetch_add(bad_order);
        tally.corrupt.fetch_add(bad_payload);
    }), Status::ok);
    const double secs = static_cast<double>(now_ns() - t0) / 1e9;
    const std::uint64_t pairs = m.n * (m.n - 1);
    std::printf("%zu cores, %llu ordered pairs x %llu lines in %.2f s (%.1f M lines/s)\n", m.n,
                static_cast<unsigned long long>(pairs), static_cast<unsigned long long>(count), secs,
                static_cast<double>(tally.received.load()) / secs / 1e6);
    EXPECT_EQ(tally.received.load(), pairs * count);
    EXPECT_EQ(tally.out_of_order.load(), 0u);
    EXPECT_EQ(tally.corrupt.load(), 0u);
    EXPECT_EQ(tally.extra.load(), 0u);
}

std::vector<std::uint8_t> fragmented_body(std::uint32_t src, std::uint64_t seq) {
    std::vector<std::uint8_t> b(static_cast<std::size_t>(test::mix(seq ^ src) % 400));
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seq * 13 + i + src);
    if (b.size() >= 8)
        for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(seq >> (8 * i));
    return b;
}

TEST(HostedStress, AllPairsFragmentedMessagesReassemble) {
    const std::uint64_t count = env_count("MYRIAD_STRESS_FRAGMENTED", 300'000);
    Mesh m = make_mesh(urpc::ChannelConfig{64, urpc::Wake::poll});
    if (m.n < 2) GTEST_SKIP() << "needs two cores";
    Tally tally;
    ASSERT_EQ(m.rt->run(m.cores, [&](std::uint32_t me) {
        std::vector<urpc::Sender> tx(m.n);
        std::vector<urpc::Receiver> rx(m.n);
        std::vector<std::vector<std::uint8_t>> buffers(m.n, std::vector<std::uint8_t>(512));
        std::vector<urpc::Reassembler> re;
        for (std::size_t p = 0; p < m.n; ++p) {
            re.emplace_back(buffers[p]);
            if (p == me) continue;
            tx[p] = *urpc::Sender::attach(m.channel(me, p));
            rx[p] = *urpc::Receiver::attach(m.channel(p, me));
        }
        std::vector<std::uint64_t> sent(m.n, 0);
        std::vector<std::uint64_t> got(m.n, 0);
        bool busy = true;
        IdleBackoff idle;
        while (busy) {
            busy = false;
            const std::uint64_t before = progress(sent, got);
            for (std::size_t p = 0; p < m.n; ++p) {
                if (p == me) continue;
                if (sent[p] < count) {
                    const auto body = fragmented_body(me, sent[p]);
                    if (urpc::try_send_message(tx[p], 2, body) == Status::ok) ++sent[p];
                }
                for (int burst = 0; burst < 16; ++burst) {
                    const Status s = urpc::try_recv_message(rx[p], re[p]);
                    if (s == Status::would_block) {
                        if (!rx[p].pending()) break;
                        continue;
                    }
                    if (s != Status::ok) {
                        tally.corrupt.fetch_add(1);
                        continue;
                    }
                    const auto expect = fragmented_body(static_cast<std::uint32_t>(p), got[p]);
                    const auto bytes = re[p].bytes();
                    if (bytes.size() != expect.size() ||
                        !std::equal(expect.begin(), expect.end(), bytes.begin()))
                        tally.out_of_order.fetch_add(1);
                    ++got[p];
                    tally.received.fetch_add(1, std::memory_order_relaxed);
                }
                busy = busy || sent[p] < count || got[p] < count;
            }
            idle.step(progress(sent, got) != before);
        }
    }), Status::ok);
    EXPECT_EQ(tally.received.load(), m.n * (m.n - 1) * count);
    EXPECT_EQ(tally.out_of_order.load(), 0u);
    EXPECT_EQ(tally.corrupt.load(), 0u);
}

// A bursty sender with pauses, so the receiver really goes to sleep on the doorbell between
// bursts; a lost wake-up would hang here (CTest's timeout catches it).
TEST(HostedStress, PollThenBlockLosesNoWakeups) {
    const std::uint64_t count = env_count("MYRIAD_STRESS_BLOCKING", 200'000);
    auto rt = Runtime::create();
    ASSERT_TRUE(rt.ok());
    Runtime& r = **rt;
    if (r.cores().size() < 2) GTEST_SKIP() << "needs two cores";
    auto mem = r.channel(0, 1, urpc::ChannelConfig{64, urpc::Wake::doorbell});
    ASSERT_TRUE(mem.ok());
    urpc::PollBlockStats stats;
    std::atomic<std::uint64_t> errors{0};
    const std::uint32_t pair[] = {0, 1};
    ASSERT_EQ(r.run(pair, [&](std::uint32_t me) {
        if (me == 0) {
            urpc::Sender tx = *urpc::Sender::attach(mem->bytes(), futex_wake_hook());
            for (std::uint64_t i = 0; i < count; ++i) {
                std::uint64_t w[urpc::payload_words];
                test::make_payload(w, 0, i);
                while (tx.try_send(1, w) != Status::ok) urpc::cpu_relax();
                if (i % 512 == 511) std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        } else {
            urpc::Receiver rx = *urpc::Receiver::attach(mem->bytes());
            for (std::uint64_t i = 0; i < count; ++i) {
                urpc::Message msg{};
                const Status s = urpc::recv_poll_then_block(rx, msg, 2'000, now_ns, futex_block, &stats);
                if (s != Status::ok || !test::payload_ok(msg.words, 0, i)) errors.fetch_add(1);
            }
        }
    }), Status::ok);
    std::printf("%llu received, %llu after blocking\n",
                static_cast<unsigned long long>(stats.received),
                static_cast<unsigned long long>(stats.blocked));
    EXPECT_EQ(stats.received, count);
    EXPECT_EQ(errors.load(), 0u);
    EXPECT_GT(stats.blocked, 0u);
}

// Ping-pong where both sides always block (spin budget 0): every message needs a wake-up.
TEST(HostedStress, AlwaysBlockPingPong) {
    const std::uint64_t rounds = env_count("MYRIAD_STRESS_PINGPONG", 20'000);
    auto rt = Runtime::create();
    ASSERT_TRUE(rt.ok());
    Runtime& r = **rt;
    if (r.cores().size() < 2) GTEST_SKIP() << "needs two cores";
    auto ab = r.channel(0, 1, urpc::ChannelConfig{8, urpc::Wake::doorbell});
    auto ba = r.channel(1, 0, urpc::ChannelConfig{8, urpc::Wake::doorbell});
    ASSERT_TRUE(ab.ok() && ba.ok());
    std::atomic<std::uint64_t> errors{0};
    const std::uint32_t pair[] = {0, 1};
    ASSERT_EQ(r.run(pair, [&](std::uint32_t me) {
        auto out = me == 0 ? ab->bytes() : ba->bytes();
        auto in = me == 0 ? ba->bytes() : ab->bytes();
        urpc::Binding b = *urpc::Binding::attach(out, in, futex_wake_hook());
        std::uint64_t w[urpc::payload_words] = {};
        for (std::uint64_t i = 0; i < rounds; ++i) {
            urpc::Message msg{};
            if (me == 0) {
                w[0] = i;
                if (b.tx.try_send(1, w) != Status::ok) errors.fetch_add(1);
                if (urpc::recv_poll_then_block(b.rx, msg, 0, now_ns, futex_block) != Status::ok ||
                    msg.words[0] != i + 1)
                    errors.fetch_add(1);
            } else {
                if (urpc::recv_poll_then_block(b.rx, msg, 0, now_ns, futex_block) != Status::ok ||
                    msg.words[0] != i)
                    errors.fetch_add(1);
                w[0] = msg.words[0] + 1;
                if (b.tx.try_send(1, w) != Status::ok) errors.fetch_add(1);
            }
        }
    }), Status::ok);
    EXPECT_EQ(errors.load(), 0u);
}

} // namespace
} // namespace myr::hosted
