#pragma once
// Deterministic simulation of one replicated object on N cores (host only, no threads): every
// core holds a Replica; every ordered core pair has a FIFO channel (as URPC rings are); a seeded
// scheduler picks, step by step, which channel delivers next and which client submits, so a seed
// replays one interleaving exactly. It records the history for the linearizability checker, can
// inject malformed lines, and counts messages, hops and critical-path sends per operation.
// With a Placement of replicas per NUMA node, only the node's replica core holds a replica; the
// other cores' clients forward through their Endpoint (endpoint.hpp), and forwarding lines travel
// the same FIFO channels (and count as messages).
#include <myr/repl/endpoint.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "linearizability.hpp"

namespace myr::repl::sim {

struct Line {
    std::uint8_t type;
    std::uint64_t words[urpc::payload_words];
    std::uint32_t depth;  // messages on the causal path from the submit to this line
    std::uint64_t time;   // critical-path sends: each send costs its sender one unit
    bool injected;
};

struct SimStats {
    std::uint64_t steps = 0;
    std::uint64_t messages = 0;
    std::uint64_t injected = 0;
    std::uint64_t rejected = 0;
    std::uint64_t retries = 0;    // busy completions (2pc conflicts) retried by the client
    std::uint64_t completed = 0;
    // Liveness: the worst operation's busy retries, and its steps from its first submit to its
    // completion (what a client waited); tests bound both.
    std::uint64_t max_op_retries = 0;
    std::uint64_t max_op_steps = 0;
};

template <ReplicatedObject Obj>
class Simulation {
public:
    using Op = typename Obj::Op;
    using OpSource = std::function<Op(std::mt19937_64&, std::uint16_t core)>;

    struct Options {
        std::uint64_t seed = 1;
        std::uint32_t ops = 40;              // operations completed in total
        std::uint32_t clients_per_core = 1;  // concurrent operations per core
        std::uint32_t inject_per_mille = 0;  // chance per step of a malformed line
        std::uint64_t max_steps = 2'000'000; // livelock guard
    };

    // One replica per core: every core of the group.
    explicit Simulation(const Group& group) : m_group(group) {
        if (m_identity.build(group.cores(), {}, 1, Replicas::per_core) != Status::ok) return;
        m_placement = &m_identity;
        init();
    }
    // Replicas where `placement` puts them; `group` built from placement.group_config(...).
    Simulation(const Group& group, const Placement& placement) : m_group(group), m_placement(&placement) { init(); }

