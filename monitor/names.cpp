// The monitors' name table (names.hpp, docs/monitors.md "Names").
//
// Group monitors (cores 0..63) each hold a replica (myr::repl::Endpoint<Registry>, object id
// names_object on the wire) in one sequencer group with monitor 0 as the sequencer at boot (when
// the membership removes the sequencer's core, the lowest live group core takes over:
// Replica::sequencer_gone). A core of the
// group submits its domains' exports (add) and, when a domain ends, the removal of its names
// (remove) itself. A core beyond the group ("outer" core) has no replica: it forwards both to its
// proxy, a group core on its node where there is one (names_fwd, answered by names_fwd_reply),
// and keeps a copy fed by names_note lines: whichever group core submitted an add or remove that
// took effect sends the note to every outer core. All notes about one (name, core, domain) come
// from the same group core (the exporter's, or its proxy) in the order the agreement applied
// them, and notes about different triples commute, so every outer copy ends up as the agreed
// table.
//
// Everything this file sends goes through the mesh's non-blocking try_send_words; a line the
// outbox cannot take waits in a small queue of our own (in order) and pump() retries it, so a
// handler never blocks and no line of the agreement is ever dropped.
#include "names.hpp"

#include "mesh.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/repl/endpoint.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/user/syscall.hpp>

#include <new>

namespace myr::monitor::names {
namespace {

using namespace myr::user;
namespace r = myr::repl;

constexpr std::uint16_t names_object = r::names_object_id;  // reserved: never a replicate run's id (wire.hpp)
constexpr std::uint32_t group_max = r::max_cores;
constexpr std::uint32_t names_per_domain = 4;  // docs/monitors.md, "Limits"
constexpr std::uint64_t forwarded = std::uint64_t{1} << 62;  // token: an outer core's op

// ---- Sending: in order, never blocking ---------------------------------------------------------
struct Line {
    std::uint16_t to;
    std::uint8_t type;
    std::uint64_t w[urpc::payload_words];
};
constexpr unsigned backlog_cap = 256;
Line backlog[backlog_cap];
unsigned backlog_head, backlog_len;

bool drain_backlog() {
    bool any = false;
    while (backlog_len && try_send_words(backlog[backlog_head].to, backlog[backlog_head].type, backlog[backlog_head].w)) {
        backlog_head = (backlog_head + 1) % backlog_cap;
        --backlog_len;
        any = true;
    }
    return any;
}

void put(std::uint64_t to, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) {
    if (backlog_len == 0 && try_send_words(to, type, w)) return;
    if (backlog_len == backlog_cap) {
        // Both queues full: wait for ours to move (the blocking send flushes the mesh's outbox).
        while (backlog_len) {
            const Line& l = backlog[backlog_head];
            send(l.to, l.type, l.w[0], l.w[1], l.w[2], l.w[3], l.w[4], l.w[5], l.w[6]);
            backlog_head = (backlog_head + 1) % backlog_cap;
            --backlog_len;
        }
        send(to, type, w[0], w[1], w[2], w[3], w[4], w[5], w[6]);
        return;
    }
    Line& l = backlog[(backlog_head + backlog_len++) % backlog_cap];
    l.to = static_cast<std::uint16_t>(to);
    l.type = type;
    for (unsigned i = 0; i < urpc::payload_words; ++i) l.w[i] = w[i];
}

class MeshTransport final : public r::Transport {
public:
    Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&w)[urpc::payload_words]) override {
        put(dst, type, w);
        return Status::ok;
    }
};

// ---- The replica (group cores) -----------------------------------------------------------------
std::uint32_t group_cores;  // min(cores, 64)
bool in_group, ready;
std::uint16_t proxy;        // outer core: the group core that submits for it
r::Placement placement;
alignas(r::Group) unsigned char group_mem[sizeof(r::Group)];
alignas(MeshTransport) unsigned char transport_mem[sizeof(MeshTransport)];
alignas(r::Endpoint<r::Registry>) unsigned char endpoint_mem[sizeof(r::Endpoint<r::Registry>)];
r::Endpoint<r::Registry>* endpoint;
r::Group* names_group;
std::uint32_t names_nodes = 1;
std::uint64_t group_live[group_max / 64 ? group_max / 64 : 1] = {};  // cores still in the agreement
std::uint16_t node_of_core[group_max];
std::uint8_t distances[abi::topo_max_nodes * abi::topo_max_nodes];

