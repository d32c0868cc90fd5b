// The run plan (docs/monitors.md, "Run plan"): the boot core's monitor reads the kernel option
// `plan=` and runs its steps in order, each waiting in the monitor's loop (loop.hpp) for the
// replies it asked for; a core the membership removes meanwhile is waited for no more. With core
// heartbeats, the runner announces each step it begins to every monitor (plan_step), and when its
// core stops, the newly elected coordinator asks every monitor how far it heard the plan went and
// runs the rest (docs/monitors.md, "The plan outlives its core"). Also here:
// the message rounds those steps run, on every monitor (membership hellos, pings, spawn, status,
// census and broadcast probes), which monitor.cpp's dispatch hands to on_message().
#include "plan.hpp"

#include "bench.hpp"
#include "loop.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/args.hpp>
#include <myr/user/measure.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::monitor;

namespace {

std::uint64_t type_totals[32];  // monitor 0: summed over every monitor's status reply

// Monitor 0's view of the run.
std::uint32_t hellos;
std::uint32_t node_of[max_cores];
std::uint32_t pings_reported, pings_failed_total;
std::uint32_t spawn_replies, spawn_failures, spawn_unknown_ok;
std::uint32_t status_replies;
// Every monitor's ping round: which round, pongs expected and seen, reported yet. A monitor
// whose pongs do not all arrive reports what it has when the plan's runner asks (ping_tally).
std::uint64_t ping_round, ping_from;
std::uint32_t pongs_expected, pongs_got;
bool pings_done_sent;
bool mute_pings;  // kernel option monitor.mute_pings=CORE: this monitor answers no ping (tests the loss count)
bool bench_rtt;  // monitor 0: measure the round trip (argument bit; ./myriad bench monitors)
std::uint32_t census_replies;

// The cores a gathering step (spawn, probe, status, census) still waits for (mesh.hpp).
Awaited spawn_wait, status_wait, census_wait;
std::uint64_t bcast_acks, bcast_hops_max, bcast_forwarded;
std::uint64_t census_live, census_exited, census_failed, census_faulted;
std::uint64_t total_lines, total_forwarded;  // monitor 0: summed from status replies

// A finished ping round: monitor 0 counts its own directly.
void report_pings() {
    if (pings_done_sent) return;
    pings_done_sent = true;
    if (ping_from != mesh.core) {
        send(ping_from, ping_done, ping_round, pongs_got, pongs_expected - pongs_got);
        return;
    }
    ++pings_reported;
    pings_failed_total += pongs_expected - pongs_got;
}

// This core's counts for a census, as core_status answers them, but with the live count taken
// as the live domains other than running server instances (servers serve until stopped), counted
// at one moment: core_status, then what ended since the last look is freed (reap, which may also
// restart a server whose backoff passed), then the server instances, then core_status again, and
// the larger of the two live counts. A server instance that crashed or restarted in between
// makes it count at most one domain too many (the wait then takes another round); subtracting the
// server instances later, or before the reap, counted a client on the core of a crashing server
// as gone (`wait` ended while it still ran).
std::uint64_t census_sample() {
    const std::uint64_t v1 = syscall6(abi::Sys::core_status, kernel_cap).value;
    binding::reap();
    const std::uint64_t servers_live = servers::live_servers();
    const std::uint64_t v2 = syscall6(abi::Sys::core_status, kernel_cap).value;
    const std::uint64_t live = (v1 & 0xffff) > (v2 & 0xffff) ? v1 & 0xffff : v2 & 0xffff;
    return (v2 & ~std::uint64_t{0xffff}) | (live > servers_live ? live - servers_live : 0);
}
std::uint64_t census_live_here(std::uint64_t v) { return v & 0xffff; }
// Crashes the supervisor restarted are handled, not failures of the plan (servers.hpp,
// restarted_faults / restarted_exits); one that left its server down still counts.
std::uint64_t census_faulted_here(std::uint64_t v) {
    const std::uint64_t faulted = v >> 48, handled = binding::kills() + servers::restarted_faults();
    return faulted > handled ? faulted - handled : 0;
}
std::uint64_t census_failed_here(std::uint64_t v) {
    const std::uint64_t failed = v >> 32 & 0xffff, handled = servers::restarted_exits();
    return failed > handled ? failed - handled : 0;
}

SysResult spawn_local(const char* name, std::uint64_t len, std::uint64_t arg) {
    return servers::start_local(name, len, arg, "", 0);
}


void pack_name(const char* name, std::uint64_t (&w)[5]) {
    for (unsigned i = 0; i < 40 && name[i]; ++i) w[i / 8] |= std::uint64_t{static_cast<unsigned char>(name[i])} << (8 * (i % 8));
}

// ---- The run plan (boot core's monitor) -------------------------------------------------------
// Steps come from the kernel option `plan=` (a config sets it in [kernel] options), separated by
// commas: ping-all | spawn:NAME[@CORE] | start:NAME[@CORE] | stop:NAME[@CORE] | probe | status |
// shutdown. Without it the
// plan is the self-check: ping-all,spawn:hello,probe,shutdown.

bool plan_ok = true;
constexpr std::uint64_t sample_above = 64;  // the default plan pings all pairs up to this many cores

// peers == 0: all pairs; else each monitor pings `peers` others (handle(), case ping_all). A pong
// that has not arrived by the deadline (kernel option monitor.ping_ms, default 30 s) counts as
// failed: at the deadline each monitor is asked for the pongs it has, and a monitor that does not
// answer even that within another deadline counts all its pairs as failed.
void step_ping(std::uint64_t peers) {
    const std::uint32_t before = pings_reported;
    const std::uint32_t failed_before = pings_failed_total;
    const std::uint64_t round = ping_round + 1;
    std::uint64_t per = 0;  // pairs each monitor pings
    if (peers == 0) per = mesh_live() - 1;
    else
        for (std::uint64_t i = 0, d = 1; i < peers && d < mesh.cores; ++i, d <<= 1) ++per;
    char ms_text[12] = {};
    bool ms_ok = kernel_option("monitor.ping_ms", ms_text, sizeof ms_text);
    std::uint64_t ms = 0;
    ms_ok = ms_ok && args::whole_decimal(ms_text, 100'000'000, ms);
    if (!ms_ok || ms == 0) ms = 30'000;
    const std::uint64_t window = ms * (topo.tsc_per_ms ? topo.tsc_per_ms : 3'000'000);
    broadcast(ping_all, round, peers);
    urpc::Message self{};
    self.header.type = ping_all;
    self.words[0] = round;
    self.words[1] = peers;
    handle(mesh.core, self);  // our own round (the pongs arrive in the same loop)
    const std::uint64_t t0 = rdtsc();
    const std::uint64_t live = mesh_live();
    auto all_in = [&] { return pings_reported == before + live; };
    run_until([&] { return all_in() || rdtsc() - t0 > window; });
    if (!all_in()) {
        for (std::uint64_t c = 0; c < mesh.cores; ++c)
            if (c != mesh.core && mesh_alive(c)) send(c, ping_tally, round);
        report_pings();
        const std::uint64_t t1 = rdtsc();
        run_until([&] { return all_in() || rdtsc() - t1 > window; });
    }
    const std::uint32_t silent = before + static_cast<std::uint32_t>(live) - pings_reported;
    ping_round = round + 1;  // close the round: later reports and pongs are ignored
    const std::uint32_t failed = pings_failed_total - failed_before + silent * static_cast<std::uint32_t>(per);
    if (silent) print("{}: {} monitors never reported; all their pairs count as failed", peers ? "ping-sample" : "ping-all", silent);
    if (peers == 0) emit("ping-all pairs={} failed={}", live * per, failed);
    else emit("ping-sample pairs={} peers={} failed={}", live * per, per, failed);
    plan_ok = plan_ok && failed == 0;
}

// ping-sample: every distance 1, 2, 4, ... below N, so ceil(log2 N) peers per monitor: its
// neighbours in its own node and, with the larger distances, cores of other nodes; every monitor
// is pinged by as many as it pings.
std::uint64_t sample_peers() {
    std::uint64_t k = 0;
    for (std::uint64_t d = 1; d < mesh.cores; d <<= 1) ++k;
    return k;
}

// Starts NAME on one core (this one included), or on every other core when core == ~0; the
// program's argument is `arg`, or its core's number when arg == ~0.
void step_spawn(const char* name, std::uint64_t core, std::uint64_t arg) {
    std::uint64_t w[5] = {};
    pack_name(name, w);
    const std::uint32_t failures0 = spawn_failures;
    std::uint32_t asked = 0, local_failed = 0;
    spawn_wait.reset();
    if (core == mesh.core) {
        std::uint64_t len = 0;
        while (name[len]) ++len;
        const SysResult r = spawn_local(name, len, arg);
        local_failed = r.status != Status::ok;
        ++asked;
    }
    for (std::uint64_t c = 0; c < mesh.cores; ++c) {
        if (c == mesh.core || (core != ~0ull && c != core) || !mesh_alive(c)) continue;
        send(c, spawn_req, 1, w[0], w[1], w[2], w[3], w[4], arg);
        spawn_wait.ask(c);
        ++asked;
    }
    run_until([&] { return spawn_wait.done(); });
    const std::uint32_t failed = spawn_failures - failures0 + local_failed;
    emit("remote-spawn program={} cores={} failed={}", name, asked, failed);
    plan_ok = plan_ok && failed == 0 && (asked > 0 || core == ~0ull);
}

void step_status() {
    total_lines = total_forwarded = 0;  // replies carry running totals: the last round's sum counts
    status_wait.reset();
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core && mesh_alive(c)) status_wait.ask(c);
    broadcast(status_req);
    run_until([&] { return status_wait.done(); });
}

