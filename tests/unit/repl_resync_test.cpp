// A core on the sequencer's tree stops (replication/include/myr/repl/sequencer.hpp, resync):
// 8 replicas of a counter on 2 nodes, core 4 relays the sequencer's entries to 5, 6 and 7. Clients
// on every core add; at step S (every S of a run) core 4 stops dead, taking whatever it held;
// some steps later (the membership's detection time) the group is rebuilt without it and every
// replica resyncs. Every live replica must end with the sequencer's whole log (the same index and
// counter); a gap older than the sequencer's log is reported, not papered over.
#include <myr/repl/group.hpp>
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/replica.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace myr::repl {
namespace {

struct Line {
    std::uint16_t from, to;
    std::uint8_t type;
    std::uint64_t w[urpc::payload_words];
};

struct Net;
class SimTransport final : public Transport {
public:
    SimTransport(Net* net, std::uint16_t self) : m_net(net), m_self(self) {}
    Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) override;

private:
    Net* m_net;
    std::uint16_t m_self;
};

struct Net {
    static constexpr std::uint32_t cores = 8;
    std::vector<std::uint8_t> distance{10, 20, 20, 10};
    std::vector<std::uint16_t> core_node{0, 0, 0, 0, 1, 1, 1, 1};
    Group group;
    std::vector<std::unique_ptr<SimTransport>> transports;
    std::vector<std::unique_ptr<Replica<Counter>>> replicas;
    std::vector<std::deque<Line>> channel;  // per (from, to)
    std::vector<bool> stopped;
    std::mt19937_64 rng;
    std::uint64_t step = 0;
    bool submits = true;

    explicit Net(std::uint64_t seed) : channel(cores * cores), stopped(cores, false), rng(seed) {
        GroupConfig cfg;
        cfg.protocol = Protocol::sequencer;
        cfg.cores = cores;
        cfg.distance = distance;
        cfg.nodes = 2;
        cfg.core_node = core_node;
        EXPECT_EQ(group.build(cfg), Status::ok);
        for (std::uint16_t c = 0; c < cores; ++c) {
            transports.push_back(std::make_unique<SimTransport>(this, c));
            replicas.push_back(std::make_unique<Replica<Counter>>(group, c, *transports.back()));
        }
    }

    // A line reaches its core, unless that core stopped (it reads nothing).
    void deliver(const Line& l) {
        if (stopped[l.to]) return;
        urpc::Message m{};
        m.header.type = l.type;
        m.header.length = packet_length;
        m.header.flags = urpc::frag_single;
        for (unsigned i = 0; i < urpc::payload_words; ++i) m.words[i] = l.w[i];
        (void)replicas[l.to]->on_message(l.from, m);
    }

    // One step: a random core submits an add (one step in `submit_every`), or one line is
    // delivered from a random channel. The sequencer's log (64 entries) must outlast the time
    // from a stop to the resend; names and membership traffic is far sparser than this.
    std::uint64_t submit_every = 8;
    void tick() {
        ++step;
        if (submits && rng() % submit_every == 0) {
            const std::uint16_t c = static_cast<std::uint16_t>(rng() % cores);
            if (!stopped[c]) (void)replicas[c]->submit(Counter::add(1), step);
        } else {
            const std::size_t start = rng() % channel.size();
            for (std::size_t k = 0; k < channel.size(); ++k) {
                auto& q = channel[(start + k) % channel.size()];
                if (q.empty()) continue;
                const Line l = q.front();
                q.pop_front();
                deliver(l);
                break;
            }
        }
        for (std::uint16_t c = 0; c < cores; ++c) {
            Completion<Counter> done;
            while (!stopped[c] && replicas[c]->take_completion(done)) {}
        }
    }
    void stop(std::uint16_t c) { stopped[c] = true; }
    // The membership removed `c`: every live monitor rebuilds the trees and resyncs.
    void remove(std::uint16_t c) {
        std::uint64_t live[1] = {0};
        for (std::uint16_t k = 0; k < cores; ++k)
            if (!stopped[k] && k != c) live[0] |= std::uint64_t{1} << k;
        std::uint16_t former[cores];
        for (std::uint16_t k = 0; k < cores; ++k) former[k] = group.parent(0, k);
        EXPECT_EQ(group.exclude(distance, live), Status::ok);
        for (std::uint16_t k = 0; k < cores; ++k)
            if (!stopped[k]) replicas[k]->resync(former[k]);
    }
    bool quiet() const {
        for (std::size_t i = 0; i < channel.size(); ++i)
            if (!channel[i].empty() && !stopped[i % cores]) return false;
        return true;
    }
};

Status SimTransport::send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]) {
    if (m_net->stopped[m_self]) return Status::ok;  // a stopped core sends nothing
    Line l{m_self, dst, type, {}};
    for (unsigned i = 0; i < urpc::payload_words; ++i) l.w[i] = words[i];
    m_net->channel[std::size_t{m_self} * Net::cores + dst].push_back(l);
    return Status::ok;
}

