#pragma once
// Capabilities across cores (myr/monitor/cap_protocol.hpp) on Linux threads: the same CapNode as the
// simulation, one per node, each with its own caps::CapTable in memory its thread allocates, the
// lines carried in their wire form (encode/decode) over a URPC channel for every ordered pair of
// nodes. Nodes are spread over the host's cores (node k on thread k % threads), so a 2-core machine
// still runs a four-core protocol with two threads truly at once. Every node issues random
// operations (carving, transfers, deletes, revokes of frames and of untyped, adopting pages from
// outside its table and moving their ownership) while it serves the lines of the others.
//
// Checked while it runs: each node publishes, after every event and before every line it sends,
// how many of its capabilities name each page (relaxed atomics); the lines order those stores. When
// an owner finishes a revoke (CapOut::revoke_finished), every other node has answered `revoked`
// after removing its copies, so the owner reads every node's counts and none may still name
// anything inside, except one copy on the asker's node when a frame's asker keeps its own, and the
// home's copies of a page it adopted (a revoke never takes those). Checked
// at the end, with every thread joined: every operation was answered, every table passes
// caps::audit, exactly one node owns each frame still held, and its set is exactly the other nodes
// that hold copies. Used by
// tests/hosted/cap_hosted_test.cpp (also under TSan). Host only.
#include <myr/caps/audit.hpp>
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/hosted/node_mesh.hpp>
#include <myr/monitor/cap_protocol.hpp>
#include <myr/urpc/urpc.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace myr::monitor::hosted {

struct CapRunConfig {
    std::uint32_t nodes = 4;            // 2..CapNode::max_cores
    std::uint32_t ops_per_node = 2000;  // operations each node issues
    std::uint32_t seed = 1;
};

struct CapRun {
    bool ok = false;        // the threads ran (pinned) and every channel was made
    std::string failure;    // the first broken invariant ("" when none)
    std::uint64_t lines = 0, malformed = 0, revokes_finished = 0, untyped_revokes = 0;
    std::map<std::string, std::uint64_t> outcomes;  // "transfer ok", "revoke frame busy", ...
};