// Error paths: an unknown program on every other core must be refused, and a malformed message
// must be logged and survived (the status round after it shows every monitor still answering).
void step_probe() {
    std::uint64_t bogus[5] = {};
    pack_name("no-such-program", bogus);
    const std::uint32_t refused0 = spawn_unknown_ok, replies0 = spawn_replies;
    spawn_wait.reset();
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core && mesh_alive(c)) {
            spawn_wait.ask(c);
            send(c, spawn_req, 2, bogus[0], bogus[1], bogus[2], bogus[3], bogus[4], ~0ull);
        }
    run_until([&] { return spawn_wait.done(); });
    const std::uint64_t others = spawn_replies - replies0;  // a core removed meanwhile did not answer
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core && mesh_alive(c)) send(c, 0x7e, 0xbad);
    step_status();
    const std::uint32_t refused = spawn_unknown_ok - refused0;
    emit("probe unknown-refused={} of {}", refused, others);
    plan_ok = plan_ok && refused == others;
}

// One-to-all broadcast, sequential unicast against the topology-aware tree, in one boot: lines
// sent (the origin's plus every forward), critical-path hops, the origin's own sends, lines that
// cross nodes, and TSC ticks from the first send to the last acknowledgement (meaningful on real
// cores only; under TCG count the lines and hops).
void step_broadcast() {
    const bool mode_before = tree_broadcast;
    constexpr unsigned rounds = 16;
    for (int tree_mode = 0; tree_mode < 2; ++tree_mode) {
        tree_broadcast = tree_mode;
        const urpc::MulticastTree* t = tree_mode ? tree_of(mesh.core) : nullptr;
        if (tree_mode && !t) break;
        std::uint64_t origin_sends = 0, cross = 0;
        if (t) {
            origin_sends = t->children(static_cast<std::uint32_t>(mesh.core)).size();
            cross = t->cross_node_messages({topo.core_node, topo.cores});
        } else {
            origin_sends = mesh.cores - 1;
            for (std::uint64_t c = 0; c < mesh.cores; ++c) cross += topo.core_node[c] != topo.core_node[mesh.core];
        }
        bcast_acks = bcast_hops_max = bcast_forwarded = 0;
        const std::uint64_t t0 = rdtsc();
        for (unsigned r = 0; r < rounds; ++r) {
            broadcast(bcast_probe, r, static_cast<std::uint64_t>(tree_mode));
            run_until([&] { return bcast_acks == (r + 1) * (mesh_live() - 1); });
        }
        const std::uint64_t ticks = (rdtsc() - t0) / rounds;
        emit("bench-monitors cores={} phase=broadcast-{} messages={} hops={} origin-sends={} cross-node={} ticks={}",
             mesh.cores, tree_mode ? "tree" : "unicast", origin_sends + bcast_forwarded / rounds, bcast_hops_max,
             origin_sends, cross, ticks);
    }
    tree_broadcast = mode_before;
}

