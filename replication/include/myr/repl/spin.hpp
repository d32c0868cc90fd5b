#pragma once
// Spin locks for the shared-memory protocols (`nr`, `shared`). Freestanding: atomics and a relax
// policy only. The policy is a template parameter because the same code spins on a dedicated
// core in the guest (pause) and on an oversubscribed Linux box in tests (pause, then yield).
#include <myr/urpc/relax.hpp>

#include <atomic>
#include <cstdint>

namespace myr::repl {

struct CpuRelax {
    static void pause(std::uint32_t) { urpc::cpu_relax(); }
};

template <typename Relax = CpuRelax>
class SpinLock {
public:
    SpinLock() = default;
    SpinLock(const SpinLock&) = delete;
    SpinLock& operator=(const SpinLock&) = delete;
    [[nodiscard]] bool try_lock() {
        return !m_word.load(std::memory_order_relaxed) &&
               !m_word.exchange(true, std::memory_order_acquire);
    }
    void lock() {
        for (std::uint32_t spins = 0; !try_lock(); ++spins) Relax::pause(spins);
    }
    void unlock() { m_word.store(false, std::memory_order_release); }
    [[nodiscard]] bool held() const { return m_word.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> m_word{false};
};

// RAII guard: the only way the shared-memory code takes a lock.
template <typename Lock>
class Guard {
public:
    explicit Guard(Lock& lock) : m_lock(lock) { m_lock.lock(); }
    ~Guard() { m_lock.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

private:
    Lock& m_lock;
};

// Readers share, one writer excludes them. The writer sets its bit first, so new readers back
// off, then waits for the readers inside to leave (writer preference: the combiner never starves).
template <typename Relax = CpuRelax>
class RwSpinLock {
public:
    RwSpinLock() = default;
    RwSpinLock(const RwSpinLock&) = delete;
    RwSpinLock& operator=(const RwSpinLock&) = delete;
    void lock_shared() {
        for (std::uint32_t spins = 0;; ++spins) {
            std::uint32_t v = m_word.load(std::memory_order_relaxed);
            if ((v & writer) == 0 &&
                m_word.compare_exchange_weak(v, v + 1, std::memory_order_acquire))
                return;
            Relax::pause(spins);
        }
    }
    void unlock_shared() { m_word.fetch_sub(1, std::memory_order_release); }
    // Only one writer at a time by contract (the holder of the replica's combiner lock).
    void lock() {
        m_word.fetch_or(writer, std::memory_order_acquire);
        for (std::uint32_t spins = 0; (m_word.load(std::memory_order_acquire) & ~writer) != 0; ++spins)
            Relax::pause(spins);
    }
    void unlock() { m_word.fetch_and(~writer, std::memory_order_release); }

private:
    static constexpr std::uint32_t writer = 0x80000000u;
    std::atomic<std::uint32_t> m_word{0};
};

template <typename Lock>
class SharedGuard {
public:
    explicit SharedGuard(Lock& lock) : m_lock(lock) { m_lock.lock_shared(); }
    ~SharedGuard() { m_lock.unlock_shared(); }
    SharedGuard(const SharedGuard&) = delete;
    SharedGuard& operator=(const SharedGuard&) = delete;

private:
    Lock& m_lock;
};

} // namespace myr::repl
