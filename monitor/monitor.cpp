// The per-core monitor (DESIGN.md §2 step 4, §5): the user-space half of each core's OS. Started
// by its CPU driver as the core's first domain with a kernel capability, an IPI capability and
// the mesh of URPC inboxes mapped. Monitors agree on the membership through the boot core's
// monitor, answer pings, start programs for each other, and the boot core's monitor runs the
// self-check plan: membership, all-pairs ping, remote spawn on every core, a malformed-message
// probe, then shutdown.
#include "protocol.hpp"
#include "replication.hpp"

#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::monitor;

namespace {

constexpr std::uint64_t kernel_cap = 5;
constexpr std::uint64_t ipi_cap = 6;
constexpr std::uint32_t max_cores = 256;

struct Mesh {
    std::uint64_t core, cores, base, stride, chan, node;
    std::span<std::byte> channel(std::uint64_t receiver, std::uint64_t sender) const {
        return {reinterpret_cast<std::byte*>(base + receiver * stride + sender * chan), chan};
    }
};

Mesh mesh;
urpc::Receiver rx[max_cores];
urpc::Sender tx[max_cores];
bool tx_ready[max_cores];
std::uint64_t sent, received, malformed;
std::uint64_t sent_by_type[16];
std::uint64_t type_totals[16];  // monitor 0: summed over every monitor's status reply

// Monitor 0's view of the run.
std::uint32_t hellos;
std::uint32_t node_of[max_cores];
std::uint32_t pings_reported, pings_failed_total;
std::uint32_t spawn_replies, spawn_failures, spawn_unknown_ok;
std::uint32_t status_replies;
// Every monitor's ping round.
std::uint32_t pongs_expected, pongs_got;
bool bench_rtt;  // monitor 0: measure the round trip (argument bit; ./myriad bench monitors)


void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
          std::uint64_t w3 = 0, std::uint64_t w4 = 0, std::uint64_t w5 = 0, std::uint64_t w6 = 0);
void bench_echo(std::uint64_t from, std::uint64_t rounds, std::uint64_t line_offset);

void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2,
          std::uint64_t w3, std::uint64_t w4, std::uint64_t w5, std::uint64_t w6) {
    // The receiver formats its inbox when it starts; until then attach fails: wait for it.
    for (unsigned tries = 0; !tx_ready[to]; ++tries) {
        auto s = urpc::Sender::attach(mesh.channel(to, mesh.core));
        if (s.ok()) {
            tx[to] = *s;
            tx_ready[to] = true;
        } else if (tries > 3000) {
            print("monitor: core {} never formatted its inbox", to);
            return;
        } else {
            // Sleep, do not spin: a spinning vCPU starves the others under single-threaded TCG.
            (void)syscall6(abi::Sys::wait_event);
        }
    }
    const std::uint64_t words[urpc::payload_words] = {w0, w1, w2, w3, w4, w5, w6};
    if (type < 16) ++sent_by_type[type];
    while (tx[to].try_send(type, words) == Status::would_block) {
        (void)syscall6(abi::Sys::send_ipi, ipi_cap, to);  // make sure the receiver drains
        (void)syscall6(abi::Sys::wait_event);
    }
    ++sent;
    (void)syscall6(abi::Sys::send_ipi, ipi_cap, to);
}

void broadcast(std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0) {
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, type, w0, w1);
}

// A finished ping round: monitor 0 counts its own directly.
void report_pings() {
    if (mesh.core != 0) {
        send(0, ping_done, pongs_got, pongs_expected - pongs_got);
        return;
    }
    ++pings_reported;
    pings_failed_total += pongs_expected - pongs_got;
}

void spawn_here(std::uint64_t from, const urpc::Message& m) {
    char name[41] = {};
    for (unsigned i = 0; i < 40; ++i) name[i] = static_cast<char>(m.words[1 + i / 8] >> (8 * (i % 8)));
    std::uint64_t len = 0;
    while (len < 40 && name[len]) ++len;
    const SysResult r = syscall6(abi::Sys::spawn, kernel_cap, reinterpret_cast<std::uint64_t>(name), len, mesh.core);
    send(from, spawn_reply, m.words[0], static_cast<std::uint64_t>(r.status), r.value);
}