// Waits until every core's domains (monitors and running server instances aside) have ended,
// then reports how they ended;
// a domain that failed or faulted fails the plan. Gives up after `limit` rounds (about 400 s).
void step_wait() {
    constexpr unsigned limit = 20000;
    unsigned rounds = 0;
    for (;; ++rounds) {
        census_replies = 0;
        census_live = census_exited = census_failed = census_faulted = 0;
        census_wait.reset();
        for (std::uint64_t c = 0; c < mesh.cores; ++c)
            if (c != mesh.core && mesh_alive(c)) census_wait.ask(c);
        broadcast(census_req);
        const std::uint64_t v = census_sample();
        run_until([&] { return census_wait.done(); });
        census_live += census_live_here(v);
        census_exited += v >> 16 & 0xffff;
        census_failed += census_failed_here(v);
        census_faulted += census_faulted_here(v);
        if (census_live == 0 || rounds == limit) break;
        // Two ticks between rounds, serving meanwhile. (It slept in four bare wait_events, which
        // took the wake-ups of the lines and calls that came meanwhile and left them for the
        // next round: a binding to a server on this core, or from a client here, waited about a
        // tick per message for as long as a plan's wait step ran.)
        serve_ticks(2);
    }
    emit("wait live={} exited={} failed={} faulted={}", census_live, census_exited, census_failed, census_faulted);
    // The kernel counts a killed domain with the faulted ones; every monitor reports the domains it
    // ended on request (stop: steps, kill ops of privileged programs) apart, so they are not faults.
    plan_ok = plan_ok && census_live == 0 && census_failed == 0 && census_faulted == 0;
}