r::Registry::Name to_name(std::uint64_t n0, std::uint64_t n1) {
    r::Registry::Name n{};
    for (unsigned i = 0; i < 16; ++i) n.bytes[i] = static_cast<char>((i < 8 ? n0 : n1) >> (8 * (i % 8)));
    return n;
}
void from_name(const r::Registry::Name& n, std::uint64_t& n0, std::uint64_t& n1) {
    n0 = n1 = 0;
    for (unsigned i = 0; i < 16; ++i)
        (i < 8 ? n0 : n1) |= std::uint64_t{static_cast<std::uint8_t>(n.bytes[i])} << (8 * (i % 8));
}
r::Registry::Op make_op(r::Registry::Kind kind, std::uint64_t core, std::uint64_t domain, std::uint64_t n0,
                        std::uint64_t n1) {
    return {kind, static_cast<std::uint16_t>(core), kind == r::Registry::Kind::add ? static_cast<std::uint32_t>(domain) : 0,
            to_name(n0, n1)};
}

// ---- The outer cores' copy ---------------------------------------------------------------------
struct Copy {
    bool used;
    std::uint32_t core, domain;
    std::uint64_t name[2];
};
constexpr unsigned copy_cap = 128;  // > the registry's 96 names: an add may overtake a removal
Copy copy[copy_cap];
std::uint64_t copy_lost;

void note(std::uint8_t kind, std::uint64_t core, std::uint64_t domain, std::uint64_t n0, std::uint64_t n1) {
    const std::uint64_t w[urpc::payload_words] = {kind, core, domain, n0, n1};
    for (std::uint64_t c = group_cores; c < mesh.cores; ++c) put(c, names_note, w);
}

// ---- This core's exports -----------------------------------------------------------------------
enum class State : std::uint8_t { free, queued, pending, held, failed, removing };
struct Export {
    State state;
    bool told;      // held: the domain heard `ok`
    bool orphan;    // its domain ended: withdraw once decided
    std::uint32_t domain;
    std::uint64_t name[2];
    std::uint64_t token;
    Status result;  // failed: what the domain will hear
};
constexpr unsigned max_exports = 64;
Export exports[max_exports];
std::uint64_t next_token;

// Forwarded ops a proxy serves for outer cores (token = forwarded | slot).
struct Fwd {
    bool used;
    std::uint8_t kind;
    std::uint16_t core;
    std::uint32_t domain;
    std::uint64_t token, name[2];
};
constexpr unsigned max_fwd = 32;
Fwd fwds[max_fwd];
// Monitor 0: cores the membership removed whose names are still to be removed (reap_removed).
bool reap_core[max_cores];
bool reap_pending;

void wake_local_domains() { (void)syscall6(abi::Sys::send_ipi, ipi_cap, mesh.core); }

// Submits e's op (add, or remove when removing); false while the replica or proxy is busy.
bool submit(Export& e) {
    const bool add = e.state != State::removing;
    e.token = ++next_token;
    if (!in_group) {
        const std::uint64_t w[urpc::payload_words] = {e.token, add ? 1u : 2u, e.domain, e.name[0], e.name[1]};
        put(proxy, names_fwd, w);
        if (add) e.state = State::pending;
        return true;
    }
    const auto op = make_op(add ? r::Registry::Kind::add : r::Registry::Kind::remove, mesh.core, e.domain, e.name[0],
                            e.name[1]);
    const Status s = endpoint->submit(op, e.token);
    if (s != Status::ok) {
        e.token = 0;  // busy: pump() submits it again
        return false;
    }
    if (add) e.state = State::pending;
    return true;
}

// The agreement decided e's op: r.status (ok, exists, overflow; busy: try again).
void decided(Export& e, Status st) {
    if (st == Status::busy) {  // not applied anywhere: submit it again from pump()
        if (e.state == State::pending) e.state = State::queued;
        else e.token = 0;  // removing: resubmitted by pump
        return;
    }
    if (e.state == State::removing) {
        if (st != Status::ok) print("names: removing a name of ended domain {} answered {}", e.domain, to_string(st));
        e = {};
        return;
    }
    if (st == Status::ok && e.orphan) {  // its domain ended while it waited: take the name back
        e.state = State::removing;
        e.token = 0;
        (void)submit(e);
        return;
    }
    if (e.orphan) {
        e = {};
        return;
    }
    e.state = st == Status::ok ? State::held : State::failed;
    e.result = st;
    wake_local_domains();  // the exporter polls
}

