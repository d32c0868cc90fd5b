#pragma once
// The ring memory of bindings (myr/monitor/ring_book.hpp, docs/monitors.md "Ring memory comes
// back") on Linux threads: the monitors' RingBook, one per node, over a pool of real rings in
// memory the node's thread allocates, and the lines that return rings (ring_gone) over URPC
// channels between the nodes. Every node binds to a random other node again and again as a client;
// as in the guest, each binding takes one ring from the pool of each end (the ring it receives
// on), the two ends exchange messages through them, and close. A ring comes back to its pool only
// when both ends gave it up. Nodes are spread over the host's cores (node k on thread k % threads).
//
// Checked on every message: the writer reads which binding the ring belongs to now (set by the
// ring's owner when it hands the ring out, cleared when it frees it) and it must be its own: a ring
// handed to a new binding while the old peer can still write into it fails the run. At the end:
// every pool is whole again and no node holds a reference to another's ring. The bind handshake
// here is this harness's own, shorter than binding.cpp's (no names, no tickets across monitors'
// tables); the accounting is the monitors' code. Used by tests/hosted/ring_hosted_test.cpp (also
// under TSan). Host only.
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/hosted/node_mesh.hpp>
#include <myr/monitor/ring_book.hpp>
#include <myr/urpc/urpc.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace myr::monitor::hosted {

struct RingRunConfig {
    std::uint32_t nodes = 4;       // 2..16
    std::uint32_t cycles = 2000;   // bindings each node makes as a client
    std::uint32_t messages = 4;    // round trips per binding
    std::uint32_t seed = 1;
};

struct RingRun {
    bool ok = false;
    std::string failure;
    std::uint64_t bindings = 0, refused = 0, reused = 0;  // reused: rings handed out again
};

namespace ring_run_detail {

inline constexpr unsigned ring_bits = 12;
inline constexpr std::uint64_t ring_bytes = std::uint64_t{1} << ring_bits;
// Small pools, so rings come round again within a few bindings (and a full pool refuses some).
inline constexpr std::uint32_t rings_per_node = 4;
inline constexpr urpc::ChannelConfig ring_config{32, urpc::Wake::poll};
static_assert(urpc::channel_bytes(32) <= ring_bytes);

enum Line : std::uint8_t { bind_req = 1, bind_reply = 2, ring_gone = 3 };
inline constexpr std::uint64_t bye = ~std::uint64_t{0};  // the server's last word, after the client closed

struct Shared {
    std::uint32_t nodes = 0;
    std::vector<std::uintptr_t> pool;  // each node's pool base (published before the run)
    std::unique_ptr<std::atomic<std::uint64_t>[]> owner_of;  // [node * rings + i]: binding using the ring, 0: free
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<std::uint32_t> finished{0};        // nodes whose client made all its bindings
    std::atomic<std::uint32_t> open_servers{0};    // server ends not closed yet
    std::atomic<bool> failed{false};
    std::mutex lock;
    std::string failure;
    void fail(const std::string& why) {
        std::lock_guard<std::mutex> g(lock);
        if (failure.empty()) failure = why;
        failed.store(true);
    }
    std::atomic<std::uint64_t>& binding_of(std::uint64_t addr) {
        for (std::uint32_t k = 0; k < nodes; ++k)
            if (addr >= pool[k] && addr < pool[k] + rings_per_node * ring_bytes)
                return owner_of[k * rings_per_node + (addr - pool[k]) / ring_bytes];
        std::abort();  // not a ring: a bug of this harness
    }
};

struct Binding {
    bool used = false, client = false;
    std::uint64_t id = 0;          // the client's node << 32 | its count
    std::uint32_t peer = 0;
    std::uint64_t rx = 0, tx = 0;  // our ring (we receive on it), the peer's (we send on it)
    urpc::Sender out;
    urpc::Receiver in;
    std::uint32_t sent = 0, got = 0;
};

struct Node {
    std::uint32_t id = 0;
    Shared* shared = nullptr;
    std::unique_ptr<RingBook> book;
    std::vector<urpc::Sender> to;
    std::vector<urpc::Receiver> from;
    std::vector<std::deque<std::array<std::uint64_t, 5>>> outq;  // type, w0..w3
    Binding client, server[16];
    std::uint64_t made = 0, refused = 0, reused = 0;
    std::vector<bool> handed_before;

