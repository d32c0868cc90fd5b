#pragma once
// Binding on Linux threads: the monitors' binding protocol (myr/monitor/binder.hpp, the code the
// guest monitor runs) on nodes spread over the host's cores (node k on thread k % threads), each
// node a monitor with a pool of real rings in memory its thread first touched, and the lines
// between monitors (bind_req, bind_to_req, bind_reply, bind_cancel, ring_gone, domain_gone) over
// URPC channels. Each node has one server domain (it exports a name; clients also bind to it by
// address) and two client domains that bind, again and again, to the server of a random node (their
// own one too: the same-core path with kept copies). A client takes both rings, exchanges a few
// messages with the server through them, and closes; now and then one cancels while the answer is
// out, or dies while taking its rings or talking (then it is replaced by a new domain); one refused
// (busy, no_memory) asks again. A domain the monitor hands a ring
// to sometimes cannot take it (its cspace is full) and asks again.
//
// What the harness gives the protocol (HostEnv) stands in for the kernel: a 64-slot cnode per
// monitor, ring "capabilities" that are addresses, the kernel's zeroing of a fresh ring, and the
// removal of a dead domain's capabilities. Checked on every step:
// - a ring of a node's pool is handed to a new binding only when no domain on any node holds it
//   (else a peer that still writes into it would corrupt the new binding), and a monitor removes
//   its capabilities to a ring (reclaim) only when no domain of its core holds it;
// - every echo comes back in order on the binding it was sent on, with the service word asked for;
// - no monitor reports a malformed line;
// and at the end: every pool whole, no reference to another node's ring, no binding end, kept ring,
// charge or cnode slot left in any monitor. Used by tests/hosted/ring_hosted_test.cpp (also under
// TSan). Host only.
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/binder.hpp>
#include <myr/monitor/hosted/node_mesh.hpp>
#include <myr/monitor/protocol.hpp>
#include <myr/monitor/ring_book.hpp>
#include <myr/urpc/urpc.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace myr::monitor::hosted {

struct RingRunConfig {
    std::uint32_t nodes = 4;       // 2..16
    std::uint32_t cycles = 2000;   // binds each client domain slot asks for
    std::uint32_t messages = 4;    // round trips per binding
    std::uint32_t seed = 1;
    // Small pools, so rings come round again within a few bindings (and a full pool refuses some).
    std::uint32_t rings = 6;       // rings of each node's pool (at most RingBook::max_pool)
    // Clients cancel and die at random steps, and domains sometimes cannot take a ring at once.
    // Off: every bind runs to its end (the bench, tools/bench: myriad-bench-bind).
    bool faults = true;
    bool timed = false;            // record each binding's set-up time (RingRun::setup_ns)
};

struct RingRun {
    bool ok = false;
    std::string failure;
    std::uint64_t bindings = 0;     // bindings that carried all their messages
    std::uint64_t refused = 0;      // binds answered busy or no_memory (by either monitor): asked again
    std::uint64_t reused = 0;       // rings handed out again
    std::uint64_t local = 0;        // bindings between two domains of one node
    std::uint64_t by_address = 0;   // bindings made with bind_to
    std::uint64_t cancelled = 0, died = 0, caps_refused = 0;
    // With RingRunConfig::timed: from each bind call to the first echo back (both rings taken,
    // both ends attached, one round trip), nanoseconds of the host's steady clock; and the run's.
    std::vector<std::uint64_t> setup_ns;
    std::uint64_t wall_ns = 0;
    // Binds that ended one way or another (a refused one is asked again, so it is not among them).
    [[nodiscard]] std::uint64_t asked() const { return bindings + cancelled + died; }
};

