// Core membership in the monitor (liveness.hpp).
#include "liveness.hpp"

#include "binding.hpp"
#include "deaths.hpp"
#include "mesh.hpp"
#include "names.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/args.hpp>
#include <myr/monitor/membership.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::liveness {
namespace {

using namespace myr::user;
namespace mb = myr::monitor::membership;

bool on;
mb::Member member;
std::uint64_t period_ms;
std::uint64_t applied_epoch = 1;  // the view this monitor last applied (mesh, deaths)
mb::CoreSet applied_view;
bool stopping;

std::uint64_t now_ticks() { return syscall6(abi::Sys::ticks).value; }

// A view's acknowledgement waits until this monitor applied the view (apply()): once the
// coordinator has every acknowledgement, no live monitor holds anything of a removed core (its
// frames' copies, rings, bindings), and the commit may say so to every domain.
struct Out {
    bool ack_held = false;
    std::uint64_t ack_epoch = 0;
    void send(std::uint32_t to, const mb::Msg& m) {
        switch (m.kind) {
        case mb::Kind::beat: monitor::send(to, member_beat, m.epoch, m.value); break;
        case mb::Kind::beat_ack: monitor::send(to, member_beat_ack, m.epoch, m.value); break;
        case mb::Kind::suspect: monitor::send(to, member_suspect, m.epoch, m.value); break;
        case mb::Kind::view:
            monitor::send(to, member_view, m.epoch, m.members.w[0], m.members.w[1], m.members.w[2], m.members.w[3]);
            break;
        case mb::Kind::view_ack:
            ack_held = true;  // to the coordinator, after apply()
            ack_epoch = m.epoch;
            break;
        case mb::Kind::commit: monitor::send(to, member_commit, m.epoch); break;
        }
    }
    void release() {
        if (ack_held) monitor::send(mb::coordinator, member_view_ack, ack_epoch);
        ack_held = false;
    }
};

void print_list(FixedBuffer& out, const mb::CoreSet& s) {
    bool first = true;
    for (std::uint32_t c = 0; c < mb::max_cores; ++c)
        if (s.has(c)) {
            format_to(out, "{}{}", first ? "" : ",", c);
            first = false;
        }
    if (first) format_to(out, "none");
}

// A view newer than the one applied: cut the removed cores off, or stop this core.
void apply() {
    if (member.epoch() == applied_epoch) return;
    const mb::CoreSet gone = applied_view.minus(member.view());
    applied_epoch = member.epoch();
    applied_view = member.view();
    if (member.excluded()) {
        if (stopping) return;
        stopping = true;
        emit("core-excluded core={} epoch={}", mesh.core, applied_epoch);
        (void)syscall6(abi::Sys::core_stop, kernel_cap);
        return;  // not reached: the core halts
    }
    for (std::uint32_t c = 0; c < mesh.cores; ++c) {
        if (!gone.has(c)) continue;
        mesh_exclude(c);
        deaths::core_lost(c);
        binding::core_lost(c);
        names::core_lost(c);
    }
    char list[256];
    FixedBuffer l(list, sizeof list);
    print_list(l, gone);
    emit("membership-view core={} epoch={} cores={} removed={}", mesh.core, applied_epoch, applied_view.count(), l.c_str());
}

// A committed view (every live monitor applied it): the removed cores go into the death feed
// here; monitor 0 also logs it and starts their servers elsewhere.
void committed() {
    mb::CoreSet removed;
    std::uint64_t epoch = 0;
    if (!member.take_commit(removed, epoch)) return;
    for (std::uint32_t c = 0; c < mesh.cores; ++c)
        if (removed.has(c)) deaths::core_lost_committed(c);
    if (!member.is_coordinator()) return;
    char list[256];
    FixedBuffer l(list, sizeof list);
    print_list(l, removed);
    emit("membership epoch={} cores={} removed={}", epoch, member.view().count(), l.c_str());
    servers::cores_lost(removed.w);
}

// ---- kill-core (monitor 0) --------------------------------------------------------------------
std::uint32_t kill_target;
std::uint64_t kill_deadline;
bool kill_done() {
    return (!member.view().has(kill_target) && member.committed() >= member.epoch()) || now_ticks() >= kill_deadline;
}

} // namespace