std::int64_t value(const Replica<Counter>& r) { return r.object().value(); }

TEST(ReplResync, ARelayStopsAtEveryStep) {
    std::uint64_t runs = 0, with_resends = 0;
    for (std::uint64_t at = 1; at <= 600; ++at) {
        Net net(at * 977);
        std::uint64_t t = 0;
        for (; t < at; ++t) net.tick();
        net.stop(4);
        for (std::uint64_t k = 0; k < 40; ++k) net.tick();  // until the membership notices
        net.remove(4);
        for (std::uint64_t k = 0; k < 400; ++k) net.tick();
        net.submits = false;
        // No more adds: let every line land.
        for (int k = 0; k < 20000 && !net.quiet(); ++k)
            for (auto& q : net.channel) {
                if (q.empty()) continue;
                const Line l = q.front();
                q.pop_front();
                net.deliver(l);
            }
        ASSERT_TRUE(net.quiet()) << "at " << at;
        const Replica<Counter>& seq = *net.replicas[0];
        const std::string what = "relay stopped at step " + std::to_string(at);
        for (std::uint16_t c = 1; c < Net::cores; ++c) {
            if (c == 4) continue;
            const Replica<Counter>& r = *net.replicas[c];
            EXPECT_EQ(r.stats().out_of_sync, 0u) << what << ": core " << c;
            EXPECT_EQ(r.applied_index(), seq.applied_index()) << what << ": core " << c << " missed entries";
            EXPECT_EQ(value(r), value(seq)) << what << ": core " << c;
            if (r.stats().rejected) ADD_FAILURE() << what << ": core " << c << " rejected " << r.stats().rejected;
        }
        // The counter is the log: every add the sequencer ordered, no more.
        EXPECT_EQ(value(seq), static_cast<std::int64_t>(seq.applied_index())) << what;
        ++runs;
        with_resends += seq.stats().resent > 0;
        if (HasFailure()) return;
    }
    EXPECT_EQ(runs, 600u);
    EXPECT_GT(with_resends, 100u) << "the runs never needed a resend: the test does not reach the gap";
}

// A replica that lacks more than the sequencer's log holds is told so, and counts it.
TEST(ReplResync, TooFarBehindIsReported) {
    Net net(5);
    net.stop(4);
    // 5 hears nothing while the sequencer orders more than its log keeps.
    for (int i = 0; i < 3 * static_cast<int>(Replica<Counter>::log_entries); ++i) {
        (void)net.replicas[0]->submit(Counter::add(1), static_cast<std::uint64_t>(i + 1));
        Completion<Counter> done;
        while (net.replicas[0]->take_completion(done)) {}
    }
    net.remove(4);
    for (int k = 0; k < 5000; ++k) net.tick();
    EXPECT_GE(net.replicas[5]->stats().out_of_sync, 1u);
}

} // namespace
} // namespace myr::repl