namespace ring_run_detail {

inline constexpr unsigned ring_bits = 12;
inline constexpr std::uint64_t ring_bytes = std::uint64_t{1} << ring_bits;
inline constexpr urpc::ChannelConfig ring_config{32, urpc::Wake::poll};
static_assert(urpc::channel_bytes(32) <= ring_bytes);
inline constexpr std::uint64_t server_domain = 2, first_client = 16;
inline constexpr unsigned clients_per_node = 2, max_conns = 16;
inline constexpr std::uint64_t bye = ~std::uint64_t{0};  // the server's last word, after the client closed
inline constexpr std::uint64_t name_base = 0x7376632d00000000ull;  // "svc-" and the node's number
inline constexpr std::uint32_t slots = 64;

struct Shared {
    std::uint32_t nodes = 0, rings_per_node = 0;
    std::vector<std::uintptr_t> pool;  // each node's pool base (published before the run)
    std::unique_ptr<std::atomic<std::uint32_t>[]> holders;  // [node * rings + i]: domains holding the ring
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<std::uint32_t> finished{0};      // client domain slots done with their binds
    std::atomic<std::uint32_t> open_conns{0};    // connections a domain still has (either end)
    std::atomic<bool> failed{false};
    std::mutex lock;
    std::string failure;
    void fail(const std::string& why) {
        std::lock_guard<std::mutex> g(lock);
        if (failure.empty()) failure = why;
        failed.store(true);
    }
    // The node whose pool holds ring `phys` (nodes: none).
    std::uint32_t owner(std::uint64_t phys) const {
        for (std::uint32_t k = 0; k < nodes; ++k)
            if (phys >= pool[k] && phys < pool[k] + rings_per_node * ring_bytes && (phys - pool[k]) % ring_bytes == 0) return k;
        return nodes;
    }
    std::atomic<std::uint32_t>& holders_of(std::uint64_t phys) {
        const std::uint32_t k = owner(phys);
        if (k == nodes) std::abort();  // not a ring: a bug of this harness
        return holders[k * rings_per_node + (phys - pool[k]) / ring_bytes];
    }
};

struct Node;

// What the kernel and the mesh give the guest monitor, for Binder on a host thread.
struct HostEnv {
    Node* node = nullptr;
    std::uint64_t core() const;
    std::uint64_t cores() const;
    bool alive(std::uint64_t) const { return true; }
    bool ring_of(std::uint64_t c, std::uint64_t phys) const;
    Result<std::uint64_t> alloc_slot();
    void free_slot(std::uint64_t s);
    void vacate(std::uint64_t s) { free_slot(s); }
    unsigned free_slots();
    Status make_ring(std::uint64_t phys, std::uint64_t slot);
    Status copy_ring(std::uint64_t from, std::uint64_t to);
    void reclaim(std::uint64_t phys);
    void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
              std::uint64_t w4, std::uint64_t w5, std::uint64_t w6);
    void wake() {}
    bool lookup(std::uint64_t n0, std::uint64_t n1, std::uint32_t& c, std::uint32_t& d) const;
    bool ended(std::uint64_t c, std::uint64_t d) const;  // what the death feed told this node
    bool accepts(std::uint64_t d) const { return d == server_domain; }
    bool reply(Status st, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3, std::uint64_t cap, std::uint64_t high);
    void report(BindEvent ev, std::uint64_t a, std::uint64_t b);
};

struct Held {
    std::uint64_t handle = 0, phys = 0;
};

// One end of a binding as its domain sees it.
struct Conn {
    bool used = false, dead = false;  // dead: the peer ended; close once both rings are here
    std::uint64_t ticket = 0;
    std::uint32_t peer_core = 0;
    std::uint64_t peer_domain = 0, service = 0;
    Held rx, tx;
    bool attached = false;
    urpc::Sender out;
    urpc::Receiver in;
    std::uint32_t sent = 0, got = 0;
};

enum class ClientState : std::uint8_t { idle, polling, taking, talking };
// What a bind's client does besides running it to its end, drawn when it asks (RingRunConfig::faults):
// how often a client gives up or dies is set by the dice, not by how long it waits for a thread
// the host has descheduled (drawn per step, a slow peer made most binds cancel).
enum class Fate : std::uint8_t { none, cancel, die_taking, die_talking };
struct Client {
    std::uint64_t domain = 0;
    ClientState state = ClientState::idle;
    std::uint32_t asked = 0, peer = 0;
    Fate fate = Fate::none;
    std::uint32_t fate_step = 0;  // the step of its state at which the fate strikes (if still there)
    std::uint32_t steps = 0;      // steps in its present state
    // Since when its binds are refused without a break (a refused bind is asked again).
    std::chrono::steady_clock::time_point refused_since{};
    bool refusing = false;
    bool by_address = false, done = false;
    std::chrono::steady_clock::time_point t0{};  // the bind call (RingRunConfig::timed)
    std::uint64_t service = 0;
    Conn c;
};

