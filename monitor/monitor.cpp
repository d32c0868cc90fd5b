// The per-core monitor (DESIGN.md §2 step 4, §5): the user-space half of each core's OS. Started
// by its CPU driver as the core's first domain with a kernel capability, an IPI capability and
// the mesh of URPC inboxes mapped. Monitors agree on the membership through the boot core's
// monitor, answer pings, start programs for each other, and the boot core's monitor runs the
// self-check plan: membership, all-pairs ping, remote spawn on every core, a malformed-message
// probe, then shutdown.
#include "protocol.hpp"
#include "replication.hpp"

#include <myr/urpc/multicast.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>
#include <myr/user/measure.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::monitor;

namespace {

constexpr std::uint64_t kernel_cap = 5;
constexpr std::uint64_t ipi_cap = 6;
constexpr std::uint64_t service_ep = 7;   // receiving copy of this core's monitor endpoint
constexpr std::uint64_t chan_pool = 8;    // untyped RAM for binding rings (this core's node)
constexpr std::uint64_t first_slot = 9;   // slots 9..63: rings in transit to domains
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
std::uint64_t sent_by_type[32];
std::uint64_t type_totals[32];  // monitor 0: summed over every monitor's status reply

// Monitor 0's view of the run.
std::uint32_t hellos;
std::uint32_t node_of[max_cores];
std::uint32_t pings_reported, pings_failed_total;
std::uint32_t spawn_replies, spawn_failures, spawn_unknown_ok;
std::uint32_t status_replies;
// Every monitor's ping round.
std::uint32_t pongs_expected, pongs_got;
bool bench_rtt;  // monitor 0: measure the round trip (argument bit; ./myriad bench monitors)
std::uint32_t census_replies;
std::uint64_t bcast_acks, bcast_hops_max, bcast_forwarded;
std::uint64_t census_live, census_exited, census_failed, census_faulted;

// ---- Binding (docs/monitors.md): service names and the rings of bindings in set-up -------------
// Every export is broadcast, so each monitor resolves names locally (a replicated registry kept
// by one-phase broadcast: names are only added, so the updates commute).
struct Service {
    std::uint64_t name[2];
    std::uint32_t core, domain;
    bool used;
};
constexpr unsigned max_services = 32;
Service services[max_services];

// One end of a binding at this monitor, from the client's bind (or the bind request reaching
// the server's core) until its domain took both rings.
struct BindEnd {
    bool used, ready, server, accepted;
    Status error;            // client side: what the server's monitor answered, if not ok
    std::uint32_t domain;    // the local domain (its badge)
    std::uint32_t peer_core, peer_domain;
    std::uint64_t rx_slot, tx_slot;  // our slots holding its rings until taken (0: taken)
};
constexpr unsigned max_binds = 24;
BindEnd binds[max_binds];
std::uint64_t bindings_made;
std::uint64_t slot_used;  // bit per cnode slot

Result<std::uint64_t> alloc_slot() {
    for (std::uint64_t s = first_slot; s < 64; ++s)
        if (!(slot_used >> s & 1)) {
            slot_used |= std::uint64_t{1} << s;
            return s;
        }
    return Status::overflow;
}
void free_slot(std::uint64_t s) {
    if (s) {
        (void)syscall6(abi::Sys::cap_delete, s);
        slot_used &= ~(std::uint64_t{1} << s);
    }
}


void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
          std::uint64_t w3 = 0, std::uint64_t w4 = 0, std::uint64_t w5 = 0, std::uint64_t w6 = 0);
void bench_echo(std::uint64_t from, std::uint64_t rounds, std::uint64_t line_offset);

// ---- The channel graph -------------------------------------------------------------------------
// mesh (default): every monitor sends to every other directly, N(N-1) channels in use.
// nodes (kernel option monitor.graph=nodes): a monitor talks directly only to the cores of its
// own node and, if it leads its node (lowest core), to the other nodes' leaders; anything else
// goes through the leaders as an envelope line (route: [origin, destination]) followed by the
// message line itself, unchanged. Channels in use: sum of k(k-1) per node plus L(L-1).
abi::TopologyInfo topo;
bool graph_nodes;
std::uint64_t lines_sent, lines_forwarded;
std::uint64_t total_lines, total_forwarded;  // monitor 0: summed from status replies

