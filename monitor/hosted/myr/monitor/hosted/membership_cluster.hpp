#pragma once
// The monitors' core-membership protocol (myr/monitor/membership.hpp), or its elected-coordinator
// form (myr/monitor/election.hpp), on Linux threads: one Member per thread ("core"), a URPC channel for every ordered pair (on the receiver's NUMA node
// through the hosted runtime when the threads are pinned), the loop a monitor runs (drain the
// channels into on(), tick, send), and a crash that makes a thread stop dead at a given time.
// The same protocol code as the guest monitors and the simulation; the clock is the host's (one
// tick per millisecond). Host only.
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/election.hpp>
#include <myr/monitor/membership.hpp>
#include <myr/urpc/urpc.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace myr::monitor::hosted {

namespace mb = myr::monitor::membership;

// The two protocols' types for the cluster. Their lines travel as words: epoch, value, the four
// words of members, and the term (the elected coordinator's; 0 for the fixed one).
struct FixedCoordinator {
    using Member = mb::Member;
    using Msg = mb::Msg;
    using Params = mb::Params;
    static constexpr Params defaults() { return {20, 6, 300}; }  // ticks = ms: beat every 20 ms
};

struct ElectedCoordinator {
    using Member = election::Member;
    using Msg = election::Msg;
    using Params = election::Params;
    static constexpr Params defaults() { return {20, 6, 300, 400}; }  // elections after 400 ms unheard
};

template <class Msg>
void encode(const Msg& m, std::uint64_t (&w)[urpc::payload_words]) {
    w[0] = m.epoch;
    w[1] = m.value;
    for (unsigned i = 0; i < 4; ++i) w[2 + i] = m.members.w[i];
    w[6] = 0;
    if constexpr (requires { m.term; }) w[6] = m.term;
}

template <class Msg>
Msg decode(const urpc::Message& m) {
    Msg r;
    r.kind = static_cast<decltype(r.kind)>(m.header.type);
    r.epoch = m.words[0];
    r.value = m.words[1];
    for (unsigned i = 0; i < 4; ++i) r.members.w[i] = m.words[2 + i];
    if constexpr (requires { r.term; }) r.term = m.words[6];
    return r;
}

template <class P>
struct ClusterRun {
    std::uint32_t cores = 8;
    std::uint32_t per_node = 4;       // synthetic topology when not pinned: core / per_node
    typename P::Params params = P::defaults();
    std::vector<std::pair<std::uint32_t, std::uint64_t>> crashes;  // (core, at ms)
    std::uint64_t run_ms = 1500;      // stop after this long, or once every crash was committed
};
using MembershipRun = ClusterRun<FixedCoordinator>;
using ElectionRun = ClusterRun<ElectedCoordinator>;

struct MembershipResult {
    std::vector<mb::CoreSet> views;      // each core's final view
    std::vector<std::uint64_t> epochs;   // and its epoch
    std::vector<bool> excluded, crashed;
    std::uint32_t coordinator = 0;       // the last core that coordinated (election: the last elected)
    std::uint64_t committed = 0;         // its last committed epoch
    std::vector<std::uint64_t> detect_ms;  // per crash: from the crash to the commit that removed it
    std::uint64_t beats = 0, lines = 0;  // summed over cores
    std::uint64_t elections = 0;         // elected coordinator: candidacies, summed over cores
    bool pinned = false;
};

template <class P>
class Cluster {
public:
    // `rt` may be null (unpinned threads, heap channel memory); pinned when it has enough cores.
    [[nodiscard]] static Result<MembershipResult> run(myr::hosted::Runtime* rt, const ClusterRun<P>& cfg) {
        Cluster c(rt, cfg);
        MYR_TRY(c.build());
        return c.go();
    }

private:
    using Clock = std::chrono::steady_clock;

    struct Node {
        std::vector<std::unique_ptr<urpc::Sender>> out;
        std::vector<std::unique_ptr<urpc::Receiver>> in;
        std::vector<std::deque<typename P::Msg>> pending;  // per destination, lines its ring could not take
        typename P::Member member;
        std::uint64_t lines = 0;
    };

    Cluster(myr::hosted::Runtime* rt, const ClusterRun<P>& cfg) : m_rt(rt), m_cfg(cfg) {}
    ~Cluster() {
        for (std::byte* p : m_heap) ::operator delete(p, std::align_val_t{64});
    }

    bool pinned() const { return m_rt != nullptr && m_cfg.cores <= m_rt->cores().size(); }

