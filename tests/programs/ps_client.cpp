// procserv's clients (docs/servers.md, "procserv"), one program per role (MYRIAD_PS_ROLE):
//   psclient   starts hello, worker and pstarget on other cores through procserv, waits for each
//              with its exit code, finds its spinning pstarget in the list (marked as its own),
//              kills it and sees it killed; bad requests (unknown program, core out of range, args
//              too long, a privileged program, unknown op, truncated frame) get their errors and
//              procserv keeps serving. arg: how long (wake-ups) its spinner lives before the kill.
//   pstarget   arg string `code=N`: exits N; otherwise (or arg 0 and no string) spins until killed.
//   pshostile  an ordinary client: tries to kill every domain it lists that is not its own (procserv,
//              the clients, their spinners, programs procserv did not start) and to start procserv
//              itself, for `arg` rounds: every kill must be permission_denied, and it must have met
//              at least one program another client started through procserv.
//   psadmin    privileged (procserv's admin= names it): kills a pstarget procserv did not start,
//              is still refused procserv itself.
#include "expect.hpp"

#include <myr/procserv/client.hpp>
#include <myr/user/args.hpp>

using namespace myr;
using namespace myr::procserv;
using test::expect;

#ifndef MYRIAD_PS_ROLE
#define MYRIAD_PS_ROLE 0
#endif

namespace {

Address me() {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    return {static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info)};
}

std::uint32_t cores() {
    static abi::TopologyInfo topo;
    if (user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo).status != Status::ok) return 1;
    return topo.cores;
}

constexpr auto exited = static_cast<std::uint32_t>(abi::DomainStatus::exited);
constexpr auto killed = static_cast<std::uint32_t>(abi::DomainStatus::killed);

// Starts `program` and waits for its end: exited with `code`.
void run_to_end(Client& c, const char* program, std::uint32_t core, const char* args, std::uint32_t code) {
    Address where{};
    Status s = Status::busy;
    for (int t = 0; t < 100 && s == Status::busy; ++t) {  // the monitors' spawn limits: retry
        s = c.start(program, core, args, where);
        if (s == Status::busy) user::wait_event();
    }
    expect("start", s, Status::ok);
    if (s != Status::ok) return;
    expect("start on the core asked", where.core == core ? Status::ok : Status::internal, Status::ok);
    WaitReply w{};
    expect("wait", c.wait(where, w), Status::ok);
    user::print("psclient core {}: {} on core {} domain {} ended how={} code={}", me().core, program, where.core, where.domain,
                w.how, w.code);
    expect("ended by exit", w.how == exited ? Status::ok : Status::internal, Status::ok);
    expect("exit code", w.code == code ? Status::ok : Status::internal, Status::ok);
}

[[maybe_unused]] int client(std::uint64_t arg) {
    const Address self = me();
    const std::uint32_t n = cores();
    Client c;
    expect("connect", c.connect(), Status::ok);
    const std::uint32_t other = (self.core + 1) % n;
    run_to_end(c, "hello", other, "", 0);
    run_to_end(c, "worker", (self.core + 2) % n, "", 0);
    char code_arg[16] = "code=4x";
    code_arg[6] = static_cast<char>('0' + self.core % 10);
    run_to_end(c, "pstarget", other, code_arg, 40u + self.core % 10u);

    // A spinner: listed as ours, then killed, and wait says killed.
    Address spin{};
    expect("start spinner", c.start("pstarget", other, "spin", spin), Status::ok);
    unsigned seen = 0, total = 0;
    Address ps{};
    expect("list", c.list([&](const Proc& p) {
        ++total;
        if (p.program.equals_cstr("procserv")) ps = p.at;
        if (p.at == spin) seen += p.procserv && p.owner == self && p.program.equals_cstr("pstarget") ? 1u : 100u;
    }), Status::ok);
    expect("spinner listed once as ours", seen == 1 ? Status::ok : Status::internal, Status::ok);
    WaitReply w{};
    expect("spinner still running", c.poll(spin, w), Status::would_block);
    for (std::uint64_t t = 0; t < arg; ++t) user::wait_event();  // the hostile client's window
    expect("kill own spinner", c.kill(spin), Status::ok);
    expect("wait for the killed spinner", c.wait(spin, w), Status::ok);
    expect("spinner killed", w.how == killed ? Status::ok : Status::internal, Status::ok);
    expect("kill it again", c.kill(spin), Status::not_found);

    // Bad requests: each its error, and procserv keeps serving.
    Address where{};
    expect("unknown program", c.start("nosuchprogram", other, "", where), Status::not_found);
    expect("core out of range", c.start("hello", n + 3, "", where), Status::out_of_range);
    char long_args[args::max_len + 2];
    for (auto& ch : long_args) ch = 'x';
    long_args[args::max_len + 1] = '\0';
    expect("args too long", c.start("hello", other, long_args, where), Status::overflow);
    expect("start procserv", c.start("procserv", other, "", where), Status::permission_denied);
    expect("kill procserv", c.kill(ps), Status::permission_denied);
    expect("wait for a stranger", c.poll(Address{other, 9999}, w), Status::not_found);
    rpc::FrameHeader answer{};
    const std::uint8_t unknown[] = {7, 0, 0, 0, 99, 0, 0, 0};
    expect("unknown op answered", c.rpc().call_raw(unknown, answer), Status::ok);
    expect("unknown op", static_cast<Status>(answer.status), Status::bad_request);
    const std::uint8_t truncated[] = {8, 0, 0, 0, 1, 0, 0, 0, 5, 0, 'h'};
    expect("truncated answered", c.rpc().call_raw(truncated, answer), Status::ok);
    expect("truncated start", static_cast<Status>(answer.status), Status::bad_request);
    StatsReply st{};
    expect("stats after bad requests", c.stats(st), Status::ok);
    c.close();
    user::print("test-pass: psclient core {} checks={} failures={} listed={}", self.core, test::checks, test::failures, total);
    return test::failures ? 1 : 0;
}