std::uint64_t leader_of(std::uint64_t core) {
    for (std::uint64_t c = 0; c < topo.cores; ++c)
        if (topo.core_node[c] == topo.core_node[core]) return c;
    return core;
}

bool neighbour(std::uint64_t other) {
    if (!graph_nodes) return true;
    return topo.core_node[other] == topo.core_node[mesh.core] ||
           (leader_of(mesh.core) == mesh.core && leader_of(other) == other);
}

std::uint64_t next_hop(std::uint64_t to) {
    if (neighbour(to)) return to;
    const std::uint64_t mine = leader_of(mesh.core);
    return mine == mesh.core ? leader_of(to) : mine;
}

// Lines go out through one FIFO outbox: a full ring never blocks a monitor (two monitors each
// waiting for the other to drain would deadlock, and relays make that likely); lines to one
// channel keep their order, so an envelope stays right before its message.
struct Pending {
    std::uint16_t to;
    std::uint8_t type;
    std::uint64_t words[urpc::payload_words];
};
constexpr unsigned outbox_cap = 8192;
Pending outbox[outbox_cap];
unsigned outbox_len;
std::uint64_t outbox_peak;

bool attached(std::uint64_t to) {
    // The receiver formats its inbox when it starts; until then attach fails and lines wait.
    if (!tx_ready[to]) {
        auto s = urpc::Sender::attach(mesh.channel(to, mesh.core));
        if (!s.ok()) return false;
        tx[to] = *s;
        tx_ready[to] = true;
    }
    return true;
}

// Sends what the rings take, in order per channel; returns whether any line went.
bool flush() {
    if (outbox_len == 0) return false;
    bool stuck[max_cores] = {}, woke[max_cores] = {};
    unsigned kept = 0;
    bool progress = false;
    for (unsigned i = 0; i < outbox_len; ++i) {
        Pending& p = outbox[i];
        if (!stuck[p.to] && attached(p.to) && tx[p.to].try_send(p.type, p.words) == Status::ok) {
            ++lines_sent;
            progress = true;
            if (!woke[p.to]) {
                woke[p.to] = true;
                (void)syscall6(abi::Sys::send_ipi, ipi_cap, p.to);
            }
            continue;
        }
        if (!stuck[p.to]) (void)syscall6(abi::Sys::send_ipi, ipi_cap, p.to);  // make sure it drains
        stuck[p.to] = true;
        if (kept != i) outbox[kept] = p;
        ++kept;
    }
    outbox_len = kept;
    return progress;
}

void send_line(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    while (outbox_len == outbox_cap) {
        // Sleep, do not spin: a spinning vCPU starves the others under single-threaded TCG.
        if (!flush()) (void)syscall6(abi::Sys::wait_event);
    }
    Pending& p = outbox[outbox_len++];
    p.to = static_cast<std::uint16_t>(to);
    p.type = type;
    for (unsigned i = 0; i < urpc::payload_words; ++i) p.words[i] = words[i];
    if (outbox_len > outbox_peak) outbox_peak = outbox_len;
    flush();
}

// A message towards `to` along the graph from `origin` (us, or the core we forward for).
void route(std::uint64_t origin, std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    const std::uint64_t hop = next_hop(to);
    if (hop != to || origin != mesh.core) {  // the last hop of a relay still names the origin
        const std::uint64_t envelope[urpc::payload_words] = {origin, to};
        send_line(hop, route_env, envelope);
    }
    send_line(hop, type, words);
}

void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2,
          std::uint64_t w3, std::uint64_t w4, std::uint64_t w5, std::uint64_t w6) {
    const std::uint64_t words[urpc::payload_words] = {w0, w1, w2, w3, w4, w5, w6};
    if (type < 32) ++sent_by_type[type];
    ++sent;
    route(mesh.core, to, type, words);
}

// ---- Broadcast: through the topology-aware multicast tree (interconnect/multicast.hpp) or, for
// comparison (kernel option monitor.broadcast=unicast), one send per core from the origin.
// A tree message carries its origin in word 6 (tree_mark | origin); every monitor forwards it to
// its children in the origin's tree before handling it, and handlers see the origin as sender.
bool tree_broadcast = true;
urpc::MulticastTree tree;          // the tree of the last origin asked for
std::uint64_t tree_origin = ~0ull;