    Status build() {
        const std::uint32_t n = m_cfg.cores;
        if (n < 2 || n > mb::max_cores || m_cfg.per_node == 0) return Status::invalid_argument;
        // Topology: the runtime's nodes and distances when pinned, else `per_node` cores a node.
        m_core_node.resize(n);
        std::uint32_t nodes = 0;
        if (pinned()) {
            std::vector<std::uint32_t> os_nodes;
            for (std::uint32_t i = 0; i < n; ++i) {
                const std::uint32_t os = m_rt->cores()[i].node;
                std::uint32_t k = 0;
                while (k < os_nodes.size() && os_nodes[k] != os) ++k;
                if (k == os_nodes.size()) os_nodes.push_back(os);
                m_core_node[i] = static_cast<std::uint16_t>(k);
            }
            nodes = static_cast<std::uint32_t>(os_nodes.size());
            m_distance.assign(std::size_t{nodes} * nodes, 10);
            for (std::uint32_t a = 0; a < n; ++a)
                for (std::uint32_t b = 0; b < n; ++b)
                    m_distance[std::size_t{m_core_node[a]} * nodes + m_core_node[b]] =
                        static_cast<std::uint8_t>(m_rt->distance(m_rt->cores()[a].index, m_rt->cores()[b].index));
        } else {
            for (std::uint32_t i = 0; i < n; ++i) m_core_node[i] = static_cast<std::uint16_t>(i / m_cfg.per_node);
            nodes = (n + m_cfg.per_node - 1) / m_cfg.per_node;
            m_distance.assign(std::size_t{nodes} * nodes, 20);
            for (std::uint32_t a = 0; a < nodes; ++a) m_distance[std::size_t{a} * nodes + a] = 10;
        }
        m_nodes_count = nodes;
        m_nodes.resize(n);
        for (auto& node : m_nodes) {
            node = std::make_unique<Node>();
            node->out.resize(n);
            node->in.resize(n);
            node->pending.resize(n);
        }
        const urpc::ChannelConfig cc{64, urpc::Wake::poll};
        for (std::uint32_t s = 0; s < n; ++s)
            for (std::uint32_t d = 0; d < n; ++d) {
                if (s == d) continue;
                std::span<std::byte> mem;
                if (pinned()) {
                    Result<myr::hosted::ChannelMemory> m = m_rt->channel(m_rt->cores()[s].index, m_rt->cores()[d].index, cc);
                    if (!m.ok()) return m.status();
                    m_runtime_memory.push_back(std::move(m).value());
                    mem = m_runtime_memory.back().bytes();
                } else {
                    const std::size_t bytes = urpc::channel_bytes(cc.slots);
                    auto* p = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}));
                    m_heap.push_back(p);
                    mem = {p, bytes};
                    MYR_TRY(urpc::format_channel(mem, cc));
                }
                Result<urpc::Sender> tx = urpc::Sender::attach(mem);
                Result<urpc::Receiver> rx = urpc::Receiver::attach(mem);
                if (!tx.ok() || !rx.ok()) return Status::internal;
                m_nodes[s]->out[d] = std::make_unique<urpc::Sender>(std::move(tx).value());
                m_nodes[d]->in[s] = std::make_unique<urpc::Receiver>(std::move(rx).value());
            }
        const mb::Topology t{m_distance, m_nodes_count, m_core_node};
        for (std::uint32_t i = 0; i < n; ++i) MYR_TRY(m_nodes[i]->member.init(i, t, m_cfg.params, 0));
        return Status::ok;
    }

    struct Out {
        Node* node;
        void send(std::uint32_t to, const typename P::Msg& m) { node->pending[to].push_back(m); }
    };

    void flush(Node& node) {
        for (std::uint32_t d = 0; d < m_cfg.cores; ++d) {
            auto& q = node.pending[d];
            while (!q.empty()) {
                std::uint64_t w[urpc::payload_words];
                encode(q.front(), w);
                if (node.out[d]->try_send(static_cast<std::uint8_t>(q.front().kind), w) != Status::ok) break;
                q.pop_front();
                ++node.lines;
            }
            // Lines for a core the view removed go nowhere (the monitor's mesh drops them too).
            if (!node.member.view().has(d)) q.clear();
        }
    }

    std::uint64_t now_ms() const {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - m_start).count());
    }

    void loop(std::uint32_t self) {
        Node& node = *m_nodes[self];
        std::uint64_t crash_at = ~0ull;
        for (const auto& [c, at] : m_cfg.crashes)
            if (c == self) crash_at = at;
        Out out{&node};
        urpc::Message m{};
        for (std::uint32_t spins = 0; !m_stop.load(std::memory_order_acquire); ++spins) {
            const std::uint64_t now = now_ms();
            if (now >= crash_at) {
                m_crashed[self].store(true, std::memory_order_release);
                return;  // dead: reads and sends nothing more
            }
            for (std::uint32_t s = 0; s < m_cfg.cores; ++s) {
                if (s == self) continue;
                while (node.in[s]->try_recv(m) == Status::ok) (void)node.member.on(s, decode<typename P::Msg>(m), now, out);
            }
            node.member.tick(now, out);
            flush(node);
            if (node.member.excluded()) {
                m_excluded[self].store(true, std::memory_order_release);
                return;  // fail-stop: a removed core halts
            }
            // The coordinator (the elected one's, whoever it is now) times the removals and ends
            // the run; a run whose coordinator is gone and none elected ends at run_ms anyway.
            if (now >= m_cfg.run_ms) m_stop.store(true, std::memory_order_release);
            if (node.member.is_coordinator()) {
                m_coordinator.store(self, std::memory_order_release);
                mb::CoreSet removed;
                std::uint64_t epoch = 0;
                while (node.member.take_commit(removed, epoch)) {
                    for (std::size_t k = 0; k < m_cfg.crashes.size(); ++k)
                        if (removed.has(m_cfg.crashes[k].first) && m_detect[k].load() == 0)
                            m_detect[k].store(now > m_cfg.crashes[k].second ? now - m_cfg.crashes[k].second : 1);
                    bool all = true;
                    for (std::size_t k = 0; k < m_cfg.crashes.size(); ++k) all = all && m_detect[k].load() != 0;
                    if (all && !m_cfg.crashes.empty()) m_stop.store(true, std::memory_order_release);
                }
            }
            if ((spins & 15) == 15) sched_yield();  // oversubscribed hosts: let the others run
        }
    }

    Result<MembershipResult> go() {
        const std::uint32_t n = m_cfg.cores;
        m_crashed = std::make_unique<std::atomic<bool>[]>(n);
        m_excluded = std::make_unique<std::atomic<bool>[]>(n);
        m_detect = std::make_unique<std::atomic<std::uint64_t>[]>(m_cfg.crashes.size() + 1);
        m_start = Clock::now();
        if (pinned()) {
            std::vector<std::uint32_t> cores;
            for (std::uint32_t i = 0; i < n; ++i) cores.push_back(m_rt->cores()[i].index);
            MYR_TRY(m_rt->run(cores, [&](std::uint32_t core) {
                for (std::uint32_t i = 0; i < n; ++i)
                    if (cores[i] == core) loop(i);
            }));
        } else {
            std::vector<std::thread> threads;
            for (std::uint32_t i = 0; i < n; ++i) threads.emplace_back([this, i] { loop(i); });
            for (auto& t : threads) t.join();
        }
        MembershipResult r;
        r.pinned = pinned();
        for (std::uint32_t i = 0; i < n; ++i) {
            const typename P::Member& mem = m_nodes[i]->member;
            r.views.push_back(mem.view());
            r.epochs.push_back(mem.epoch());
            r.excluded.push_back(m_excluded[i].load());
            r.crashed.push_back(m_crashed[i].load());
            r.beats += mem.stats().beats;
            if constexpr (requires { mem.stats().elections; }) r.elections += mem.stats().elections;
            r.lines += m_nodes[i]->lines;
        }
        r.coordinator = m_coordinator.load();
        r.committed = m_nodes[r.coordinator]->member.committed();
        for (std::size_t k = 0; k < m_cfg.crashes.size(); ++k) r.detect_ms.push_back(m_detect[k].load());
        return r;
    }

    myr::hosted::Runtime* m_rt;
    ClusterRun<P> m_cfg;
    std::vector<std::uint16_t> m_core_node;
    std::vector<std::uint8_t> m_distance;
    std::uint32_t m_nodes_count = 0;
    std::vector<std::unique_ptr<Node>> m_nodes;
    std::vector<myr::hosted::ChannelMemory> m_runtime_memory;
    std::vector<std::byte*> m_heap;
    std::atomic<bool> m_stop{false};
    std::atomic<std::uint32_t> m_coordinator{0};
    std::unique_ptr<std::atomic<bool>[]> m_crashed, m_excluded;
    // Per crash, set by the thread of whichever core coordinates when the removal is committed
    // (with an election, a deposed coordinator may still be running): atomics.
    std::unique_ptr<std::atomic<std::uint64_t>[]> m_detect;
    Clock::time_point m_start;
};

using MembershipCluster = Cluster<FixedCoordinator>;
using ElectionCluster = Cluster<ElectedCoordinator>;

} // namespace myr::monitor::hosted
