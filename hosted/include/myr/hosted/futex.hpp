#pragma once
// Block and wake for hosted receivers: a futex on the channel's doorbell word. Cross-core a
// futex hand-off costs 18-32 us here (waking an idle vCPU), so receivers poll first
// (urpc::recv_poll_then_block) and only then sleep.
#include <myr/urpc/wake.hpp>

#include <atomic>
#include <cstdint>

namespace myr::hosted {

// Sleeps while word == expected (returns at once otherwise, or spuriously).
void futex_block(std::atomic<std::uint32_t>& word, std::uint32_t expected);
void futex_wake(std::atomic<std::uint32_t>& word);

// The hook a Sender on a doorbell channel calls to wake its receiver.
[[nodiscard]] urpc::WakeHook futex_wake_hook();

} // namespace myr::hosted
