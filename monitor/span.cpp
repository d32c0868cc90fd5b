// Address spaces that span cores, and the unmap experiment (span.hpp, docs/unmap.md).
//
// A span: one dispatcher (program `spanner`) on each of cores 0..N-1, started by its core's
// monitor. Cores share no writable kernel state, so each core's CPU driver keeps its own page
// tables for its dispatcher: the replicas of the span's mappings. Every member maps the same
// shared page (a ring of monitor 0's channel pool, so each monitor can make a capability to it)
// at the same K addresses, one capability copy per address. An unmap of one address runs
// ShootNode (myr/monitor/shootdown.hpp) among the members' monitors: each removes the page from its
// own dispatcher's tables with unmap_at, which drops the TLB entry with it, and acknowledges; the
// unmap returns at the initiator when every acknowledgement is in.
//
// Lines (protocol.hpp, SpanType): span_start (monitor 0 -> members: start your dispatcher),
// span_ready (member -> monitor 0: it mapped its pages, or could not), shoot (between members:
// one ShootMsg), span_end (monitor 0 -> members: the experiment is over), span_gone (member ->
// monitor 0: its dispatcher checked the pages and ended; no capability to the page is left on
// that core).
#include "span.hpp"

#include "binding.hpp"
#include "binding_internal.hpp"
#include "mesh.hpp"
#include "protocol.hpp"

#include <myr/monitor/shootdown.hpp>
#include <myr/user/syscall.hpp>