[[noreturn]] void step_shutdown() {
    // Messages every phase cost, counted by every monitor (status replies) plus our own.
    step_status();
    for (unsigned t = 1; t <= 8; ++t) type_totals[t] += sent_by_type[t];
    // Critical path: a broadcast costs the tree's depth (1 for unicast), then hello/ping/pong/done 1 each.
    const urpc::MulticastTree* t = tree_broadcast ? tree_of(mesh.core) : nullptr;
    const std::uint64_t depth = t && t->depth() > 0 ? t->depth() : 1;
    emit("bench-monitors cores={} phase=membership messages={} hops={}", mesh.cores, type_totals[hello] + type_totals[members],
         1 + depth);
    emit("bench-monitors cores={} phase=ping-all messages={} hops={}", mesh.cores,
         type_totals[ping_all] + type_totals[ping] + type_totals[pong] + type_totals[ping_done], depth + 3);
    emit("bench-monitors cores={} phase=remote-spawn messages={} hops=2", mesh.cores,
         type_totals[spawn_req] + type_totals[spawn_reply]);
    // Lines every monitor put on channels over the whole run (a routed message costs an envelope
    // and the message at each hop) and the channels the graph uses.
    emit("bench-monitors cores={} phase=run graph={} lines={} forwarded={} channels={}", mesh.cores,
         graph_nodes ? "nodes" : "mesh", total_lines + lines_sent, total_forwarded + lines_forwarded, graph_channels());
    if (mesh.cores > 1 && bench_rtt) bench::round_trip();
    print("plan {}", plan_ok ? "passed" : "FAILED");
    (void)syscall6(abi::Sys::shutdown, kernel_cap, plan_ok ? 0 : 1);
    for (;;) (void)syscall6(abi::Sys::wait_event);
}

bool starts_with(const char* s, const char* prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return false;
    return true;
}