void handle(std::uint64_t from, const urpc::Message& m) {
    ++received;
    switch (m.header.type) {
    case hello:
        if (m.words[0] < max_cores) node_of[m.words[0]] = static_cast<std::uint32_t>(m.words[1]);
        ++hellos;
        break;
    case members:
        emit("monitor-up core={} node={} peers={}", mesh.core, mesh.node, m.words[0] - 1);
        break;
    case ping_all:
        pongs_expected = static_cast<std::uint32_t>(mesh.cores - 1);
        pongs_got = 0;
        for (std::uint64_t c = 0; c < mesh.cores; ++c)
            if (c != mesh.core) send(c, ping, mesh.core);
        if (pongs_expected == 0) report_pings();
        break;
    case ping: send(from, pong, m.words[0]); break;
    case pong:
        if (m.words[0] == mesh.core) ++pongs_got;
        if (pongs_got == pongs_expected) report_pings();
        break;
    case ping_done:
        ++pings_reported;
        pings_failed_total += static_cast<std::uint32_t>(m.words[1]);
        break;
    case spawn_req: spawn_here(from, m); break;
    case spawn_reply:
        ++spawn_replies;
        if (m.words[0] == 1 && m.words[1] != 0) ++spawn_failures;        // tag 1: a real program
        if (m.words[0] == 2 && m.words[1] == static_cast<std::uint64_t>(Status::not_found)) ++spawn_unknown_ok;
        break;
    case status_req: {
        std::uint64_t packed[2] = {};
        for (unsigned t = 1; t <= 8; ++t) packed[(t - 1) / 4] |= (sent_by_type[t] & 0xffff) << (16 * ((t - 1) % 4));
        send(from, status_reply, mesh.core, 0, sent, received, malformed, packed[0], packed[1]);
        break;
    }
    case status_reply:
        ++status_replies;
        for (unsigned t = 1; t <= 8; ++t) type_totals[t] += (m.words[5 + (t - 1) / 4] >> (16 * ((t - 1) % 4))) & 0xffff;
        emit("monitor-status core={} sent={} received={} malformed={}", m.words[0], m.words[2], m.words[3], m.words[4]);
        break;
    case shutdown_now: break;
    case bench_start: bench_echo(from, m.words[0], m.words[1]); break;
    case bench_ping: break;  // only inside a bench round
    default:
        if (repl::handles(m.header.type)) {  // replication (monitor/replication.cpp)
            repl::on_message(from, m);
            break;
        }
        ++malformed;
        print("monitor: malformed message type {} from core {}: ignored", m.header.type, from);
        break;
    }
}

// Drains every inbox channel once; returns whether anything arrived.
bool poll() {
    bool any = false;
    for (std::uint64_t s = 0; s < mesh.cores; ++s) {
        if (s == mesh.core) continue;
        urpc::Message m{};
        for (;;) {
            const Status st = rx[s].try_recv(m);
            if (st == Status::would_block) break;
            any = true;
            if (st == Status::malformed) {
                ++malformed;
                print("monitor: undecodable line from core {}: ignored", s);
                continue;
            }
            handle(s, m);
        }
    }
    if (repl::pump()) any = true;  // replication outboxes and client (monitor/replication.cpp)
    return any;
}

// Replication's hooks into this monitor (monitor/replication.hpp): a send that never waits, this
// loop's poll, and kernel options.
bool try_send_line(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    if (!tx_ready[to]) {
        auto s = urpc::Sender::attach(mesh.channel(to, mesh.core));
        if (!s.ok()) return false;
        tx[to] = *s;
        tx_ready[to] = true;
    }
    if (tx[to].try_send(type, words) != Status::ok) return false;
    ++sent;
    (void)syscall6(abi::Sys::send_ipi, ipi_cap, to);
    return true;
}

