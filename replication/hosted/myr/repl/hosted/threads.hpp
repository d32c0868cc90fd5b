#pragma once
// Threads for the hosted replication driver: pinned through the hosted runtime when the machine
// has the cores, otherwise plain unpinned threads (so tests can run more replicas than this
// 2-core machine has; spin loops then yield, see HostedRelax).
#include <myr/hosted/runtime.hpp>
#include <myr/urpc/relax.hpp>

#include <sched.h>

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace myr::repl::hosted {

// Pause, and give the CPU away now and then: with more threads than cores a pure spinner would
// burn its whole time slice waiting for a thread that cannot run.
struct HostedRelax {
    static void pause(std::uint32_t spins) {
        urpc::cpu_relax();
        if ((spins & 63) == 63) sched_yield();
    }
};

// Runs body(i) for i in [0, n): pinned to runtime cores 0..n-1 when `rt` has n cores.
inline Status run_threads(myr::hosted::Runtime* rt, std::uint32_t n,
                          const std::function<void(std::uint32_t)>& body) {
    if (rt != nullptr && n <= rt->cores().size()) {
        std::vector<std::uint32_t> cores;
        for (std::uint32_t i = 0; i < n; ++i) cores.push_back(rt->cores()[i].index);
        return rt->run(cores, [&](std::uint32_t core) {
            for (std::uint32_t i = 0; i < n; ++i)
                if (cores[i] == core) body(i);
        });
    }
    std::vector<std::thread> threads;
    for (std::uint32_t i = 0; i < n; ++i) threads.emplace_back([&body, i] { body(i); });
    for (auto& t : threads) t.join();
    return Status::ok;
}

[[nodiscard]] inline bool pinned(myr::hosted::Runtime* rt, std::uint32_t n) {
    return rt != nullptr && n <= rt->cores().size();
}

} // namespace myr::repl::hosted
