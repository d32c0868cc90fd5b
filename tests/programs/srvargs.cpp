// Server placement and program arguments (tests/qemu/configs/servers.toml). Reads its argument
// string from its monitor and prints it with its replica index:
//   srvargs: core=C replica=I replicas=K args=[...]
// then checks that a short buffer gets a cut, terminated copy and that the monitor refuses a
// staged argument string longer than 96 bytes. With `spawn=any|CORE` it starts `srvargs` there
// with "child=1 parent=C" (the monitor's spawn op, through a ticket when on another core) and an
// unknown program (must be not_found); children print and exit. Built twice: `srvwait`
// (MYRIAD_SRV_WAIT) then exports the name "wait-cC" (the plan's names:K step waits for every
// instance) and waits until it is stopped.
#include "expect.hpp"

#include <myr/user/args.hpp>

using namespace myr;
using namespace myr::user;

extern "C" int main(std::uint64_t) {
    const std::uint64_t core = syscall6(abi::Sys::domain_info).value >> 32;
    char buf[args::max_len + 1];
    const auto r = read_args(buf, sizeof buf);
    if (!r.ok()) {
        print("srvargs: test-fail: read_args: {}", to_string(r.status()));
        return 1;
    }
    const std::uint64_t len = *r;
    std::uint64_t replica = 0, replicas = 0;
    const bool placed = args::number(buf, len, "replica", replica) && args::number(buf, len, "replicas", replicas);
    if (placed) print("srvargs: core={} replica={} replicas={} args=[{}]", core, replica, replicas, buf);
    else print("srvargs: core={} replica=none args=[{}]", core, buf);

    // A buffer shorter than the string: the first 9 bytes, terminated, and the full length.
    char small[10];
    const auto s = read_args(small, sizeof small);
    ++test::checks;
    bool same = s.ok() && *s == len;
    for (std::uint64_t i = 0; same && i < sizeof small - 1 && i < len; ++i) same = small[i] == buf[i];
    same = same && small[len < sizeof small - 1 ? len : sizeof small - 1] == '\0';
    if (!same) ++test::failures, print("srvargs: test-fail: a short buffer got another string or length");
    // Past the end: out_of_range; staging 7 x 16 bytes: the 7th (offset 96) overflows.
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::args);
    m.w[1] = len + 1;
    test::expect("args past the end", monitor_call(m), Status::out_of_range);
    for (std::uint64_t off = 0; off <= args::max_len; off += 16) {
        Message a{};
        a.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::spawn_arg);
        a.w[1] = off;
        a.w[2] = a.w[3] = 0x7878787878787878ull;  // "xxxxxxxx"
        test::expect(off < args::max_len ? "staging within 96 bytes" : "staging past 96 bytes", monitor_call(a),
                     off < args::max_len ? Status::ok : Status::overflow);
    }
    // Spawn refusals: a ticket never issued, a core the machine does not have.
    Message poll{};
    poll.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::spawn);
    poll.w[2] = 15;
    test::expect("poll a spawn ticket never issued", monitor_call(poll), Status::not_found);
    Spawned none{};
    test::expect("spawn on core 999", spawn("srvargs", 999, "", none), Status::out_of_range);

    const args::View where = args::value(buf, len, "spawn");
    if (where.found) {
        std::uint64_t target = abi::spawn_any;
        if (!args::equals(buf, len, "spawn", "any")) (void)args::number(buf, len, "spawn", target);
        char child[32];
        FixedBuffer out(child, sizeof child);
        format_to(out, "child=1 parent={}", core);
        Spawned sp{};
        const Status st = spawn("srvargs", target, out.c_str(), sp);
        if (st == Status::ok) print("srvargs: spawned from core={} on core={} domain={}", core, sp.core, sp.domain);
        else print("srvargs: test-fail: spawn from core {}: {}", core, to_string(st));
        test::expect("spawn of an unknown program", spawn("no-such-prog", target, "", sp), Status::not_found);
    }
    print("srvargs: test-{}: core {} checks={} failures={}", test::failures ? "fail" : "pass", core, test::checks,
          test::failures);
#ifdef MYRIAD_SRV_WAIT
    char name[16];
    FixedBuffer n(name, sizeof name);
    format_to(n, "wait-c{}", core);
    if (const Status e = export_name(n.c_str()); e != Status::ok) print("srvargs: test-fail: export {}: {}", name, to_string(e));
    for (;;) wait_event();
#endif
    return test::failures ? 1 : 0;
}
