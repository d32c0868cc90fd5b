#pragma once
// The poll-then-block receive policy. Measured on this machine: a polled cross-core line arrives
// in ~45-49 ns, a blocking futex hand-off across cores costs 18-32 us. Spinning for about as long
// as a block-and-wake costs bounds the waste to 2x the optimum whatever the arrival pattern
// (the classic ski-rental argument), so hosted callers pass spin_ns of ~20 us; 0 always blocks.
// The substrate supplies the clock and the block primitive (futex hosted; hlt+IPI in the guest).
#include <myr/result.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/relax.hpp>

#include <atomic>
#include <cstdint>

namespace myr::urpc {

struct PollBlockStats {
    std::uint64_t received = 0;
    std::uint64_t blocked = 0;  // receives that went to sleep at least once
};

inline constexpr std::uint32_t polls_per_clock_read = 64;  // a clock read costs ~10-25 ns

// NowNs: () -> uint64_t nanoseconds. Block: (std::atomic<uint32_t>& word, uint32_t expected),
// returns when woken (spurious returns are fine).
template <typename NowNs, typename Block>
[[nodiscard]] Status recv_poll_then_block(Receiver& rx, Message& out, std::uint64_t spin_ns,
                                          NowNs&& now_ns, Block&& block,
                                          PollBlockStats* stats = nullptr) {
    Status s = rx.try_recv(out);
    if (s != Status::would_block) {
        if (stats != nullptr && s == Status::ok) ++stats->received;
        return s;
    }
    const std::uint64_t deadline = spin_ns == 0 ? 0 : now_ns() + spin_ns;
    std::uint32_t polls = 0;
    bool slept = false;
    for (;;) {
        s = rx.try_recv(out);
        if (s != Status::would_block) break;
        if (deadline != 0 && (++polls % polls_per_clock_read != 0 || now_ns() < deadline)) {
            cpu_relax();
            continue;
        }
        if (rx.arm()) {
            slept = true;
            block(rx.doorbell_word(), 1u);
            rx.disarm();
        }
    }
    if (stats != nullptr && s == Status::ok) {
        ++stats->received;
        if (slept) ++stats->blocked;
    }
    return s;
}

} // namespace myr::urpc
