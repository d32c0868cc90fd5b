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
// Transport per protocol: unicast, multicast and numa-multicast send mesh lines and the members
// poll their inboxes without sleeping; broadcast writes one line in a second shared page that every
// member's monitor maps in its own address space and polls (only the span's first core writes it);
// ipi sends unicast's mesh lines to members that sleep, each line's inter-processor interrupt
// (the mesh sends one with every line) waking its receiver.
//
// Lines: protocol.hpp, SpanType.
#include "span.hpp"

#include "binding.hpp"
#include "binding_internal.hpp"
#include "mesh.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/monitor/shootdown.hpp>
#include <myr/user/measure.hpp>
#include <myr/user/syscall.hpp>
#include <myr/user/vspace.hpp>

#include <atomic>

namespace myr::monitor::span {
namespace {

using namespace myr::user;
namespace bd = binding::detail;

constexpr std::uint64_t span_base = 0x0000'3000'0000'0000;  // where every member maps the page
constexpr std::uint64_t line_vaddr = 0x0000'3100'0000'0000;  // where monitors map the broadcast line
constexpr std::uint64_t max_pages = 52;                      // capability copies a member holds (64-slot cnode)
constexpr ShootProtocol step_protocols[] = {ShootProtocol::broadcast, ShootProtocol::unicast, ShootProtocol::multicast,
                                            ShootProtocol::numa_multicast, ShootProtocol::ipi};
constexpr std::uint64_t step_protocol_count = sizeof step_protocols / sizeof step_protocols[0];
constexpr std::uint64_t max_rounds = (max_pages - 2) / step_protocol_count;  // + a warm-up + the dispatcher's own
constexpr char program[] = "spanner";

// The broadcast line: written by the span's first core (seq last, with release), read by the others.
struct BroadcastLine {
    std::atomic<std::uint64_t> seq;
    std::uint64_t vaddr;
};

// This core's part in the current span (one at a time per machine).
struct Member {
    bool active = false, go = false, poll = true, ended = false, gone_sent = false;
    bool aborted = false;  // the span ended before its unmaps (a member refused): the dispatcher is ended
    std::uint64_t id = 0, owner = 0, members = 0, phys = 0, line_phys = 0, pages = 0;
    std::uint64_t slot = 0, line_slot = 0;  // our capabilities to the page and to the broadcast line
    BroadcastLine* line = nullptr;          // mapped here while the span runs
    std::uint64_t line_seen = 0;
    std::uint64_t domain = 0;    // the dispatcher
    std::uint64_t mapped = 0;    // pages it said it mapped
    std::uint64_t reachable = ~0ull;  // pages it could still reach after the end (its report)
    std::uint64_t missing = 0, no_domain = 0;  // unmap_at answers here other than ok
    // The dispatcher's own unmap (MonitorOp::span_unmap): 0 none, 1 running, 2 done.
    unsigned user_state = 0;
    std::uint64_t user_vaddr = 0;
    ShootPlan plans[shoot_protocol_count];  // initiator: the span's first core
    ShootPlan scratch;                       // for another initiator (rebuilt when it changes)
    std::uint64_t scratch_key = ~0ull;
    ShootNode node;
} me;
std::uint64_t line_tables[3];  // page-table slots for the broadcast line's mapping, kept for later spans

// Monitor 0's side of the step.
struct Run {
    std::uint64_t ready = 0, ready_bad = 0, gone = 0, reachable = 0, faulted = 0, missing = 0, no_domain = 0;
    std::uint64_t refused = 0;
    // Members that refused to join (span_ready with "not in the span"): they hold nothing of the
    // span and hear nothing more of it; they count as gone.
    bool out[abi::topo_max_cores] = {};
    std::uint64_t user_result = 0;  // span_unmapped's result (0: not heard yet)
    bool done = false;
    std::uint32_t lines = 0;
    std::uint64_t deadline = 0;  // ticks
} run;
std::uint64_t next_id = 0;

std::uint64_t now_ticks() { return syscall6(abi::Sys::ticks).value; }
bool expired() { return now_ticks() > run.deadline; }

bool shared_topology(ShootTopology& t) {
    t = {{topo.distance, std::size_t{topo.nodes} * topo.nodes}, topo.nodes, {topo.core_node, static_cast<std::size_t>(me.members)}};
    return me.members <= topo.cores;
}

// The plan for lines of `initiator` by protocol p (null: cannot be built).
const ShootPlan* plan_for(std::uint64_t initiator, std::uint64_t p) {
    if (initiator == me.owner) return &me.plans[p];
    const std::uint64_t key = initiator << 8 | p;
    if (key != me.scratch_key) {
        ShootTopology t;
        if (!shared_topology(t) || me.scratch.build(shoot_protocols[p], t, static_cast<std::uint32_t>(initiator)) != Status::ok)
            return nullptr;
        me.scratch_key = key;
    }
    return &me.scratch;
}

struct Env {
    std::uint64_t proto;
    void unmap_local(std::uint64_t vaddr) {
        bd::DomainRec* r = bd::find_domain(me.domain);
        const Status st = r && r->cap ? syscall6(abi::Sys::unmap_at, r->cap, vaddr).status : Status::connection_lost;
        if (st == Status::not_found) ++me.missing;  // never mapped there: nothing to reach
        else if (st != Status::ok) ++me.no_domain;  // the dispatcher ended: its tables are gone
    }
    void send(std::uint16_t to, const ShootMsg& m) {
        monitor::send(to, shoot, me.id,
                      static_cast<std::uint64_t>(m.type) | std::uint64_t{m.initiator} << 8 | std::uint64_t{m.seq} << 32,
                      m.vaddr, m.lines, 0, proto);
    }
    void post(const ShootMsg& m) {
        if (!me.line) return;
        me.line->vaddr = m.vaddr;
        me.line->seq.store(std::uint64_t{m.seq}, std::memory_order_release);
    }
    void done(std::uint32_t, std::uint64_t vaddr, std::uint32_t lines) {
        if (me.user_state == 1 && vaddr == me.user_vaddr) {
            me.user_state = 2;
            bd::wake_local_domains();
            return;
        }
        run.done = true;
        run.lines = lines;
    }
};

void to_owner(std::uint8_t type, std::uint64_t w1, std::uint64_t w2 = 0, std::uint64_t w3 = 0);

// Maps the broadcast line (our capability in me.line_slot) at line_vaddr in our own address
// space, making the page tables on the way from our RAM into slots kept for later spans.
Status map_line() {
    for (unsigned round = 0; round < 4; ++round) {
        const SysResult r = syscall6(abi::Sys::map, me.line_slot, line_vaddr, abi::map_write);
        if (r.status == Status::ok) {
            me.line = reinterpret_cast<BroadcastLine*>(line_vaddr);
            return Status::ok;
        }
        if (r.status != Status::not_found || r.value < 1 || r.value > 3) return r.status;
        std::uint64_t& t = line_tables[r.value - 1];
        if (t) return Status::internal;  // installed before: the walk cannot miss it
        const auto s = bd::alloc_slot();
        if (!s.ok()) return s.status();
        if (const Status st = retype(cap::ram, captype::page_table, r.value, *s, 1); st != Status::ok) {
            bd::slot_used &= ~(std::uint64_t{1} << *s);
            return st;
        }
        if (const Status st = map_table(*s, line_vaddr & ~(table_span(r.value) - 1), r.value).status; st != Status::ok) {
            bd::free_slot(*s);
            return st;
        }
        t = *s;
    }
    return Status::internal;
}

// A capability to a ring of the owner's pool: a copy of the owner's own on its core, elsewhere
// one the kernel makes (it checks the address is channel-pool memory).
Status ring_cap(std::uint64_t phys, std::uint64_t owner_slot, std::uint64_t& slot) {
    const auto s = bd::alloc_slot();
    if (!s.ok()) return s.status();
    const Status st = owner_slot ? syscall6(abi::Sys::cap_copy, owner_slot, *s, 0xffff).status
                                 : syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, *s).status;
    if (st == Status::ok) slot = *s;
    else bd::slot_used &= ~(std::uint64_t{1} << *s);
    return st;
}

// span_start at a member (monitor 0 too, for core 0): build the plans, make our capabilities,
// map the broadcast line, start the dispatcher. Answered with span_ready once the dispatcher
// mapped (or at once, on a refusal).
void start_here(std::uint64_t from, std::uint64_t id, std::uint64_t members, std::uint64_t phys, std::uint64_t pages,
                std::uint64_t line_phys, std::uint64_t owner_slot, std::uint64_t owner_line_slot) {
    if (me.active) {
        ++malformed;
        return (void)send(from, span_ready, id, mesh.core, static_cast<std::uint64_t>(Status::busy));
    }
    me.active = me.go = me.ended = me.gone_sent = me.aborted = false;
    me.poll = true;
    me.slot = me.line_slot = me.domain = me.mapped = me.missing = me.no_domain = me.line_seen = 0;
    me.line = nullptr;
    me.reachable = ~0ull;
    me.user_state = 0;
    me.scratch_key = ~0ull;
    me.id = id;
    me.owner = from;
    me.members = members;
    me.phys = phys;
    me.line_phys = line_phys;
    me.pages = pages;
    me.node.reset(static_cast<std::uint16_t>(mesh.core));
    Status st = Status::ok;
    ShootTopology t;
    if (members < 2 || members > mesh.cores || mesh.core >= members || from >= members || pages == 0 ||
        pages > max_pages || !shared_topology(t))
        st = Status::invalid_argument;
    for (unsigned p = 0; p < shoot_protocol_count && st == Status::ok; ++p)
        st = me.plans[p].build(shoot_protocols[p], t, static_cast<std::uint32_t>(from));
    if (st == Status::ok) st = ring_cap(phys, owner_slot, me.slot);
    if (st == Status::ok) st = ring_cap(line_phys, owner_line_slot, me.line_slot);
    if (st == Status::ok) st = map_line();
    if (st == Status::ok) {
        me.line_seen = me.line->seq.load(std::memory_order_acquire);
        const SysResult r = servers::start_local(program, sizeof program - 1, id, "", 0);
        st = r.status;
        me.domain = r.value;
    }
    if (st != Status::ok) {
        print("span {}: member on core {} refused: {}", id, mesh.core, to_string(st));
        bd::free_slot(me.slot);
        bd::free_slot(me.line_slot);  // deleting the capability unmaps the line
        me.slot = me.line_slot = 0;
        me.line = nullptr;
        return (void)to_owner(span_ready, mesh.core, static_cast<std::uint64_t>(st), span_left);
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

// Our dispatcher ended after the end: no capability to the page or the line may stay on this
// core (the owner's own stay with the owner until it frees the rings), then the owner hears it.
void member_gone(std::uint64_t how) {
    bd::free_slot(me.slot);
    bd::free_slot(me.line_slot);  // unmaps the line
    me.slot = me.line_slot = 0;
    me.line = nullptr;
    if (me.owner != mesh.core) {
        for (const std::uint64_t phys : {me.phys, me.line_phys}) {
            const SysResult r = syscall6(abi::Sys::cap_reclaim_channel, kernel_cap, phys, abi::bind_ring_bits);
            if (r.status != Status::ok) print("span {}: reclaim failed: {}", me.id, to_string(r.status));
        }
    }
    me.gone_sent = true;
    to_owner(span_gone, mesh.core, me.reachable | me.missing << 16 | me.no_domain << 32, how);
    me.active = false;
}

// The owner's answers.
void on_ready(std::uint64_t from, const urpc::Message& m) {
    if (m.words[2] == static_cast<std::uint64_t>(Status::ok)) return (void)++run.ready;
    ++run.ready_bad;
    if (m.words[3] == span_left && !run.out[from]) {
        run.out[from] = true;
        ++run.refused;
        ++run.gone;
    }
}
void on_gone(const urpc::Message& m) {
    ++run.gone;
    run.reachable += m.words[2] & 0xffff;
    run.missing += m.words[2] >> 16 & 0xffff;
    run.no_domain += m.words[2] >> 32 & 0xffff;
    if ((m.words[3] & 0xff) == static_cast<std::uint64_t>(abi::DomainStatus::faulted)) ++run.faulted;
}

bool all_ready() { return run.ready + run.ready_bad >= me.members || expired(); }
bool shot() { return run.done || expired(); }
bool node_free() { return !me.node.busy() || expired(); }
bool user_heard() { return run.user_result != 0 || expired(); }
bool all_gone() { return run.gone >= me.members || expired(); }

// Digits at s into out (at most 6); s moves past them. False when there are none.
bool parse(const char*& s, std::uint64_t& out) {
    out = 0;
    unsigned digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 6; ++s, ++digits) out = out * 10 + static_cast<std::uint64_t>(*s - '0');
    return digits > 0 && (*s < '0' || *s > '9');
}

bool same_text(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

// unmap:N:R:forge: before the warm-up, monitor 0 sends every other member lines no honest monitor
// sends: each must be counted as malformed there and change nothing (the span still ends with no
// page reachable). Eleven per member, so `monitor-status` shows malformed=11 on each.
void forge_lines() {
    const std::uint64_t req = static_cast<std::uint64_t>(ShootLine::request) | std::uint64_t{1000000} << 32;
    const std::uint64_t ack = static_cast<std::uint64_t>(ShootLine::ack) | std::uint64_t{1} << 32;
    const auto uni = static_cast<std::uint64_t>(ShootProtocol::unicast);
    const auto bcast = static_cast<std::uint64_t>(ShootProtocol::broadcast);
    for (std::uint64_t c = 1; c < me.members; ++c) {
        send(c, shoot, me.id + 1, req, span_base, 0, 0, uni);                   // another span's number
        send(c, shoot, me.id, req, span_base + me.pages * 4096, 0, 0, uni);     // a page outside the span
        send(c, shoot, me.id, req, span_base + 0x10, 0, 0, uni);                // not a page's address
        send(c, shoot, me.id, ack, span_base, 1, 0, uni);                       // an acknowledgement nothing waits for
        send(c, shoot, me.id, req, span_base, 0, 0, bcast);                     // a broadcast request as a mesh line
        send(c, span_ready, me.id, c, 0);                                       // a member's answer, to a member
        send(c, span_gone, me.id, c, 0, 0);                                     // a member's end, to a member
        send(c, span_unmapped, me.id, c, 1);                                    // a dispatcher's result, to a member
        send(c, span_go, me.id + 1);                                            // go, for another span
        send(c, span_mode, me.id + 1, 0);                                       // sleep, for another span
        send(c, span_end, me.id + 1, 1);                                        // an abort of another span
    }
}

// Every member (this core too) hears `type` [id, w1].
void to_members(std::uint8_t type, std::uint64_t w1 = 0) {
    for (std::uint64_t c = 0; c < me.members; ++c) {
        if (run.out[c]) continue;
        if (c != mesh.core) {
            send(c, type, me.id, w1);
            continue;
        }
        urpc::Message m{};
        m.header.type = type;
        m.words[0] = me.id;
        m.words[1] = w1;
        on_message(mesh.core, m);
    }
}

} // namespace

bool handles(std::uint8_t type) { return type >= span_start && type <= span_unmapped; }

void on_message(std::uint64_t from, const urpc::Message& m) {
    const bool from_owner = me.active && from == me.owner && m.words[0] == me.id;
    switch (m.header.type) {
    case span_start:
        return start_here(from, m.words[0], m.words[1], m.words[2], m.words[3], m.words[4], 0, 0);
    case span_ready:
    case span_gone:
    case span_unmapped:
        // Only for the span this monitor runs, from one of its members about itself.
        if (mesh.core != me.owner || m.words[0] != me.id || from >= me.members || m.words[1] != from) {
            ++malformed;
            return;
        }
        if (m.header.type == span_unmapped) {
            run.user_result = m.words[2] | std::uint64_t{1} << 32;  // nonzero: heard
            return;
        }
        if (run.out[from]) return (void)++malformed;  // it left the span: nothing more from it
        return m.header.type == span_ready ? on_ready(from, m) : on_gone(m);
    case shoot: {
        // Broadcast's request travels on the line, never as a mesh line (its acknowledgements do).
        if (!me.active || m.words[0] != me.id || from >= me.members || m.words[5] >= shoot_protocol_count ||
            (m.words[5] == static_cast<std::uint64_t>(ShootProtocol::broadcast) &&
             (m.words[1] & 0xff) != static_cast<std::uint64_t>(ShootLine::ack))) {
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
        const ShootPlan* plan = s.initiator < me.members ? plan_for(s.initiator, m.words[5]) : nullptr;
        if (!plan || s.vaddr < span_base || s.vaddr >= span_base + me.pages * 4096 || (s.vaddr & 0xfff)) {
            ++malformed;
            return;
        }
        Env env{m.words[5]};
        const std::uint64_t before = me.node.malformed();
        me.node.receive(*plan, static_cast<std::uint16_t>(from), s, env);
        if (me.node.malformed() != before) ++malformed;
        return;
    }
    case span_go:
        if (!from_owner) return (void)++malformed;
        me.go = true;
        bd::wake_local_domains();  // a dispatcher waiting to unmap
        return;
    case span_mode:
        if (!from_owner) return (void)++malformed;
        me.poll = m.words[1] != 0;
        return;
    case span_end:
        if (!from_owner) return (void)++malformed;
        me.ended = true;
        if (m.words[1] == 1 && !me.go) {
            // Aborted before any unmap: the dispatcher still maps every page and waits; it is
            // ended (its address space goes with it), so nothing of the span stays reachable here.
            me.aborted = true;
            me.reachable = 0;
            if (bd::DomainRec* r = bd::find_domain(me.domain); r && r->cap) (void)syscall6(abi::Sys::domain_kill, r->cap);
        }
        bd::wake_local_domains();  // the dispatcher polls span_poll
        return;
    default: ++malformed;
    }
}

void serve(std::uint64_t who, const std::uint64_t (&w)[4]) {
    if (!me.active || who != me.domain || w[1] != me.id) return (void)bd::reply(Status::not_found);
    const auto op = static_cast<abi::MonitorOp>(w[0]);
    if (op == abi::MonitorOp::span_join) {
        // A copy of our capability to the page moves to the dispatcher; it makes the others.
        const auto s = bd::alloc_slot();
        if (!s.ok()) return (void)bd::reply(Status::busy);
        if (const Status st = syscall6(abi::Sys::cap_copy, me.slot, *s, 0xffff).status; st != Status::ok) {
            bd::slot_used &= ~(std::uint64_t{1} << *s);
            return (void)bd::reply(st);
        }
        if (bd::reply(Status::ok, span_base, me.pages, me.members, *s)) bd::slot_used &= ~(std::uint64_t{1} << *s);
        else bd::free_slot(*s);
        return;
    }
    if (op == abi::MonitorOp::span_unmap) {
        const std::uint64_t vaddr = w[2], proto = w[3];
        if (me.user_state != 0 && vaddr == me.user_vaddr) {
            if (me.user_state == 1) return (void)bd::reply(Status::would_block);
            me.user_state = 0;
            return (void)bd::reply(Status::ok);
        }
        if (vaddr < span_base || vaddr >= span_base + me.pages * 4096 || (vaddr & 0xfff) || proto == 0 ||
            proto >= shoot_protocol_count || me.ended)
            return (void)bd::reply(Status::invalid_argument);
        if (!me.go) return (void)bd::reply(Status::would_block);  // not every member mapped yet
        if (me.user_state != 0 || me.node.busy()) return (void)bd::reply(Status::busy);
        const ShootPlan* plan = plan_for(mesh.core, proto);
        if (!plan) return (void)bd::reply(Status::internal);
        me.user_state = 1;
        me.user_vaddr = vaddr;
        Env env{proto};
        if (const Status st = me.node.start(*plan, vaddr, env); st != Status::ok) {
            me.user_state = 0;
            return (void)bd::reply(st);
        }
        return (void)bd::reply(me.user_state == 2 ? (me.user_state = 0, Status::ok) : Status::would_block);
    }
    // span_poll: w2 = 1: mapped w3 pages; 2: after the end, could still reach w3 pages; 3: the
    // result of its own unmap.
    if (w[2] == 1 && !me.mapped) {
        me.mapped = w[3] ? w[3] : ~0ull;
        to_owner(span_ready, mesh.core, static_cast<std::uint64_t>(w[3] == me.pages ? Status::ok : Status::no_memory));
    } else if (w[2] == 2 && me.ended) {
        me.reachable = w[3] < 0xffff ? w[3] : 0xffff;
    } else if (w[2] == 3) {
        to_owner(span_unmapped, mesh.core, w[3] & 0xff);
    }
    bd::reply(me.ended ? Status::ok : Status::would_block);
}

bool polling() { return me.active && !me.ended && me.poll; }

bool pump() {
    if (!me.active || !me.line || mesh.core == me.owner) return false;
    const std::uint64_t seq = me.line->seq.load(std::memory_order_acquire);
    if (seq == me.line_seen) return false;
    me.line_seen = seq;
    const ShootMsg m{ShootLine::request, static_cast<std::uint16_t>(me.owner), static_cast<std::uint32_t>(seq),
                     me.line->vaddr, 0};
    if (m.vaddr < span_base || m.vaddr >= span_base + me.pages * 4096 || (m.vaddr & 0xfff)) {
        ++malformed;
        return true;
    }
    Env env{static_cast<std::uint64_t>(ShootProtocol::broadcast)};
    const std::uint64_t before = me.node.malformed();
    me.node.receive(me.plans[static_cast<unsigned>(ShootProtocol::broadcast)], static_cast<std::uint16_t>(me.owner), m, env);
    if (me.node.malformed() != before) ++malformed;
    return true;
}

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
    std::uint64_t n = 0, rounds = max_rounds;
    const char* at = args;
    bool ok = parse(at, n), forge = false, refuse = false;
    if (ok && *at == ':') ok = parse(++at, rounds);
    if (ok && *at == ':') {
        ++at;
        forge = same_text(at, "forge");
        refuse = same_text(at, "refuse");
        ok = forge || refuse;
        at = "";
    }
    if (!ok || *at || n < 2 || n > mesh.cores || rounds == 0 || rounds > max_rounds || mesh.core != 0) {
        print("unmap: refused: unmap:N[:R[:forge|:refuse]] with 2 <= N <= {} cores and 1 <= R <= {}, on monitor 0",
              mesh.cores, max_rounds);
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
    std::uint64_t ring_slot = 0, phys = 0, line_slot = 0, line_phys = 0;
    if (const Status st = binding::take_own_ring(ring_slot, phys); st != Status::ok) {
        print("unmap: refused: no ring for the span's page: {}", to_string(st));
        return false;
    }
    if (const Status st = binding::take_own_ring(line_slot, line_phys); st != Status::ok) {
        print("unmap: refused: no ring for the broadcast line: {}", to_string(st));
        binding::release_own_ring(ring_slot, phys);
        return false;
    }
    // Pages: `rounds` per protocol, one untimed warm-up (the first unmap runs code no core ran
    // yet, which TCG translates then), and the last for the dispatcher on the last core itself.
    const std::uint64_t pages = rounds * step_protocol_count + 2;
    const std::uint64_t hz = servers::timer_hz();
    run = Run{};
    run.deadline = now_ticks() + 60 * hz;
    const std::uint64_t id = ++next_id;
    start_here(mesh.core, id, n, phys, pages, line_phys, ring_slot, line_slot);
    // :refuse: the last member is asked with no pages, which it must refuse; the span then ends
    // before any unmap, and the step checks that everything of it came back.
    for (std::uint64_t c = 1; c < n; ++c) send(c, span_start, id, n, phys, refuse && c == n - 1 ? 0 : pages, line_phys);
    wait(all_ready);
    ok = run.ready == n;
    if (!ok) print("unmap: {} of {} members mapped the page ({} refused)", run.ready, n, run.ready_bad);
    if (ok && forge) forge_lines();
    const bool went = ok;
    if (ok) to_members(span_go);
    std::uint64_t page = 0;
    if (ok) {
        const std::uint64_t warm = rounds * step_protocol_count;
        Env env{static_cast<std::uint64_t>(ShootProtocol::unicast)};
        run.done = false;
        run.deadline = now_ticks() + 20 * hz;
        wait(node_free);
        ok = me.node.start(me.plans[static_cast<unsigned>(ShootProtocol::unicast)], span_base + warm * 4096, env) == Status::ok;
        if (ok) wait(shot);
        ok = ok && run.done;
        if (!ok) print("unmap: the warm-up unmap did not finish");
    }
    for (std::uint64_t pi = 0; ok && pi < step_protocol_count; ++pi) {
        const ShootProtocol p = step_protocols[pi];
        const auto proto = static_cast<std::uint64_t>(p);
        const ShootPlan& plan = me.plans[proto];
        to_members(span_mode, p == ShootProtocol::ipi ? 0 : 1);
        std::uint64_t ticks[max_rounds] = {};
        std::uint64_t lines_bad = 0;
        for (std::uint64_t r = 0; ok && r < rounds; ++r, ++page) {
            Env env{proto};
            run.done = false;
            run.deadline = now_ticks() + 20 * hz;
            wait(node_free);  // the dispatcher of this core may be unmapping its own page
            const std::uint64_t t0 = rdtsc();
            if (me.node.start(plan, span_base + page * 4096, env) != Status::ok) {
                print("unmap: {} round {}: could not start", shoot_protocol_name(p), r);
                ok = false;
                break;
            }
            wait(shot);
            ticks[r] = rdtsc() - t0;
            if (!run.done) {
                print("unmap: {} round {}: no answer from every member in 20 s", shoot_protocol_name(p), r);
                ok = false;
            }
            lines_bad += run.lines != plan.request_lines() + plan.ack_lines();
        }
        if (!ok) break;
        std::uint64_t max = 0;
        for (std::uint64_t r = 0; r < rounds; ++r) max = ticks[r] > max ? ticks[r] : max;
        emit("bench-unmap cores={} members={} protocol={} rounds={} ticks-p50={} ticks-max={} lines={} hops={} "
             "initiator-lines={} cross-node={} lines-miscounted={}",
             mesh.cores, n, shoot_protocol_name(p), rounds, median(ticks, static_cast<unsigned>(rounds)), max,
             plan.request_lines() + plan.ack_lines(), plan.critical_path_hops(), plan.initiator_lines(),
             plan.cross_node_lines({topo.core_node, static_cast<std::size_t>(n)}), lines_bad);
        ok = lines_bad == 0;
    }
    to_members(span_mode, 1);
    // The last core's dispatcher unmapped the last page itself (span_unmap) meanwhile.
    run.deadline = now_ticks() + 60 * hz;
    if (ok) wait(user_heard);
    const std::uint64_t user = run.user_result & 0xff;
    emit("unmap-own core={} result={}", n - 1, user == 1 ? "ok" : user & 2 ? "still-reachable" : run.user_result ? "failed" : "no-answer");
    // The end: every member's dispatcher checks every page, reports, touches one and faults.
    run.deadline = now_ticks() + 60 * hz;
    to_members(span_end, went ? 0 : 1);
    wait(all_gone);
    const bool all_back = run.gone == n;
    // faulted-seen: members whose end their monitor saw as a fault before the record went (the
    // kernel's domain-fault lines are the full count).
    emit("unmap-span members={} pages={} gone={} reachable={} missing={} no-dispatcher={} faulted-seen={}", n, pages,
         run.gone, run.reachable, run.missing, run.no_domain, run.faulted);
    if (all_back) {
        binding::release_own_ring(ring_slot, phys);
        binding::release_own_ring(line_slot, line_phys);
    } else {
        print("unmap: {} of {} members did not end: the pages stay in use", n - run.gone, n);
        me.active = false;
    }
    if (refuse) return !went && run.refused == 1 && all_back && run.reachable == 0;
    return ok && all_back && user == 1 && run.reachable == 0 && run.missing == 0 && run.no_domain == 0 &&
           page + 2 == pages;
}

} // namespace myr::monitor::span