struct Node {
    std::uint32_t id = 0;
    Shared* shared = nullptr;
    const RingRunConfig* cfg = nullptr;
    Binder<HostEnv> binder;
    std::uint64_t slot_used = 0;
    std::uint64_t slot_ring[slots] = {};
    std::vector<urpc::Sender> to;
    std::vector<urpc::Receiver> from;
    std::vector<std::deque<std::array<std::uint64_t, 8>>> outq;  // type, w0..w6
    Client clients[clients_per_node];
    Conn conns[max_conns];  // the server domain's
    std::set<std::uint64_t> dead;  // core << 32 | domain: clients known to have ended
    std::uint64_t next_domain = first_client;
    std::mt19937 rng;
    std::vector<bool> handed_before;
    std::vector<std::uint64_t> setup_ns;
    RingRun counts;
    // The answer to the domain call in progress, and whether that domain can take a capability.
    struct Answer {
        Status st = Status::ok;
        std::uint64_t w1 = 0, w2 = 0, w3 = 0, cap_phys = 0;
        bool cap = false;
    } last;
    bool cspace_full = false;

    void fail(const std::string& why) { shared->fail("node " + std::to_string(id) + ": " + why); }

    // ---- a domain's ends of a binding
    // Takes whichever ring is still at the monitor; true once both are here.
    bool take_rings(std::uint64_t domain, Conn& c) {
        for (std::uint64_t which = 0; which < 2; ++which) {
            Held& h = which ? c.tx : c.rx;
            if (h.phys) continue;
            cspace_full = cfg->faults && rng() % 8 == 0;
            binder.take_ring(domain, c.ticket, which);
            cspace_full = false;
            if (last.st == Status::busy) return false;
            if (last.st != Status::ok) {
                fail("take_ring answered " + std::to_string(static_cast<int>(last.st)));
                return false;
            }
            if (!last.cap) {
                ++counts.caps_refused;
                return false;
            }
            h = {last.w1, last.cap_phys};
            shared->holders_of(h.phys).fetch_add(1, std::memory_order_acq_rel);
            if (which == 0) {
                if (urpc::format_channel({reinterpret_cast<std::byte*>(h.phys), ring_bytes}, ring_config) != Status::ok)
                    fail("a ring did not format");
                auto r = urpc::Receiver::attach({reinterpret_cast<std::byte*>(h.phys), ring_bytes});
                if (!r.ok()) fail("a receive ring did not attach");
                else c.in = *r;
            }
        }
        return true;
    }
    // The sender attaches once the peer formatted its ring (it may not have yet).
    bool attach(Conn& c) {
        if (c.attached) return true;
        auto s = urpc::Sender::attach({reinterpret_cast<std::byte*>(c.tx.phys), ring_bytes});
        if (!s.ok()) return false;
        c.out = *s;
        c.attached = true;
        return true;
    }
    bool write(Conn& c, std::uint64_t word) {
        const std::uint64_t w[urpc::payload_words] = {word};
        return c.out.try_send(1, w) == Status::ok;
    }
    // The domain deletes its capabilities to both rings and gives them back to the monitor.
    void close(std::uint64_t domain, Conn& c) {
        for (Held* h : {&c.rx, &c.tx}) {
            if (!h->phys) continue;
            const Held gone = *h;
            *h = {};  // its capability is deleted first
            shared->holders_of(gone.phys).fetch_sub(1, std::memory_order_acq_rel);
            binder.unbind_ring(domain, gone.handle);
            if (last.st != Status::ok) fail("unbind_ring answered " + std::to_string(static_cast<int>(last.st)));
        }
        if (c.used) shared->open_conns.fetch_sub(1, std::memory_order_acq_rel);
        c = Conn{};
    }

