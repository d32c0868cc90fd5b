// Supervision of this core's server instances, and moving configured instances off cores the
// membership removed (servers.hpp; docs/monitors.md "Supervision", "Membership and core
// failure"). The decisions are the pure supervision::Supervisor's (myr/monitor/supervisor.hpp).
#include "binding.hpp"
#include "liveness.hpp"
#include "mesh.hpp"
#include "servers_state.hpp"

#include <myr/monitor/placement.hpp>
#include <myr/monitor/protocol.hpp>
#include <myr/monitor/supervisor.hpp>

namespace myr::monitor::servers {
namespace detail {

using namespace myr::user;

// ---- Supervision (docs/monitors.md, "Supervision") --------------------------------------------
// The decisions (heartbeat deadlines, crash or not, restart after the backoff or down for good)
// are the pure supervision::Supervisor's (myr/monitor/supervisor.hpp), host-simulated; this file
// keeps what identifies each slot's instance (its server table and argument string, which holds
// replica=I), starts and kills its domains, and writes the log lines. An instance of a configured
// server with a restart policy or a heartbeat gets a slot at its first start; a crashed one is
// started again on this core with the same argument string.
namespace sv = supervision;
struct SlotInfo {
    std::uint16_t server;
    std::uint8_t len;
    char text[max_args];
};
constexpr unsigned max_supervised = 16;
sv::Supervisor<max_supervised> sup;
SlotInfo slot_info[max_supervised];
std::uint64_t restarted_fault_count, restarted_exit_count;  // crashes the policy restarted (see restarted_faults)
std::uint64_t hz_cached;

std::uint64_t now_ticks() { return syscall6(abi::Sys::ticks).value; }
std::uint64_t hz() {
    if (hz_cached == 0) {
        char v[16];
        hz_cached = 100;
        if (kernel_option("timer_hz", v, sizeof v)) {
            std::uint64_t n = 0;
            if (args::whole_decimal(v, 100'000, n) && n > 0) hz_cached = n;
        }
        sup.set_hz(hz_cached);
    }
    return hz_cached;
}

// The configured server a record is an instance of: its program, its table's words first, and a
// `replicas=` word (what start_instance gives every instance); max_servers when none.
unsigned server_of(const Started& r) {
    if (!args::value(r.text, r.len, "replicas").found) return max_servers;
    for (unsigned i = 0; i < server_count; ++i) {
        const Server& s = configured[i];
        if (!same(s.program, r.program) || s.len > r.len) continue;
        bool prefix = true;
        for (unsigned k = 0; k < s.len; ++k) prefix = prefix && s.text[k] == r.text[k];
        if (prefix) return i;
    }
    return max_servers;
}

bool supervised_server(unsigned server) {
    return server < max_servers &&
           (configured[server].policy.kind != supervise::Kind::never || configured[server].heartbeat_ms != 0);
}

// The slot of a configured instance starting as `r`: the one of the same instance (same server
// and argument string) that is not running, else a new one; -1 when unsupervised or full.
int slot_for(const Started& r) {
    (void)load(false);
    (void)hz();
    const unsigned server = server_of(r);
    if (!supervised_server(server)) return -1;
    for (unsigned i = 0; i < max_supervised; ++i) {
        const int slot = static_cast<int>(i);
        if (!sup.used(slot) || sup.running(slot) || slot_info[i].server != server || slot_info[i].len != r.len) continue;
        bool eq = true;
        for (unsigned k = 0; k < r.len; ++k) eq = eq && slot_info[i].text[k] == r.text[k];
        if (eq) return slot;
    }
    const int slot = sup.add(configured[server].policy, configured[server].heartbeat_ms);
    if (slot < 0) return -1;
    SlotInfo& info = slot_info[slot];
    info.server = static_cast<std::uint16_t>(server);
    info.len = r.len;
    copy(info.text, r.text, r.len);
    return slot;
}

sv::End end_of(std::uint64_t how) {
    const auto state = static_cast<abi::DomainStatus>(how & 0xffffffff);
    if ((how & 0xffffffff) == abi::death_unknown) return sv::End::unknown;
    if (state == abi::DomainStatus::faulted) return sv::End::faulted;
    if (state == abi::DomainStatus::exited) return (how >> 32) == 0 ? sv::End::exit_ok : sv::End::exit_failed;
    if (state == abi::DomainStatus::killed) return sv::End::killed;
    return sv::End::unknown;
}

void reason(FixedBuffer& out, sv::End e, std::uint64_t how) {
    switch (e) {
    case sv::End::hung: format_to(out, "hung"); break;
    case sv::End::injected: format_to(out, "injected"); break;
    case sv::End::faulted: format_to(out, "fault:{}", how >> 32); break;
    case sv::End::exit_failed:
    case sv::End::exit_ok: format_to(out, "exit:{}", how >> 32); break;
    default: format_to(out, "unknown"); break;
    }
}

// The log line of a crash the supervisor decided on (nothing for a server under `never`: it is
// not restarted, and was never said to be).
void report(int slot, std::uint32_t domain, const sv::Outcome& o, std::uint64_t how) {
    if (o.kind == sv::Outcome::Kind::none) return;
    if (o.kind == sv::Outcome::Kind::down) binding::kept_release(slot);  // no instance of it will run again here
    const Server& s = configured[slot_info[slot].server];
    if (s.policy.kind == supervise::Kind::never) return;
    char why[24];
    FixedBuffer w(why, sizeof why);
    reason(w, o.how, how);
    if (o.kind == sv::Outcome::Kind::down) {
        emit("server-down name={} core={} domain={} reason={} restarts={} why=budget", s.name, mesh.core, domain, w.c_str(),
             o.restarts);
        return;
    }
    // The kernel counted this end as a fault or a failed exit; restarted, it is handled (a hung or
    // injected crash was a kill, counted apart already).
    if (o.how == sv::End::faulted) ++restarted_fault_count;
    else if (o.how == sv::End::exit_failed) ++restarted_exit_count;
    emit("server-crash name={} core={} domain={} reason={} restart_in_ms={} at_tick={}", s.name, mesh.core, domain, w.c_str(),
         o.delay_ms, now_ticks());
}

// An instance moved here from a removed core (tag_move): supervised like one this monitor
// restarted, so its restarts() says it is not a first start (it recovers its state).
void adopt(std::uint64_t domain) {
    const Started* r = record_of(domain);
    if (r && r->slot >= 0) sup.adopted(r->slot, static_cast<std::uint32_t>(domain), now_ticks());
}

void supervise_started(Started& rec) {
    rec.slot = slot_for(rec);
    if (rec.slot >= 0) sup.started(rec.slot, rec.domain, now_ticks());
}

void supervise_stale(const Started& rec) {
    if (rec.slot >= 0 && sup.domain(rec.slot) == rec.domain) (void)sup.ended(rec.slot, sv::End::killed, now_ticks());
}

void supervise_ended(const Started& rec, std::uint64_t how) {
    const sv::End end = rec.injected ? sv::End::injected : end_of(how);
    if (rec.slot >= 0 && sup.running(rec.slot) && sup.domain(rec.slot) == rec.domain) {
        report(rec.slot, rec.domain, sup.ended(rec.slot, end, now_ticks()), how);
        return;
    }
    if (rec.slot >= 0 || !sv::is_crash(end)) return;
    // An instance of a server with a policy that found no slot free: it stays down.
    (void)load(false);
    const unsigned server = server_of(rec);
    if (server < max_servers && configured[server].policy.kind != supervise::Kind::never) {
        char why[24];
        FixedBuffer w(why, sizeof why);
        reason(w, end, how);
        emit("server-down name={} core={} domain={} reason={} restarts=0 why=table-full", configured[server].name, mesh.core,
             rec.domain, w.c_str());
    }
}

Answer heartbeat(std::uint64_t domain) {
    const Started* rec = record_of(domain);
    const int slot = rec ? rec->slot : -1;
    const std::uint64_t restarts = sup.restarts(slot);
    const std::uint64_t period = slot >= 0 && sup.domain(slot) == domain ? sup.beat(slot, now_ticks()) : 0;
    if (period == 0) return {Status::ok, 0, 0, 0, restarts};
    return {Status::ok, 0, sup.beat_ms(slot), period, restarts};
}

} // namespace detail

using namespace detail;

void supervise_tick() {
    if (sup.idle()) return;
    const std::uint64_t now = now_ticks();
    sv::Action a;
    while (sup.next(now, a)) {
        const SlotInfo& info = slot_info[a.slot];
        const Server& s = configured[info.server];
        if (a.kind == sv::Action::Kind::kill_hung) {
            // A missed heartbeat: ended as hung (its end then counts as a crash).
            emit("server-hung name={} core={} domain={} heartbeat_ms={}", s.name, mesh.core, a.domain, sup.beat_ms(a.slot));
            if (const Status ks = binding::kill(a.domain); ks != Status::ok) {
                // It ended already (its end is being reported), or we cannot end it (started without
                // a domain cap kept: our cnode was short of slots). Either way, watch it no more:
                // reporting it again every tick would flood the log.
                sup.kill_failed(a.slot);
                print("cannot end hung domain {}: {}", a.domain, to_string(ks));
            }
            continue;
        }
        const SysResult r = start_local(s.program, length(s.program, name_max), ~0ull, info.text, info.len);
        const sv::Outcome o = sup.restarted(a.slot, r.status == Status::ok, static_cast<std::uint32_t>(r.value), now);
        if (r.status == Status::ok) {
            emit("server-restart name={} core={} domain={} old={} restarts={}", s.name, mesh.core, r.value, a.domain, o.restarts);
        } else {
            // Counts against the budget like a crash: a program that cannot start stays down.
            print("cannot restart {} on core {}: {}", s.name, mesh.core, to_string(r.status));
            report(a.slot, a.domain, o, static_cast<std::uint64_t>(abi::death_unknown));
        }
    }
}

std::uint64_t timer_hz() { return hz(); }

int instance_slot(std::uint64_t domain) {
    const Started* r = record_of(domain);
    if (!r || r->slot < 0 || !sup.running(r->slot) || sup.domain(r->slot) != domain) return -1;
    return r->slot;
}

std::uint32_t restarts_of(std::uint64_t domain) {
    return sup.restarts(sup.slot_of(static_cast<std::uint32_t>(domain)));
}

// The configured instances as placement::move_lost reads and updates them.
struct Homes {
    [[nodiscard]] unsigned servers() const { return server_count; }
    [[nodiscard]] unsigned count(unsigned s) const { return configured[s].count; }
    [[nodiscard]] bool restarts(unsigned s) const { return configured[s].policy.kind != supervise::Kind::never; }
    std::uint16_t& home(unsigned s, unsigned i) { return configured[s].cores[i]; }
};

// ---- A new coordinator's placement table (servers.hpp, taking_over) ----------------------------
namespace {
// While it gathers every monitor's moves, removals wait in `deferred`.
bool merging;
Awaited merge_wait;  // the monitors whose moves have not all come in
std::uint64_t deferred[max_cores / 64];
// Test hook (kernel option monitor.placed_only=C): the coordinator tells each move to core C
// alone, as if its broadcast were cut short (qemu_core0_placement); with a C the machine does not
// have, to nobody (qemu_core0_placement_unheard: only the core that starts the instance knows).
std::uint64_t placed_only = ~0ull;
bool placed_only_read;

void tell_move(unsigned server, unsigned index, std::uint64_t to, std::uint64_t moves) {
    if (!placed_only_read) {
        placed_only_read = true;
        char v[8];
        std::uint64_t c = 0;
        if (kernel_option("monitor.placed_only", v, sizeof v) && args::whole_decimal(v, max_cores - 1, c)) placed_only = c;
    }
    if (placed_only == ~0ull) broadcast(server_placed, server, index, to, moves);  // every monitor's table follows
    else if (placed_only != mesh.core && mesh_alive(placed_only)) send(placed_only, server_placed, server, index, to, moves);
}

} // namespace

void cores_lost(const std::uint64_t* removed_bits) {
    if (merging) {  // the table is not whole yet: moved once every monitor answered (placement_tick)
        for (unsigned w = 0; w < max_cores / 64; ++w) deferred[w] |= removed_bits[w];
        return;
    }
    auto removed = [&](std::uint32_t c) { return c < max_cores && (removed_bits[c / 64] >> (c % 64) & 1) != 0; };
    const bool have_topo = topo.cores == mesh.cores;
    const placement::Topology t{static_cast<std::uint32_t>(mesh.cores), have_topo ? static_cast<std::uint32_t>(topo.nodes) : 1,
                                have_topo ? topo.core_node : nullptr, have_topo ? topo.distance : nullptr};
    Homes homes;
    placement::move_lost(homes, t, removed, [](std::uint32_t c) { return mesh_alive(c); }, [](const placement::Move& m) {
        Server& sv = configured[m.server];
        if (m.never) {
            emit("server-lost name={} replica={} core={} why=restart-never", sv.name, m.index, m.from);
            return;
        }
        char text[max_args] = {};
        const std::uint64_t len = instance_text(sv, m.index, text);
        if (m.to == placement::no_core || len == 0) {
            emit("server-lost name={} replica={} core={} why=no-core", sv.name, m.index, m.from);
            return;
        }
        emit("server-move name={} replica={} from={} to={}", sv.name, m.index, m.from, m.to);
        tell_move(m.server, m.index, m.to, ++sv.moves[m.index]);
        const std::uint64_t tag = tag_move | std::uint64_t{sv.moves[m.index]} << 16 | std::uint64_t{m.server} << 8 | m.index;
        if (m.to == mesh.core) {
            const SysResult r = start_local(sv.program, length(sv.program, name_max), ~0ull, text, len);
            if (r.status == Status::ok) {
                adopt(r.value);
                emit("server-moved name={} replica={} core={} domain={}", sv.name, m.index, m.to, r.value);
            } else {
                emit("server-lost name={} replica={} core={} why=start-failed status={}", sv.name, m.index, m.to,
                     static_cast<int>(r.status));
            }
            return;
        }
        send_spawn(m.to, tag, sv.program, length(sv.program, name_max), text, len);
    });
}

namespace {
// One move of an instance, heard from the coordinator or, at a new one, from any monitor: the
// later move (more moves) wins; false when it names no instance or core.
bool take_move(std::uint64_t server, std::uint64_t index, std::uint64_t core, std::uint64_t moves) {
    if (server >= server_count || index >= configured[server].count || core >= mesh.cores || moves > 0xffff) return false;
    Server& s = configured[server];
    if (moves > s.moves[index]) {
        s.cores[index] = static_cast<std::uint16_t>(core);
        s.moves[index] = static_cast<std::uint16_t>(moves);
    }
    return true;
}
} // namespace

void detail::moved_here(std::uint64_t tag) {
    if (!take_move((tag >> 8) & 0xff, tag & 0xff, mesh.core, (tag >> 16) & 0xffff))
        print("spawn tag {:#x}: a move of no such instance: not recorded", tag);
}

void on_placed(std::uint64_t from, const urpc::Message& m) {
    const std::uint64_t server = m.words[0], index = m.words[1], core = m.words[2];
    if (!liveness::enabled() || from != liveness::coordinator() || !take_move(server, index, core, m.words[3])) {
        ++malformed;
        print("server_placed [{}, {}, {}] from core {} refused: not the coordinator's, or no such instance or core",
              server, index, core, from);
    }
}

void taking_over() {
    merging = true;
    merge_wait.reset();
    // One line to each monitor, not down the tree: the old coordinator is still in our view, and
    // a broadcast it was to forward would miss its subtree.
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core && mesh_alive(c)) {
            merge_wait.ask(c);
            send(c, placed_req);
        }
}

void on_placed_request(std::uint64_t from) {
    std::uint64_t n = 0;
    for (unsigned s = 0; s < server_count; ++s)
        for (unsigned i = 0; i < configured[s].count; ++i)
            if (configured[s].moves[i]) send(from, placed_is, s, i, configured[s].cores[i], configured[s].moves[i]), ++n;
    send(from, placed_end, n);
}

void on_placed_is(std::uint64_t from, const urpc::Message& m) {
    if (!merging || !merge_wait.has(from) || !take_move(m.words[0], m.words[1], m.words[2], m.words[3])) {
        ++malformed;
        print("placed_is [{}, {}, {}, {}] from core {} refused: not asked, or no such instance or core", m.words[0],
              m.words[1], m.words[2], m.words[3], from);
    }
}

void on_placed_end(std::uint64_t from) {
    (void)merge_wait.got(from);
}

void placement_tick() {
    if (!merging || !merge_wait.done()) return;
    merging = false;
    log_placement();
    std::uint64_t waiting[max_cores / 64];
    bool any = false;
    for (unsigned w = 0; w < max_cores / 64; ++w) {
        waiting[w] = deferred[w];
        deferred[w] = 0;
        any = any || waiting[w] != 0;
    }
    if (any) cores_lost(waiting);
}

void log_placement() {
    for (unsigned s = 0; s < server_count; ++s)
        for (unsigned i = 0; i < configured[s].count; ++i)
            emit("placement name={} replica={} core={}", configured[s].name, i, configured[s].cores[i]);
}

std::uint64_t restarted_faults() { return restarted_fault_count; }
std::uint64_t restarted_exits() { return restarted_exit_count; }

} // namespace myr::monitor::servers