namespace myr::monitor::span {
namespace {

using namespace myr::user;
namespace bd = binding::detail;

constexpr std::uint64_t span_base = 0x0000'3000'0000'0000;  // where every member maps the page
constexpr std::uint64_t max_pages = 48;                      // capability copies a member holds (64-slot cnode)
constexpr std::uint64_t max_rounds = max_pages / 3;
constexpr ShootProtocol guest_protocols[] = {ShootProtocol::unicast, ShootProtocol::multicast,
                                             ShootProtocol::numa_multicast};
constexpr char program[] = "spanner";

// This core's part in the current span (one at a time per machine).
struct Member {
    bool active = false, ended = false, gone_sent = false;
    std::uint64_t id = 0, owner = 0, members = 0, phys = 0, pages = 0;
    std::uint64_t slot = 0;      // our capability to the page (owner: the ring's own)
    std::uint64_t domain = 0;    // the dispatcher
    std::uint64_t mapped = 0;    // pages it said it mapped
    std::uint64_t reachable = ~0ull;  // pages it could still reach after the end (its report)
    std::uint64_t unmapped = 0, missing = 0, no_domain = 0;  // unmap_at answers here
    ShootPlan plans[4];
    ShootNode node;
} me;

// Monitor 0's side of the step.
struct Run {
    std::uint64_t ready = 0, ready_bad = 0, gone = 0, reachable = 0, faulted = 0, missing = 0, no_domain = 0;
    bool done = false;
    std::uint32_t lines = 0;
    std::uint64_t deadline = 0;  // ticks
} run;
std::uint64_t next_id = 0;

std::uint64_t now_ticks() { return syscall6(abi::Sys::ticks).value; }
bool expired() { return now_ticks() > run.deadline; }
std::uint64_t rdtsc() {
    std::uint32_t lo = 0, hi = 0;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return std::uint64_t{hi} << 32 | lo;
}

struct Env {
    std::uint64_t proto;
    void unmap_local(std::uint64_t vaddr) {
        bd::DomainRec* r = bd::find_domain(me.domain);
        const Status st = r && r->cap ? syscall6(abi::Sys::unmap_at, r->cap, vaddr).status : Status::connection_lost;
        if (st == Status::ok) ++me.unmapped;
        else if (st == Status::not_found) ++me.missing;  // never mapped there: nothing to reach
        else ++me.no_domain;                              // the dispatcher ended: its tables are gone
    }
    void send(std::uint16_t to, const ShootMsg& m) {
        monitor::send(to, shoot, me.id,
                      static_cast<std::uint64_t>(m.type) | std::uint64_t{m.initiator} << 8 | std::uint64_t{m.seq} << 32,
                      m.vaddr, m.lines, 0, proto);
    }
    void post(const ShootMsg&) {}  // broadcast is not run in the guest (span.hpp)
    void done(std::uint32_t, std::uint64_t, std::uint32_t lines) {
        run.done = true;
        run.lines = lines;
    }
};

void to_owner(std::uint8_t type, std::uint64_t w1, std::uint64_t w2 = 0, std::uint64_t w3 = 0);

// span_start at a member (monitor 0 too, for core 0): build the plans, make our capability to the
// page, start the dispatcher. Answered with span_ready when the dispatcher mapped (or at once, on
// a refusal).
void start_here(std::uint64_t from, std::uint64_t id, std::uint64_t members, std::uint64_t phys, std::uint64_t pages,
                std::uint64_t owner_slot) {
    if (me.active) {
        malformed++;
        return (void)send(from, span_ready, id, mesh.core, static_cast<std::uint64_t>(Status::busy));
    }
    me.active = me.ended = me.gone_sent = false;
    me.slot = me.domain = me.mapped = me.unmapped = me.missing = me.no_domain = 0;
    me.reachable = ~0ull;
    me.id = id;
    me.owner = from;
    me.members = members;
    me.phys = phys;
    me.pages = pages;
    me.node.reset(static_cast<std::uint16_t>(mesh.core));
    Status st = Status::ok;
    if (members < 2 || members > mesh.cores || mesh.core >= members || from >= members || pages == 0 ||
        pages > max_pages)
        st = Status::invalid_argument;
    const ShootTopology t{{topo.distance, std::size_t{topo.nodes} * topo.nodes},
                          topo.nodes,
                          {topo.core_node, static_cast<std::size_t>(members)}};
    for (unsigned p = 0; p < 4 && st == Status::ok; ++p)
        st = me.plans[p].build(shoot_protocols[p], t, static_cast<std::uint32_t>(from));
    if (st == Status::ok) {
        const auto s = bd::alloc_slot();
        st = s.status();
        if (s.ok()) {
            // Our capability: a copy of the ring's own on its owner's core; elsewhere the kernel
            // makes one (it checks the address is channel-pool memory).
            st = owner_slot ? syscall6(abi::Sys::cap_copy, owner_slot, *s, 0xffff).status
                            : syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, *s).status;
            if (st == Status::ok) me.slot = *s;
            else bd::slot_used &= ~(std::uint64_t{1} << *s);
        }
    }
    if (st == Status::ok) {
        const SysResult r = servers::start_local(program, sizeof program - 1, id, "", 0);
        st = r.status;
        me.domain = r.value;
    }
    if (st != Status::ok) {
        print("span {}: member on core {} refused: {}", id, mesh.core, to_string(st));
        bd::free_slot(me.slot);
        me.slot = 0;
        return (void)to_owner(span_ready, mesh.core, static_cast<std::uint64_t>(st));
    }
    me.active = true;
}

void to_owner(std::uint8_t type, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3) {
    if (me.owner == mesh.core) {
        urpc::Message m{};
        m.header.type = type;
        m.words[0] = me.id;
        m.words[1] = w1;
        m.words[2] = w2;
        m.words[3] = w3;
        on_message(mesh.core, m);
    } else {
        send(me.owner, type, me.id, w1, w2, w3);
    }
}

// Our dispatcher ended after the end: no capability to the page may stay on this core (the
// owner's own stays with the owner until it frees the ring), then the owner hears it.
void member_gone(std::uint64_t how) {
    if (me.owner != mesh.core) {
        bd::free_slot(me.slot);
        const SysResult r = syscall6(abi::Sys::cap_reclaim_channel, kernel_cap, me.phys, abi::bind_ring_bits);
        if (r.status != Status::ok) print("span {}: reclaim failed: {}", me.id, to_string(r.status));
    } else {
        bd::free_slot(me.slot);
    }
    me.slot = 0;
    me.gone_sent = true;
    to_owner(span_gone, mesh.core, me.reachable | me.missing << 16 | me.no_domain << 32, how);
    me.active = false;
}

// The owner's answers.
void on_ready(const urpc::Message& m) {
    if (m.words[2] == static_cast<std::uint64_t>(Status::ok)) ++run.ready;
    else ++run.ready_bad;
}
void on_gone(const urpc::Message& m) {
    ++run.gone;
    const std::uint64_t reachable = m.words[2] & 0xffff;
    run.reachable += reachable;
    run.missing += m.words[2] >> 16 & 0xffff;
    if ((m.words[3] & 0xff) == static_cast<std::uint64_t>(abi::DomainStatus::faulted)) ++run.faulted;
    run.no_domain += m.words[2] >> 32 & 0xffff;
}

bool all_ready() { return run.ready + run.ready_bad >= me.members || expired(); }
bool shot() { return run.done || expired(); }
bool all_gone() { return run.gone >= me.members || expired(); }

std::uint64_t median(std::uint64_t* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; --j) {
            const std::uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n ? v[n / 2] : 0;
}

bool parse(const char* s, std::uint64_t& out) {
    out = 0;
    if (*s < '0' || *s > '9') return false;
    for (; *s >= '0' && *s <= '9'; ++s) out = out * 10 + static_cast<std::uint64_t>(*s - '0');
    return true;
}

} // namespace