    // Runs until `ops` operations completed and every channel drained. false: livelock guard hit.
    bool run(const Options& opt, const OpSource& source) {
        std::mt19937_64 rng(opt.seed);
        const std::uint32_t n = cores();
        struct Client {
            bool busy = false;
            std::uint64_t wake = 0;  // backoff after a conflict: not before this step
            Op op{};
            std::uint64_t invoke = 0;
            std::uint64_t first = 0;    // step of the op's first submit
            std::uint64_t retries = 0;  // its busy completions so far
        };
        std::vector<Client> clients(std::size_t{n} * opt.clients_per_core);
        std::uint32_t issued = 0;
        std::uint32_t done = 0;
        std::uint64_t step = 0;
        auto collect = [&](std::uint16_t core) {
            Completion<Obj> c;
            while (m_endpoints[core]->take_completion(c)) {
                Client& cl = clients[c.token];
                if (c.status == Status::busy) {
                    // The op had no effect anywhere: retry it later as a fresh invocation.
                    ++m_stats.retries;
                    ++cl.retries;
                    cl.wake = step + 1 + rng() % (4 * n);
                    cl.invoke = 0;
                    continue;
                }
                m_history.push_back(Event<Obj>{cl.op, c.result, cl.invoke, step});
                m_last_depth = m_depth;
                m_last_time = m_clock[core];
                cl.busy = false;
                m_stats.max_op_retries = std::max(m_stats.max_op_retries, cl.retries);
                m_stats.max_op_steps = std::max(m_stats.max_op_steps, step - cl.first);
                ++done;
                ++m_stats.completed;
            }
        };
        while (done < opt.ops || pending_lines() != 0) {
            if (++step > opt.max_steps) return false;
            ++m_stats.steps;
            if (opt.inject_per_mille != 0 && rng() % 1000 < opt.inject_per_mille) inject(rng);
            // Candidates: clients ready to (re)submit, channels with a line.
            std::vector<std::uint32_t> ready;
            for (std::uint32_t i = 0; i < clients.size(); ++i) {
                const Client& cl = clients[i];
                if (cl.busy ? (cl.invoke == 0 && cl.wake <= step) : issued < opt.ops) ready.push_back(i);
            }
            std::vector<std::uint32_t> full;
            for (std::uint32_t i = 0; i < m_channels.size(); ++i)
                if (!m_channels[i].empty()) full.push_back(i);
            if (ready.empty() && full.empty()) continue;  // clients in backoff
            const bool submit = !ready.empty() && (full.empty() || rng() % 4 == 0);
            if (submit) {
                const std::uint32_t ci = ready[rng() % ready.size()];
                Client& cl = clients[ci];
                const auto core = static_cast<std::uint16_t>(ci / opt.clients_per_core);
                if (!cl.busy) {
                    cl.op = source(rng, core);
                    cl.busy = true;
                    cl.first = step;
                    cl.retries = 0;
                    ++issued;
                }
                cl.invoke = step;
                m_depth = 0;
                if (m_endpoints[core]->submit(cl.op, ci) != Status::ok) return false;
                collect(core);
            } else {
                const std::uint32_t ch = full[rng() % full.size()];
                Line line = m_channels[ch].front();
                m_channels[ch].pop_front();
                const auto dst = static_cast<std::uint16_t>(ch % n);
                deliver(static_cast<std::uint16_t>(ch / n), dst, line);
                collect(dst);
            }
        }
        for (auto& e : m_endpoints) m_stats.rejected += e->rejected();
        return true;
    }

    [[nodiscard]] const std::vector<Event<Obj>>& history() const { return m_history; }
    [[nodiscard]] const Replica<Obj>& replica(std::uint32_t c) const { return m_endpoints[c]->replica(); }
    [[nodiscard]] const Endpoint<Obj>& endpoint(std::uint32_t c) const { return *m_endpoints[c]; }
    [[nodiscard]] const SimStats& stats() const { return m_stats; }
    [[nodiscard]] std::uint32_t cores() const { return m_placement->cores(); }
    // Every replica holds the same state (clients hold none).
    [[nodiscard]] bool converged() const {
        const std::uint64_t d = replica(m_placement->core_of(0)).object().digest();
        for (std::uint32_t r = 0; r < m_placement->replicas(); ++r)
            if (replica(m_placement->core_of(r)).object().digest() != d) return false;
        return true;
    }
    // Every replica applied `updates` updates, and nothing is in flight anywhere.
    [[nodiscard]] bool settled(std::uint64_t updates) const {
        for (std::uint32_t c = 0; c < cores(); ++c) {
            if (!m_endpoints[c]->idle()) return false;
            if (m_placement->is_replica(c) && m_endpoints[c]->applied() != updates) return false;
        }
        return true;
    }