// A comma-separated text printed whole (docs/monitors.md, "run plan"): `KEY TEXT`, and for a text
// longer than one line holds (emit's 256 bytes; a plan may take 1 023 characters, the repl=
// settings 511) `MORE TEXT` lines after it. Each line but the last ends after the last comma in
// its 200 characters, so lines hold whole items (plan steps, repl= items); the lines' texts
// joined are the text.
void emit_whole(const char* key, const char* more, const char* text) {
    constexpr std::uint64_t per_line = 200;
    const char* p = text;
    do {
        std::uint64_t n = 0;
        while (p[n] && n < per_line) ++n;
        if (p[n]) {
            std::uint64_t cut = n;
            while (cut > 0 && p[cut - 1] != ',') --cut;
            if (cut > 0) n = cut;  // else one step longer than a line: cut inside it
        }
        char piece[per_line + 1];
        for (std::uint64_t i = 0; i < n; ++i) piece[i] = p[i];
        piece[n] = '\0';
        emit("{} {}", key, piece);
        key = more;
        p += n;
    } while (*p);
}

std::uint64_t parse_number(const char* s, bool& ok) {
    std::uint64_t v = 0;
    ok = args::whole_decimal(s, std::uint64_t{1} << 62, v);
    return v;
}

// The plan's text: the kernel option plan=, else the self-check. All-pairs ping is N x (N-1)
// messages; above 64 cores (the largest machine the replication agreement group takes, too) it
// samples instead.
void load_plan(char (&plan)[1024]) {
    const char* self_check = mesh.cores > sample_above ? "ping-sample,spawn:hello,probe,shutdown" : "ping-all,spawn:hello,probe,shutdown";
    for (unsigned i = 0; (plan[i] = self_check[i]) != '\0'; ++i) {}
    (void)kernel_option("plan", plan, sizeof plan);  // else the self-check above
}

// ---- The plan outlives its core -----------------------------------------------------------------
// With core heartbeats on, the runner (the membership's coordinator) tells every monitor each step
// it begins; every monitor keeps the last it heard. When the runner's core is removed, the new
// coordinator asks every live monitor, takes the furthest step any heard of, and runs the plan
// from the step after it: the step the runner was in when it stopped is not run again (it may
// have done its work), and fails the plan unless it was the one that stopped the runner's core.
constexpr std::uint64_t max_steps = 512;  // a plan holds at most 1 023 characters
std::uint64_t runner = 0;                 // the core running the plan, as this monitor last heard
std::uint64_t steps_begun = 0;            // steps it began (the last one's index + 1)
bool begun_ok = true;                     // whether the plan passed before the last of them
Awaited where_wait;
std::uint64_t where_most;                 // a new runner: the furthest any monitor heard
bool where_ok;

void announce(std::uint64_t index) {
    if (!liveness::enabled()) return;
    runner = mesh.core;
    steps_begun = index + 1;
    begun_ok = plan_ok;
    broadcast(plan_step, index, plan_ok ? 1 : 0);
}

// The step the runner before us was in when its core stopped (it is not run again).
void judge_cut(std::uint64_t index, const char* step, std::uint64_t former) {
    bool ok = false;
    const std::uint64_t n = starts_with(step, "kill-core:") ? parse_number(step + 10, ok) : 0;
    if (ok && n == former) {
        print("plan: step {} ({}) stopped core {}, which ran the plan: core {} runs the rest", index + 1, step, former,
              mesh.core);
        return;
    }
    print("plan: step {} ({}) was cut short when core {} stopped: its outcome is unknown, the plan fails", index + 1, step,
          former);
    plan_ok = false;
}