Export* by_token(std::uint64_t token) {
    if (token == 0) return nullptr;  // not submitted
    for (Export& e : exports)
        if (e.state != State::free && e.token == token) return &e;
    return nullptr;
}

// Outcomes of our replica's ops: ours, or forwarded ones (answer the outer core). Effective adds
// and removes are told to the outer cores.
void take_completions() {
    r::Completion<r::Registry> c;
    while (endpoint->take_completion(c)) {
        if (c.token & forwarded) {
            const std::uint64_t i = c.token & 0xff;
            if (i >= max_fwd || !fwds[i].used) continue;
            Fwd& f = fwds[i];
            const Status st = c.status == Status::ok ? c.result.status : c.status;
            if (st == Status::ok) note(f.kind, f.core, f.domain, f.name[0], f.name[1]);
            const std::uint64_t w[urpc::payload_words] = {f.token, static_cast<std::uint64_t>(static_cast<std::uint32_t>(st))};
            put(f.core, names_fwd_reply, w);
            f = {};
            continue;
        }
        Export* e = by_token(c.token);
        if (!e) continue;
        const Status st = c.status == Status::ok ? c.result.status : c.status;
        if (st == Status::ok) note(e->state == State::removing ? 2 : 1, mesh.core, e->domain, e->name[0], e->name[1]);
        decided(*e, st);
    }
}

// Monitor 0: what the last names_sum round brought.
std::uint64_t sums, sum_disagree, sum_unsettled, sum_digest0, sum_count_min, sum_count_max;

std::uint64_t entry_digest(std::uint64_t n0, std::uint64_t n1, std::uint64_t core, std::uint64_t domain) {
    return r::mix64(n0 ^ r::mix64(n1 ^ r::mix64(core << 32 | domain)));
}

} // namespace

void init() {
    group_cores = mesh.cores < group_max ? static_cast<std::uint32_t>(mesh.cores) : group_max;
    in_group = mesh.core < group_cores;
    // Nodes and distances as the CPU driver parsed them (the same on every core); one node
    // without a topology.
    const bool topo_ok = topo.cores == mesh.cores && topo.nodes > 0 && topo.nodes <= abi::topo_max_nodes;
    const std::uint32_t nodes = topo_ok ? topo.nodes : 1;
    for (std::uint32_t c = 0; c < group_cores; ++c) node_of_core[c] = topo_ok ? topo.core_node[c] : 0;
    for (std::uint32_t i = 0; i < nodes * nodes; ++i) distances[i] = topo_ok ? topo.distance[i] : 10;
    if (!in_group) {
        // Our proxy: the lowest group core on our node, else one spread by core number.
        proxy = static_cast<std::uint16_t>(mesh.core % group_cores);
        for (std::uint32_t c = 0; c < group_cores; ++c)
            if (topo_ok && topo.core_node[c] == topo.core_node[mesh.core]) {
                proxy = static_cast<std::uint16_t>(c);
                break;
            }
        ready = true;
        return;
    }
    if (placement.build(group_cores, std::span<const std::uint16_t>(node_of_core, group_cores), nodes,
                        r::Replicas::per_core) != Status::ok) {
        print("names: no placement for {} cores: exports are refused", group_cores);
        return;
    }
    r::GroupConfig cfg{};
    cfg.protocol = r::Protocol::sequencer;
    cfg.object = names_object;
    cfg.cores = group_cores;
    cfg.nodes = nodes;
    cfg.distance = std::span<const std::uint8_t>(distances, std::size_t{nodes} * nodes);
    cfg.sequencer = 0;
    auto* group = new (group_mem) r::Group();
    if (group->build(placement.group_config(cfg)) != Status::ok) {
        cfg.fanout = r::Fanout::unicast;  // a topology the tree builder refuses: one line per core
        if (group->build(placement.group_config(cfg)) != Status::ok) {
            print("names: no agreement group over {} cores: exports are refused", group_cores);
            return;
        }
    }
    names_group = group;
    names_nodes = nodes;
    for (std::uint32_t c = 0; c < group_cores; ++c) group_live[c / 64] |= std::uint64_t{1} << (c % 64);
    auto* transport = new (transport_mem) MeshTransport();
    endpoint = new (endpoint_mem) r::Endpoint<r::Registry>(*group, placement, static_cast<std::uint16_t>(mesh.core), *transport);
    ready = true;
}

