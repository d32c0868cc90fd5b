// The monitors' round-trip benches (bench.hpp). Both sides poll without sleeping for the whole
// round, so a round trip is the channel's and not a wake-up's; the raw line is the measured
// monitor's own inbox slot for itself (never a channel: nobody sends to himself), in its memory.
#include "bench.hpp"

#include "mesh.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/user/measure.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::bench {
namespace {

using namespace myr::user;

// The raw line of core c: its own inbox slot for itself.
std::uint64_t line_offset_of(std::uint64_t c) { return c * mesh.stride + c * mesh.chan; }

struct Rtt {
    std::uint64_t urpc = 0, line = 0;  // median TSC ticks per round trip
};

// This monitor against `peer` (attached both ways): `rounds` round trips of each kind in `batches`.
Rtt measure(std::uint64_t peer, std::uint64_t rounds, unsigned batches) {
    if (!tx_attach(peer)) return {};
    const std::uint64_t line_offset = line_offset_of(peer);
    auto* line = reinterpret_cast<volatile std::uint64_t*>(mesh.base + line_offset);
    // The line may hold the last sequence number of an earlier round with another core (it is
    // quiet now: that round's echo wrote its last before its measurer went on): both sides count
    // on from past it, so neither takes an old value for a new one.
    const std::uint64_t base = line[0] > line[8] ? line[0] : line[8];
    send(peer, bench_start, rounds, line_offset, base);
    drain_outbox();  // bench_start first; the round then uses the channel directly
    urpc::Message m{};
    Rtt r;
    r.urpc = median_ticks(batches, rounds / batches, [&](std::uint64_t i) {
        const std::uint64_t words[urpc::payload_words] = {i};
        while (tx[peer].try_send(bench_ping, words) == Status::would_block) {}
        while (rx[peer].try_recv(m) != Status::ok) {}
    });
    r.line = median_ticks(batches, rounds / batches, [&](std::uint64_t i) { line_ping(&line[0], &line[8], base + i + 1); });
    return r;
}

// Monitor 0's side of bench:matrix.
struct Matrix {
    bool waiting = false, got = false;
    std::uint64_t from = 0, to = 0;
    Rtt rtt;
} matrix;

constexpr std::uint64_t matrix_rounds = 1000;
constexpr unsigned matrix_batches = 10;

void emit_pair(std::uint64_t a, std::uint64_t b, const Rtt& r) {
    const std::uint64_t l = r.line ? r.line : 1;
    emit("bench-matrix from={} to={} urpc_ticks={} cacheline_ticks={} ratio={}.{:02}", a, b, r.urpc, r.line, r.urpc / l,
         r.urpc * 100 / l % 100);
}

} // namespace

void echo(std::uint64_t from, std::uint64_t rounds, std::uint64_t line_offset, std::uint64_t base) {
    // The raw line is always our own slot for ourselves: any other offset would have us write
    // wherever a line said.
    if (line_offset != line_offset_of(mesh.core)) {
        ++malformed;
        return;
    }
    drain_outbox();  // the round uses the channel directly, behind nothing queued
    if (!tx_attach(from)) return;  // it formatted its inbox before it could send this
    urpc::Message m{};
    for (std::uint64_t i = 0; i < rounds;) {
        if (rx[from].try_recv(m) != Status::ok) continue;
        if (m.header.type != bench_ping) continue;
        const std::uint64_t words[urpc::payload_words] = {m.words[0]};
        while (tx[from].try_send(bench_ping, words) == Status::would_block) {}
        ++i;
    }
    auto* line = reinterpret_cast<volatile std::uint64_t*>(mesh.base + line_offset);
    for (std::uint64_t seq = base + 1; seq <= base + rounds; ++seq) {
        while (__atomic_load_n(&line[0], __ATOMIC_ACQUIRE) != seq) {}
        __atomic_store_n(&line[8], seq, __ATOMIC_RELEASE);
    }
}

void round_trip() {
    const Rtt r = measure(1, 2000, 20);
    const std::uint64_t l = r.line ? r.line : 1;
    emit("bench-monitors rtt urpc_ticks={} cacheline_ticks={} ratio={}.{:02}", r.urpc, r.line, r.urpc / l,
         r.urpc * 100 / l % 100);
}

// From monitor 0: measure against core w0, answer with the medians.
void on_measure(std::uint64_t from, const urpc::Message& m) {
    const std::uint64_t peer = m.words[0];
    if (from != 0 || peer >= mesh.cores || peer == mesh.core || graph_nodes) {
        ++malformed;
        return;
    }
    const Rtt r = measure(peer, matrix_rounds, matrix_batches);
    send(0, bench_result, mesh.core, peer, r.urpc, r.line);
}

void on_result(std::uint64_t from, const urpc::Message& m) {
    if (mesh.core != 0 || !matrix.waiting || from != matrix.from || m.words[0] != matrix.from || m.words[1] != matrix.to) {
        ++malformed;
        return;
    }
    matrix.rtt = {m.words[2], m.words[3]};
    matrix.got = true;
}

bool run_matrix(servers::Waiter wait, bool forge) {
    if (mesh.core != 0 || mesh.cores < 2 || graph_nodes || mesh_live() != mesh.cores) {
        print("bench:matrix: refused: needs every core in the membership and the full mesh (monitor.graph=mesh)");
        return false;
    }
    // bench:matrix:forge: first, every other monitor gets four lines no honest monitor sends; each
    // must be counted as malformed and must neither start a round nor write anywhere: a bench_start
    // naming another raw line than its own, a bench_measure of itself and of a core that does not
    // exist, and a bench_result (only monitor 0 takes those).
    if (forge)
        for (std::uint64_t c = 1; c < mesh.cores; ++c) {
            send(c, bench_start, 1000, line_offset_of(c) + 64, 0);
            send(c, bench_measure, c);
            send(c, bench_measure, mesh.cores);
            send(c, bench_result, c, 0, 1, 1);
        }
    bool ok = true;
    for (std::uint64_t a = 0; a < mesh.cores; ++a)
        for (std::uint64_t b = 0; b < mesh.cores; ++b) {
            if (a == b) continue;
            if (a == 0) {
                emit_pair(a, b, measure(b, matrix_rounds, matrix_batches));
                continue;
            }
            matrix = Matrix{true, false, a, b, {}};
            send(a, bench_measure, b);
            wait([] { return matrix.got; });
            matrix.waiting = false;
            emit_pair(a, b, matrix.rtt);
            ok = ok && matrix.rtt.urpc != 0 && matrix.rtt.line != 0;
        }
    return ok;
}

} // namespace myr::monitor::bench
