// The per-core monitor (DESIGN.md §2 step 4, §5): the user-space half of each core's OS. Started
// by its CPU driver as the core's first domain with a kernel capability, an IPI capability and
// the mesh of URPC inboxes mapped. Monitors agree on the membership through the boot core's
// monitor, answer pings, start programs for each other, and the boot core's monitor runs the
// self-check plan: membership, all-pairs ping, remote spawn on every core, a malformed-message
// probe, then shutdown.
#include "protocol.hpp"

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

// Monitor 0's view of the run.
std::uint32_t hellos;
std::uint32_t node_of[max_cores];
std::uint32_t pings_reported, pings_failed_total;
std::uint32_t spawn_replies, spawn_failures, spawn_unknown_ok;
std::uint32_t status_replies;
// Every monitor's ping round.
std::uint32_t pongs_expected, pongs_got;


void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
          std::uint64_t w3 = 0, std::uint64_t w4 = 0, std::uint64_t w5 = 0) {
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
    const std::uint64_t words[urpc::payload_words] = {w0, w1, w2, w3, w4, w5, 0};
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
    case status_req: send(from, status_reply, mesh.core, 0, sent, received, malformed); break;
    case status_reply:
        ++status_replies;
        emit("monitor-status core={} sent={} received={} malformed={}", m.words[0], m.words[2], m.words[3], m.words[4]);
        break;
    case shutdown_now: break;
    default:
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
    return any;
}

template <typename Done>
void run_until(Done done) {
    while (!done())
        if (!poll()) (void)syscall6(abi::Sys::wait_event);
}

void pack_name(const char* name, std::uint64_t (&w)[5]) {
    for (unsigned i = 0; i < 40 && name[i]; ++i) w[i / 8] |= std::uint64_t{static_cast<unsigned char>(name[i])} << (8 * (i % 8));
}

// The boot core's monitor: the default run plan (the self-check).
[[noreturn]] void run_plan(const char* program) {
    const std::uint32_t others = static_cast<std::uint32_t>(mesh.cores - 1);
    run_until([&] { return hellos == others; });
    node_of[0] = static_cast<std::uint32_t>(mesh.node);
    broadcast(members, mesh.cores, mesh.node);
    emit("monitor-up core={} node={} peers={}", mesh.core, mesh.node, others);

    // All-pairs ping: every monitor pings every other one.
    broadcast(ping_all);
    urpc::Message self{};
    self.header.type = ping_all;
    handle(mesh.core, self);  // our own round (pongs to core 0 arrive in the same loop)
    run_until([&] { return pings_reported == mesh.cores; });
    emit("ping-all pairs={} failed={}", mesh.cores * others, pings_failed_total);

    // Remote spawn of a program on every core, then an unknown program (must fail cleanly).
    std::uint64_t w[5] = {};
    pack_name(program, w);
    for (std::uint64_t c = 1; c < mesh.cores; ++c) send(c, spawn_req, 1, w[0], w[1], w[2], w[3], w[4]);
    std::uint64_t bogus[5] = {};
    pack_name("no-such-program", bogus);
    for (std::uint64_t c = 1; c < mesh.cores; ++c) send(c, spawn_req, 2, bogus[0], bogus[1], bogus[2], bogus[3], bogus[4]);
    run_until([&] { return spawn_replies == 2 * others; });
    emit("remote-spawn program={} cores={} failed={} unknown-refused={}", program, others, spawn_failures, spawn_unknown_ok);

    // A malformed message: an unknown type to every other monitor; they must log it and go on,
    // which the status round after it shows.
    for (std::uint64_t c = 1; c < mesh.cores; ++c) send(c, 0x7e, 0xbad);
    for (std::uint64_t c = 1; c < mesh.cores; ++c) send(c, status_req);
    run_until([&] { return status_replies == others; });

    const bool ok = pings_failed_total == 0 && spawn_failures == 0 && spawn_unknown_ok == others;
    print("monitor: self-check {}", ok ? "passed" : "FAILED");
    (void)syscall6(abi::Sys::shutdown, kernel_cap, ok ? 0 : 1);
    for (;;) (void)syscall6(abi::Sys::wait_event);
}

} // namespace

extern "C" int main(std::uint64_t core, std::uint64_t cores, std::uint64_t base, std::uint64_t stride,
                    std::uint64_t chan, std::uint64_t node) {
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
    if (core == 0) run_plan("hello");
    send(0, hello, core, node);
    for (;;)
        if (!poll()) (void)syscall6(abi::Sys::wait_event);
}