Status export_name(std::uint32_t domain, std::uint64_t n0, std::uint64_t n1) {
    if (!ready) return Status::unsupported;
    if ((n0 & 0xff) == 0) return Status::invalid_argument;
    Export* slot = nullptr;
    unsigned mine = 0;
    for (Export& e : exports) {
        if (e.state == State::free) {
            if (!slot) slot = &e;
            continue;
        }
        if (e.domain != domain || e.orphan) continue;
        if (e.name[0] == n0 && e.name[1] == n1) {
            switch (e.state) {
            case State::held:
                if (e.told) return Status::exists;  // it holds the name already
                e.told = true;
                return Status::ok;
            case State::failed: {
                const Status st = e.result;
                e = {};
                return st;
            }
            default: return Status::would_block;
            }
        }
        ++mine;
    }
    if (mine >= names_per_domain) return Status::no_memory;
    if (!slot) return Status::busy;
    *slot = {};
    slot->state = State::queued;
    slot->domain = domain;
    slot->name[0] = n0;
    slot->name[1] = n1;
    (void)submit(*slot);
    if (in_group) take_completions();
    return Status::would_block;
}

bool lookup(std::uint64_t n0, std::uint64_t n1, std::uint32_t& core, std::uint32_t& domain) {
    if (!ready) return false;
    if (!in_group) {
        for (const Copy& c : copy)
            if (c.used && c.name[0] == n0 && c.name[1] == n1) {
                core = c.core;
                domain = c.domain;
                return true;
            }
        return false;
    }
    const r::Registry::Result res =
        endpoint->replica().object().read(r::Registry::Op{r::Registry::Kind::lookup, 0, 0, to_name(n0, n1)});
    if (res.status != Status::ok) return false;
    core = res.core;
    domain = res.endpoint;
    return true;
}

unsigned domain_ended(std::uint32_t domain) {
    unsigned n = 0;
    for (Export& e : exports) {
        if (e.state == State::free || e.domain != domain || e.orphan) continue;
        e.orphan = true;
        switch (e.state) {
        case State::held:
            ++n;
            e.state = State::removing;
            e.token = 0;
            (void)submit(e);  // busy: pump() retries (token 0)
            break;
        case State::pending: ++n; break;  // decided() takes it back if it won
        default: e = {}; break;           // never submitted, or lost: nothing to take back
        }
    }
    if (in_group && endpoint) take_completions();
    return n;
}

void core_lost(std::uint64_t core) {
    if (core >= max_cores) return;
    // Every group monitor: the trees no longer pass through `core`, and whatever was in flight
    // through it is asked for again (Replica::resync); when it was the sequencer, the lowest live
    // core of the group takes over (Replica::sequencer_gone: every monitor computes the same).
    if (in_group && endpoint && names_group && core < group_cores && (group_live[core / 64] >> (core % 64) & 1u)) {
        group_live[core / 64] &= ~(std::uint64_t{1} << (core % 64));
        const std::uint16_t seq = endpoint->replica().sequencer();
        const std::uint16_t former = names_group->parent(seq, static_cast<std::uint32_t>(mesh.core));
        const Status s = names_group->exclude(std::span<const std::uint8_t>(distances, std::size_t{names_nodes} * names_nodes),
                                              std::span<const std::uint64_t>(group_live));
        if (s != Status::ok) print("names: cannot rebuild the agreement's trees without core {}: {}", core, to_string(s));
        if (core == seq) {
            std::uint16_t next = 0;
            while (next < group_cores && (group_live[next / 64] >> (next % 64) & 1u) == 0) ++next;
            if (next < group_cores) {
                print("names: the name table's sequencer (core {}) was removed: core {} orders from now on", core, next);
                endpoint->sequencer_gone(next, std::span<const std::uint64_t>(group_live));
            }
        } else {
            endpoint->core_stopped(static_cast<std::uint16_t>(core));
            endpoint->resync(former);
        }
        take_completions();
    }
    // The sequencer removes the names its domains held (reap_removed); whichever monitor orders.
    reap_core[core] = true;
    reap_pending = true;
}

