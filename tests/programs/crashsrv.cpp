// A server instance that ends on purpose, for supervision tests (docs/monitors.md, "Supervision";
// tests/qemu/configs/supervise.toml). Arguments: `mode=fault|exit1|exit0|serve` and `ms=N`:
// it prints `crashsrv: start core=C domain=D replica=I mode=M`, waits N ms of its core's clock
// (sleeping between ticks), then faults (a write to address 0: page fault, vector 14), exits
// with 1 or 0, with `hang` stops its heartbeats and sleeps, or, with `serve`, beats and sleeps
// until it is killed. With `watch=CORE` it lists that core's
// domains instead (`crashsrv: watch core=C domain=D restarts=N`, the restart count the monitor
// reports for each) and exits 0.
#include <myr/user/args.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/heartbeat.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

extern "C" int main(std::uint64_t) {
    char buf[args::max_len + 1];
    const auto r = read_args(buf, sizeof buf);
    const std::uint64_t len = r.ok() ? *r : 0;
    std::uint64_t after_ms = 50, replica = 0;
    (void)args::number(buf, len, "ms", after_ms);
    (void)args::number(buf, len, "replica", replica);
    const auto is = [&](const char* m) { return args::equals(buf, len, "mode", m); };
    const std::uint64_t info = syscall6(abi::Sys::domain_info).value;
    print("crashsrv: start core={} domain={} replica={} mode={}", info >> 32, info & 0xffffffff, replica,
          is("fault") ? "fault" : is("exit1") ? "exit1" : is("exit0") ? "exit0" : is("hang") ? "hang" : "serve");
    // Beats while it waits when its table asks for heartbeats (user::Heartbeat asks the monitor).
    Heartbeat beat;
    // 100 ticks per second unless the config says otherwise: after_ms is a lower bound.
    Deadline d(after_ms / 10 + 1);
    while (!d.passed()) {
        beat.poll();
        (void)syscall6(abi::Sys::wait_event);
    }
    std::uint64_t watch = 0;
    if (args::number(buf, len, "watch", watch)) {
        for (std::uint64_t i = 0; i < 16; ++i) {
            std::uint64_t domain = 0;
            char name[17];
            std::uint32_t restarts = 0;
            const Status st = user::list(watch, i, domain, name, 100000, nullptr, &restarts);
            if (st != Status::ok) {
                print("crashsrv: watch core={} listed {} domains ({})", watch, i, to_string(st));
                break;
            }
            print("crashsrv: watch core={} domain={} program={} restarts={}", watch, domain, static_cast<const char*>(name),
                  restarts);
        }
        return 0;
    }
    if (is("fault")) {
        volatile std::uint64_t* null = nullptr;
        *null = 1;  // page fault: the kernel ends this domain as faulted (vector 14)
    }
    if (is("exit1")) return 1;
    if (is("exit0")) return 0;
    if (is("hang")) {
        print("crashsrv: hanging core={} domain={} after {} beats", info >> 32, info & 0xffffffff, beat.beats());
        for (;;) (void)syscall6(abi::Sys::wait_event);  // alive, but no more heartbeats
    }
    for (;;) {
        beat.poll();
        (void)syscall6(abi::Sys::wait_event);
    }
}