    void line(std::uint32_t dest, std::uint8_t type, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0,
              std::uint64_t d = 0) {
        shared->in_flight.fetch_add(1, std::memory_order_relaxed);
        outq[dest].push_back({type, a, b, c, d});
    }
    // What a RingBook step asks: remove references here (nothing to do on a host), tell the owner,
    // and when a ring of ours is free, mark it nobody's.
    void apply(const RingBook::Done& d) {
        if (d.notify != RingBook::none) line(d.notify, ring_gone, d.phys);
        if (d.freed) shared->binding_of(d.phys).store(0, std::memory_order_release);
    }
    // A ring of our pool for binding `id` with `peer`, formatted for us to receive on; 0: none free.
    std::uint64_t take_ring(std::uint32_t peer, std::uint64_t id_) {
        const std::uint64_t r = book->allocate(peer, {});
        if (r == 0) return 0;
        const std::uint64_t i = (r - shared->pool[id]) / ring_bytes;
        if (handed_before[i]) ++reused;
        handed_before[i] = true;
        shared->binding_of(r).store(id_, std::memory_order_release);
        if (urpc::format_channel({reinterpret_cast<std::byte*>(r), ring_bytes}, ring_config) != Status::ok)
            shared->fail("a ring did not format");
        return r;
    }
    bool attach(Binding& b) {
        auto s = urpc::Sender::attach({reinterpret_cast<std::byte*>(b.tx), ring_bytes});
        auto r = urpc::Receiver::attach({reinterpret_cast<std::byte*>(b.rx), ring_bytes});
        if (!s.ok() || !r.ok()) return false;
        b.out = *s;
        b.in = *r;
        return true;
    }
    // Sends on the peer's ring, after checking it is still this binding's.
    bool write(Binding& b, std::uint64_t word) {
        if (shared->binding_of(b.tx).load(std::memory_order_acquire) != b.id)
            shared->fail("node " + std::to_string(id) + " wrote into a ring of node " + std::to_string(b.peer) +
                         " that another binding holds now");
        const std::uint64_t w[urpc::payload_words] = {word};
        return b.out.try_send(1, w) == Status::ok;
    }
    // Both references of a closed binding go (the monitors' unbind_ring of each ring).
    void close(Binding& b) {
        apply(book->unref(b.tx));
        apply(book->unref(b.rx));
        if (!b.client) shared->open_servers.fetch_sub(1, std::memory_order_release);
        b = {};
    }

    void on_line(std::uint32_t f, const urpc::Message& m) {
        switch (m.header.type) {
        case bind_req: {
            // [id, client's ring]: count a reference to it, take one of ours, answer
            // [id, refused?, our ring, whether we kept the client's ring's address].
            Binding* b = nullptr;
            for (Binding& s : server)
                if (!s.used) {
                    b = &s;
                    break;
                }
            if (!b || !book->ref(m.words[1], f)) {
                line(f, bind_reply, m.words[0], 1, 0, 0);  // its ring is its own alone
                return;
            }
            const std::uint64_t r = take_ring(f, m.words[0]);
            if (r == 0) {
                apply(book->unref(m.words[1]));  // ring_gone goes first, on the same channel
                line(f, bind_reply, m.words[0], 1, 0, 1);
                return;
            }
            *b = Binding{};
            b->used = true;
            b->id = m.words[0];
            b->peer = f;
            b->rx = r;
            b->tx = m.words[1];
            shared->open_servers.fetch_add(1, std::memory_order_relaxed);
            if (!attach(*b)) shared->fail("a server end did not attach");
            line(f, bind_reply, m.words[0], 0, r, 1);
            return;
        }
        case bind_reply: {
            Binding& c = client;
            if (!c.used || m.words[0] != c.id) return shared->fail("a reply nobody waits for");
            if (m.words[1] != 0) {
                ++refused;
                // A server that never kept our ring's address will not say ring_gone for it.
                if (m.words[3] == 0) apply(book->peer_never(c.rx));
                apply(book->unref(c.rx));
                c = {};
                return;
            }
            if (!book->ref(m.words[2], f)) return shared->fail("the server's ring could not be counted");
            c.tx = m.words[2];
            if (!attach(c)) shared->fail("a client end did not attach");
            ++made;
            return;
        }
        case ring_gone: {
            bool bad = false;
            apply(book->peer_done(f, m.words[0], bad));
            if (bad) shared->fail("ring_gone for a ring not in use with that peer");
            return;
        }
        default: shared->fail("a line of no known type");
        }
    }