[[maybe_unused]] int target(std::uint64_t arg) {
    char text[args::max_len + 1];
    const Result<std::uint64_t> len = user::read_args(text, sizeof text);
    std::uint64_t code = 0;
    if (len.ok() && *len > 0 && args::number(text, *len, "code", code)) return static_cast<int>(code);
    if (arg != 0 && !(len.ok() && *len > 0)) return static_cast<int>(arg);
    for (;;) user::wait_event();  // until killed
}

[[maybe_unused]] int hostile(std::uint64_t arg) {
    const Address self = me();
    Client c;
    expect("connect", c.connect(), Status::ok);
    Address where{};
    expect("start procserv", c.start("procserv", any_core, "", where), Status::permission_denied);
    unsigned attempts = 0, others = 0;
    for (std::uint64_t round = 0; round < arg; ++round) {
        Address seen[64];
        bool theirs[64] = {};
        unsigned k = 0;
        (void)c.list([&](const Proc& p) {
            if (k < 64 && !(p.at == self)) {
                theirs[k] = p.procserv;
                seen[k++] = p.at;
            }
        });
        for (unsigned i = 0; i < k; ++i) {
            ++attempts;
            others += theirs[i];
            expect("kill another's domain", c.kill(seen[i]), Status::permission_denied);
        }
        for (int t = 0; t < 5; ++t) user::wait_event();
    }
    expect("met programs others started", others > 0 ? Status::ok : Status::not_found, Status::ok);
    c.close();
    user::print("test-pass: pshostile core {} checks={} failures={} attempts={} others={}", self.core, test::checks,
                test::failures, attempts, others);
    return test::failures ? 1 : 0;
}

[[maybe_unused]] int admin() {
    Client c;
    expect("connect", c.connect(), Status::ok);
    Address victim{}, ps{};
    bool found = false, ps_found = false, ps_server = false;
    for (int t = 0; t < 200 && !(found && ps_found); ++t) {
        (void)c.list([&](const Proc& p) {
            if (p.program.equals_cstr("pstarget") && !p.procserv) {
                victim = p.at;
                found = true;
            }
            if (p.program.equals_cstr("procserv")) {
                ps = p.at;
                ps_found = true;
                ps_server = p.server;
            }
        });
        if (!found) user::wait_event();
    }
    expect("found a pstarget procserv did not start", found ? Status::ok : Status::not_found, Status::ok);
    expect("procserv listed as a server instance", ps_found && ps_server ? Status::ok : Status::not_found, Status::ok);
    expect("admin may not kill procserv", c.kill(ps), Status::permission_denied);
    if (found) expect("admin kills it", c.kill(victim), Status::ok);
    c.close();
    user::print("test-pass: psadmin checks={} failures={}", test::checks, test::failures);
    return test::failures ? 1 : 0;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
#if MYRIAD_PS_ROLE == 0
    return client(arg);
#elif MYRIAD_PS_ROLE == 1
    return target(arg);
#elif MYRIAD_PS_ROLE == 2
    return hostile(arg);
#else
    (void)arg;
    return admin();
#endif
}
