// myriad bench replication: throughput and p50/p99 latency of every protocol for 1..N cores and
// update ratios, on real pinned cores, all in one run so the shared-memory answers (nr, shared)
// are measured beside the message-based ones. Object: KvMap with 64 keys, get and add (add
// commutes, so broadcast is correct for this workload). Plus the simulated message/hop costs.
#include <myr/hosted/clock.hpp>
#include <myr/repl/hosted/message_cluster.hpp>
#include <myr/repl/node_replication.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/shared_object.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace myr::repl::bench {
bool write_sim_costs(const std::string& path);
}

using namespace myr;
using namespace myr::repl;

namespace {

struct Sample {
    std::vector<std::uint64_t> lat_ns;
    std::uint64_t ops = 0;
    std::uint64_t elapsed_ns = 0;
};

struct Row {
    Protocol protocol;
    std::uint32_t cores;
    std::uint32_t updates;
    double ops_per_s;
    std::uint64_t p50, p99;
};

constexpr std::uint64_t keys = 64;

template <typename Exec>
void client(std::uint32_t core, std::uint32_t updates, std::uint64_t duration_ns, Sample& out, Exec&& exec) {
    std::mt19937_64 rng(core * 7919 + 1);
    out.lat_ns.reserve(1 << 20);
    const std::uint64_t start = myr::hosted::now_ns();
    std::uint64_t now = start;
    while (now - start < duration_ns) {
        const std::uint64_t k = 1 + rng() % keys;
        const KvMap::Op op = rng() % 100 < updates ? KvMap::add(k, 1) : KvMap::get(k);
        (void)exec(op);
        const std::uint64_t t = myr::hosted::now_ns();
        if (out.lat_ns.size() < (1u << 20)) out.lat_ns.push_back(t - now);
        now = t;
        ++out.ops;
    }
    out.elapsed_ns = now - start;
}

Row summarize(Protocol p, std::uint32_t n, std::uint32_t u, std::vector<Sample>& s) {
    std::vector<std::uint64_t> all;
    double ops_per_s = 0;
    for (auto& x : s) {
        all.insert(all.end(), x.lat_ns.begin(), x.lat_ns.end());
        ops_per_s += static_cast<double>(x.ops) * 1e9 / static_cast<double>(std::max<std::uint64_t>(x.elapsed_ns, 1));
    }
    std::sort(all.begin(), all.end());
    auto pct = [&](double q) { return all.empty() ? 0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))]; };
    return Row{p, n, u, ops_per_s, pct(0.5), pct(0.99)};
}

std::vector<std::uint32_t> parse_list(const std::string& s) {
    std::vector<std::uint32_t> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) v.push_back(static_cast<std::uint32_t>(std::stoul(item)));
    return v;
}

} // namespace