bool handles(const urpc::Message& m) {
    return r::is_packet_kind(m.header.type) && r::packet_object(m) == names_object;
}

void on_message(std::uint64_t from, const urpc::Message& m) {
    if (!endpoint) {
        ++malformed;
        print("names: replication line from core {} but no replica here: ignored", from);
        return;
    }
    const Status s = endpoint->on_message(static_cast<std::uint16_t>(from), m);
    if (s != Status::ok) {
        ++malformed;
        print("names: replication line type {} from core {} refused ({})", m.header.type, from, to_string(s));
    }
    take_completions();
}

// A proxy: an outer core's add (1) or remove (2) of a name for one of its domains.
void on_forward(std::uint64_t from, const urpc::Message& m) {
    const std::uint64_t kind = m.words[1];
    if (!endpoint || from < group_cores || (kind != 1 && kind != 2) || (m.words[3] & 0xff) == 0) {
        ++malformed;
        print("names_fwd from core {} refused", from);
        return;
    }
    Fwd* f = nullptr;
    for (Fwd& x : fwds)
        if (!x.used) {
            f = &x;
            break;
        }
    const auto op = make_op(kind == 1 ? r::Registry::Kind::add : r::Registry::Kind::remove, from, m.words[2], m.words[3],
                            m.words[4]);
    Status st = f ? endpoint->submit(op, forwarded | static_cast<std::uint64_t>(f - fwds)) : Status::busy;
    if (st != Status::ok) {  // the outer core tries again
        const std::uint64_t w[urpc::payload_words] = {m.words[0], static_cast<std::uint64_t>(static_cast<std::uint32_t>(Status::busy))};
        put(from, names_fwd_reply, w);
        return;
    }
    *f = {true, static_cast<std::uint8_t>(kind), static_cast<std::uint16_t>(from), static_cast<std::uint32_t>(m.words[2]),
          m.words[0], {m.words[3], m.words[4]}};
    take_completions();
}

void on_forward_reply(std::uint64_t from, const urpc::Message& m) {
    Export* e = in_group || from != proxy ? nullptr : by_token(m.words[0]);
    if (!e) {
        ++malformed;
        print("names_fwd_reply from core {} for no export of ours: ignored", from);
        return;
    }
    decided(*e, static_cast<Status>(static_cast<std::int32_t>(m.words[1])));
}

void on_note(std::uint64_t from, const urpc::Message& m) {
    const std::uint64_t kind = m.words[0];
    if (in_group || from >= group_cores || (kind != 1 && kind != 2)) {
        ++malformed;
        print("names_note from core {} refused", from);
        return;
    }
    if (kind == 2) {
        for (Copy& c : copy)
            if (c.used && c.core == m.words[1] && c.domain == m.words[2] && c.name[0] == m.words[3] && c.name[1] == m.words[4]) {
                c = {};
                return;
            }
        return;
    }
    for (Copy& c : copy)
        if (!c.used) {
            c = {true, static_cast<std::uint32_t>(m.words[1]), static_cast<std::uint32_t>(m.words[2]), {m.words[3], m.words[4]}};
            return;
        }
    if (copy_lost++ == 0) print("names: the copy of the name table is full: a name is missing here");
}

// The sequencer (monitor 0 at boot): the names of cores the membership removed go through the agreement
// as removals on behalf of their dead owners (nobody on those cores can ask any more), a few at a
// time through the forwarded-op slots, until none is left.