// Runs the steps from index `first` on (0: the whole plan); `former` is the runner before this
// monitor when it took the plan over, else this core.
[[noreturn]] void run_steps(char* plan, std::uint64_t first, std::uint64_t former) {
    char* p = plan;
    for (std::uint64_t index = 0; *p; ++index) {
        char* step = p;
        while (*p && *p != ',') ++p;
        if (*p) *p++ = '\0';
        if (index < first) {
            if (index + 1 == first && former != mesh.core) judge_cut(index, step, former);
            continue;
        }
        announce(index);
        bool ok = true;
        if (starts_with(step, "ping-all") && step[8] == '\0') {
            step_ping(0);
        } else if (starts_with(step, "ping-sample") && step[11] == '\0') {
            step_ping(sample_peers());
        } else if (starts_with(step, "spawn:")) {
            // spawn:NAME[@CORE][=ARG]
            char* name = step + 6;
            std::uint64_t core = ~0ull, arg = ~0ull;
            for (char* a = name; *a; ++a)
                if (*a == '=') {
                    *a = '\0';
                    arg = parse_number(a + 1, ok);
                    break;
                }
            for (char* a = name; *a; ++a)
                if (*a == '@') {
                    *a = '\0';
                    bool core_ok = false;
                    core = parse_number(a + 1, core_ok);
                    ok = ok && core_ok && core < mesh.cores;
                    break;
                }
            ok = ok && *name;
            if (ok) step_spawn(name, core, arg);
        } else if (starts_with(step, "broadcast") && step[9] == '\0') {
            step_broadcast();
        } else if (starts_with(step, "wait") && step[4] == '\0') {
            step_wait();
        } else if (starts_with(step, "bench") && mesh.core != 0) {
            // bench and bench:matrix measure from core 0's monitor (bench.cpp)
            print("plan step '{}' runs on core 0's monitor only: refused", step);
            plan_ok = false;
        } else if (starts_with(step, "bench") && step[5] == '\0') {
            ok = mesh.cores > 1;
            if (ok) bench::round_trip();
        } else if (starts_with(step, "bench:matrix") && (step[12] == '\0' || same(step + 12, ":forge"))) {
            // every ordered pair of cores: the in-guest core-to-core matrix (./myriad bench monitors)
            if (!bench::run_matrix([](bool (*done)()) { run_until(done); }, step[12] != '\0')) plan_ok = false;
        } else if (starts_with(step, "probe") && step[5] == '\0') {
            step_probe();
        } else if (starts_with(step, "replicate:")) {
            if (mesh_live() != mesh.cores) {
                // A replicated object's group is the whole machine (replication/ has no joins or leaves yet).
                print("replicate: refused: {} of {} cores are left in the membership", mesh_live(), mesh.cores);
                plan_ok = false;
            } else if (!repl::run_step(step + 10, node_of)) {
                plan_ok = false;  // a refused step fails the plan, the plan goes on
            }
        } else if (starts_with(step, "unmap:")) {
            // unmap:N[:R]: an address space over cores 0..N-1, R unmaps per shootdown protocol
            if (!span::run_step(step + 6, [](bool (*done)()) { run_until(done); })) plan_ok = false;
        } else if (starts_with(step, "kill-core:")) {
            // kill-core:N: stop core N (fault injection); the membership must remove it
            if (!liveness::run_kill(step + 10, [](bool (*done)()) { run_until(done); })) plan_ok = false;
        } else if (starts_with(step, "names:")) {
            const std::uint64_t want = parse_number(step + 6, ok);
            if (ok && !names::run_step(
                          want, [](std::uint64_t after) { run_until([&] { return names::summaries() >= after; }); },
                          serve_ticks))
                plan_ok = false;
        } else if (starts_with(step, "start:")) {
            // start:NAME[@CORE]: one more instance of a server (or any program); a refusal fails the plan
            if (!servers::run_start(step + 6, [](bool (*done)()) { run_until(done); })) plan_ok = false;
        } else if (starts_with(step, "stop:")) {
            // stop:NAME[@CORE]: kill what the monitors started of it; stopping nothing fails the plan
            if (!servers::run_stop(step + 5, [](bool (*done)()) { run_until(done); })) plan_ok = false;
        } else if (starts_with(step, "sleep:")) {
            // sleep:MS: serve (and supervise) for MS milliseconds of this core's clock, e.g. while
            // crashed servers are restarted
            const std::uint64_t ms = parse_number(step + 6, ok);
            if (ok) {
                serve_ticks((ms * servers::timer_hz() + 999) / 1000);
            }
        } else if (starts_with(step, "crash:")) {
            // crash:NAME[@CORE]: like stop:, but a crash to the supervisor (fault injection)
            if (!servers::run_stop(step + 6, [](bool (*done)()) { run_until(done); }, true)) plan_ok = false;
        } else if (starts_with(step, "status") && step[6] == '\0') {
            step_status();
        } else if (starts_with(step, "shutdown") && step[8] == '\0') {
            step_shutdown();
        } else {
            ok = false;
        }
        if (!ok) {
            print("bad plan step '{}'", step);
            plan_ok = false;
            step_shutdown();
        }
    }
    step_shutdown();  // a plan without an explicit shutdown still ends the run
}

