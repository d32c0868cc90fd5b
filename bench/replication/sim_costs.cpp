// Messages and critical-path hops per operation on simulated 4-, 16- and 64-core machines
// (2x2, 4x4, 8x8 NUMA), topology-aware tree against sequential unicast. Each operation runs
// alone from a quiet system; see Simulation::measure_one for the cost model.
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/sim/simulation.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace myr::repl::bench {

bool write_sim_costs(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    std::fprintf(f, "protocol,cores,fanout,op,messages,completion_hops,completion_sends,all_hops,all_sends\n");
    struct Shape {
        std::uint32_t nodes, per_node;
    };
    for (Shape s : {Shape{2, 2}, Shape{4, 4}, Shape{8, 8}}) {
        const std::uint32_t n = s.nodes * s.per_node;
        std::vector<std::uint8_t> dist;
        for (std::uint32_t a = 0; a < s.nodes; ++a)
            for (std::uint32_t b = 0; b < s.nodes; ++b) dist.push_back(a == b ? 10 : (a / 2 == b / 2 ? 20 : 30));
        std::vector<std::uint16_t> node;
        for (std::uint32_t c = 0; c < n; ++c) node.push_back(static_cast<std::uint16_t>(c / s.per_node));
        for (Protocol p : {Protocol::broadcast, Protocol::two_pc, Protocol::sequencer}) {
            for (Fanout fo : {Fanout::tree, Fanout::unicast}) {
                GroupConfig gc;
                gc.protocol = p;
                gc.cores = n;
                gc.nodes = s.nodes;
                gc.distance = dist;
                gc.core_node = node;
                gc.fanout = fo;
                gc.reads = ReadMode::linearizable;
                Group g;
                if (g.build(gc) != Status::ok) return false;
                for (int read = 0; read < 2; ++read) {
                    if (read && p != Protocol::sequencer) continue;  // other reads: 0 messages
                    sim::Simulation<KvMap> simulation(g);
                    double m = 0, ch = 0, cs = 0, ah = 0, as = 0;
                    const std::uint32_t samples = n;  // one op from every core (core 0 sequences)
                    for (std::uint32_t i = 0; i < samples; ++i) {
                        const auto op = read ? KvMap::get(1 + i) : KvMap::add(1 + i, 1);
                        const auto c = simulation.measure_one(static_cast<std::uint16_t>(i), op);
                        m += static_cast<double>(c.messages);
                        ch += c.completion_hops;
                        cs += static_cast<double>(c.completion_sends);
                        ah += c.all_hops;
                        as += static_cast<double>(c.all_sends);
                    }
                    const double k = samples;
                    std::fprintf(f, "%s,%u,%s,%s,%.2f,%.2f,%.2f,%.2f,%.2f\n",
                                 std::string(to_string(p)).c_str(), n,
                                 fo == Fanout::tree ? "tree" : "unicast", read ? "read_lin" : "update",
                                 m / k, ch / k, cs / k, ah / k, as / k);
                }
            }
        }
    }
    std::fclose(f);
    return true;
}

} // namespace myr::repl::bench