const urpc::MulticastTree* tree_of(std::uint64_t origin) {
    if (origin != tree_origin) {
        const urpc::MulticastInput in{{topo.distance, std::size_t{topo.nodes} * topo.nodes}, topo.nodes,
                                      {topo.core_node, topo.cores}, static_cast<std::uint32_t>(origin)};
        if (build_multicast_tree(in, tree) != Status::ok) return nullptr;
        tree_origin = origin;
    }
    return &tree;
}

void forward(std::uint64_t origin, std::uint8_t type, const std::uint64_t* w) {
    const urpc::MulticastTree* t = tree_of(origin);
    if (!t) return;
    for (const std::uint16_t child : t->children(static_cast<std::uint32_t>(mesh.core)))
        send(child, type, w[0], w[1], w[2], w[3], w[4], w[5], tree_mark | origin);
}

// Words 0..5 are the message's; word 6 is the broadcast's.
void broadcast(std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
               std::uint64_t w3 = 0) {
    const std::uint64_t w[6] = {w0, w1, w2, w3, 0, 0};
    if (tree_broadcast && tree_of(mesh.core)) {
        forward(mesh.core, type, w);
        return;
    }
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, type, w0, w1, w2, w3);
}

// ---- Binding ---------------------------------------------------------------------------------

void wake_local_domains() { (void)syscall6(abi::Sys::send_ipi, ipi_cap, mesh.core); }

Service* find_service(std::uint64_t n0, std::uint64_t n1) {
    for (Service& s : services)
        if (s.used && s.name[0] == n0 && s.name[1] == n1) return &s;
    return nullptr;
}

Status add_service(std::uint64_t n0, std::uint64_t n1, std::uint32_t core, std::uint32_t domain) {
    if (n0 == 0) return Status::invalid_argument;
    if (find_service(n0, n1)) return Status::exists;
    for (Service& s : services)
        if (!s.used) {
            s = {{n0, n1}, core, domain, true};
            return Status::ok;
        }
    return Status::overflow;
}

BindEnd* new_bind() {
    for (BindEnd& e : binds)
        if (!e.used) {
            e = {};
            e.used = true;
            e.error = Status::ok;
            return &e;
        }
    return nullptr;
}

void release_bind(BindEnd& e) {
    free_slot(e.rx_slot);
    free_slot(e.tx_slot);
    e = {};
}

// A fresh ring from this core's pool (so in this node's memory): its slot and physical address.
// With `original`, the retyped cap stays with us there and `slot` gets a copy: a binding between
// two domains of this core gives both of them copies, so neither's exit (which revokes what
// derives from its caps) takes the ring away from the other.
Status new_ring(std::uint64_t& slot, std::uint64_t& phys, std::uint64_t* original = nullptr) {
    const auto s = alloc_slot();
    if (!s.ok()) return s.status();
    slot = *s;
    Status st = syscall6(abi::Sys::retype, chan_pool, 10 /* channel_memory */, abi::bind_ring_bits, slot, 1).status;
    if (st == Status::ok && original) {
        *original = slot;
        const auto c = alloc_slot();
        st = c.ok() ? syscall6(abi::Sys::cap_copy, *original, *c, 0xffff).status : c.status();
        slot = c.ok() ? *c : 0;
    }
    if (st != Status::ok) {
        free_slot(slot);
        slot = 0;
        return st;
    }
    phys = syscall6(abi::Sys::cap_phys, kernel_cap, slot).value;
    return Status::ok;
}

// Ring memory is never reused: one ring retyped at start and kept forever stops the pool's
// watermark from resetting when every other ring is gone, because a peer core may still hold a
// capability to a dead binding's ring (revoking across cores is not built yet).
void pin_pool() {
    std::uint64_t slot = 0, phys = 0;
    if (new_ring(slot, phys) != Status::ok) print("no channel pool: bindings to this core will fail");
}

// The peer's ring: a copy of our own cap when the peer is on this core, else a capability the
// kernel creates for the address the peer's monitor sent (it checks it is channel-pool memory).
Status peer_ring(std::uint64_t phys, std::uint64_t local_slot, std::uint64_t& slot) {
    const auto s = alloc_slot();
    if (!s.ok()) return s.status();
    slot = *s;
    const Status st = local_slot ? syscall6(abi::Sys::cap_copy, local_slot, slot, 0xffff).status
                                 : syscall6(abi::Sys::cap_create_remote, kernel_cap, phys, abi::bind_ring_bits, slot).status;
    if (st != Status::ok) {
        slot_used &= ~(std::uint64_t{1} << slot);
        slot = 0;
    }
    return st;
}