bool handles(std::uint8_t type) { return type >= span_start && type <= span_gone; }

void on_message(std::uint64_t from, const urpc::Message& m) {
    switch (m.header.type) {
    case span_start:
        return start_here(from, m.words[0], m.words[1], m.words[2], m.words[3], 0);
    case span_ready:
    case span_gone:
        // Only for the span this monitor runs, from one of its members.
        if (mesh.core != me.owner || m.words[0] != me.id || from >= me.members || m.words[1] != from) {
            ++malformed;
            return;
        }
        return m.header.type == span_ready ? on_ready(m) : on_gone(m);
    case shoot: {
        if (!me.active || m.words[0] != me.id || from >= me.members || m.words[5] >= 4 ||
            m.words[5] == static_cast<std::uint64_t>(ShootProtocol::broadcast)) {
            ++malformed;
            return;
        }
        ShootMsg s;
        s.type = static_cast<ShootLine>(m.words[1] & 0xff);
        s.initiator = static_cast<std::uint16_t>(m.words[1] >> 8 & 0xffff);
        s.seq = static_cast<std::uint32_t>(m.words[1] >> 32);
        s.vaddr = m.words[2];
        s.lines = static_cast<std::uint32_t>(m.words[3]);
        // The page must be one of the span's: nobody unmaps anything else of the dispatcher.
        if (s.vaddr < span_base || s.vaddr >= span_base + me.pages * 4096 || (s.vaddr & 0xfff)) {
            ++malformed;
            return;
        }
        Env env{m.words[5]};
        const std::uint64_t before = me.node.malformed();
        me.node.receive(me.plans[m.words[5]], static_cast<std::uint16_t>(from), s, env);
        if (me.node.malformed() != before) ++malformed;
        return;
    }
    case span_end:
        if (!me.active || from != me.owner || m.words[0] != me.id) {
            ++malformed;
            return;
        }
        me.ended = true;
        bd::wake_local_domains();  // the dispatcher polls span_poll
        return;
    default: ++malformed;
    }
}

void serve(std::uint64_t who, const std::uint64_t (&w)[4]) {
    if (!me.active || who != me.domain || w[1] != me.id) return (void)bd::reply(Status::not_found);
    if (w[0] == static_cast<std::uint64_t>(abi::MonitorOp::span_join)) {
        // A copy of our capability to the page moves to the dispatcher; it makes the others.
        const auto s = bd::alloc_slot();
        if (!s.ok()) return (void)bd::reply(Status::busy);
        if (const Status st = syscall6(abi::Sys::cap_copy, me.slot, *s, 0xffff).status; st != Status::ok) {
            bd::slot_used &= ~(std::uint64_t{1} << *s);
            return (void)bd::reply(st);
        }
        if (bd::reply(Status::ok, span_base, me.pages, 0, *s)) bd::slot_used &= ~(std::uint64_t{1} << *s);
        else bd::free_slot(*s);
        return;
    }
    // span_poll: w2 = 1: mapped w3 pages; 2: after the end, could still reach w3 pages.
    if (w[2] == 1 && !me.mapped) {
        me.mapped = w[3] ? w[3] : ~0ull;
        to_owner(span_ready, mesh.core, static_cast<std::uint64_t>(w[3] == me.pages ? Status::ok : Status::no_memory));
    } else if (w[2] == 2 && me.ended) {
        me.reachable = w[3] < 0xffff ? w[3] : 0xffff;
    }
    bd::reply(me.ended ? Status::ok : Status::would_block);
}

bool polling() { return me.active && !me.ended; }

void tick() {
    if (!me.active || !me.ended || me.gone_sent) return;
    // The dispatcher touches a page once it reported, and faults: then it is gone.
    bd::DomainRec* r = bd::find_domain(me.domain);
    std::uint64_t how = abi::death_unknown;
    if (r && r->cap) {
        const SysResult st = syscall6(abi::Sys::domain_status, r->cap);
        if (st.status == Status::ok && (st.value & 0xff) <= static_cast<std::uint64_t>(abi::DomainStatus::blocked)) return;
        if (st.status == Status::ok) how = st.value;
    }
    member_gone(how);
}