void init(servers::KernelOption option) {
    char v[16] = {};
    if (!option("monitor.heartbeat", v, sizeof v)) return;
    std::uint64_t ms = 0;
    if (!args::whole_decimal(v, 60'000, ms) || ms < 10) {
        if (mesh.core == 0) print("bad kernel option monitor.heartbeat={}: not a period of 10-60000 ms; core heartbeats off", v);
        return;
    }
    if (topo.cores != mesh.cores) {
        if (mesh.core == 0) print("core heartbeats need the machine's topology: off");
        return;
    }
    const std::uint64_t hz = servers::timer_hz();
    const std::uint64_t beat = (ms * hz + 999) / 1000;
    // A member silent for `misses` beats is suspected; a view it has not acknowledged within
    // 10 beats too. Both generous: under TCG a vCPU can wait long for the host thread.
    const mb::Params params{beat ? beat : 1, 4, 10 * (beat ? beat : 1)};
    const mb::Topology t{{topo.distance, std::size_t{topo.nodes} * topo.nodes}, topo.nodes, {topo.core_node, topo.cores}};
    if (member.init(static_cast<std::uint32_t>(mesh.core), t, params, now_ticks()) != Status::ok) {
        print("core membership: cannot build the tree: heartbeats off");
        return;
    }
    applied_view = member.view();
    period_ms = ms;
    on = true;
}

bool enabled() { return on; }

bool handles(std::uint8_t type) { return type >= member_first && type <= member_last; }

void on_message(std::uint64_t from, const urpc::Message& m) {
    if (m.header.type == core_stop_req) {
        // Only monitor 0 runs the plan; monitors trust each other, but a stray line must not stop a core.
        if (from != 0) {
            ++malformed;
            print("core_stop_req from core {}: only monitor 0 may ask: ignored", from);
            return;
        }
        // Abruptly, as a core dies: what waits in the outbox is lost with it.
        emit("core-stopping core={} by=plan", mesh.core);
        (void)syscall6(abi::Sys::core_stop, kernel_cap);
        return;
    }
    if (!on) {
        ++malformed;
        return;
    }
    mb::Msg msg;
    msg.epoch = m.words[0];
    msg.value = m.words[1];
    switch (m.header.type) {
    case member_beat: msg.kind = mb::Kind::beat; break;
    case member_beat_ack: msg.kind = mb::Kind::beat_ack; break;
    case member_suspect: msg.kind = mb::Kind::suspect; break;
    case member_view:
        msg.kind = mb::Kind::view;
        for (unsigned i = 0; i < 4; ++i) msg.members.w[i] = m.words[1 + i];
        break;
    case member_commit: msg.kind = mb::Kind::commit; break;
    default: msg.kind = mb::Kind::view_ack; break;
    }
    Out out;
    const Status s = member.on(static_cast<std::uint32_t>(from), msg, now_ticks(), out);
    if (s == Status::malformed) {
        ++malformed;
        print("membership line type {} from core {} refused: malformed", m.header.type, from);
    }
    apply();
    out.release();
    committed();
}

void tick() {
    if (!on) return;
    Out out;
    member.tick(now_ticks(), out);
    apply();
    out.release();
    committed();
}

bool run_kill(const char* spec, servers::Waiter wait) {
    std::uint64_t n = 0;
    const char* why = nullptr;
    if (!args::whole_decimal(spec, 100'000, n)) why = "not a core number";
    else if (!on) why = "needs core heartbeats (kernel option monitor.heartbeat=MS, a config's [system] core_heartbeat)";
    else if (n == 0) why = "core 0 coordinates the membership and runs the plan: its death is not survived";
    else if (n >= mesh.cores || !member.view().has(static_cast<std::uint32_t>(n))) why = "no such core in the membership";
    else if (graph_nodes) why = "with monitor.graph=nodes, lines relay through node leaders: not supported";
    else if (mesh.cores > 64) why = "more than 64 cores (name-table proxies): not supported yet";
    if (why) {
        print("kill-core:{}: refused: {}", spec, why);
        emit("core-kill-refused core={}", spec);
        return false;
    }
    kill_target = static_cast<std::uint32_t>(n);
    const std::uint64_t t0 = now_ticks();
    // Detection takes (misses + 1) beats and a view round: allow far more.
    kill_deadline = t0 + 30 * servers::timer_hz() + 20 * ((period_ms * servers::timer_hz() + 999) / 1000);
    emit("core-kill core={} at_tick={}", n, t0);
    send(n, core_stop_req);
    wait(kill_done);
    if (member.view().has(kill_target)) {
        print("kill-core:{}: core {} was not removed from the membership in time", spec, n);
        return false;
    }
    const std::uint64_t ms = (now_ticks() - t0) * 1000 / servers::timer_hz();
    emit("core-lost core={} epoch={} detect_ms={} beat_ms={}", n, member.epoch(), ms, period_ms);
    return true;
}

} // namespace myr::monitor::liveness