void bind_reply_here(std::uint64_t from, std::uint64_t ticket, Status status, std::uint64_t server_phys,
                     std::uint64_t server_domain, std::uint64_t local_slot);

// The server's side of a bind: a request from core `from` (maybe this one) for a name we export.
void bind_request_here(std::uint64_t from, std::uint64_t ticket, std::uint64_t client_domain, std::uint64_t client_phys,
                       std::uint64_t n0, std::uint64_t n1, std::uint64_t local_slot) {
    Status st = Status::ok;
    const Service* svc = find_service(n0, n1);
    BindEnd* f = nullptr;
    std::uint64_t phys = 0, server_domain = 0, original = 0;
    if (!svc || svc->core != mesh.core) st = Status::not_found;
    else if (!(f = new_bind())) st = Status::overflow;
    if (st == Status::ok) {
        f->server = true;
        f->domain = svc->domain;
        f->peer_core = static_cast<std::uint32_t>(from);
        f->peer_domain = static_cast<std::uint32_t>(client_domain);
        st = new_ring(f->rx_slot, phys, local_slot ? &original : nullptr);
        if (st == Status::ok) st = peer_ring(client_phys, local_slot, f->tx_slot);
        if (st == Status::ok) {
            f->ready = true;
            server_domain = svc->domain;
            ++bindings_made;
            wake_local_domains();  // a server may be polling accept
        } else {
            release_bind(*f);
        }
    }
    if (from == mesh.core) bind_reply_here(from, ticket, st, phys, server_domain, original);
    else send(from, bind_reply, ticket, static_cast<std::uint64_t>(static_cast<std::uint32_t>(st)), phys, server_domain);
}

// The client's side: the server's monitor answered.
void bind_reply_here(std::uint64_t from, std::uint64_t ticket, Status status, std::uint64_t server_phys,
                     std::uint64_t server_domain, std::uint64_t local_slot) {
    if (ticket >= max_binds || !binds[ticket].used || binds[ticket].server || binds[ticket].ready ||
        binds[ticket].error != Status::ok) {
        ++malformed;
        print("bind reply for unknown ticket {} from core {}: ignored", ticket, from);
        return;
    }
    BindEnd& e = binds[ticket];
    if (status == Status::ok) status = peer_ring(server_phys, local_slot, e.tx_slot);
    if (status == Status::ok) {
        e.peer_core = static_cast<std::uint32_t>(from);
        e.peer_domain = static_cast<std::uint32_t>(server_domain);
        e.ready = true;
        if (from != mesh.core) ++bindings_made;
    } else {
        e.error = status;
    }
    wake_local_domains();  // the client polls bind_poll
}

// Answers a domain's call: w0 = status, w1..w3 = values; a ring cap moves with it where given.
// Returns whether the cap moved.
bool reply(Status st, std::uint64_t w1 = 0, std::uint64_t w2 = 0, std::uint64_t w3 = 0,
           std::uint64_t cap = abi::no_cap) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(static_cast<std::uint32_t>(st));
    m.w[1] = w1;
    m.w[2] = w2;
    m.w[3] = w3;
    return ipc(abi::Sys::ipc_reply, 0, m, cap) == Status::ok && m.cap_arrived == 1;
}

BindEnd* owned_bind(std::uint64_t id, std::uint64_t domain) {
    if (id >= max_binds || !binds[id].used || binds[id].domain != domain) return nullptr;
    return &binds[id];
}

