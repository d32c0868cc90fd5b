// A server instance that ends on purpose, for supervision tests (docs/monitors.md, "Supervision";
// tests/qemu/configs/supervise.toml). Arguments: `mode=fault|exit1|exit0|serve` and `ms=N`:
// it prints `crashsrv: start core=C domain=D replica=I mode=M`, waits N ms of its core's clock
// (sleeping between ticks), then faults (a write to address 0: page fault, vector 14), exits
// with 1 or 0, with `hang` stops its heartbeats and sleeps, or, with `serve`, beats and sleeps
// until it is killed. With `watch=CORE` it lists that core's
// domains instead (`crashsrv: watch core=C domain=D restarts=N`, the restart count the monitor
// reports for each) and exits 0. `delay=N` waits N ms before anything else. With `kept=BITS` it first takes its kept block of 2^BITS bytes
// (docs/monitors.md, "Kept memory"; waiting while the core has none that large free), checks what
// its predecessors left there and writes its own generation (`crashsrv: kept size=S fresh=F
// generation=G ok`), after checking that bad sizes and a misaligned mapping are refused.
#include <myr/user/args.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/heartbeat.hpp>
#include <myr/user/kept.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr std::uint64_t kept_slot = 40, spare_slot = 46, kept_vaddr = 0x5000'0000;
constexpr std::uint64_t kept_magic = 0x6b65'7074'6d65'6d31;  // "keptmem1"

Status ask_kept(std::uint64_t bits, std::uint64_t slot, Message& m) {
    m = Message{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::kept);
    m.w[1] = bits;
    return monitor_call(m, slot);
}

// Each instance's generation is its restart count: the first start finds a zeroed block and
// writes generation 1; the instance after the n-th restart must find n, and every page's first
// word as generation n wrote it. Its last word is written nonzero, so a block handed out zeroed
// again (after its owner went down) shows whether it really was.
bool use_kept(std::uint64_t bits, Heartbeat& beat) {
    bool ok = true;
    const auto expect = [&](const char* what, Status got, Status want) {
        if (got == want) return;
        ok = false;
        print("test-fail: crashsrv kept: {}: got '{}', want '{}'", what, to_string(got), to_string(want));
    };
    Message m{};
    expect("size 2^11", ask_kept(11, spare_slot, m), Status::invalid_argument);
    expect("size 2^20", ask_kept(20, spare_slot, m), Status::invalid_argument);
    expect("no capability came with a refusal", cap_identify(spare_slot).status, Status::not_found);
    TableSlots tables{41, 45};
    KeptBlock blk{};
    Status s = Status::no_memory;
    for (bool said = false; (s = kept_memory(bits, kept_slot, kept_vaddr, tables, blk)) == Status::no_memory;) {
        if (!said) print("crashsrv: kept waits: no_memory");
        said = true;
        Deadline d(10);
        while (!d.passed()) {
            beat.poll();
            (void)syscall6(abi::Sys::wait_event);
        }
    }
    expect("kept_memory", s, Status::ok);
    if (s != Status::ok) return false;
    // A second copy of the same block: its size must match the first call's, and a mapping of it
    // must be aligned to its size.
    expect("another size than the one held", ask_kept(bits == 12 ? 13 : bits - 1, spare_slot, m), Status::invalid_argument);
    if (ask_kept(bits, spare_slot, m) == Status::ok) {
        if (blk.size > 4096)
            expect("a misaligned mapping", syscall6(abi::Sys::map, spare_slot, kept_vaddr + 2 * blk.size + 4096, abi::map_write).status,
                   Status::invalid_argument);
        expect("a mapping over the first one", syscall6(abi::Sys::map, spare_slot, kept_vaddr, abi::map_write).status, Status::exists);
        expect("a mapping past the end of user space", syscall6(abi::Sys::map, spare_slot, 0x7fff'0000'0000, abi::map_write).status,
               Status::out_of_range);
        (void)cap_delete(spare_slot);
    } else {
        expect("a second copy", Status::internal, Status::ok);
    }
    auto* w = reinterpret_cast<volatile std::uint64_t*>(blk.base);
    const std::uint64_t pages = blk.size / 4096, gen = blk.fresh ? 0 : w[0];
    bool seen = true;
    if (blk.fresh) {
        for (std::uint64_t i = 0; i < pages; ++i) seen = seen && w[i * 512] == 0 && w[i * 512 + 511] == 0;
    } else {
        seen = w[1] == kept_magic && gen == restarts();
        for (std::uint64_t i = 1; i < pages; ++i) seen = seen && w[i * 512] == gen * 1000 + i && w[i * 512 + 511] == ~0ull;
    }
    print("crashsrv: kept size={} fresh={} generation={} {}", blk.size, blk.fresh ? 1 : 0, gen, seen ? "ok" : "BAD");
    if (!seen) print("test-fail: crashsrv kept: the block does not hold what generation {} wrote (restarts {})", gen, restarts());
    w[0] = gen + 1;
    w[1] = kept_magic;
    for (std::uint64_t i = 1; i < pages; ++i) {
        w[i * 512] = (gen + 1) * 1000 + i;
        w[i * 512 + 511] = ~0ull;
    }
    return ok && seen;
}

} // namespace

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
    std::uint64_t delay_ms = 0;  // `delay=N`: N ms before anything else (beating)
    if (args::number(buf, len, "delay", delay_ms))
        for (Deadline d(delay_ms / 10 + 1); !d.passed();) {
            beat.poll();
            (void)syscall6(abi::Sys::wait_event);
        }
    std::uint64_t kept_bits = 0;
    if (args::number(buf, len, "kept", kept_bits)) (void)use_kept(kept_bits, beat);
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