int main(int argc, char** argv) {
    std::string out = "docs/results";
    std::vector<Protocol> protocols(std::begin(all_protocols), std::end(all_protocols));
    std::vector<std::uint32_t> cores_list, updates_list{0, 10, 100};
    std::uint64_t duration_ms = 300;
    bool plot = true, sim = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--out") out = next();
        else if (a == "--protocol") {
            protocols.clear();
            std::stringstream ss(next());
            std::string item;
            while (std::getline(ss, item, ',')) {
                auto p = parse_protocol(item);
                if (!p.ok()) {
                    std::fprintf(stderr, "unknown protocol '%s' (broadcast, 2pc, sequencer, nr, shared)\n", item.c_str());
                    return 2;
                }
                protocols.push_back(*p);
            }
        } else if (a == "--cores") cores_list = parse_list(next());
        else if (a == "--updates") updates_list = parse_list(next());
        else if (a == "--duration-ms") duration_ms = std::stoull(next());
        else if (a == "--no-plot") plot = false;
        else if (a == "--no-sim") sim = false;
        else {
            std::fprintf(stderr,
                         "usage: myriad-bench-replication [--protocol P[,P..]] [--cores N[,N..]] "
                         "[--updates PCT[,PCT..]] [--duration-ms MS] [--out DIR] [--no-plot] [--no-sim]\n");
            return 2;
        }
    }
    auto rt_r = myr::hosted::Runtime::create();
    if (!rt_r.ok()) {
        std::fprintf(stderr, "hosted runtime: %s\n", to_string(rt_r.status()));
        return 1;
    }
    auto rt = std::move(rt_r).value();
    for (const auto& note : rt->notes()) std::fprintf(stderr, "note: %s\n", note.c_str());
    const auto max_cores = static_cast<std::uint32_t>(rt->cores().size());
    if (cores_list.empty())
        for (std::uint32_t c = 1; c <= max_cores; ++c) cores_list.push_back(c);
    std::filesystem::create_directories(out);
    std::FILE* csv = std::fopen((out + "/replication.csv").c_str(), "w");
    if (csv == nullptr) return 1;
    std::fprintf(csv, "protocol,cores,updates_pct,ops_per_s,p50_ns,p99_ns\n");
    const std::uint64_t dur = duration_ms * 1'000'000;
    for (std::uint32_t n : cores_list) {
        if (n == 0 || n > max_cores) {
            std::fprintf(stderr, "skipping %u cores: this machine has %u\n", n, max_cores);
            continue;
        }
        std::set<std::uint32_t> nodes;
        for (std::uint32_t c = 0; c < n; ++c) nodes.insert(rt->cores()[c].node);
        for (std::uint32_t u : updates_list) {
            for (Protocol p : protocols) {
                std::vector<Sample> samples(n);
                if (uses_messages(p)) {
                    GroupConfig gc;
                    gc.protocol = p;
                    gc.cores = n;
                    std::vector<std::uint16_t> core_node;
                    std::vector<std::uint32_t> node_ids(nodes.begin(), nodes.end());
                    for (std::uint32_t c = 0; c < n; ++c)
                        core_node.push_back(static_cast<std::uint16_t>(
                            std::find(node_ids.begin(), node_ids.end(), rt->cores()[c].node) - node_ids.begin()));
                    std::vector<std::uint8_t> dist;
                    for (std::uint32_t a : node_ids)
                        for (std::uint32_t b : node_ids) {
                            std::uint32_t ca = 0, cb = 0;
                            for (std::uint32_t c = 0; c < n; ++c) {
                                if (rt->cores()[c].node == a) ca = c;
                                if (rt->cores()[c].node == b) cb = c;
                            }
                            dist.push_back(static_cast<std::uint8_t>(rt->distance(ca, cb)));
                        }
                    gc.nodes = static_cast<std::uint32_t>(node_ids.size());
                    gc.core_node = core_node;
                    gc.distance = dist;
                    auto cl = repl::hosted::MessageCluster<KvMap>::create(rt.get(), gc);
                    if (!cl.ok()) {
                        std::fprintf(stderr, "cluster: %s\n", to_string(cl.status()));
                        return 1;
                    }
                    (void)(*cl)->run([&](std::uint32_t c, auto& cli) {
                        client(c, u, dur, samples[c], [&](const KvMap::Op& op) { return cli.execute(op); });
                    });
                } else if (p == Protocol::nr) {
                    auto nr = std::make_unique<NodeReplicated<KvMap, 4096, 8, 64, repl::hosted::HostedRelax>>();
                    if (nr->init(static_cast<std::uint32_t>(nodes.size())) != Status::ok) return 1;
                    std::vector<NrHandle> h;
                    std::vector<std::uint32_t> node_ids(nodes.begin(), nodes.end());
                    for (std::uint32_t c = 0; c < n; ++c) {
                        const auto r = static_cast<std::uint32_t>(
                            std::find(node_ids.begin(), node_ids.end(), rt->cores()[c].node) - node_ids.begin());
                        h.push_back(nr->register_thread(r).value());
                    }
                    (void)repl::hosted::run_threads(rt.get(), n, [&](std::uint32_t c) {
                        client(c, u, dur, samples[c], [&](const KvMap::Op& op) { return nr->execute(op, h[c]); });
                    });
                } else {
                    auto obj = std::make_unique<SharedObject<KvMap, repl::hosted::HostedRelax>>();
                    (void)repl::hosted::run_threads(rt.get(), n, [&](std::uint32_t c) {
                        client(c, u, dur, samples[c], [&](const KvMap::Op& op) { return obj->execute(op); });
                    });
                }
                const Row r = summarize(p, n, u, samples);
                const std::string name(to_string(p));
                std::fprintf(csv, "%s,%u,%u,%.0f,%llu,%llu\n", name.c_str(), n, u, r.ops_per_s,
                             static_cast<unsigned long long>(r.p50), static_cast<unsigned long long>(r.p99));
                std::printf("%-10s cores=%u updates=%3u%%  %12.0f ops/s  p50 %6llu ns  p99 %7llu ns\n",
                            name.c_str(), n, u, r.ops_per_s, static_cast<unsigned long long>(r.p50),
                            static_cast<unsigned long long>(r.p99));
                std::fflush(stdout);
            }
        }
    }
    std::fclose(csv);
    if (sim) {
        if (!bench::write_sim_costs(out + "/replication_costs.csv")) return 1;
        std::printf("simulated message costs: %s/replication_costs.csv\n", out.c_str());
    }
    if (plot) {
        const std::string gp = out + "/replication.gp";
        std::FILE* g = std::fopen(gp.c_str(), "w");
        if (g == nullptr) return 1;
        std::fprintf(g,
                     "set datafile separator ','\nset terminal pngcairo size 800,500\n"
                     "set xlabel 'cores'\nset ylabel 'ops/s'\nset key left top\nset grid\n");
        for (std::uint32_t u : updates_list) {
            std::fprintf(g, "set output '%s/replication_throughput_u%u.png'\n", out.c_str(), u);
            std::fprintf(g, "set title 'KvMap throughput, %u%% updates'\n", u);
            std::fprintf(g, "plot for [p in \"broadcast 2pc sequencer nr shared\"] "
                            "'< awk -F, -v p='.p.' \"\\$1==p && \\$3==%u\" %s/replication.csv' "
                            "using 2:4 with linespoints title p\n", u, out.c_str());
        }
        std::fclose(g);
        if (std::system(("gnuplot " + gp).c_str()) != 0) std::fprintf(stderr, "gnuplot failed\n");
    }
    return 0;
}