// One call from a domain of this core (its badge is its domain id).
void serve_call(const Message& m) {
    const std::uint64_t who = m.badge;
    switch (static_cast<abi::MonitorOp>(m.w[0])) {
    case abi::MonitorOp::export_name: {
        const Status st = add_service(m.w[1], m.w[2], static_cast<std::uint32_t>(mesh.core), static_cast<std::uint32_t>(who));
        reply(st);
        if (st == Status::ok) broadcast(export_note, mesh.core, who, m.w[1], m.w[2]);
        return;
    }
    case abi::MonitorOp::bind: {
        const Service* svc = find_service(m.w[1], m.w[2]);
        if (!svc) return (void)reply(Status::not_found);
        BindEnd* e = new_bind();
        if (!e) return (void)reply(Status::overflow);
        e->domain = static_cast<std::uint32_t>(who);
        std::uint64_t phys = 0, original = 0;
        const bool local = svc->core == mesh.core;
        if (const Status st = new_ring(e->rx_slot, phys, local ? &original : nullptr); st != Status::ok) {
            release_bind(*e);
            return (void)reply(st);
        }
        const std::uint64_t ticket = static_cast<std::uint64_t>(e - binds);
        reply(Status::ok, ticket);
        if (local) bind_request_here(mesh.core, ticket, who, phys, m.w[1], m.w[2], original);
        else send(svc->core, bind_req, ticket, who, phys, m.w[1], m.w[2]);
        return;
    }
    case abi::MonitorOp::bind_poll: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || e->server) return (void)reply(Status::not_found);
        if (e->error != Status::ok) {
            const Status st = e->error;
            release_bind(*e);
            return (void)reply(st);
        }
        if (!e->ready) return (void)reply(Status::would_block);
        reply(Status::ok, m.w[1], e->peer_core, e->peer_domain);
        return;
    }
    case abi::MonitorOp::accept:
        for (BindEnd& e : binds)
            if (e.used && e.server && e.ready && !e.accepted && e.domain == who) {
                e.accepted = true;
                reply(Status::ok, static_cast<std::uint64_t>(&e - binds), e.peer_core, e.peer_domain);
                return;
            }
        reply(Status::would_block);
        return;
    case abi::MonitorOp::doorbell: {
        // Our IPI cap minted down to the peer's core (badge = core + 1), moved to the caller.
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || !e->ready || (e->server && !e->accepted)) return (void)reply(Status::not_found);
        const auto slot = alloc_slot();
        if (!slot.ok()) return (void)reply(slot.status());
        const Status st = syscall6(abi::Sys::cap_mint, ipi_cap, *slot, 0xffff, e->peer_core + 1).status;
        if (st != Status::ok) {
            slot_used &= ~(std::uint64_t{1} << *slot);
            return (void)reply(st);
        }
        if (reply(Status::ok, e->peer_core, 0, 0, *slot)) slot_used &= ~(std::uint64_t{1} << *slot);
        else free_slot(*slot);
        return;
    }
    case abi::MonitorOp::take_ring: {
        BindEnd* e = owned_bind(m.w[1], who);
        if (!e || !e->ready || (e->server && !e->accepted) || m.w[2] > 1) return (void)reply(Status::not_found);
        std::uint64_t& slot = m.w[2] ? e->tx_slot : e->rx_slot;
        if (!slot) return (void)reply(Status::not_found);
        if (reply(Status::ok, 0, 0, 0, slot)) {  // moved: the slot is empty now
            slot_used &= ~(std::uint64_t{1} << slot);
            slot = 0;
            if (!e->rx_slot && !e->tx_slot) *e = {};
        }
        return;
    }
    }
    reply(Status::invalid_argument);
}