    // ---- the client domains
    void die(Client& cl, bool count = true) {
        // The kernel removes the capabilities of the ended domain; its monitor frees what it held
        // and tells every other monitor (domain_gone), and the server of this core hears it too.
        const Conn gone = cl.c;
        cl.c = Conn{};
        for (const Held* h : {&gone.rx, &gone.tx})
            if (h->phys) shared->holders_of(h->phys).fetch_sub(1, std::memory_order_acq_rel);
        if (gone.used) shared->open_conns.fetch_sub(1, std::memory_order_acq_rel);
        (void)binder.domain_ended(static_cast<std::uint32_t>(cl.domain));
        for (std::uint32_t k = 0; k < shared->nodes; ++k)
            if (k != id) line(k, domain_gone, id, cl.domain, 0);
        client_gone(id, cl.domain);
        counts.died += count;
        cl.state = ClientState::idle;
        cl.domain = next_domain++;
    }
    // A bind answered busy or no_memory: asked again (not a new bind). Rings that never come back
    // would refuse for ever: a client refused without a break for refuse_limit fails the run.
    static constexpr std::chrono::seconds refuse_limit{60};
    bool refused(Client& cl) {
        ++counts.refused;
        --cl.asked;
        const auto now = std::chrono::steady_clock::now();
        if (!cl.refusing) {
            cl.refusing = true;
            cl.refused_since = now;
        } else if (now - cl.refused_since > refuse_limit) {
            fail("a client's binds were refused for " + std::to_string(refuse_limit.count()) +
                 " s without a break: rings do not come back");
        }
        return true;
    }
    bool client_step(Client& cl) {
        switch (cl.state) {
        case ClientState::idle: {
            if (cl.asked >= cfg->cycles) {
                if (!cl.done) {
                    cl.done = true;
                    shared->finished.fetch_add(1, std::memory_order_acq_rel);
                }
                return false;
            }
            ++cl.asked;
            if (cfg->timed) cl.t0 = std::chrono::steady_clock::now();
            cl.fate = Fate::none;
            cl.steps = 0;
            if (cfg->faults) {
                const auto roll = rng() % 128;
                cl.fate = roll < 4 ? Fate::cancel : roll < 5 ? Fate::die_taking : roll < 6 ? Fate::die_talking : Fate::none;
                cl.fate_step = 1 + static_cast<std::uint32_t>(rng() % 8);
            }
            // Any node, this one too (the same-core path); without faults (the bench) another one.
            cl.peer = cfg->faults ? static_cast<std::uint32_t>(rng() % shared->nodes)
                                  : static_cast<std::uint32_t>((id + 1 + rng() % (shared->nodes - 1)) % shared->nodes);
            cl.by_address = rng() % 4 == 0;
            cl.service = cl.by_address ? (std::uint64_t{id} << 40 | cl.domain << 20 | cl.asked) : 0;
            if (cl.by_address) binder.bind_to(cl.domain, cl.peer, server_domain, cl.service, false);
            else binder.bind(cl.domain, name_base | cl.peer, 0, false);
            if (last.st == Status::busy || last.st == Status::no_memory) return refused(cl);
            if (last.st != Status::ok) {
                fail("bind answered " + std::to_string(static_cast<int>(last.st)));
                return false;
            }
            cl.c = Conn{};
            cl.c.ticket = last.w1;
            cl.state = ClientState::polling;
            return true;
        }
        case ClientState::polling: {
            if (cl.fate == Fate::cancel && ++cl.steps == cl.fate_step) {  // stops waiting, then ends (a client that gave up)
                binder.cancel(cl.domain, cl.c.ticket);
                if (last.st != Status::ok) fail("bind_cancel answered " + std::to_string(static_cast<int>(last.st)));
                ++counts.cancelled;
                die(cl, false);
                return true;
            }
            binder.poll(cl.domain, cl.c.ticket);
            if (last.st == Status::would_block) return false;
            if (last.st == Status::busy || last.st == Status::no_memory) {
                cl.state = ClientState::idle;
                return refused(cl);
            }
            cl.refusing = false;
            if (last.st != Status::ok || last.w2 != cl.peer || last.w3 != server_domain) {
                fail("bind_poll answered " + std::to_string(static_cast<int>(last.st)) + " from core " + std::to_string(last.w2));
                return false;
            }
            cl.c.used = true;
            cl.c.peer_core = cl.peer;
            cl.c.peer_domain = server_domain;
            shared->open_conns.fetch_add(1, std::memory_order_acq_rel);
            cl.state = ClientState::taking;
            cl.steps = 0;
            return true;
        }
        case ClientState::taking:
            if (cl.fate == Fate::die_taking && ++cl.steps == cl.fate_step) return die(cl), true;
            if (!take_rings(cl.domain, cl.c)) return true;
            cl.state = ClientState::talking;
            cl.steps = 0;
            return true;
        case ClientState::talking: {
            Conn& c = cl.c;
            if (cl.fate == Fate::die_talking && ++cl.steps == cl.fate_step) return die(cl), true;
            if (!attach(c)) return false;
            bool any = false;
            if (c.sent < cfg->messages && c.sent == c.got && write(c, c.sent + 1)) {
                ++c.sent;
                any = true;
            }
            urpc::Message m{};
            if (c.in.try_recv(m) == Status::ok) {
                any = true;
                if (m.words[0] != bye) {
                    if (m.words[0] != c.got + 1) fail("an echo out of order");
                    if (++c.got == 1 && cfg->timed)
                        setup_ns.push_back(static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - cl.t0).count()));
                }
            }
            if (c.got == cfg->messages && write(c, 0)) {  // 0: close
                ++counts.bindings;
                counts.local += cl.peer == id;
                counts.by_address += cl.by_address;
                close(cl.domain, c);
                cl.state = ClientState::idle;
                any = true;
            }
            return any;
        }
        }
        return false;
    }

    // ---- the server domain
    void client_gone(std::uint32_t core, std::uint64_t domain) {
        dead.insert(std::uint64_t{core} << 32 | domain);
        for (Conn& c : conns)
            if (c.used && c.peer_core == core && c.peer_domain == domain) c.dead = true;
    }
    bool server_step() {
        bool any = false;
        Conn* slot = nullptr;
        for (Conn& c : conns)
            if (!c.used) {
                slot = &c;
                break;
            }
        if (slot) {
            binder.accept(server_domain, true);
            if (last.st == Status::ok) {
                any = true;
                *slot = Conn{};
                slot->used = true;
                slot->ticket = last.w1;
                slot->peer_core = static_cast<std::uint32_t>(last.w2 >> 32);
                slot->peer_domain = last.w2 & 0xffffffff;
                slot->service = last.w3;
                slot->dead = dead.count(std::uint64_t{slot->peer_core} << 32 | slot->peer_domain) != 0;
                if (slot->service && (slot->service >> 40) != slot->peer_core)
                    fail("a binding by address carries another client's service word");
                shared->open_conns.fetch_add(1, std::memory_order_acq_rel);
            } else if (last.st != Status::would_block) {
                fail("accept answered " + std::to_string(static_cast<int>(last.st)));
            }
        }
        for (Conn& c : conns) {
            if (!c.used) continue;
            if (!c.tx.phys || !c.rx.phys) {
                any |= take_rings(server_domain, c);
                continue;
            }
            if (c.dead) {  // its client ended: nobody will write
                close(server_domain, c);
                any = true;
                continue;
            }
            if (!attach(c)) continue;
            urpc::Message m{};
            if (c.in.try_recv(m) != Status::ok) continue;
            any = true;
            if (m.words[0] == 0) {
                // The client gave its rings up already: only the accounting keeps them from another
                // binding while this last word goes out.
                (void)write(c, bye);
                close(server_domain, c);
                continue;
            }
            while (!write(c, m.words[0])) urpc::cpu_relax();
        }
        return any;
    }

    // ---- lines between monitors
    void line(std::uint32_t dest, std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
              std::uint64_t w3 = 0, std::uint64_t w4 = 0, std::uint64_t w5 = 0, std::uint64_t w6 = 0) {
        shared->in_flight.fetch_add(1, std::memory_order_relaxed);
        outq[dest].push_back({type, w0, w1, w2, w3, w4, w5, w6});
    }
    void on_line(std::uint32_t f, const urpc::Message& m) {
        switch (m.header.type) {
        case bind_req: return binder.on_bind_request(f, m);
        case bind_to_req: return binder.on_bind_to_request(f, m);
        case bind_reply: return binder.on_bind_reply(f, m);
        case bind_cancel: return binder.on_bind_cancel(f, m);
        case ring_gone: return (void)binder.on_ring_gone(f, m);
        case domain_gone:
            if (m.words[0] != f) return fail("domain_gone naming another core");
            binder.client_ended(f, m.words[1]);
            return client_gone(f, m.words[1]);
        default: return fail("a line of no known type");
        }
    }

    // One step of this node's domains and monitor; true when anything moved.
    bool step() {
        bool any = false;
        for (Client& cl : clients) any |= client_step(cl);
        any |= server_step();
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
                const std::uint64_t w[urpc::payload_words] = {q[1], q[2], q[3], q[4], q[5], q[6], q[7]};
                if (to[t].try_send(static_cast<std::uint8_t>(q[0]), w) != Status::ok) break;
                outq[t].pop_front();
                any = true;
            }
        return any;
    }
    [[nodiscard]] bool idle() const {
        for (const Client& cl : clients)
            if (!cl.done) return false;
        for (const auto& q : outq)
            if (!q.empty()) return false;
        return true;
    }
};