[[noreturn]] void run_plan() {
    const std::uint32_t others = static_cast<std::uint32_t>(mesh.cores - 1);
    run_until([&] { return hellos == others; });
    node_of[0] = static_cast<std::uint32_t>(mesh.node);
    broadcast(members, mesh.cores, mesh.node);
    emit("monitor-up core={} node={} peers={}", mesh.core, mesh.node, others);
    char plan[1024];  // long enough for many replicate steps
    load_plan(plan);
    emit_whole("plan", "plan+", plan);  // the plan this run follows
    // The replication settings this run uses (the last repl= word, as for plan=): the log says
    // what ran, not what the config said; a long one continues on `repl+` lines.
    char repl_settings[512] = "(none: each object's default protocol)";
    (void)kernel_option("repl", repl_settings, sizeof repl_settings);
    emit_whole("repl", "repl+", repl_settings);
    emit("monitor-broadcast mode={}", tree_broadcast ? "tree" : "unicast");
    // The configured servers (server.N= words from [[server]] tables) before the first step.
    if (!servers::start_boot([](bool (*done)()) { run_until(done); })) plan_ok = false;
    run_steps(plan, 0, mesh.core);
}

} // namespace

namespace myr::monitor::plan {

bool takeover_due() {
    return liveness::enabled() && liveness::coordinator() == mesh.core && runner != mesh.core && !mesh_alive(runner) &&
           liveness::view_committed();
}

void take_over() {
    const std::uint64_t former = runner;
    runner = mesh.core;
    where_most = steps_begun;
    where_ok = begun_ok;
    where_wait.reset();
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core && mesh_alive(c)) where_wait.ask(c);
    broadcast(plan_where_req);
    run_until([] { return where_wait.done(); });
    plan_ok = where_ok;
    if (topo.cores == mesh.cores)
        for (std::uint64_t c = 0; c < mesh.cores; ++c) node_of[c] = topo.core_node[c];
    char plan[1024];
    load_plan(plan);
    emit("plan-resumed core={} former={} step={} passing={}", mesh.core, former, where_most + 1, plan_ok ? "yes" : "no");
    run_steps(plan, where_most, former);
}

void init(bool mute, bool rtt) {
    mute_pings = mute;
    bench_rtt = rtt;
}