// Takes the calls waiting on our endpoint (never blocks: URPC traffic must keep flowing).
bool serve_local() {
    bool any = false;
    for (unsigned n = 0; n < 16; ++n) {
        Message m{};
        m.w[0] = abi::no_cap;
        m.w[1] = abi::recv_poll;
        if (ipc(abi::Sys::ipc_recv, service_ep, m) != Status::ok) break;
        any = true;
        serve_call(m);
    }
    return any;
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

// Starts a program on this core; its argument (rdi) is `arg`, or this core's number when ~0.
SysResult spawn_local(const char* name, std::uint64_t len, std::uint64_t arg) {
    return syscall6(abi::Sys::spawn, kernel_cap, reinterpret_cast<std::uint64_t>(name), len, arg == ~0ull ? mesh.core : arg,
                    abi::no_cap);
}

void spawn_here(std::uint64_t from, const urpc::Message& m) {
    char name[41] = {};
    for (unsigned i = 0; i < 40; ++i) name[i] = static_cast<char>(m.words[1 + i / 8] >> (8 * (i % 8)));
    std::uint64_t len = 0;
    while (len < 40 && name[len]) ++len;
    const SysResult r = spawn_local(name, len, m.words[6]);
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
        const std::uint64_t domains = syscall6(abi::Sys::core_status, kernel_cap).value & 0xffff;
        send(from, status_reply, mesh.core, domains | bindings_made << 32, sent | lines_sent << 32, received,
             malformed | lines_forwarded << 32, packed[0], packed[1]);
        break;
    }
    case status_reply:
        ++status_replies;
        for (unsigned t = 1; t <= 8; ++t) type_totals[t] += (m.words[5 + (t - 1) / 4] >> (16 * ((t - 1) % 4))) & 0xffff;
        total_lines += m.words[2] >> 32;
        total_forwarded += m.words[4] >> 32;
        emit("monitor-status core={} domains={} bindings={} sent={} lines={} forwarded={} received={} malformed={}",
             m.words[0], m.words[1] & 0xffffffff, m.words[1] >> 32, m.words[2] & 0xffffffff, m.words[2] >> 32,
             m.words[4] >> 32, m.words[3], m.words[4] & 0xffffffff);
        break;
    case export_note:
        if (m.words[0] != from || add_service(m.words[2], m.words[3], static_cast<std::uint32_t>(from),
                                              static_cast<std::uint32_t>(m.words[1])) != Status::ok) {
            ++malformed;
            print("export from core {} refused (bad sender, duplicate or table full)", from);
        }
        break;
    case bind_req: bind_request_here(from, m.words[0], m.words[1], m.words[2], m.words[3], m.words[4], 0); break;
    case bind_reply:
        bind_reply_here(from, m.words[0], static_cast<Status>(static_cast<std::int32_t>(m.words[1])), m.words[2],
                        m.words[3], 0);
        break;
    case census_req: {
        const std::uint64_t v = syscall6(abi::Sys::core_status, kernel_cap).value;
        send(from, census_reply, mesh.core, v & 0xffff, v >> 16 & 0xffff, v >> 32 & 0xffff, v >> 48);
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
    case census_reply:
        ++census_replies;
        census_live += m.words[1];
        census_exited += m.words[2];
        census_failed += m.words[3];
        census_faulted += m.words[4];
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
        print("malformed message type {} from core {}: ignored", m.header.type, from);
        break;
    }
}

// One message for us from `from` (after routing): tree broadcasts are passed on first.
void deliver(std::uint64_t from, const urpc::Message& m) {
    if (is_broadcast(m.header.type) && (m.words[6] & tree_mark)) {
        // Only from our parent in the origin's tree.
        const std::uint64_t origin = m.words[6] & 0xffff;
        const urpc::MulticastTree* t = origin < mesh.cores ? tree_of(origin) : nullptr;
        if (!t || t->parent(static_cast<std::uint32_t>(mesh.core)) != from) {
            ++malformed;
            print("broadcast line from core {} that is not our parent for origin {}: ignored", from, origin);
            return;
        }
        forward(origin, m.header.type, m.words);
        from = origin;
    }
    handle(from, m);
}

// An envelope read from a channel whose message line has not been read yet.
struct Envelope {
    bool pending;
    std::uint64_t origin, to;
};
Envelope envelope_from[max_cores];

// Sends what the outbox holds, drains every inbox channel of the graph once; returns whether
// anything moved.
bool poll() {
    bool any = flush();
    for (std::uint64_t s = 0; s < mesh.cores; ++s) {
        if (s == mesh.core || !neighbour(s)) continue;
        urpc::Message m{};
        for (;;) {
            const Status st = rx[s].try_recv(m);
            if (st == Status::would_block) break;
            any = true;
            if (st == Status::malformed) {
                ++malformed;
                print("undecodable line from core {}: ignored", s);
                continue;
            }
            if (!envelope_from[s].pending) {
                if (m.header.type != route_env) {
                    deliver(s, m);
                    continue;
                }
                // An envelope: the next line on this channel is the message (it may not be there
                // yet: the sender's outbox can hold it back, so do not wait for it here).
                envelope_from[s] = {true, m.words[0], m.words[1]};
                continue;
            }
            const std::uint64_t origin = envelope_from[s].origin, to = envelope_from[s].to;
            envelope_from[s].pending = false;
            const urpc::Message& inner = m;
            if (origin >= mesh.cores || to >= mesh.cores || inner.header.type == route_env) {
                ++malformed;
                print("bad routed message from core {} (origin {}, to {}): ignored", s, origin, to);
                continue;
            }
            if (to == mesh.core) {
                deliver(origin, inner);
            } else {
                ++lines_forwarded;
                std::uint64_t words[urpc::payload_words];
                for (unsigned i = 0; i < urpc::payload_words; ++i) words[i] = inner.words[i];
                route(origin, to, inner.header.type, words);
            }
        }
    }
    if (repl::pump()) any = true;  // replication outboxes and client (monitor/replication.cpp)
    return any;
}