inline std::uint64_t HostEnv::core() const { return node->id; }
inline std::uint64_t HostEnv::cores() const { return node->shared->nodes; }
inline bool HostEnv::ended(std::uint64_t c, std::uint64_t d) const { return node->dead.count(c << 32 | d) != 0; }
inline bool HostEnv::ring_of(std::uint64_t c, std::uint64_t phys) const {
    return c < node->shared->nodes && node->shared->owner(phys) == c;
}
inline Result<std::uint64_t> HostEnv::alloc_slot() {
    for (std::uint64_t s = 1; s < slots; ++s)
        if (!(node->slot_used >> s & 1)) {
            node->slot_used |= std::uint64_t{1} << s;
            return s;
        }
    return Status::busy;
}
inline void HostEnv::free_slot(std::uint64_t s) {
    if (!s) return;
    node->slot_used &= ~(std::uint64_t{1} << s);
    node->slot_ring[s] = 0;
}
inline unsigned HostEnv::free_slots() {
    unsigned n = 0;
    for (std::uint64_t s = 1; s < slots; ++s) n += !(node->slot_used >> s & 1);
    return n;
}
// The kernel makes a capability only to channel-pool memory, and zeroes a ring of its own pool:
// the moment a ring of ours is handed to a new binding, so no domain anywhere may hold it now.
inline Status HostEnv::make_ring(std::uint64_t phys, std::uint64_t slot) {
    Shared& sh = *node->shared;
    const std::uint32_t k = sh.owner(phys);
    if (k == sh.nodes) return Status::invalid_argument;
    if (k == node->id) {
        if (const std::uint32_t n = sh.holders_of(phys).load(std::memory_order_acquire); n != 0)
            node->fail("ring " + std::to_string((phys - sh.pool[k]) / ring_bytes) + " handed to a new binding while " +
                       std::to_string(n) + " domain(s) still hold it");
        const std::uint64_t i = (phys - sh.pool[k]) / ring_bytes;
        if (node->handed_before[i]) ++node->counts.reused;
        node->handed_before[i] = true;
        std::memset(reinterpret_cast<void*>(phys), 0, ring_bytes);
    }
    node->slot_ring[slot] = phys;
    return Status::ok;
}
inline Status HostEnv::copy_ring(std::uint64_t from, std::uint64_t to) {
    if (!node->slot_ring[from]) return Status::not_found;
    node->slot_ring[to] = node->slot_ring[from];
    return Status::ok;
}
// Every capability to `phys` on this core goes: by then no domain here may hold it, and no slot
// of the monitor's (RingBook counted none).
inline void HostEnv::reclaim(std::uint64_t phys) {
    for (std::uint64_t s = 1; s < slots; ++s)
        if (node->slot_ring[s] == phys) node->fail("reclaim of a ring the monitor still holds in a slot");
    auto held = [phys](const Conn& c) { return c.rx.phys == phys || c.tx.phys == phys; };
    for (const Client& cl : node->clients)
        if (held(cl.c)) node->fail("reclaim of a ring a client domain still holds");
    for (const Conn& c : node->conns)
        if (held(c)) node->fail("reclaim of a ring the server domain still holds");
}
inline void HostEnv::send(std::uint64_t to, std::uint8_t type, std::uint64_t w0, std::uint64_t w1, std::uint64_t w2,
                          std::uint64_t w3, std::uint64_t w4, std::uint64_t w5, std::uint64_t w6) {
    node->line(static_cast<std::uint32_t>(to), type, w0, w1, w2, w3, w4, w5, w6);
}
inline bool HostEnv::lookup(std::uint64_t n0, std::uint64_t n1, std::uint32_t& c, std::uint32_t& d) const {
    if (n1 != 0 || (n0 & ~std::uint64_t{0xffffffff}) != name_base || (n0 & 0xffffffff) >= node->shared->nodes) return false;
    c = static_cast<std::uint32_t>(n0 & 0xffffffff);
    d = server_domain;
    return true;
}
inline bool HostEnv::reply(Status st, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3, std::uint64_t cap, std::uint64_t) {
    node->last = {st, w1, w2, w3, 0, false};
    if (cap == abi::no_cap || node->cspace_full) return false;
    node->last.cap_phys = node->slot_ring[cap];
    node->last.cap = true;
    return true;
}
inline void HostEnv::report(BindEvent ev, std::uint64_t a, std::uint64_t b) {
    node->fail("the binding protocol reported event " + std::to_string(static_cast<int>(ev)) + " (" + std::to_string(a) +
               ", " + std::to_string(b) + ")");
}

} // namespace ring_run_detail