bool kernel_option(const char* key, char* buf, std::uint64_t size) {
    std::uint64_t len = 0;
    while (key[len]) ++len;
    const SysResult r = syscall6(abi::Sys::kernel_option, kernel_cap, reinterpret_cast<std::uint64_t>(key), len,
                                 reinterpret_cast<std::uint64_t>(buf), size - 1);
    if (r.status != Status::ok) return false;
    buf[r.value] = '\0';
    return true;
}

template <typename Done>
void run_until(Done done) {
    while (!done())
        if (!poll()) (void)syscall6(abi::Sys::wait_event);
}

void pack_name(const char* name, std::uint64_t (&w)[5]) {
    for (unsigned i = 0; i < 40 && name[i]; ++i) w[i / 8] |= std::uint64_t{static_cast<unsigned char>(name[i])} << (8 * (i % 8));
}

// The measuring side of a bench round lives in run_plan; this is the echoing side: poll without
// sleeping (so the round trip is the channel's, not the wake-up's), echo every bench_ping, then
// play the raw cache-line ping-pong on the line the requester named.
void bench_echo(std::uint64_t from, std::uint64_t rounds, std::uint64_t line_offset) {
    urpc::Message m{};
    for (std::uint64_t i = 0; i < rounds;) {
        if (rx[from].try_recv(m) != Status::ok) continue;
        if (m.header.type != bench_ping) continue;
        const std::uint64_t words[urpc::payload_words] = {m.words[0]};
        while (tx[from].try_send(bench_ping, words) == Status::would_block) {}
        ++i;
    }
    auto* line = reinterpret_cast<volatile std::uint64_t*>(mesh.base + line_offset);
    for (std::uint64_t i = 1; i <= rounds; ++i) {
        while (__atomic_load_n(&line[0], __ATOMIC_ACQUIRE) != i) {}
        __atomic_store_n(&line[8], i, __ATOMIC_RELEASE);  // the next cache line
    }
}