// Replication's hooks into this monitor (monitor/replication.hpp): a send that never waits, this
// loop's poll, and kernel options.
// Through the same ordered outbox and channel graph as every monitor message (so relays work
// under monitor.graph=nodes); refused only while the outbox is nearly full.
bool try_send_line(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    if (to >= mesh.cores || outbox_len + 2 > outbox_cap) return false;
    ++sent;
    route(mesh.core, to, type, words);
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
    while (!done()) {
        const bool local = serve_local();
        const bool sent_some = flush();
        if (!poll() && !local && !sent_some) (void)syscall6(abi::Sys::wait_event);
    }
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
    const std::uint64_t u = median(urpc_t, batches), r = median(raw_t, batches);
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

// Starts NAME on one core (this one included), or on every other core when core == ~0; the
// program's argument is `arg`, or its core's number when arg == ~0.
void step_spawn(const char* name, std::uint64_t core, std::uint64_t arg) {
    std::uint64_t w[5] = {};
    pack_name(name, w);
    const std::uint32_t replies0 = spawn_replies, failures0 = spawn_failures;
    std::uint32_t asked = 0, local_failed = 0;
    if (core == mesh.core) {
        std::uint64_t len = 0;
        while (name[len]) ++len;
        const SysResult r = spawn_local(name, len, arg);
        local_failed = r.status != Status::ok;
        ++asked;
    }
    for (std::uint64_t c = 0; c < mesh.cores; ++c) {
        if (c == mesh.core || (core != ~0ull && c != core)) continue;
        send(c, spawn_req, 1, w[0], w[1], w[2], w[3], w[4], arg);
        ++asked;
    }
    run_until([&] { return spawn_replies == replies0 + asked - (core == mesh.core); });
    const std::uint32_t failed = spawn_failures - failures0 + local_failed;
    emit("remote-spawn program={} cores={} failed={}", name, asked, failed);
    plan_ok = plan_ok && failed == 0 && (asked > 0 || core == ~0ull);
}

void step_status() {
    const std::uint32_t before = status_replies;
    total_lines = total_forwarded = 0;  // replies carry running totals: the last round's sum counts
    broadcast(status_req);
    run_until([&] { return status_replies == before + mesh.cores - 1; });
}

// Error paths: an unknown program on every other core must be refused, and a malformed message
// must be logged and survived (the status round after it shows every monitor still answering).
void step_probe() {
    std::uint64_t bogus[5] = {};
    pack_name("no-such-program", bogus);
    const std::uint32_t replies0 = spawn_replies, refused0 = spawn_unknown_ok;
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, spawn_req, 2, bogus[0], bogus[1], bogus[2], bogus[3], bogus[4], ~0ull);
    run_until([&] { return spawn_replies == replies0 + mesh.cores - 1; });
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core) send(c, 0x7e, 0xbad);
    step_status();
    const std::uint32_t refused = spawn_unknown_ok - refused0;
    emit("probe unknown-refused={} of {}", refused, mesh.cores - 1);
    plan_ok = plan_ok && refused == mesh.cores - 1;
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
            run_until([&] { return bcast_acks == (r + 1) * (mesh.cores - 1); });
        }
        const std::uint64_t ticks = (rdtsc() - t0) / rounds;
        emit("bench-monitors cores={} phase=broadcast-{} messages={} hops={} origin-sends={} cross-node={} ticks={}",
             mesh.cores, tree_mode ? "tree" : "unicast", origin_sends + bcast_forwarded / rounds, bcast_hops_max,
             origin_sends, cross, ticks);
    }
    tree_broadcast = mode_before;
}