inline RingRun run_rings(myr::hosted::Runtime& rt, const RingRunConfig& cfg) {
    using namespace ring_run_detail;
    RingRun result;
    const std::uint32_t n = cfg.nodes;
    if (n < 2 || n > 16) return result;
    Shared shared;
    shared.nodes = n;
    const std::uint32_t rings_per_node = cfg.rings;
    if (rings_per_node == 0 || rings_per_node > RingBook::max_pool) return result;
    shared.rings_per_node = rings_per_node;
    shared.pool.assign(n, 0);
    shared.holders.reset(new std::atomic<std::uint32_t>[std::size_t{n} * rings_per_node]);
    for (std::size_t i = 0; i < std::size_t{n} * rings_per_node; ++i) shared.holders[i].store(0);
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
    const auto start = std::chrono::steady_clock::now();
    const Status s = rt.run(mesh.cores(), [&](std::uint32_t thread) {
        std::vector<Node*> mine;
        for (std::uint32_t k = thread; k < n; k += mesh.threads()) {
            auto nd = std::make_unique<Node>();
            nd->id = k;
            nd->shared = &shared;
            nd->cfg = &cfg;
            nd->binder.env.node = nd.get();
            nd->rng.seed(cfg.seed * 104729u + k);
            std::memset(pools[k], 0, rings_per_node * ring_bytes);
            nd->binder.init(shared.pool[k], rings_per_node * ring_bytes, ring_bits);
            nd->handed_before.assign(rings_per_node, false);
            nd->outq.resize(n);
            for (Client& cl : nd->clients) cl.domain = nd->next_domain++;
            if (!mesh.attach(k, nd->to, nd->from)) shared.fail("a channel did not attach");
            mine.push_back(nd.get());
            nodes[k] = std::move(nd);
        }
        for (;;) {
            bool any = false, idle = true;
            for (Node* nd : mine) {
                any |= nd->step();
                idle = idle && nd->idle();
            }
            // Done everywhere: every client slot asked for all its binds, every connection closed,
            // no line in flight.
            if (!any && idle && shared.finished.load(std::memory_order_acquire) == n * clients_per_node &&
                shared.open_conns.load(std::memory_order_acquire) == 0 && shared.in_flight.load(std::memory_order_acquire) == 0)
                break;
            if (shared.failed.load()) break;
            if (!any) urpc::cpu_relax();
        }
    });
    result.wall_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    result.ok = s == Status::ok;
    result.failure = shared.failure;
    for (std::uint32_t k = 0; k < n && result.ok; ++k) {
        Node& nd = *nodes[k];
        const RingRun& c = nd.counts;
        result.bindings += c.bindings;
        result.refused += c.refused;
        result.reused += c.reused;
        result.local += c.local;
        result.by_address += c.by_address;
        result.cancelled += c.cancelled;
        result.died += c.died;
        result.caps_refused += c.caps_refused;
        result.setup_ns.insert(result.setup_ns.end(), nd.setup_ns.begin(), nd.setup_ns.end());
        const RingBook& book = nd.binder.book();
        if (!result.failure.empty()) continue;
        if (book.in_use() != 0 || book.foreign() != 0)
            result.failure = "node " + std::to_string(k) + " ends with " + std::to_string(book.in_use()) +
                             " of its rings in use and references to " + std::to_string(book.foreign()) + " of others'";
        else if (nd.binder.ends_in_use() || nd.binder.kept_in_use() || nd.binder.charges_in_use() || nd.slot_used)
            result.failure = "node " + std::to_string(k) + " ends holding " + std::to_string(nd.binder.ends_in_use()) +
                             " binding ends, " + std::to_string(nd.binder.kept_in_use()) + " kept rings, " +
                             std::to_string(nd.binder.charges_in_use()) + " charges, cnode slots " +
                             std::to_string(nd.slot_used);
    }
    for (void* p : pools) std::free(p);
    return result;
}

} // namespace myr::monitor::hosted