void on_message(std::uint64_t from, const urpc::Message& m) {
    switch (m.header.type) {
    case hello:
        if (m.words[0] < max_cores) node_of[m.words[0]] = static_cast<std::uint32_t>(m.words[1]);
        ++hellos;
        break;
    case members:
        emit("monitor-up core={} node={} peers={}", mesh.core, mesh.node, m.words[0] - 1);
        break;
    case ping_all:
        // words[0]: the round; words[1]: 0 pings every other monitor; K pings the K at distances
        // 1, 2, 4, ... 2^(K-1) (mod N, below N): ping-sample, N x K pairs instead of N x (N-1).
        ping_round = m.words[0];
        ping_from = from;
        pongs_expected = 0;
        pongs_got = 0;
        pings_done_sent = false;
        if (m.words[1] == 0) {
            for (std::uint64_t c = 0; c < mesh.cores; ++c)
                if (c != mesh.core && mesh_alive(c)) send(c, ping, mesh.core, ping_round), ++pongs_expected;
        } else {
            for (std::uint64_t i = 0, d = 1; i < m.words[1] && d < mesh.cores; ++i, d <<= 1)
                if (mesh_alive((mesh.core + d) % mesh.cores))
                    send((mesh.core + d) % mesh.cores, ping, mesh.core, ping_round), ++pongs_expected;
        }
        if (pongs_expected == 0) report_pings();
        break;
    case ping:
        if (!mute_pings) send(from, pong, m.words[0], m.words[1]);
        break;
    case pong:
        // A late pong of an earlier round counts for nothing.
        if (m.words[0] == mesh.core && m.words[1] == ping_round && !pings_done_sent && ++pongs_got == pongs_expected)
            report_pings();
        break;
    case ping_tally:
        if (m.words[0] == ping_round) report_pings();
        break;
    case ping_done:
        if (m.words[0] != ping_round) break;  // a report that came after its round was closed
        ++pings_reported;
        pings_failed_total += static_cast<std::uint32_t>(m.words[2]);
        break;
    case spawn_reply:
        if (servers::on_spawn_reply(from, m)) break;  // a server's or a domain's spawn
        if (!spawn_wait.got(from)) break;              // a round that is over, or not asked
        ++spawn_replies;
        if (m.words[0] == 1 && m.words[1] != 0) ++spawn_failures;        // tag 1: a real program
        if (m.words[0] == 2 && m.words[1] == static_cast<std::uint64_t>(Status::not_found)) ++spawn_unknown_ok;
        break;
    case status_req: {
        std::uint64_t packed[2] = {};
        for (unsigned t = 1; t <= 8; ++t) packed[(t - 1) / 4] |= (sent_by_type[t] & 0xffff) << (16 * ((t - 1) % 4));
        const std::uint64_t domains = syscall6(abi::Sys::core_status, kernel_cap).value & 0xffff;
        const std::uint64_t busy = binding::refused_busy() > 0xffff ? 0xffff : binding::refused_busy();
        send(from, status_reply, mesh.core, domains | busy << 16 | binding::made() << 32, sent | lines_sent << 32, received,
             malformed | lines_forwarded << 32, packed[0], packed[1]);
        break;
    }
    case status_reply:
        if (!status_wait.got(from)) break;
        ++status_replies;
        for (unsigned t = 1; t <= 8; ++t) type_totals[t] += (m.words[5 + (t - 1) / 4] >> (16 * ((t - 1) % 4))) & 0xffff;
        total_lines += m.words[2] >> 32;
        total_forwarded += m.words[4] >> 32;
        emit("monitor-status core={} domains={} bindings={} busy={} sent={} lines={} forwarded={} received={} malformed={}",
             m.words[0], m.words[1] & 0xffff, m.words[1] >> 32, m.words[1] >> 16 & 0xffff, m.words[2] & 0xffffffff,
             m.words[2] >> 32, m.words[4] >> 32, m.words[3], m.words[4] & 0xffffffff);
        break;
    case census_req: {
        const std::uint64_t v = census_sample();
        send(from, census_reply, mesh.core, census_live_here(v), v >> 16 & 0xffff, census_failed_here(v),
             census_faulted_here(v));
        break;
    }
    case bcast_probe: {
        const urpc::MulticastTree* t = m.words[1] ? tree_of(from) : nullptr;
        const std::uint64_t hops = t ? t->hops(static_cast<std::uint32_t>(mesh.core)) : 1;
        const std::uint64_t forwarded = t ? t->children(static_cast<std::uint32_t>(mesh.core)).size() : 0;
        send(from, bcast_ack, m.words[0], hops, forwarded);
        break;
    }
    case bcast_ack:
        ++bcast_acks;
        bcast_hops_max = m.words[1] > bcast_hops_max ? m.words[1] : bcast_hops_max;
        bcast_forwarded += m.words[2];
        break;
    case plan_step:
        // Only the membership's coordinator runs the plan (a cut-off former runner may still talk).
        if (!liveness::enabled() || from != liveness::coordinator() || m.words[0] >= max_steps) {
            ++malformed;
            print("plan_step {} from core {} refused: not the coordinator's, or no such step", m.words[0], from);
            break;
        }
        runner = from;
        if (m.words[0] + 1 > steps_begun) {
            steps_begun = m.words[0] + 1;
            begun_ok = m.words[1] != 0;
        }
        break;
    case plan_where_req: send(from, plan_where, steps_begun, begun_ok ? 1 : 0); break;
    case plan_where:
        if (!where_wait.got(from) || m.words[0] > max_steps) break;  // not asked, or nonsense
        if (m.words[0] > where_most) {
            where_most = m.words[0];
            where_ok = m.words[1] != 0;
        }
        break;
    case census_reply:
        if (!census_wait.got(from)) break;
        ++census_replies;
        census_live += m.words[1];
        census_exited += m.words[2];
        census_failed += m.words[3];
        census_faulted += m.words[4];
        break;
    default: break;
    }
}

void run() { run_plan(); }

} // namespace myr::monitor::plan