namespace cap_run_detail {

inline constexpr std::uint32_t table_slots = 256;
inline constexpr caps::SlotIdx untyped_slot = 1;
inline constexpr std::uint64_t mem_bytes = 1 << 20;
// Pages of each node's memory outside its untyped, adopted one by one (each once per run, as memserv
// hands a range to one holder at a time) and moved between owners.
inline constexpr std::uint64_t adopt_pages = 64;
inline constexpr std::uint64_t pages_per_node = (mem_bytes >> 12) + adopt_pages;
inline constexpr unsigned max_open_ops = 4;  // operations one node has unanswered at once

inline std::uint64_t mem_base(std::uint32_t c) { return (std::uint64_t{c} + 1) << 32; }
inline std::uint64_t table_base(std::uint32_t c) { return 0x1000'0000ull * (c + 1); }
// The page index (over every node's memory) of a physical address, or ~0 outside.
inline std::uint64_t page_of(std::uint64_t phys, std::uint32_t nodes) {
    for (std::uint32_t c = 0; c < nodes; ++c)
        if (phys >= mem_base(c) && phys < mem_base(c) + mem_bytes + adopt_pages * 0x1000)
            return c * pages_per_node + ((phys - mem_base(c)) >> 12);
    return ~0ull;
}

struct Shared {
    std::uint32_t nodes = 0;
    std::unique_ptr<std::atomic<std::uint16_t>[]> holds;  // [node][page]: caps on node naming a frame based at page
    std::atomic<std::uint64_t> in_flight{0};              // lines sent and not yet handled
    std::atomic<std::uint32_t> issued_all{0};             // nodes that issued every operation
    std::atomic<std::uint64_t> lines{0};
    std::mutex failure_lock;
    std::string failure;
    void fail(const std::string& why) {
        std::lock_guard<std::mutex> g(failure_lock);
        if (failure.empty()) failure = why;
    }
    std::atomic<std::uint16_t>& held(std::uint32_t node, std::uint64_t page) {
        return holds[std::size_t{node} * nodes * pages_per_node + page];
    }
};

struct Node final : CapOut {
    std::uint32_t id = 0;
    Shared* shared = nullptr;
    std::vector<caps::Slot> storage;
    CapNode node;
    std::vector<std::deque<CapMsg>> outq;          // per destination, lines not yet in the channel
    std::vector<urpc::Sender> to;                   // [dest]
    std::vector<urpc::Receiver> from;               // [source]
    std::map<std::uint64_t, std::string> pending;   // op -> what it was
    std::map<std::string, std::uint64_t> outcomes;
    std::map<std::uint64_t, std::uint16_t> published;  // page -> count last stored (nonzero ones)
    std::uint64_t next_op = 1, issued = 0, malformed = 0, revokes = 0, untyped_revokes = 0, adopted = 0;

    // Stores the counts of this node's table that changed since the last publish.
    void publish() {
        std::map<std::uint64_t, std::uint16_t> now;
        for (const caps::Slot& s : node.table().slots())
            if (s.cap.type == caps::CapType::frame) ++now[page_of(s.cap.base, shared->nodes)];
        for (const auto& [page, n] : published)
            if (!now.count(page)) shared->held(id, page).store(0, std::memory_order_relaxed);
        for (const auto& [page, n] : now)
            if (page != ~0ull && (!published.count(page) || published[page] != n))
                shared->held(id, page).store(n, std::memory_order_relaxed);
        published = std::move(now);
    }
    void send(const CapMsg& m) override {
        if (m.from != id || m.to >= shared->nodes || m.to == id) return shared->fail("a line to nowhere");
        publish();  // before the line: whoever it reaches may read our counts
        shared->in_flight.fetch_add(1, std::memory_order_relaxed);
        outq[m.to].push_back(m);
    }
    void done(std::uint64_t op, Status st) override {
        const auto it = pending.find(op);
        if (it == pending.end()) return shared->fail("node " + std::to_string(id) + ": an answer nobody waits for");
        ++outcomes[it->second + " " + to_string(st)];
        pending.erase(it);
    }
    void revoke_finished(const caps::Cap& root, std::uint32_t asker, caps::SlotIdx) override {
        ++revokes;
        untyped_revokes += root.type == caps::CapType::untyped;
        // Our own sweep is done (the table says so directly); the others answered `revoked` after
        // publishing, and those lines, handled before this, order their stores before our loads.
        publish();
        const std::uint64_t first = page_of(root.base, shared->nodes);
        const std::uint64_t count = root.type == caps::CapType::untyped ? root.size >> 12 : 1;
        for (std::uint32_t x = 0; x < shared->nodes; ++x)
            for (std::uint64_t p = first; p < first + count; ++p) {
                const std::uint16_t n = shared->held(x, p).load(std::memory_order_relaxed);
                // The asker keeps one copy of a frame; the home of an adopted page keeps its own.
                const bool home = p / pages_per_node == x && p % pages_per_node >= (mem_bytes >> 12);
                const std::uint16_t allowed = home ? n : root.type == caps::CapType::frame && x == asker ? 1 : 0;
                if (n > allowed)
                    shared->fail("node " + std::to_string(x) + " still holds " + std::to_string(n) + " cap(s) to page " +
                                 std::to_string(p) + " when owner " + std::to_string(id) + " finished a revoke of " +
                                 (root.type == caps::CapType::untyped ? "an untyped" : "a frame") + " asked by node " +
                                 std::to_string(asker));
            }
    }

    std::uint64_t issue(const char* what) {
        const std::uint64_t op = std::uint64_t{id} << 48 | next_op++;
        pending[op] = what;
        return op;
    }
    [[nodiscard]] std::vector<caps::SlotIdx> frames() const {
        std::vector<caps::SlotIdx> v;
        const auto slots = node.table().slots();
        for (caps::SlotIdx i = 0; i < slots.size(); ++i)
            if (slots[i].cap.type == caps::CapType::frame) v.push_back(i);
        return v;
    }
    [[nodiscard]] caps::SlotIdx free_run(std::uint32_t n) const {
        const auto slots = node.table().slots();
        for (caps::SlotIdx i = 2; i + n <= slots.size(); ++i) {
            bool ok = true;
            for (caps::SlotIdx k = i; k < i + n && ok; ++k) ok = slots[k].cap.is_null();
            if (ok) return i;
        }
        return caps::no_slot;
    }

    // One random operation of this node's domains (as the simulation's mix).
    void operate(std::mt19937& rng) {
        const auto what = static_cast<unsigned>(rng() % 12);
        const auto fr = frames();
        if (what == 10 && adopted < adopt_pages) {
            const caps::SlotIdx dest = free_run(1);
            if (dest != caps::no_slot &&
                node.adopt(dest, caps::make_frame(mem_base(id) + mem_bytes + 0x1000 * adopted++, 12)) != Status::ok)
                shared->fail("node " + std::to_string(id) + " could not adopt a page nobody else knows");
        } else if (what == 11 && !fr.empty()) {
            // Mostly frames outside the untyped that it owns with copies out, so most moves get
            // past the refusals; now and then any frame, which is refused.
            std::vector<caps::SlotIdx> movable;
            for (caps::SlotIdx i : fr) {
                std::uint64_t copies = 0;
                const caps::Cap c = node.table().cap(i);
                if ((page_of(c.base, shared->nodes) % pages_per_node) >= (mem_bytes >> 12) && node.owns(c, copies) && copies)
                    movable.push_back(i);
            }
            const auto& pick = movable.empty() || rng() % 4 == 0 ? fr : movable;
            const auto dest = static_cast<std::uint32_t>((id + 1 + rng() % (shared->nodes - 1)) % shared->nodes);
            node.move_owner(issue("move"), pick[rng() % pick.size()], dest, *this);
        } else if (what < 2 || fr.empty()) {
            const auto n = static_cast<std::uint32_t>(1 + rng() % 3);
            const caps::SlotIdx dest = free_run(n);
            // The untyped's memory comes back only by revoking it (its watermark): when it is
            // used up, that is the operation.
            if (dest != caps::no_slot &&
                node.retype(untyped_slot, static_cast<unsigned>(12 + rng() % 2), n, dest) == Status::no_memory)
                node.revoke(issue("revoke untyped"), untyped_slot, *this);
        } else if (what < 6) {
            const auto others = shared->nodes - 1;
            const auto dest = static_cast<std::uint32_t>(rng() % 16 == 0 ? id : (id + 1 + rng() % others) % shared->nodes);
            node.transfer(issue("transfer"), fr[rng() % fr.size()], dest, *this);
        } else if (what < 8) {
            (void)node.remove(fr[rng() % fr.size()], *this);
        } else if (what < 9 || rng() % 4 != 0) {
            node.revoke(issue("revoke frame"), fr[rng() % fr.size()], *this);
        } else {
            node.revoke(issue("revoke untyped"), untyped_slot, *this);
        }
        publish();
    }

    // Lines in: every channel once. Lines out: as many as the channels take (never blocks, so two
    // nodes sending to each other with full channels cannot wait on each other).
    bool pump() {
        bool any = false;
        for (std::uint32_t f = 0; f < shared->nodes; ++f) {
            if (f == id) continue;
            urpc::Message msg{};
            if (from[f].try_recv(msg) != Status::ok) continue;
            any = true;
            std::uint64_t w[cap_wire_words];
            for (unsigned k = 0; k < cap_wire_words; ++k) w[k] = msg.words[k];
            CapMsg m;
            if (!decode(w, m) || m.from != f || !node.receive(m, *this)) ++malformed;
            publish();
            shared->in_flight.fetch_sub(1, std::memory_order_acq_rel);
        }
        for (std::uint32_t t = 0; t < shared->nodes; ++t)
            while (!outq[t].empty()) {
                std::uint64_t w[urpc::payload_words] = {};
                std::uint64_t cw[cap_wire_words];
                encode(outq[t].front(), cw);
                for (unsigned k = 0; k < cap_wire_words; ++k) w[k] = cw[k];
                if (to[t].try_send(1, w) != Status::ok) break;
                outq[t].pop_front();
                shared->lines.fetch_add(1, std::memory_order_relaxed);
                any = true;
            }
        return any;
    }
};

} // namespace cap_run_detail

inline CapRun run_caps(myr::hosted::Runtime& rt, const CapRunConfig& cfg) {
    using namespace cap_run_detail;
    CapRun result;
    const std::uint32_t n = cfg.nodes;
    if (n < 2 || n > CapNode::max_cores) return result;
    Shared shared;
    shared.nodes = n;
    shared.holds.reset(new std::atomic<std::uint16_t>[std::size_t{n} * n * pages_per_node]);
    for (std::size_t i = 0; i < std::size_t{n} * n * pages_per_node; ++i) shared.holds[i].store(0);
    NodeMesh mesh;
    if (!mesh.make(rt, n)) return result;
    std::vector<std::unique_ptr<Node>> nodes(n);
    const Status s = rt.run(mesh.cores(), [&](std::uint32_t thread) {
        std::vector<Node*> mine;
        for (std::uint32_t k = thread; k < n; k += mesh.threads()) {
            auto node = std::make_unique<Node>();
            node->id = k;
            node->shared = &shared;
            node->storage.resize(table_slots);
            node->outq.resize(n);
            if (node->node.init(k, n, node->storage, table_base(k)) != Status::ok ||
                node->node.install_root(untyped_slot, caps::make_untyped(mem_base(k), mem_bytes)) != Status::ok)
                shared.fail("node " + std::to_string(k) + " did not start");
            if (!mesh.attach(k, node->to, node->from)) shared.fail("a channel did not attach");
            mine.push_back(node.get());
            nodes[k] = std::move(node);
        }
        std::mt19937 rng(cfg.seed * 7919u + thread);
        for (;;) {
            bool busy = false;
            for (Node* nd : mine) {
                if (nd->issued < cfg.ops_per_node && nd->pending.size() < max_open_ops && rng() % 3 == 0) {
                    nd->operate(rng);
                    if (++nd->issued == cfg.ops_per_node) shared.issued_all.fetch_add(1);
                }
                busy |= nd->pump();
                // An answer comes only from lines the operation set off: with none left anywhere,
                // an operation still open never will be answered (reported at the end), and the
                // node stops issuing so the run ends.
                if (nd->issued < cfg.ops_per_node && nd->pending.size() >= max_open_ops &&
                    shared.in_flight.load(std::memory_order_acquire) == 0) {
                    nd->issued = cfg.ops_per_node;
                    shared.issued_all.fetch_add(1);
                }
            }
            if (!busy && shared.issued_all.load() == n && shared.in_flight.load(std::memory_order_acquire) == 0) break;
            if (!busy) urpc::cpu_relax();
        }
    });
    result.ok = s == Status::ok;
    if (!result.ok) return result;
    result.failure = shared.failure;
    result.lines = shared.lines.load();
    const auto fail = [&](const std::string& why) {
        if (result.failure.empty()) result.failure = why;
    };
    for (std::uint32_t k = 0; k < n; ++k) {
        Node& nd = *nodes[k];
        result.malformed += nd.malformed;
        result.revokes_finished += nd.revokes;
        result.untyped_revokes += nd.untyped_revokes;
        for (const auto& [what, count] : nd.outcomes) result.outcomes[what] += count;
        if (!nd.pending.empty()) fail("node " + std::to_string(k) + ": a " + nd.pending.begin()->second + " was never answered");
        if (const caps::AuditResult a = caps::audit(nd.node.table()); a.status != Status::ok)
            fail("node " + std::to_string(k) + " table: " + a.what);
    }
    // Exactly one node owns each frame still held (ownership moves), and its set is exactly the
    // other nodes that hold copies.
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> holders;
    for (std::uint32_t x = 0; x < n; ++x)
        for (const caps::Slot& sl : nodes[x]->node.table().slots())
            if (sl.cap.type == caps::CapType::frame) holders[{sl.cap.base, sl.cap.size}] |= std::uint64_t{1} << x;
    for (const auto& [key, set] : holders) {
        caps::Cap c = caps::make_frame(key.first, 12);
        c.size = key.second;
        std::uint32_t owner = n;
        std::uint64_t copies = 0;
        for (std::uint32_t o = 0; o < n; ++o) {
            std::uint64_t cs = 0;
            if (nodes[o]->node.moving(c)) fail("node " + std::to_string(o) + " is still in a move at the end");
            if (!nodes[o]->node.owns(c, cs)) continue;
            if (owner != n) fail("nodes " + std::to_string(owner) + " and " + std::to_string(o) + " both own a frame");
            owner = o;
            copies = cs;
        }
        if (owner == n) fail("a frame held by nodes " + std::to_string(set) + " has no owner");
        else if (copies != (set & ~(std::uint64_t{1} << owner)))
            fail("owner " + std::to_string(owner) + "'s set for a frame is " + std::to_string(copies) + ", its holders " +
                 std::to_string(set));
    }
    return result;
}

} // namespace myr::monitor::hosted