    // Cost model for one operation run alone from a quiet system (see docs/replication.md).
    struct Cost {
        std::uint64_t messages;
        std::uint32_t completion_hops;   // causal message chain until the client has its result
        std::uint64_t completion_sends;  // critical-path sends until then
        std::uint32_t all_hops;          // ... until every replica has it (the last message)
        std::uint64_t all_sends;
    };
    Cost measure_one(std::uint16_t core, const Op& op) {
        std::fill(m_clock.begin(), m_clock.end(), 0);
        m_max_depth = 0;
        m_max_time = 0;
        const std::uint64_t before = m_stats.messages;
        m_depth = 0;
        m_last_depth = 0;
        m_last_time = 0;
        bool finished = false;
        Cost cost{};
        auto collect = [&](std::uint16_t c) {
            Completion<Obj> comp;
            while (m_endpoints[c]->take_completion(comp)) {
                finished = true;
                cost.completion_hops = m_depth;
                cost.completion_sends = m_clock[c];
            }
        };
        (void)m_endpoints[core]->submit(op, 0);
        collect(core);
        // Deliver in time order so the cost model's clocks mean what they say.
        while (pending_lines() != 0) {
            std::size_t best = 0;
            std::uint64_t best_time = ~std::uint64_t{0};
            for (std::size_t i = 0; i < m_channels.size(); ++i)
                if (!m_channels[i].empty() && m_channels[i].front().time < best_time) {
                    best = i;
                    best_time = m_channels[i].front().time;
                }
            Line line = m_channels[best].front();
            m_channels[best].pop_front();
            const auto dst = static_cast<std::uint16_t>(best % cores());
            deliver(static_cast<std::uint16_t>(best / cores()), dst, line);
            collect(dst);
        }
        cost.messages = m_stats.messages - before;
        cost.all_hops = m_max_depth;
        cost.all_sends = m_max_time;
        if (!finished) cost.completion_hops = ~0u;
        return cost;
    }

private:
    class SimTransport final : public Transport {
    public:
        SimTransport(Simulation& sim, std::uint16_t self) : m_sim(sim), m_self(self) {}
        Status send(std::uint16_t dst, std::uint8_t type,
                    const std::uint64_t (&words)[urpc::payload_words]) override {
            return m_sim.push(m_self, dst, type, words);
        }

    private:
        Simulation& m_sim;
        std::uint16_t m_self;
    };

    void init() {
        const std::uint32_t n = cores();
        m_channels.resize(std::size_t{n} * n);
        m_clock.assign(n, 0);
        for (std::uint32_t c = 0; c < n; ++c) {
            m_transports.push_back(std::make_unique<SimTransport>(*this, static_cast<std::uint16_t>(c)));
            m_endpoints.push_back(std::make_unique<Endpoint<Obj>>(m_group, *m_placement, static_cast<std::uint16_t>(c),
                                                                  *m_transports.back()));
        }
    }

    Status push(std::uint16_t src, std::uint16_t dst, std::uint8_t type,
                const std::uint64_t (&words)[urpc::payload_words]) {
        if (dst >= cores() || dst == src) return Status::invalid_argument;
        Line l{};
        l.type = type;
        for (std::size_t i = 0; i < urpc::payload_words; ++i) l.words[i] = words[i];
        l.depth = m_depth + 1;
        l.time = ++m_clock[src];
        m_max_depth = std::max(m_max_depth, l.depth);
        m_max_time = std::max(m_max_time, l.time);
        m_channels[std::size_t{src} * cores() + dst].push_back(l);
        ++m_stats.messages;
        return Status::ok;
    }

    void deliver(std::uint16_t src, std::uint16_t dst, const Line& line) {
        urpc::Message m{};
        m.header = urpc::Header{0, line.type, urpc::payload_bytes, urpc::frag_single, 0};
        for (std::size_t i = 0; i < urpc::payload_words; ++i) m.words[i] = line.words[i];
        m_depth = line.depth;
        m_clock[dst] = std::max(m_clock[dst], line.time);
        const std::uint64_t ignored_before = m_endpoints[dst]->replica().stats().ignored;
        const Status s = m_endpoints[dst]->on_message(src, m);
        if (line.injected) {
            // An injected line may be taken only as a counted no-op (ignored): an abort of a
            // transaction the replica never joined, a takeover line it was not told of.
            if (s == Status::ok && m_endpoints[dst]->replica().stats().ignored == ignored_before)
                m_injected_accepted = true;
        } else if (s != Status::ok) {
            m_genuine_rejected = true;
        }
    }

