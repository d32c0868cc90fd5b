// The monitors' message layer (mesh.hpp).
#include "mesh.hpp"

#include <myr/monitor/protocol.hpp>

#include <myr/user/syscall.hpp>

namespace myr::monitor {

using user::print;
using user::syscall6;

Mesh mesh;
abi::TopologyInfo topo;
bool tree_broadcast = true;
bool graph_nodes;
urpc::Receiver rx[max_cores];
urpc::Sender tx[max_cores];
std::uint64_t sent, received, malformed, lines_sent, lines_forwarded;
std::uint64_t sent_by_type[32];
std::uint64_t lines_dropped;

namespace {

bool tx_ready[max_cores];
bool removed[max_cores];  // out of the membership (mesh_exclude)
std::uint64_t removed_count;

// ---- The channel graph -------------------------------------------------------------------------
// mesh (default): every monitor sends to every other directly, N(N-1) channels in use.
// nodes (kernel option monitor.graph=nodes): a monitor talks directly only to the cores of its
// own node and, if it leads its node (lowest core), to the other nodes' leaders; anything else
// goes through the leaders as an envelope line (route_env: [origin, destination]) followed by the
// message line itself, unchanged. Channels in use: sum of k(k-1) per node plus L(L-1).
// Both tables are fixed at start: poll() asks for every channel on every round.
std::uint16_t leader[max_cores];  // lowest core of each core's node
bool direct[max_cores];           // this monitor sends to / polls that core directly

bool is_direct(std::uint64_t a, std::uint64_t b) {
    return !graph_nodes || topo.core_node[a] == topo.core_node[b] || (leader[a] == a && leader[b] == b);
}

std::uint64_t next_hop(std::uint64_t to) {
    if (direct[to]) return to;
    const std::uint64_t mine = leader[mesh.core];
    return mine == mesh.core ? leader[to] : mine;
}

// ---- The outbox --------------------------------------------------------------------------------
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

void send_line(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words],
               bool past_cut = false) {
    if (removed[to] && !past_cut) {
        ++lines_dropped;
        return;
    }
    // Straight onto the ring when nothing waits before it (the common case); else queue behind.
    if (outbox_len == 0 && attached(to) && tx[to].try_send(type, words) == Status::ok) {
        ++lines_sent;
        (void)syscall6(abi::Sys::send_ipi, ipi_cap, to);
        return;
    }
    while (outbox_len == outbox_cap) {
        // Sleep, do not spin: a spinning vCPU starves the others under single-threaded TCG.
        if (!flush()) (void)syscall6(abi::Sys::wait_event);
    }
    Pending& p = outbox[outbox_len++];
    p.to = static_cast<std::uint16_t>(to);
    p.type = type;
    for (unsigned i = 0; i < urpc::payload_words; ++i) p.words[i] = words[i];
}

// A message towards `to` along the graph from `origin` (us, or the core we relay for).
void route(std::uint64_t origin, std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    const std::uint64_t hop = next_hop(to);
    if (hop != to || origin != mesh.core) {  // the last hop of a relay still names the origin
        const std::uint64_t envelope[urpc::payload_words] = {origin, to};
        send_line(hop, route_env, envelope);
    }
    send_line(hop, type, words);
}

// ---- Broadcast ---------------------------------------------------------------------------------
// Through the topology-aware multicast tree (interconnect/multicast.hpp) or, for comparison
// (kernel option monitor.broadcast=unicast), one send per core from the origin. A tree message
// carries its origin in word 6 (tree_mark | origin); every monitor forwards it to its children in
// the origin's tree before handling it, and handlers see the origin as sender.
urpc::MulticastTree tree;  // the tree of the last origin asked for
std::uint64_t tree_origin = ~0ull;

// To `core`'s children in the tree; a removed child's children get the line from us instead (and
// theirs, for a removed grandchild).
void forward_below(const urpc::MulticastTree& t, std::uint32_t core, std::uint64_t origin, std::uint8_t type,
                   const std::uint64_t* w, unsigned depth) {
    for (const std::uint16_t child : t.children(core)) {
        if (!removed[child]) send(child, type, w[0], w[1], w[2], w[3], w[4], w[5], tree_mark | origin);
        else if (depth < max_cores) forward_below(t, child, origin, type, w, depth + 1);
    }
}

void forward(std::uint64_t origin, std::uint8_t type, const std::uint64_t* w) {
    const urpc::MulticastTree* t = tree_of(origin);
    if (!t) return;
    forward_below(*t, static_cast<std::uint32_t>(mesh.core), origin, type, w, 0);
}

// Whether `from` may hand us a line of `origin`'s broadcast: our parent in its tree, or an
// ancestor (cores between were removed: the sender may know before we do, so any ancestor).
// The tree keeps its shape across membership views (removed cores are passed over, not rebuilt
// around as the membership and name agreements do), so who is an ancestor never changes while
// monitors disagree for a moment on the view; a line without a view number could not be checked
// against a rebuilt tree. Monitors trust each other (only they hold mesh channels): the check
// catches misrouted lines, not forged ones.
bool tree_sender(const urpc::MulticastTree& t, std::uint64_t from) {
    std::uint32_t c = static_cast<std::uint32_t>(mesh.core);
    for (unsigned hops = 0; hops < max_cores; ++hops) {
        const std::uint16_t p = t.parent(c);
        if (p == urpc::no_parent) return false;
        if (p == from) return true;
        c = p;
    }
    return false;
}

// ---- Receiving ---------------------------------------------------------------------------------
// One message for us from `from` (after routing): tree broadcasts are passed on first.
void deliver(std::uint64_t from, const urpc::Message& m) {
    if (is_broadcast(m.header.type) && (m.words[6] & tree_mark)) {
        // Only from our parent in the origin's tree, or an ancestor past removed cores.
        const std::uint64_t origin = m.words[6] & 0xffff;
        const urpc::MulticastTree* t = origin < mesh.cores ? tree_of(origin) : nullptr;
        if (!t || !tree_sender(*t, from)) {
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

} // namespace

bool tx_attach(std::uint64_t to) { return to < mesh.cores && attached(to); }

bool mesh_init(const Mesh& m, bool topo_ok, bool unicast_broadcast, bool node_graph) {
    mesh = m;
    // Our inbox: one channel per sender (receiver-local memory, placed by the CPU driver).
    for (std::uint64_t s = 0; s < mesh.cores; ++s) {
        if (s == mesh.core) continue;
        if (urpc::format_channel(mesh.channel(mesh.core, s), {abi::monitor_channel_slots, urpc::Wake::poll}) != Status::ok) {
            print("cannot format channel from core {}", s);
            return false;
        }
        rx[s] = *urpc::Receiver::attach(mesh.channel(mesh.core, s));
    }
    if (!topo_ok) {
        print("no usable topology: broadcasts go one by one, the graph is the full mesh");
        topo = {};
    }
    tree_broadcast = topo_ok && !unicast_broadcast;
    graph_nodes = topo_ok && node_graph;
    for (std::uint64_t c = 0; c < mesh.cores; ++c) {
        leader[c] = static_cast<std::uint16_t>(c);
        for (std::uint64_t l = 0; l < c; ++l)
            if (topo_ok && topo.core_node[l] == topo.core_node[c]) {
                leader[c] = static_cast<std::uint16_t>(l);
                break;
            }
    }
    for (std::uint64_t c = 0; c < mesh.cores; ++c) direct[c] = c != mesh.core && is_direct(mesh.core, c);
    return true;
}

std::uint64_t graph_channels() {
    std::uint64_t n = 0;
    for (std::uint64_t a = 0; a < mesh.cores; ++a)
        for (std::uint64_t b = 0; b < mesh.cores; ++b) n += a != b && is_direct(a, b);
    return n;
}

void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2,
          std::uint64_t w3, std::uint64_t w4, std::uint64_t w5, std::uint64_t w6) {
    const std::uint64_t words[urpc::payload_words] = {w0, w1, w2, w3, w4, w5, w6};
    if (type < 32) ++sent_by_type[type];
    ++sent;
    route(mesh.core, to, type, words);
}

bool try_send_words(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    if (to >= mesh.cores || to == mesh.core || outbox_len + 2 > outbox_cap) return false;
    ++sent;
    route(mesh.core, to, type, words);
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

std::uint32_t queued() { return outbox_len; }

void send_past_cut(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    if (to >= mesh.cores || to == mesh.core) return;
    ++sent;
    if (!removed[to]) route(mesh.core, to, type, words);  // the usual way (through relays under monitor.graph=nodes)
    else send_line(to, type, words, true);             // straight: relays may pass over it
}

void mesh_exclude(std::uint64_t core) {
    if (core >= mesh.cores || core == mesh.core || removed[core]) return;
    removed[core] = true;
    ++removed_count;
    unsigned kept = 0;
    for (unsigned i = 0; i < outbox_len; ++i) {
        if (outbox[i].to == core) {
            ++lines_dropped;
            continue;
        }
        if (kept != i) outbox[kept] = outbox[i];
        ++kept;
    }
    outbox_len = kept;
}

bool mesh_alive(std::uint64_t core) { return core < mesh.cores && !removed[core]; }

std::uint64_t mesh_live() { return mesh.cores - removed_count; }

void drain_outbox() {
    while (outbox_len)
        if (!flush()) (void)syscall6(abi::Sys::wait_event);
}

const urpc::MulticastTree* tree_of(std::uint64_t origin) {
    if (topo.cores == 0) return nullptr;
    if (origin != tree_origin) {
        const urpc::MulticastInput in{{topo.distance, std::size_t{topo.nodes} * topo.nodes}, topo.nodes,
                                      {topo.core_node, topo.cores}, static_cast<std::uint32_t>(origin)};
        if (build_multicast_tree(in, tree) != Status::ok) return nullptr;
        tree_origin = origin;
    }
    return &tree;
}

void broadcast(std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3) {
    const std::uint64_t w[6] = {w0, w1, w2, w3, 0, 0};
    if (tree_broadcast && tree_of(mesh.core)) {
        forward(mesh.core, type, w);
        return;
    }
    for (std::uint64_t c = 0; c < mesh.cores; ++c)
        if (c != mesh.core && !removed[c]) send(c, type, w0, w1, w2, w3);
}

bool poll_mesh() {
    bool any = flush();
    for (std::uint64_t s = 0; s < mesh.cores; ++s) {
        if (!direct[s]) continue;
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
            if (origin >= mesh.cores || to >= mesh.cores || m.header.type == route_env) {
                ++malformed;
                print("bad routed message from core {} (origin {}, to {}): ignored", s, origin, to);
                continue;
            }
            if (to == mesh.core) {
                deliver(origin, m);
            } else {
                ++lines_forwarded;
                route(origin, to, m.header.type, m.words);
            }
        }
    }
    return any;
}

} // namespace myr::monitor