bool run_step(const char* args, servers::Waiter wait) {
    std::uint64_t n = 0, rounds = 16;
    const char* colon = args;
    while (*colon && *colon != ':') ++colon;
    if (!parse(args, n) || (*colon && !parse(colon + 1, rounds)) || n < 2 || n > mesh.cores || rounds == 0 ||
        rounds > max_rounds || mesh.core != 0) {
        print("unmap: refused: unmap:N[:R] with 2 <= N <= {} cores and 1 <= R <= {}, on monitor 0", mesh.cores, max_rounds);
        return false;
    }
    for (std::uint64_t c = 0; c < n; ++c)
        if (!mesh_alive(c)) {
            print("unmap: refused: core {} is not in the membership", c);
            return false;
        }
    if (me.active) {
        print("unmap: refused: a span is running");
        return false;
    }
    std::uint64_t ring_slot = 0, phys = 0;
    if (const Status st = binding::take_own_ring(ring_slot, phys); st != Status::ok) {
        print("unmap: refused: no ring for the span's page: {}", to_string(st));
        return false;
    }
    const std::uint64_t pages = rounds * (sizeof guest_protocols / sizeof guest_protocols[0]);
    const std::uint64_t hz = servers::timer_hz();
    run = Run{};  // small
    run.deadline = now_ticks() + 60 * hz;
    const std::uint64_t id = ++next_id;
    start_here(mesh.core, id, n, phys, pages, ring_slot);
    for (std::uint64_t c = 1; c < n; ++c) send(c, span_start, id, n, phys, pages);
    wait(all_ready);
    bool ok = run.ready == n;
    if (!ok) print("unmap: {} of {} members mapped the page ({} refused)", run.ready, n, run.ready_bad);
    std::uint64_t page = 0;
    for (std::size_t pi = 0; ok && pi < sizeof guest_protocols / sizeof guest_protocols[0]; ++pi) {
        const auto proto = static_cast<std::uint64_t>(guest_protocols[pi]);
        const ShootPlan& plan = me.plans[proto];
        std::uint64_t ticks[max_rounds] = {};
        std::uint64_t lines_bad = 0;
        for (std::uint64_t r = 0; ok && r < rounds; ++r, ++page) {
            Env env{proto};
            run.done = false;
            run.deadline = now_ticks() + 20 * hz;
            const std::uint64_t t0 = rdtsc();
            if (me.node.start(plan, span_base + page * 4096, env) != Status::ok) {
                ok = false;
                break;
            }
            wait(shot);
            ticks[r] = rdtsc() - t0;
            if (!run.done) {
                print("unmap: {} round {}: no answer from every member in 20 s", shoot_protocol_name(guest_protocols[pi]), r);
                ok = false;
            }
            lines_bad += run.lines != plan.request_lines() + plan.ack_lines();
        }
        if (!ok) break;
        std::uint64_t max = 0;
        for (std::uint64_t r = 0; r < rounds; ++r) max = ticks[r] > max ? ticks[r] : max;
        emit("bench-unmap cores={} members={} protocol={} rounds={} ticks-p50={} ticks-max={} lines={} hops={} "
             "initiator-lines={} cross-node={} lines-miscounted={}",
             mesh.cores, n, shoot_protocol_name(guest_protocols[pi]), rounds, median(ticks, static_cast<unsigned>(rounds)),
             max, plan.request_lines() + plan.ack_lines(), plan.critical_path_hops(), plan.initiator_lines(),
             plan.cross_node_lines({topo.core_node, static_cast<std::size_t>(n)}), lines_bad);
        ok = lines_bad == 0;
    }
    // The end: every member's dispatcher checks every page, reports, touches one and faults.
    run.deadline = now_ticks() + 60 * hz;
    for (std::uint64_t c = 0; c < n; ++c) {
        if (c == mesh.core) {
            if (me.active) me.ended = true, bd::wake_local_domains();
        } else {
            send(c, span_end, id);
        }
    }
    wait(all_gone);
    const bool all_back = run.gone == n;
    // faulted: members whose end its monitor saw as a fault before the record went (the kernel's
    // domain-fault lines are the full count).
    emit("unmap-span members={} pages={} gone={} reachable={} missing={} no-dispatcher={} faulted-seen={}", n, pages,
         run.gone, run.reachable, run.missing, run.no_domain, run.faulted);
    if (all_back) {
        binding::release_own_ring(ring_slot, phys);
    } else {
        print("unmap: {} of {} members did not end: the page stays in use", n - run.gone, n);
        me.active = false;
    }
    return ok && all_back && run.reachable == 0 && run.missing == 0 && run.no_domain == 0 && page == pages;
}

} // namespace myr::monitor::span
