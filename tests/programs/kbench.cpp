// Kernel fast paths measured from user space in one boot (./myriad bench kernel): the null
// system call, a local IPC call + reply round trip through the fast path (ipc_pong on the same
// core), the same carrying a capability, and map + unmap of a 4 KiB page (its page table made
// beforehand). Each figure is the
// median over batches of the per-operation TSC ticks. Under TCG only ratios mean something;
// with `-icount shift=0` the guest TSC advances with executed instructions instead.
#include "kbench_ops.hpp"

#include <myr/user/measure.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr unsigned batches = 31;
constexpr unsigned per_batch = 200;

template <typename F>
std::uint64_t measure(F op) {
    std::uint64_t per_op[batches];
    for (unsigned b = 0; b < batches; ++b) {
        const std::uint64_t t0 = rdtsc();
        for (unsigned i = 0; i < per_batch; ++i) op();
        per_op[b] = (rdtsc() - t0) / per_batch;
    }
    return median(per_op, batches);
}

} // namespace

extern "C" int main(std::uint64_t) {
    const std::uint64_t loop = measure([] { asm volatile("" ::: "memory"); });
    // 100 nops per operation: calibrates what a tick is (under -icount shift=0, one instruction).
    const std::uint64_t nops = measure([] { asm volatile(".rept 100\n\tnop\n\t.endr" ::: "memory"); });
    const std::uint64_t null_call = measure(kbench::null_call);
    bool ok = true;
    const std::uint64_t ipc_rtt = measure([&] { ok = kbench::call_reply() && ok; });
    if (!kbench::setup()) {
        print("test-fail: kbench: cannot make the endpoint, frame or page table");
        return 1;
    }
    const std::uint64_t ipc_cap = measure([&] { ok = kbench::call_reply_with_cap() && ok; });
    const std::uint64_t map_unmap = measure([&] { ok = kbench::map_unmap() && ok; });
    kbench::stop_pong();
    if (!ok) {
        print("test-fail: kbench: an operation failed");
        return 1;
    }
    print("bench-kernel op=empty_loop ticks={}", loop);
    print("bench-kernel op=100_nops ticks={}", nops);
    print("bench-kernel op=null_syscall ticks={}", null_call);
    print("bench-kernel op=ipc_call_reply ticks={}", ipc_rtt);
    print("bench-kernel op=ipc_call_reply_with_cap ticks={}", ipc_cap);
    print("bench-kernel op=map_unmap ticks={}", map_unmap);
    print("bench-kernel ratio ipc_call_reply/null_syscall={}.{:02}", ipc_rtt / null_call, ipc_rtt * 100 / null_call % 100);
    print("bench-kernel ratio map_unmap/null_syscall={}.{:02}", map_unmap / null_call, map_unmap * 100 / null_call % 100);
    return 0;
}