// Waits until every core's domains (monitors aside) have ended, then reports how they ended;
// a domain that failed or faulted fails the plan. Gives up after about `limit` wake-ups.
void step_wait() {
    constexpr unsigned limit = 20000;
    unsigned rounds = 0;
    for (;; ++rounds) {
        census_replies = 0;
        census_live = census_exited = census_failed = census_faulted = 0;
        broadcast(census_req);
        const std::uint64_t v = syscall6(abi::Sys::core_status, kernel_cap).value;
        run_until([&] { return census_replies == mesh.cores - 1; });
        census_live += v & 0xffff;
        census_exited += v >> 16 & 0xffff;
        census_failed += v >> 32 & 0xffff;
        census_faulted += v >> 48;
        if (census_live == 0 || rounds == limit) break;
        for (unsigned i = 0; i < 4; ++i) (void)syscall6(abi::Sys::wait_event);
        serve_local();
    }
    emit("wait live={} exited={} failed={} faulted={}", census_live, census_exited, census_failed, census_faulted);
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
    std::uint64_t channels = 0;
    for (std::uint64_t a = 0; a < mesh.cores; ++a)
        for (std::uint64_t b = 0; b < mesh.cores; ++b) {
            if (a == b) continue;
            const bool same = topo.core_node[a] == topo.core_node[b];
            channels += !graph_nodes || same || (leader_of(a) == a && leader_of(b) == b);
        }
    emit("bench-monitors cores={} phase=run graph={} lines={} forwarded={} channels={}", mesh.cores,
         graph_nodes ? "nodes" : "mesh", total_lines + lines_sent, total_forwarded + lines_forwarded, channels);
    if (mesh.cores > 1 && bench_rtt) bench_round_trip();
    print("plan {}", plan_ok ? "passed" : "FAILED");
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
    emit("monitor-broadcast mode={}", tree_broadcast ? "tree" : "unicast");
    char* p = plan;
    while (*p) {
        char* step = p;
        while (*p && *p != ',') ++p;
        if (*p) *p++ = '\0';
        bool ok = true;
        if (starts_with(step, "ping-all") && step[8] == '\0') {
            step_ping_all();
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
        } else if (starts_with(step, "bench") && step[5] == '\0') {
            ok = mesh.cores > 1;
            if (ok) bench_round_trip();
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
            print("bad plan step '{}'", step);
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
        print("{} cores is more than this monitor handles", cores);
        return 1;
    }
    // Format our inbox: one channel per sender (receiver-local memory, placed by the CPU driver).
    for (std::uint64_t s = 0; s < cores; ++s) {
        if (s == core) continue;
        if (urpc::format_channel(mesh.channel(core, s), {abi::monitor_channel_slots, urpc::Wake::poll}) != Status::ok) {
            print("cannot format channel from core {}", s);
            return 1;
        }
        rx[s] = *urpc::Receiver::attach(mesh.channel(core, s));
    }
    pin_pool();
    const bool topo_ok = syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo).status == Status::ok &&
                         topo.cores == cores;
    if (!topo_ok) {
        print("no usable topology: broadcasts go one by one");
        tree_broadcast = false;
    }
    char mode[16] = {};
    const char key[] = "monitor.broadcast";
    const SysResult r = syscall6(abi::Sys::kernel_option, kernel_cap, reinterpret_cast<std::uint64_t>(key), sizeof key - 1,
                                 reinterpret_cast<std::uint64_t>(mode), sizeof mode - 1);
    if (r.status == Status::ok && starts_with(mode, "unicast") && mode[7] == '\0') tree_broadcast = false;
    char graph[16] = {};
    const char gkey[] = "monitor.graph";
    const SysResult g = syscall6(abi::Sys::kernel_option, kernel_cap, reinterpret_cast<std::uint64_t>(gkey), sizeof gkey - 1,
                                 reinterpret_cast<std::uint64_t>(graph), sizeof graph - 1);
    graph_nodes = g.status == Status::ok && starts_with(graph, "nodes") && graph[5] == '\0' && topo_ok;
    repl::init({static_cast<std::uint32_t>(core), static_cast<std::uint32_t>(cores), try_send_line, poll, kernel_option,
                topo_ok ? &topo : nullptr});
    if (core == 0) run_plan();
    send(0, hello, core, node);
    run_until([] { return false; });
    __builtin_unreachable();
}