    // One step of this node's client and server ends; true when anything moved.
    bool step(std::mt19937& rng, const RingRunConfig& cfg) {
        bool any = false;
        Binding& c = client;
        if (!c.used && made + refused < cfg.cycles) {
            const auto peer = static_cast<std::uint32_t>((id + 1 + rng() % (shared->nodes - 1)) % shared->nodes);
            const std::uint64_t bid = std::uint64_t{id} << 32 | (made + refused + 1);
            const std::uint64_t r = take_ring(peer, bid);
            if (r != 0) {
                c = Binding{};
                c.used = c.client = true;
                c.id = bid;
                c.peer = peer;
                c.rx = r;
                line(peer, bind_req, bid, r);
                any = true;
            }
        } else if (c.used && c.tx) {
            urpc::Message m{};
            if (c.sent < cfg.messages && c.sent == c.got && write(c, c.sent + 1)) {
                ++c.sent;
                any = true;
            }
            if (c.in.try_recv(m) == Status::ok) {
                any = true;
                if (m.words[0] != bye) {
                    if (m.words[0] != c.got + 1) shared->fail("an echo out of order");
                    ++c.got;
                }
            }
            if (c.got == cfg.messages && write(c, 0)) {  // 0: close
                close(c);
                any = true;
            }
        }
        for (Binding& s : server) {
            if (!s.used) continue;
            urpc::Message m{};
            if (s.in.try_recv(m) != Status::ok) continue;
            any = true;
            if (m.words[0] == 0) {
                // A server may still answer a close (here, after a while): the client gave its
                // ring up already, so only the accounting keeps that ring from another binding.
                for (unsigned spin = static_cast<unsigned>(rng() % 256); spin; --spin) urpc::cpu_relax();
                (void)write(s, bye);
                close(s);
                continue;
            }
            while (!write(s, m.words[0])) urpc::cpu_relax();
        }
        for (std::uint32_t f = 0; f < shared->nodes; ++f) {
            if (f == id) continue;
            urpc::Message m{};
            while (from[f].try_recv(m) == Status::ok) {
                on_line(f, m);
                shared->in_flight.fetch_sub(1, std::memory_order_acq_rel);
                any = true;
            }
        }
        for (std::uint32_t t = 0; t < shared->nodes; ++t)
            while (!outq[t].empty()) {
                const auto& q = outq[t].front();
                const std::uint64_t w[urpc::payload_words] = {q[1], q[2], q[3], q[4]};
                if (to[t].try_send(static_cast<std::uint8_t>(q[0]), w) != Status::ok) break;
                outq[t].pop_front();
                any = true;
            }
        return any;
    }
};

} // namespace ring_run_detail

inline RingRun run_rings(myr::hosted::Runtime& rt, const RingRunConfig& cfg) {
    using namespace ring_run_detail;
    RingRun result;
    const std::uint32_t n = cfg.nodes;
    if (n < 2 || n > 16) return result;
    Shared shared;
    shared.nodes = n;
    shared.pool.assign(n, 0);
    shared.owner_of.reset(new std::atomic<std::uint64_t>[std::size_t{n} * rings_per_node]);
    for (std::size_t i = 0; i < std::size_t{n} * rings_per_node; ++i) shared.owner_of[i].store(0);
    // Pools: allocated here, each first touched by its node's thread below (its NUMA node).
    std::vector<void*> pools(n);
    for (std::uint32_t k = 0; k < n; ++k) {
        pools[k] = std::aligned_alloc(ring_bytes, rings_per_node * ring_bytes);
        if (!pools[k]) return result;
        shared.pool[k] = reinterpret_cast<std::uintptr_t>(pools[k]);
    }
    NodeMesh mesh;
    if (!mesh.make(rt, n)) return result;
    std::vector<std::unique_ptr<Node>> nodes(n);
    const Status s = rt.run(mesh.cores(), [&](std::uint32_t thread) {
        std::vector<Node*> mine;
        for (std::uint32_t k = thread; k < n; k += mesh.threads()) {
            auto nd = std::make_unique<Node>();
            nd->id = k;
            nd->shared = &shared;
            nd->book = std::make_unique<RingBook>();
            std::memset(pools[k], 0, rings_per_node * ring_bytes);
            nd->book->init(k, shared.pool[k], rings_per_node * ring_bytes, ring_bits);
            nd->handed_before.assign(rings_per_node, false);
            nd->outq.resize(n);
            if (!mesh.attach(k, nd->to, nd->from)) shared.fail("a channel did not attach");
            mine.push_back(nd.get());
            nodes[k] = std::move(nd);
        }
        std::mt19937 rng(cfg.seed * 104729u + thread);
        std::vector<bool> done(mine.size(), false);
        for (;;) {
            bool any = false;
            for (std::size_t i = 0; i < mine.size(); ++i) {
                Node* nd = mine[i];
                any |= nd->step(rng, cfg);
                if (!done[i] && nd->made + nd->refused >= cfg.cycles && !nd->client.used) {
                    done[i] = true;
                    shared.finished.fetch_add(1);
                }
            }
            // Done everywhere: every client finished, every server end closed (its ring_gone lines
            // counted in flight before), no line left.
            if (!any && shared.finished.load() == n && shared.open_servers.load(std::memory_order_acquire) == 0 &&
                shared.in_flight.load(std::memory_order_acquire) == 0)
                break;
            if (!any && shared.failed.load()) break;
            if (!any) urpc::cpu_relax();
        }
    });
    result.ok = s == Status::ok;
    result.failure = shared.failure;
    for (std::uint32_t k = 0; k < n && result.ok; ++k) {
        Node& nd = *nodes[k];
        result.bindings += nd.made;
        result.refused += nd.refused;
        result.reused += nd.reused;
        if (nd.book->in_use() != 0 || nd.book->foreign() != 0)
            if (result.failure.empty())
                result.failure = "node " + std::to_string(k) + " ends with " + std::to_string(nd.book->in_use()) +
                                 " of its rings in use and references to " + std::to_string(nd.book->foreign()) +
                                 " of others'";
    }
    for (void* p : pools) std::free(p);
    return result;
}

} // namespace myr::monitor::hosted