    // Malformed or unexpected lines a broken or hostile peer might send: wrong types, wrong
    // object, impossible cores, random ids, and real-looking kinds from the wrong sender.
    // Cores are machine cores; the fields inside replication lines are group ranks (r of them).
    // Forwarding lines (0x4b, 0x4c) are injected too: plausible ones name a random request id.
    void inject(std::mt19937_64& rng) {
        const std::uint32_t n = cores();
        const std::uint32_t r = m_group.cores();
        if (n < 2) return;
        const auto src = static_cast<std::uint16_t>(rng() % n);
        auto dst = static_cast<std::uint16_t>(rng() % n);
        if (dst == src) dst = static_cast<std::uint16_t>((dst + 1) % n);
        Line l{};
        l.injected = true;
        l.type = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : kind_first + rng() % (forward_last - kind_first + 1));
        for (auto& w : l.words) w = rng();
        const std::uint64_t mode = rng() % 4;
        if (mode == 3) {
            // A plausible forwarding line: right object, real cores, a request id nobody issued
            // (2^40 space) and an invalid op (kind byte 0); true sender or not.
            const std::uint64_t o = m_group.config().object;
            const bool request = rng() % 2 == 0;
            const std::uint64_t client = request ? (rng() % 2 ? src : rng() % n) : (rng() % 2 ? dst : rng() % n);
            const std::uint64_t replica = m_placement->replica_of(static_cast<std::uint32_t>(client));
            l.words[0] = o | (client << 16) | (replica << 32);
            l.words[1] = (std::uint64_t{1} << 40) + (rng() >> 24);
            l.words[2] = request ? 0 : rng() % 2;
            for (std::size_t i = 3; i < urpc::payload_words; ++i) l.words[i] = 0;
            l.type = request ? forward_first : forward_last;
        } else if (mode != 0) {
            // Plausible: right object, cores in range, a protocol kind, an invalid op (kind byte
            // 0 is invalid for every shipped object), a random id whose origin bits do not match.
            // mode 1 claims the true sender (reaches the protocol checks), mode 2 another core.
            const std::uint64_t o = m_group.config().object;
            const std::uint64_t origin = rng() % r;
            const std::uint16_t src_rank = m_placement->rank_of(src);
            // mode 1 claims the true sender (when it is a replica), mode 2 another rank.
            const std::uint64_t from = src_rank == no_rank || r < 2 ? rng() % r
                                       : mode == 1                  ? src_rank
                                                                    : (src_rank + 1 + rng() % (r - 1)) % r;
            l.words[0] = o | (origin << 16) | ((rng() % r) << 32) | (from << 48);
            l.words[1] = make_id(static_cast<std::uint16_t>((origin + 1) % r), rng());
            for (std::size_t i = 3; i < urpc::payload_words; ++i) l.words[i] = 0;
            constexpr unsigned kinds = (kind_last - kind_first + 1) + (seq_ready_kind - seq_resend_kind + 1);
            const unsigned k = static_cast<unsigned>(rng() % kinds);
            l.type = static_cast<std::uint8_t>(k <= kind_last - kind_first ? kind_first + k
                                                                           : seq_resend_kind + (k - (kind_last - kind_first + 1)));
        }
        m_channels[std::size_t{src} * n + dst].push_back(l);
        ++m_stats.injected;
    }

    std::size_t pending_lines() const {
        std::size_t k = 0;
        for (const auto& c : m_channels) k += c.size();
        return k;
    }

public:
    // An injected line was accepted / a genuine one refused: either is a failure.
    bool m_injected_accepted = false;
    bool m_genuine_rejected = false;

private:
    const Group& m_group;
    Placement m_identity;
    const Placement* m_placement = nullptr;
    std::vector<std::unique_ptr<SimTransport>> m_transports;
    std::vector<std::unique_ptr<Endpoint<Obj>>> m_endpoints;
    std::vector<std::deque<Line>> m_channels;
    std::vector<std::uint64_t> m_clock;
    std::vector<Event<Obj>> m_history;
    SimStats m_stats{};
    std::uint32_t m_depth = 0;
    std::uint32_t m_max_depth = 0;
    std::uint64_t m_max_time = 0;
    std::uint32_t m_last_depth = 0;
    std::uint64_t m_last_time = 0;
};

} // namespace myr::repl::sim
