#pragma once
// The wake-up hook for a receiver that blocks. The interconnect only decides *when* to wake (the
// doorbell protocol in Sender/Receiver); *how* is the substrate's: an IPI in the guest, a futex
// or eventfd hosted. A plain function pointer keeps it freestanding (no std::function, no heap).
#include <atomic>
#include <cstdint>

namespace myr::urpc {

struct WakeHook {
    // Called by the sender after it cleared an armed doorbell; `word` is the doorbell itself
    // (a futex implementation wakes waiters on it).
    void (*wake)(std::atomic<std::uint32_t>& word, void* context) = nullptr;
    void* context = nullptr;
};

} // namespace myr::urpc