bool reap_removed() {
    if (!reap_pending || !in_group || !endpoint) return false;
    if (endpoint->replica().sequencer() != mesh.core || endpoint->replica().taking_over()) return false;
    struct Gone {
        std::uint16_t core;
        std::uint32_t domain;
        std::uint64_t n0, n1;
    };
    Gone found[8];
    unsigned n = 0;
    bool left = false;
    // Collect first: a removal submitted at the sequencer is applied at once, and the table must
    // not change under its own iteration.
    endpoint->replica().object().for_each([&](const r::Registry::Name& name, std::uint16_t core, std::uint32_t domain) {
        if (core >= max_cores || !reap_core[core]) return;
        left = true;
        if (n == 8) return;
        found[n] = {core, domain, 0, 0};
        from_name(name, found[n].n0, found[n].n1);
        ++n;
    });
    bool any = false;
    for (unsigned k = 0; k < n; ++k) {
        const Gone& g = found[k];
        bool in_flight = false;
        Fwd* f = nullptr;
        for (Fwd& x : fwds) {
            in_flight = in_flight || (x.used && x.core == g.core && x.name[0] == g.n0 && x.name[1] == g.n1);
            if (!x.used && !f) f = &x;
        }
        if (in_flight || !f) continue;
        const auto op = make_op(r::Registry::Kind::remove, g.core, g.domain, g.n0, g.n1);
        if (endpoint->submit(op, forwarded | static_cast<std::uint64_t>(f - fwds)) != Status::ok) continue;
        *f = {true, 2, g.core, g.domain, 0, {g.n0, g.n1}};
        any = true;
    }
    reap_pending = left;
    return any;
}

bool pump() {
    bool any = drain_backlog();
    if (!ready) return any;
    if (reap_removed()) any = true;
    for (Export& e : exports) {
        const bool waiting = e.state == State::queued || (e.state == State::removing && e.token == 0);
        if (waiting && submit(e)) any = true;
    }
    if (in_group && endpoint) take_completions();
    return any;
}

void summary(std::uint64_t& digest, std::uint64_t& count, std::uint64_t& pending) {
    digest = count = pending = 0;
    if (in_group && endpoint) {
        endpoint->replica().object().for_each([&](const r::Registry::Name& n, std::uint16_t core, std::uint32_t domain) {
            std::uint64_t n0 = 0, n1 = 0;
            from_name(n, n0, n1);
            digest += entry_digest(n0, n1, core, domain);
            ++count;
        });
    } else {
        for (const Copy& c : copy)
            if (c.used) {
                digest += entry_digest(c.name[0], c.name[1], c.core, c.domain);
                ++count;
            }
    }
    for (const Export& e : exports)
        pending += e.state == State::queued || e.state == State::pending || e.state == State::removing;
    pending += backlog_len;
}

void on_sum_request(std::uint64_t from) {
    std::uint64_t d = 0, n = 0, p = 0;
    summary(d, n, p);
    send(from, names_sum, mesh.core, d, n, p);
}

std::uint64_t summaries() { return sums; }

void on_sum(std::uint64_t from, const urpc::Message& m) {
    if (m.words[0] != from) {  // any monitor may run a names step: the plan's runner
        ++malformed;
        print("names_sum from core {} unexpected: ignored", from);
        return;
    }
    ++sums;
    if (m.words[1] != sum_digest0) ++sum_disagree;
    if (m.words[3] != 0) ++sum_unsettled;
    if (m.words[2] < sum_count_min) sum_count_min = m.words[2];
    if (m.words[2] > sum_count_max) sum_count_max = m.words[2];
}

bool run_step(std::uint64_t want, void (*collect)(std::uint64_t), void (*pause)(std::uint64_t)) {
    // Until every table holds `want` names and no export waits for its outcome (the racers of a
    // round may still be starting), then once more: the tables must agree.
    constexpr unsigned limit = 4000;
    unsigned round = 0;
    std::uint64_t pending0 = 0;
    for (;; ++round) {
        summary(sum_digest0, sum_count_min, pending0);
        sum_count_max = sum_count_min;
        sum_disagree = 0;
        sum_unsettled = pending0 != 0;
        const std::uint64_t target = sums + mesh_live() - 1;  // the cores in the membership
        broadcast(names_sum_req);
        collect(target);
        const bool settled = sum_unsettled == 0 && sum_count_min == want && sum_count_max == want;
        if (settled || round == limit) break;
        pause(2);  // serving meanwhile: bare wait_events here took the wake-ups of lines for us
    }
    const bool ok = round < limit && sum_disagree == 0;
    emit("names cores={} count={} agree={} digest={:#x} rounds={}", mesh.cores, sum_count_max, ok ? "yes" : "no",
         sum_digest0, round + 1);
    if (!ok)
        print("names: {} of {} monitors disagree with monitor {}, counts {}..{}, {} unsettled{}", sum_disagree,
              mesh_live() - 1, mesh.core, sum_count_min, sum_count_max, sum_unsettled, round == limit ? " (gave up waiting)" : "");
    return ok;
}

} // namespace myr::monitor::names
