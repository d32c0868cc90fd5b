// Core membership in the monitor (liveness.hpp).
#include "liveness.hpp"

#include "binding.hpp"
#include "deaths.hpp"
#include "mesh.hpp"
#include "names.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/args.hpp>
#include <myr/monitor/election.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::liveness {
namespace {

using namespace myr::user;
namespace el = myr::monitor::election;

bool on;
el::Member member;
std::uint64_t period_ms;
std::uint64_t applied_term = 0, applied_epoch = 1;  // the view this monitor last applied (mesh, deaths)
el::CoreSet applied_view;
std::uint64_t reported_term = 0;  // the last term this monitor said it coordinates
std::uint32_t last_other = 0;     // the last coordinator this monitor knew other than itself
std::uint32_t former = el::none;  // when this monitor coordinates: the one before it
bool stopping;

std::uint64_t now_ticks() { return syscall6(abi::Sys::ticks).value; }

// A view's acknowledgement waits until this monitor applied the view (apply()): once the
// coordinator has every acknowledgement, no live monitor holds anything of a removed core (its
// frames' copies, rings, bindings), and the commit may say so to every domain.
struct Out {
    bool ack_held = false;
    std::uint32_t ack_to = 0;
    el::Msg ack;
    void send(std::uint32_t to, const el::Msg& m) {
        switch (m.kind) {
        case el::Kind::beat: monitor::send(to, member_beat, m.term, m.epoch, m.value); break;
        case el::Kind::beat_ack: monitor::send(to, member_beat_ack, m.term, m.epoch, m.value); break;
        case el::Kind::suspect: monitor::send(to, member_suspect, m.term, m.epoch, m.value); break;
        case el::Kind::view: {
            // Also to a core this monitor cut off before: the view that removes it again must reach
            // it, or it never learns that it is out (election.hpp, "Cores cut off").
            const std::uint64_t w[urpc::payload_words] = {m.term, m.epoch, m.value, m.members.w[0], m.members.w[1],
                                                          m.members.w[2], m.members.w[3]};
            send_past_cut(to, member_view, w);
            break;
        }
        case el::Kind::view_ack:
            ack_held = true;  // to the coordinator, after apply()
            ack_to = to;
            ack = m;
            break;
        case el::Kind::commit: monitor::send(to, member_commit, m.term, m.epoch, m.value); break;
        case el::Kind::vote_req:
        case el::Kind::vote:
        case el::Kind::prevote_req:
        case el::Kind::prevote:
            monitor::send(to, member_elect, static_cast<std::uint64_t>(m.kind), m.term, m.epoch, m.value);
            break;
        }
    }
    void release() {
        if (ack_held) monitor::send(ack_to, member_view_ack, ack.term, ack.epoch, ack.value);
        ack_held = false;
    }
};

void print_list(FixedBuffer& out, const el::CoreSet& s) {
    bool first = true;
    for (std::uint32_t c = 0; c < el::max_cores; ++c)
        if (s.has(c)) {
            format_to(out, "{}{}", first ? "" : ",", c);
            first = false;
        }
    if (first) format_to(out, "none");
}

// A view newer than the one applied: cut the removed cores off, or stop this core.
// A core cut off stays cut off: a newer term's view may hold it again (an older coordinator's
// view removed it and was never chosen), and then this monitor tells the coordinator
// (election.hpp), which removes it; the view that does is applied here like any other.
void apply() {
    if (member.epoch() == applied_epoch && member.view_term() == applied_term) return;
    const el::CoreSet gone = applied_view.minus(member.view());
    applied_epoch = member.epoch();
    applied_term = member.view_term();
    applied_view = member.view();
    if (member.excluded()) {
        if (stopping) return;
        stopping = true;
        emit("core-excluded core={} term={} epoch={}", mesh.core, applied_term, applied_epoch);
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
    emit("membership-view core={} term={} epoch={} cores={} removed={}", mesh.core, applied_term, applied_epoch,
         applied_view.count(), l.c_str());
}

// A core elected coordinator says so once per term.
void report_coordinator() {
    const std::uint32_t co = member.coordinator();
    if (co != el::none && co != mesh.core) last_other = co;
    if (!member.is_coordinator() || member.term() == reported_term) return;
    reported_term = member.term();
    former = last_other;
    emit("membership-coordinator core={} term={} epoch={} cores={}", mesh.core, member.term(), member.epoch(),
         member.view().count());
    servers::taking_over();  // the moves every monitor heard of, then the table it moves lost instances from
}

// A committed view (every live monitor applied it): the removed cores go into the death feed
// here; monitor 0 also logs it and starts their servers elsewhere.
void committed() {
    el::CoreSet removed;
    std::uint64_t epoch = 0;
    if (!member.take_commit(removed, epoch)) return;
    for (std::uint32_t c = 0; c < mesh.cores; ++c)
        if (removed.has(c)) deaths::core_lost_committed(c);
    if (!member.is_coordinator()) return;
    char list[256];
    FixedBuffer l(list, sizeof list);
    print_list(l, removed);
    emit("membership coordinator={} term={} epoch={} cores={} removed={}", mesh.core, member.view_term(), epoch,
         member.committed_view().count(), l.c_str());
    if (former != el::none && removed.has(former)) {
        // How long the coordinator before us was silent, on this core's clock: from the last line
        // heard from it to the commit of the view without it.
        const std::uint64_t ms = (now_ticks() - member.heard_at()) * 1000 / servers::timer_hz();
        emit("coordinator-lost core={} term={} epoch={} silent_ms={} beat_ms={}", former, member.view_term(), epoch, ms,
             period_ms);
        former = el::none;
    }
    servers::cores_lost(removed.w);
}

// After every step: apply a new view, then acknowledge it, then act on commits.
void settle(Out& out) {
    apply();
    out.release();
    report_coordinator();
    committed();
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
    // 10 beats too; a coordinator unheard for 10 beats (times 1 + the core's rank) is replaced.
    // All generous: under TCG a vCPU can wait long for the host thread.
    const std::uint64_t b = beat ? beat : 1;
    const el::Params params{b, 4, 10 * b, 10 * b};
    const el::Topology t{{topo.distance, std::size_t{topo.nodes} * topo.nodes}, topo.nodes, {topo.core_node, topo.cores}};
    if (member.init(static_cast<std::uint32_t>(mesh.core), t, params, now_ticks()) != Status::ok) {
        print("core membership: cannot build the tree: heartbeats off");
        return;
    }
    applied_view = member.view();
    period_ms = ms;
    on = true;
}

bool enabled() { return on; }

bool view_committed() { return on && member.committed() >= member.epoch(); }

std::uint32_t coordinator() { return member.coordinator(); }

bool handles(std::uint8_t type) { return type >= member_first && type <= member_last; }

void on_message(std::uint64_t from, const urpc::Message& m) {
    if (m.header.type == core_stop_req) {
        // Only the plan's runner (the coordinator) asks; monitors trust each other, but a stray
        // line must not stop a core.
        if (!on || from != member.coordinator()) {
            ++malformed;
            print("core_stop_req from core {}: only the membership's coordinator may ask: ignored", from);
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
    el::Msg msg;
    msg.term = m.words[0];
    msg.epoch = m.words[1];
    msg.value = m.words[2];
    switch (m.header.type) {
    case member_beat: msg.kind = el::Kind::beat; break;
    case member_beat_ack: msg.kind = el::Kind::beat_ack; break;
    case member_suspect: msg.kind = el::Kind::suspect; break;
    case member_view:
        msg.kind = el::Kind::view;
        for (unsigned i = 0; i < 4; ++i) msg.members.w[i] = m.words[3 + i];
        break;
    case member_commit: msg.kind = el::Kind::commit; break;
    case member_view_ack: msg.kind = el::Kind::view_ack; break;
    default: {
        // member_elect: [kind, term, epoch, value]
        const std::uint64_t k = m.words[0];
        if (k < static_cast<std::uint64_t>(el::Kind::vote_req) || k > static_cast<std::uint64_t>(el::Kind::prevote)) {
            ++malformed;
            print("membership election line kind {} from core {} refused: malformed", k, from);
            return;
        }
        msg.kind = static_cast<el::Kind>(k);
        msg.term = m.words[1];
        msg.epoch = m.words[2];
        msg.value = m.words[3];
        break;
    }
    }
    Out out;
    const Status s = member.on(static_cast<std::uint32_t>(from), msg, now_ticks(), out);
    // Ignored lines are counted by the protocol; only those no monitor may send are logged. An
    // election line refused as busy or stale is normal (a candidate that did not hear us).
    if (s == Status::malformed) {
        ++malformed;
        print("membership line type {} from core {} refused: malformed", m.header.type, from);
    }
    settle(out);
}

void tick() {
    if (!on) return;
    Out out;
    member.tick(now_ticks(), out);
    settle(out);
    servers::placement_tick();
}

bool run_kill(const char* spec, servers::Waiter wait) {
    std::uint64_t n = 0;
    const char* why = nullptr;
    if (!args::whole_decimal(spec, 100'000, n)) why = "not a core number";
    else if (!on) why = "needs core heartbeats (kernel option monitor.heartbeat=MS, a config's [system] core_heartbeat)";
    else if (n >= mesh.cores || !member.view().has(static_cast<std::uint32_t>(n))) why = "no such core in the membership";
    else if (n == mesh.core && member.view().count() < 3)
        why = "the cores left would not be a majority of the view: no coordinator could be elected";
    else if (graph_nodes) why = "with monitor.graph=nodes, lines relay through node leaders: not supported";
    else if (mesh.cores > 64) why = "more than 64 cores (name-table proxies): not supported yet";
    if (why) {
        print("kill-core:{}: refused: {}", spec, why);
        emit("core-kill-refused core={}", spec);
        return false;
    }
    kill_target = static_cast<std::uint32_t>(n);
    const std::uint64_t t0 = now_ticks();
    if (n == mesh.core) {
        // The plan's own core (the coordinator): the others elect a coordinator and remove this
        // core (it logs coordinator-lost), and the new one runs the plan's later steps (plan.cpp).
        // This step's announcement leaves first (at most a few beats' wait), so the new runner
        // knows this step began and does not stop core 0 again.
        kill_deadline = t0 + 5 * ((period_ms * servers::timer_hz() + 999) / 1000);
        wait([] { return queued() == 0 || now_ticks() >= kill_deadline; });
        emit("core-kill core={} at_tick={}", n, t0);
        emit("core-stopping core={} by=plan", mesh.core);
        (void)syscall6(abi::Sys::core_stop, kernel_cap);
        return false;  // not reached: the core halts
    }
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