std::uint64_t median_of(std::uint64_t* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; --j) {
            const std::uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

// Monitor 0 and monitor 1: user-to-user round trip over the URPC mesh, against a raw cache-line
// ping-pong between the same two cores in the same boot (the software overhead ratio).
void bench_round_trip() {
    constexpr std::uint64_t rounds = 2000;
    constexpr unsigned batches = 20;
    // An unused line: core 1's inbox slot for itself (never formatted), in core 1's memory.
    const std::uint64_t line_offset = 1 * mesh.stride + 1 * mesh.chan;
    send(1, bench_start, rounds, line_offset);
    std::uint64_t urpc_t[batches], raw_t[batches];
    urpc::Message m{};
    for (unsigned b = 0; b < batches; ++b) {
        const std::uint64_t t0 = rdtsc();
        for (std::uint64_t i = 0; i < rounds / batches; ++i) {
            const std::uint64_t words[urpc::payload_words] = {i};
            while (tx[1].try_send(bench_ping, words) == Status::would_block) {}
            while (rx[1].try_recv(m) != Status::ok) {}
        }
        urpc_t[b] = (rdtsc() - t0) / (rounds / batches);
    }
    auto* line = reinterpret_cast<volatile std::uint64_t*>(mesh.base + line_offset);
    std::uint64_t seq = 0;
    for (unsigned b = 0; b < batches; ++b) {
        const std::uint64_t t0 = rdtsc();
        for (std::uint64_t i = 0; i < rounds / batches; ++i) {
            ++seq;
            __atomic_store_n(&line[0], seq, __ATOMIC_RELEASE);
            while (__atomic_load_n(&line[8], __ATOMIC_ACQUIRE) != seq) {}
        }
        raw_t[b] = (rdtsc() - t0) / (rounds / batches);
    }
    const std::uint64_t u = median_of(urpc_t, batches), r = median_of(raw_t, batches);
    emit("bench-monitors rtt urpc_ticks={} cacheline_ticks={} ratio={}.{:02}", u, r, u / (r ? r : 1),
         u * 100 / (r ? r : 1) % 100);
}

// ---- The run plan (boot core's monitor) -------------------------------------------------------
// Steps come from the kernel option `plan=` (a config sets it in [kernel] options), separated by
// commas: ping-all | spawn:NAME[@CORE] | probe | status | shutdown. Without it the
// plan is the self-check: ping-all,spawn:hello,probe,shutdown.

bool plan_ok = true;

void step_ping_all() {
    const std::uint32_t before = pings_reported;
    const std::uint32_t failed_before = pings_failed_total;
    broadcast(ping_all);
    urpc::Message self{};
    self.header.type = ping_all;
    handle(mesh.core, self);  // our own round (the pongs arrive in the same loop)
    run_until([&] { return pings_reported == before + mesh.cores; });
    const std::uint32_t failed = pings_failed_total - failed_before;
    emit("ping-all pairs={} failed={}", mesh.cores * (mesh.cores - 1), failed);
    plan_ok = plan_ok && failed == 0;
}

// Starts NAME on one core, or on every other core when core == ~0.
void step_spawn(const char* name, std::uint64_t core) {
    std::uint64_t w[5] = {};
    pack_name(name, w);
    const std::uint32_t replies0 = spawn_replies, failures0 = spawn_failures;
    std::uint32_t asked = 0;
    for (std::uint64_t c = 0; c < mesh.cores; ++c) {
        if (c == mesh.core || (core != ~0ull && c != core)) continue;
        send(c, spawn_req, 1, w[0], w[1], w[2], w[3], w[4]);
        ++asked;
    }
    run_until([&] { return spawn_replies == replies0 + asked; });
    const std::uint32_t failed = spawn_failures - failures0;
    emit("remote-spawn program={} cores={} failed={}", name, asked, failed);
    plan_ok = plan_ok && failed == 0 && (asked > 0 || core == ~0ull);
}

void step_status() {
    const std::uint32_t before = status_replies;
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, status_req);
    run_until([&] { return status_replies == before + mesh.cores - 1; });
}

// Error paths: an unknown program on every other core must be refused, and a malformed message
// must be logged and survived (the status round after it shows every monitor still answering).
void step_probe() {
    std::uint64_t bogus[5] = {};
    pack_name("no-such-program", bogus);
    const std::uint32_t replies0 = spawn_replies, refused0 = spawn_unknown_ok;
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, spawn_req, 2, bogus[0], bogus[1], bogus[2], bogus[3], bogus[4]);
    run_until([&] { return spawn_replies == replies0 + mesh.cores - 1; });
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, 0x7e, 0xbad);
    step_status();
    const std::uint32_t refused = spawn_unknown_ok - refused0;
    emit("probe unknown-refused={} of {}", refused, mesh.cores - 1);
    plan_ok = plan_ok && refused == mesh.cores - 1;
}

[[noreturn]] void step_shutdown() {
    // Messages every phase cost, counted by every monitor (status replies) plus our own.
    step_status();
    for (unsigned t = 1; t <= 8; ++t) type_totals[t] += sent_by_type[t];
    emit("bench-monitors cores={} phase=membership messages={} hops=2", mesh.cores, type_totals[hello] + type_totals[members]);
    emit("bench-monitors cores={} phase=ping-all messages={} hops=4", mesh.cores,
         type_totals[ping_all] + type_totals[ping] + type_totals[pong] + type_totals[ping_done]);
    emit("bench-monitors cores={} phase=remote-spawn messages={} hops=2", mesh.cores,
         type_totals[spawn_req] + type_totals[spawn_reply]);
    if (mesh.cores > 1 && bench_rtt) bench_round_trip();
    print("monitor: plan {}", plan_ok ? "passed" : "FAILED");
    (void)syscall6(abi::Sys::shutdown, kernel_cap, plan_ok ? 0 : 1);
    for (;;) (void)syscall6(abi::Sys::wait_event);
}

