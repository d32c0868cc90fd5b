#pragma once
// Hosted driver for the message protocols: one Replica per thread ("core"), a URPC channel for
// every ordered pair, and the same loop a monitor would run: drain channels into on_message,
// flush the outbox, hand completions to the client. Host only (std library, threads).
//
// Each core runs body(core, client); client.execute(op) submits and polls until the operation
// completes, retrying 2pc conflicts after a random backoff. When a body returns its core keeps
// serving until every body returned and the network is quiet (two identical scans of per-core
// sent/received counters with sent == received: nothing in flight, and no one left to submit).
#include <myr/hosted/clock.hpp>
#include <myr/repl/hosted/threads.hpp>
#include <myr/repl/replica.hpp>
#include <myr/urpc/urpc.hpp>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <new>
#include <random>
#include <vector>

namespace myr::repl::hosted {

template <ReplicatedObject Obj>
class MessageCluster {
public:
    using Op = typename Obj::Op;
    using Res = typename Obj::Result;

    class Client;

    // `rt` may be null (unpinned threads, heap channel memory).
    [[nodiscard]] static Result<std::unique_ptr<MessageCluster>> create(myr::hosted::Runtime* rt,
                                                                        const GroupConfig& config) {
        std::unique_ptr<MessageCluster> c(new MessageCluster());
        c->m_rt = rt;
        MYR_TRY(c->m_group.build(config));
        const std::uint32_t n = config.cores;
        c->m_nodes.resize(n);
        c->m_counters = std::make_unique<Counters[]>(n);
        for (std::uint32_t i = 0; i < n; ++i) {
            c->m_nodes[i] = std::make_unique<Node>(*c, static_cast<std::uint16_t>(i));
            c->m_nodes[i]->out.resize(n);
            c->m_nodes[i]->in.resize(n);
            c->m_nodes[i]->outbox.resize(n);
        }
        const urpc::ChannelConfig cc{256, urpc::Wake::poll};
        for (std::uint32_t s = 0; s < n; ++s)
            for (std::uint32_t d = 0; d < n; ++d) {
                if (s == d) continue;
                std::span<std::byte> mem;
                if (pinned(rt, n)) {
                    Result<myr::hosted::ChannelMemory> m =
                        rt->channel(rt->cores()[s].index, rt->cores()[d].index, cc);
                    if (!m.ok()) return m.status();
                    c->m_runtime_memory.push_back(std::move(m).value());
                    mem = c->m_runtime_memory.back().bytes();
                } else {
                    const std::size_t bytes = urpc::channel_bytes(cc.slots);
                    auto* p = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}));
                    c->m_heap_memory.push_back(p);
                    mem = {p, bytes};
                    MYR_TRY(urpc::format_channel(mem, cc));
                }
                Result<urpc::Sender> tx = urpc::Sender::attach(mem);
                Result<urpc::Receiver> rx = urpc::Receiver::attach(mem);
                if (!tx.ok() || !rx.ok()) return Status::internal;
                c->m_nodes[s]->out[d] = std::make_unique<urpc::Sender>(std::move(tx).value());
                c->m_nodes[d]->in[s] = std::make_unique<urpc::Receiver>(std::move(rx).value());
            }
        return c;
    }
    ~MessageCluster() {
        for (std::byte* p : m_heap_memory) ::operator delete(p, std::align_val_t{64});
    }
    MessageCluster(const MessageCluster&) = delete;
    MessageCluster& operator=(const MessageCluster&) = delete;

    [[nodiscard]] Status run(const std::function<void(std::uint32_t, Client&)>& body) {
        const std::uint32_t n = m_group.cores();
        m_finished.store(0);
        return run_threads(m_rt, n, [&](std::uint32_t i) {
            Node& node = *m_nodes[i];
            Client client(*this, node);
            body(i, client);
            m_finished.fetch_add(1, std::memory_order_acq_rel);
            for (std::uint32_t spins = 0; !quiet(); ++spins) {
                if (!node.poll()) HostedRelax::pause(spins);
            }
        });
    }

    [[nodiscard]] const Replica<Obj>& replica(std::uint32_t i) const { return m_nodes[i]->replica; }
    [[nodiscard]] std::uint32_t cores() const { return m_group.cores(); }
    [[nodiscard]] const Group& group() const { return m_group; }

