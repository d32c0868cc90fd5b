#include "multicast_bench.hpp"

#include <myr/urpc/urpc.hpp>

#include <map>
#include <memory>

namespace myr::bench {

namespace {

struct Topo {
    std::vector<std::uint8_t> distance;
    std::uint32_t nodes = 0;
    std::vector<std::uint16_t> core_node;
};

// Dense node numbering of the chosen cores, distances from the runtime.
Topo host_topology(hosted::Runtime& rt, const std::vector<std::uint32_t>& cores) {
    Topo t;
    std::map<std::uint32_t, std::uint16_t> dense;
    std::vector<std::uint32_t> rep;  // one core per dense node, to ask distances
    for (std::uint32_t c : cores) {
        const std::uint32_t node = rt.cores()[c].node;
        auto [it, fresh] = dense.try_emplace(node, static_cast<std::uint16_t>(dense.size()));
        if (fresh) rep.push_back(c);
        t.core_node.push_back(it->second);
    }
    t.nodes = static_cast<std::uint32_t>(dense.size());
    for (std::uint32_t a = 0; a < t.nodes; ++a)
        for (std::uint32_t b = 0; b < t.nodes; ++b)
            t.distance.push_back(static_cast<std::uint8_t>(rt.distance(rep[a], rep[b])));
    return t;
}

Topo modelled(std::uint32_t nodes, std::uint32_t per_node) {
    Topo t;
    t.nodes = nodes;
    for (std::uint32_t a = 0; a < nodes; ++a)
        for (std::uint32_t b = 0; b < nodes; ++b)
            t.distance.push_back(static_cast<std::uint8_t>(a == b ? 10 : (a / 4 == b / 4 ? 16 : 32)));
    for (std::uint32_t n = 0; n < nodes; ++n)
        for (std::uint32_t c = 0; c < per_node; ++c) t.core_node.push_back(static_cast<std::uint16_t>(n));
    return t;
}

MulticastRow describe(const std::string& machine, const std::string& mode,
                      const urpc::MulticastTree& tree, const Topo& topo) {
    MulticastRow r;
    r.machine = machine;
    r.mode = mode;
    r.cores = tree.cores();
    r.messages = tree.cores() - 1;
    r.cross_node = tree.cross_node_messages(topo.core_node);
    r.critical_path_sends = tree.critical_path_sends();
    r.depth = tree.depth();
    return r;
}

// Run `rounds` multicasts along `tree` over the chosen cores; every receiver forwards to its
// children, then acknowledges to the root on its own channel.
Latency run_tree(hosted::Runtime& rt, const hosted::Tsc& tsc, const std::vector<std::uint32_t>& cores,
                 const urpc::MulticastTree& tree, std::uint64_t rounds) {
    const std::size_t n = cores.size();
    const urpc::ChannelConfig cfg{64, urpc::Wake::poll};
    std::vector<std::unique_ptr<hosted::ChannelMemory>> down(n);  // parent -> core i
    std::vector<std::unique_ptr<hosted::ChannelMemory>> ack(n);   // core i -> root
    for (std::size_t i = 0; i < n; ++i) {
        if (i == tree.root()) continue;
        auto d = rt.channel(cores[tree.parent(static_cast<std::uint32_t>(i))], cores[i], cfg);
        auto a = rt.channel(cores[i], cores[tree.root()], cfg);
        if (!d.ok() || !a.ok()) return {};
        down[i] = std::make_unique<hosted::ChannelMemory>(std::move(*d));
        ack[i] = std::make_unique<hosted::ChannelMemory>(std::move(*a));
    }
    std::map<std::uint32_t, std::size_t> position;
    for (std::size_t i = 0; i < n; ++i) position[cores[i]] = i;
    std::vector<std::uint32_t> cycles(rounds);
    const Status s = rt.run(cores, [&](std::uint32_t core) {
        const std::size_t me = position[core];
        std::vector<urpc::Sender> kids;
        for (std::uint16_t k : tree.children(static_cast<std::uint32_t>(me)))
            kids.push_back(*urpc::Sender::attach(down[k]->bytes()));
        std::uint64_t w[urpc::payload_words] = {};
        urpc::Message m{};
        auto forward = [&](std::uint64_t r) {
            w[0] = r;
            for (urpc::Sender& k : kids)
                while (k.try_send(1, w) != Status::ok) urpc::cpu_relax();
        };
        if (me == tree.root()) {
            std::vector<urpc::Receiver> acks;
            for (std::size_t i = 0; i < n; ++i)
                if (i != me) acks.push_back(*urpc::Receiver::attach(ack[i]->bytes()));
            for (std::uint64_t r = 0; r < rounds; ++r) {
                const std::uint64_t t0 = hosted::Tsc::read();
                forward(r);
                for (urpc::Receiver& a : acks) {
                    while (a.try_recv(m) != Status::ok) urpc::cpu_relax();
                    check(m.words[0] == r);
                }
                cycles[r] = static_cast<std::uint32_t>(hosted::Tsc::read() - t0);
            }
        } else {
            urpc::Receiver from_parent = *urpc::Receiver::attach(down[me]->bytes());
            urpc::Sender to_root = *urpc::Sender::attach(ack[me]->bytes());
            for (std::uint64_t r = 0; r < rounds; ++r) {
                while (from_parent.try_recv(m) != Status::ok) urpc::cpu_relax();
                check(m.words[0] == r);
                forward(r);
                w[0] = r;
                while (to_root.try_send(2, w) != Status::ok) urpc::cpu_relax();
            }
        }
    });
    if (s != Status::ok) return {};
    Latency l;
    l.p50_ns = tsc.to_ns(static_cast<std::uint64_t>(percentile(cycles, 0.5)));
    l.p99_ns = tsc.to_ns(static_cast<std::uint64_t>(percentile(cycles, 0.99)));
    return l;
}

} // namespace

std::vector<MulticastRow> measure_multicast(hosted::Runtime& rt, const hosted::Tsc& tsc,
                                            const std::vector<std::uint32_t>& cores,
                                            std::uint64_t rounds) {
    std::vector<MulticastRow> rows;
    const Topo host = host_topology(rt, cores);
    const auto n = static_cast<std::uint32_t>(cores.size());
    urpc::MulticastTree tree;
    urpc::MulticastTree seq;
    if (build_multicast_tree(urpc::MulticastInput{host.distance, host.nodes, host.core_node, 0}, tree) ==
            Status::ok &&
        build_sequential_unicast(n, 0, seq) == Status::ok) {
        MulticastRow t = describe("host", "tree", tree, host);
        t.latency = run_tree(rt, tsc, cores, tree, rounds);
        t.measured = true;
        MulticastRow s = describe("host", "sequential", seq, host);
        s.latency = run_tree(rt, tsc, cores, seq, rounds);
        s.measured = true;
        rows.push_back(t);
        rows.push_back(s);
    }
    // Modelled machines (counts only): 2x4, 4x4, 8x8 cores per node, two sockets of 4 nodes.
    const std::pair<std::uint32_t, std::uint32_t> models[] = {{2, 4}, {4, 4}, {8, 8}};
    for (auto [nodes, per] : models) {
        const Topo t = modelled(nodes, per);
        const std::string name = "model-" + std::to_string(nodes) + "x" + std::to_string(per);
        if (build_multicast_tree(urpc::MulticastInput{t.distance, nodes, t.core_node, 0}, tree) ==
                Status::ok &&
            build_sequential_unicast(nodes * per, 0, seq) == Status::ok) {
            rows.push_back(describe(name, "tree", tree, t));
            rows.push_back(describe(name, "sequential", seq, t));
        }
    }
    return rows;
}

} // namespace myr::bench