bool starts_with(const char* s, const char* prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return false;
    return true;
}

std::uint64_t parse_number(const char* s, bool& ok) {
    std::uint64_t v = 0;
    ok = *s >= '0' && *s <= '9';
    while (*s >= '0' && *s <= '9') v = v * 10 + static_cast<std::uint64_t>(*s++ - '0');
    ok = ok && *s == '\0';
    return v;
}

[[noreturn]] void run_plan() {
    const std::uint32_t others = static_cast<std::uint32_t>(mesh.cores - 1);
    run_until([&] { return hellos == others; });
    node_of[0] = static_cast<std::uint32_t>(mesh.node);
    broadcast(members, mesh.cores, mesh.node);
    emit("monitor-up core={} node={} peers={}", mesh.core, mesh.node, others);

    char plan[1024] = "ping-all,spawn:hello,probe,shutdown";  // long enough for many replicate steps
    const char key[] = "plan";
    const SysResult r = syscall6(abi::Sys::kernel_option, kernel_cap, reinterpret_cast<std::uint64_t>(key), 4,
                                 reinterpret_cast<std::uint64_t>(plan), sizeof plan - 1);
    if (r.status == Status::ok) plan[r.value] = '\0';
    emit("plan {}", plan);
    char* p = plan;
    while (*p) {
        char* step = p;
        while (*p && *p != ',') ++p;
        if (*p) *p++ = '\0';
        bool ok = true;
        if (starts_with(step, "ping-all") && step[8] == '\0') {
            step_ping_all();
        } else if (starts_with(step, "spawn:")) {
            char* name = step + 6;
            std::uint64_t core = ~0ull;
            for (char* a = name; *a; ++a)
                if (*a == '@') {
                    *a = '\0';
                    core = parse_number(a + 1, ok);
                    ok = ok && core < mesh.cores && core != mesh.core;
                    break;
                }
            if (ok) step_spawn(name, core);
        } else if (starts_with(step, "probe") && step[5] == '\0') {
            step_probe();
        } else if (starts_with(step, "replicate:")) {
            if (!repl::run_step(step + 10, node_of)) plan_ok = false;  // a refused step fails the plan, the plan goes on
        } else if (starts_with(step, "status") && step[6] == '\0') {
            step_status();
        } else if (starts_with(step, "shutdown") && step[8] == '\0') {
            step_shutdown();
        } else {
            ok = false;
        }
        if (!ok) {
            print("monitor: bad plan step '{}'", step);
            plan_ok = false;
            step_shutdown();
        }
    }
    step_shutdown();  // a plan without an explicit shutdown still ends the run
}

} // namespace

extern "C" int main(std::uint64_t core, std::uint64_t cores, std::uint64_t base, std::uint64_t stride,
                    std::uint64_t chan, std::uint64_t node) {
    bench_rtt = (node >> 32) & 1;
    node &= 0xffffffff;
    mesh = {core, cores, base, stride, chan, node};
    if (cores > max_cores || cores == 0) {
        print("monitor: {} cores is more than this monitor handles", cores);
        return 1;
    }
    // Format our inbox: one channel per sender (receiver-local memory, placed by the CPU driver).
    for (std::uint64_t s = 0; s < cores; ++s) {
        if (s == core) continue;
        if (urpc::format_channel(mesh.channel(core, s), {abi::monitor_channel_slots, urpc::Wake::poll}) != Status::ok) {
            print("monitor: cannot format channel from core {}", s);
            return 1;
        }
        rx[s] = *urpc::Receiver::attach(mesh.channel(core, s));
    }
    repl::init({static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(cores), try_send_line, poll, kernel_option});
    if (core == 0) run_plan();
    send(0, hello, core, node);
    for (;;)
        if (!poll()) (void)syscall6(abi::Sys::wait_event);
}
