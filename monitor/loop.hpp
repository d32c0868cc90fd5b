#pragma once
// The monitor's loop (docs/monitors.md): each pass serves this core's domains' calls, supervises,
// runs the membership's and address spaces' timers, flushes and polls the mesh, and sleeps when
// nothing came. monitor.cpp runs it for good; the run plan's steps (plan.cpp) run it until what
// they wait for arrived.
#include "binding.hpp"
#include "liveness.hpp"
#include "mesh.hpp"
#include "names.hpp"
#include "replication.hpp"
#include "servers.hpp"
#include "span.hpp"

#include <myr/urpc/relax.hpp>
#include <myr/user/syscall.hpp>

#include <cstdint>

namespace myr::monitor {

// One round of this monitor's loop: the mesh, then replication's outboxes and client.
inline bool poll() {
    bool any = poll_mesh();
    if (names::pump()) any = true;
    if (repl::pump()) any = true;
    if (span::pump()) any = true;
    return any;
}

// Runs the loop until done() is true.
template <typename Done>
void run_until(Done done) {
    while (!done()) {
        const bool local = binding::serve_local();
        servers::supervise_tick();
        liveness::tick();
        span::tick();
        const bool sent_some = flush();
        // A member of a running span polls without sleeping: a shootdown line must not wait for
        // the next timer tick (span.hpp).
        if (!poll() && !local && !sent_some) {
            if (!span::polling()) (void)user::syscall6(abi::Sys::wait_event);
            else urpc::cpu_relax();  // `pause`: under single-threaded TCG it also hands the host thread on
        }
    }
}

// Runs the loop above for `ticks` timer ticks of this core.
inline void serve_ticks(std::uint64_t ticks) {
    const std::uint64_t end = user::syscall6(abi::Sys::ticks).value + ticks;
    run_until([&] { return user::syscall6(abi::Sys::ticks).value >= end; });
}

// The value of kernel option `key=` into buf (nul-terminated); false when absent (monitor.cpp).
bool kernel_option(const char* key, char* buf, std::uint64_t size);

// Whether two option values are the same text.
inline bool same(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

} // namespace myr::monitor