private:
    struct alignas(64) Counters {
        std::atomic<std::uint64_t> sent{0};
        std::atomic<std::uint64_t> received{0};
    };
    struct Node;
    class NodeTransport final : public Transport {
    public:
        explicit NodeTransport(Node& n) : m_node(n) {}
        Status send(std::uint16_t dst, std::uint8_t type,
                    const std::uint64_t (&words)[urpc::payload_words]) override {
            m_node.counters().sent.fetch_add(1, std::memory_order_relaxed);
            auto& box = m_node.outbox[dst];
            if (box.empty() && m_node.out[dst]->try_send(type, words) == Status::ok) return Status::ok;
            Queued q{type, {}};
            for (std::size_t i = 0; i < urpc::payload_words; ++i) q.words[i] = words[i];
            box.push_back(q);
            return Status::ok;
        }

    private:
        Node& m_node;
    };
    struct Queued {
        std::uint8_t type;
        std::uint64_t words[urpc::payload_words];
    };
    struct Node {
        Node(MessageCluster& c, std::uint16_t self)
            : cluster(c), transport(*this), replica(c.m_group, self, transport), id(self) {}
        Counters& counters() { return cluster.m_counters[id]; }
        // One pass of the monitor loop: flush, receive, handle. true when anything happened.
        bool poll() {
            bool any = false;
            for (std::size_t d = 0; d < outbox.size(); ++d) {
                auto& box = outbox[d];
                while (!box.empty() && out[d]->try_send(box.front().type, box.front().words) == Status::ok) {
                    box.pop_front();
                    any = true;
                }
            }
            urpc::Message m{};  // zeroed: g++ -O3 sees a path reading it unset (false positive)
            for (std::size_t s = 0; s < in.size(); ++s) {
                if (!in[s]) continue;
                for (int k = 0; k < 16 && in[s]->try_recv(m) == Status::ok; ++k) {
                    (void)replica.on_message(static_cast<std::uint16_t>(s), m);
                    counters().received.fetch_add(1, std::memory_order_release);
                    any = true;
                }
            }
            return any;
        }
        MessageCluster& cluster;
        NodeTransport transport;
        Replica<Obj> replica;
        std::uint16_t id;
        std::vector<std::unique_ptr<urpc::Sender>> out;
        std::vector<std::unique_ptr<urpc::Receiver>> in;
        std::vector<std::deque<Queued>> outbox;
    };

public:
    class Client {
    public:
        Client(MessageCluster& c, Node& n) : m_node(n), m_rng(0x9e3779b97f4a7c15ULL * (n.id + 1)) { (void)c; }
        // Blocks (polling, serving other cores meanwhile) until `op` completed; 2pc conflicts
        // are retried after a random backoff that grows with consecutive failures.
        Res execute(const Op& op) {
            std::uint32_t failures = 0;
            for (;;) {
                const std::uint64_t token = ++m_token;
                while (m_node.replica.submit(op, token) == Status::busy) (void)m_node.poll();
                Completion<Obj> c{};
                for (std::uint32_t spins = 0; !m_node.replica.take_completion(c); ++spins)
                    if (!m_node.poll()) HostedRelax::pause(spins);
                if (c.status == Status::ok) return c.result;
                ++m_retries;
                const std::uint64_t limit = std::uint64_t{64} << (failures < 10 ? failures : 10);
                ++failures;
                const std::uint64_t wait = m_rng() % limit;
                for (std::uint64_t i = 0; i < wait; ++i)
                    if (!m_node.poll()) urpc::cpu_relax();
            }
        }
        [[nodiscard]] std::uint64_t retries() const { return m_retries; }
        [[nodiscard]] std::uint16_t core() const { return m_node.id; }

    private:
        Node& m_node;
        std::mt19937_64 m_rng;
        std::uint64_t m_token = 0;
        std::uint64_t m_retries = 0;
    };

private:
    MessageCluster() = default;

    bool quiet() const {
        if (m_finished.load(std::memory_order_acquire) != m_group.cores()) return false;
        std::uint64_t a[2] = {0, 0}, b[2] = {0, 0};
        for (int scan = 0; scan < 2; ++scan) {
            for (std::uint32_t i = 0; i < m_group.cores(); ++i)
                a[scan] += m_counters[i].received.load(std::memory_order_acquire);
            for (std::uint32_t i = 0; i < m_group.cores(); ++i)
                b[scan] += m_counters[i].sent.load(std::memory_order_acquire);
        }
        return a[0] == b[0] && a[1] == b[1] && a[0] == a[1];
    }

    myr::hosted::Runtime* m_rt = nullptr;
    Group m_group;
    std::vector<std::unique_ptr<Node>> m_nodes;
    std::unique_ptr<Counters[]> m_counters;
    std::vector<myr::hosted::ChannelMemory> m_runtime_memory;
    std::vector<std::byte*> m_heap_memory;
    std::atomic<std::uint32_t> m_finished{0};
};

} // namespace myr::repl::hosted
