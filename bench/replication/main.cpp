// myriad bench replication: throughput and p50/p99 latency of every protocol for 1..N cores and
// update ratios, on real pinned cores, all in one run so the shared-memory answers (nr, shared)
// are measured beside the message-based ones. Object: any catalogued one (--object NAME, default
// kv), with its own workload (`sample`, commuting-only, so the same ops run under every protocol;
// broadcast is skipped for an object whose updates do not commute), mixed to the asked update
// percentage. Each point can be repeated (--repeat N: median, min and max in the CSV, error bars
// on the plots); a point that overruns its time limit is written as timed out and the bench stops
// (threads cannot be cancelled) instead of hanging. Plus the simulated message/hop costs.
#include <myr/hosted/clock.hpp>
#include <myr/repl/hosted/message_cluster.hpp>
#include <myr/repl/node_replication.hpp>
#include <myr/repl/objects/catalog.hpp>
#include <myr/repl/shared_object.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
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

struct Run {
    double ops_per_s;
    std::uint64_t p50, p99;
};

// A client's operations, drawn before the clock starts: the object's sample() (commuting), each
// kept only if it is the kind (read / update) the update percentage asks for.
template <Catalogued O>
std::vector<typename O::Op> op_pool(std::uint32_t core, std::uint32_t cores, std::uint32_t updates) {
    std::mt19937_64 rng(core * 7919 + 1);
    std::vector<typename O::Op> pool(4096);
    const SampleContext ctx{static_cast<std::uint16_t>(core), cores, true};
    for (auto& op : pool) {
        const bool update = rng() % 100 < updates;
        op = O::sample(rng(), ctx);
        for (int tries = 0; tries < 256 && O::is_read(op) == update; ++tries) op = O::sample(rng(), ctx);
    }
    return pool;
}

template <typename Op, typename Exec>
void client(const std::vector<Op>& pool, std::uint64_t duration_ns, Sample& out, Exec&& exec) {
    out.lat_ns.reserve(1 << 20);
    const std::uint64_t start = myr::hosted::now_ns();
    std::uint64_t now = start;
    std::size_t i = 0;
    while (now - start < duration_ns) {
        (void)exec(pool[i++ % pool.size()]);
        const std::uint64_t t = myr::hosted::now_ns();
        if (out.lat_ns.size() < (1u << 20)) out.lat_ns.push_back(t - now);
        now = t;
        ++out.ops;
    }
    out.elapsed_ns = now - start;
}

Run summarize(std::vector<Sample>& s) {
    std::vector<std::uint64_t> all;
    double ops_per_s = 0;
    for (auto& x : s) {
        all.insert(all.end(), x.lat_ns.begin(), x.lat_ns.end());
        ops_per_s += static_cast<double>(x.ops) * 1e9 / static_cast<double>(std::max<std::uint64_t>(x.elapsed_ns, 1));
    }
    std::sort(all.begin(), all.end());
    auto pct = [&](double q) { return all.empty() ? 0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))]; };
    return Run{ops_per_s, pct(0.5), pct(0.99)};
}

std::vector<std::uint32_t> parse_list(const std::string& s) {
    std::vector<std::uint32_t> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) v.push_back(static_cast<std::uint32_t>(std::stoul(item)));
    return v;
}

// One run of one point: object O, protocol p, n cores, u% updates, for dur ns.
template <Catalogued O>
bool run_point(myr::hosted::Runtime& rt, Protocol p, std::uint32_t n, std::uint32_t u, std::uint64_t dur, Run& out) {
    std::set<std::uint32_t> nodes;
    for (std::uint32_t c = 0; c < n; ++c) nodes.insert(rt.cores()[c].node);
    std::vector<std::uint32_t> node_ids(nodes.begin(), nodes.end());
    const auto node_index = [&](std::uint32_t c) {
        return static_cast<std::uint32_t>(std::find(node_ids.begin(), node_ids.end(), rt.cores()[c].node) - node_ids.begin());
    };
    std::vector<std::vector<typename O::Op>> pools;
    for (std::uint32_t c = 0; c < n; ++c) pools.push_back(op_pool<O>(c, n, u));
    std::vector<Sample> samples(n);
    if (uses_messages(p)) {
        GroupConfig gc;
        gc.protocol = p;
        gc.cores = n;
        std::vector<std::uint16_t> core_node;
        for (std::uint32_t c = 0; c < n; ++c) core_node.push_back(static_cast<std::uint16_t>(node_index(c)));
        std::vector<std::uint8_t> dist;
        for (std::uint32_t a : node_ids)
            for (std::uint32_t b : node_ids) {
                std::uint32_t ca = 0, cb = 0;
                for (std::uint32_t c = 0; c < n; ++c) {
                    if (rt.cores()[c].node == a) ca = c;
                    if (rt.cores()[c].node == b) cb = c;
                }
                dist.push_back(static_cast<std::uint8_t>(rt.distance(ca, cb)));
            }
        gc.nodes = static_cast<std::uint32_t>(node_ids.size());
        gc.core_node = core_node;
        gc.distance = dist;
        auto cl = repl::hosted::MessageCluster<O>::create(&rt, gc);
        if (!cl.ok()) {
            std::fprintf(stderr, "cluster: %s\n", to_string(cl.status()));
            return false;
        }
        (void)(*cl)->run([&](std::uint32_t c, auto& cli) {
            client(pools[c], dur, samples[c], [&](const typename O::Op& op) { return cli.execute(op); });
        });
    } else if (p == Protocol::nr) {
        auto nr = std::make_unique<NodeReplicated<O, 4096, 8, 64, repl::hosted::HostedRelax>>();
        if (nr->init(static_cast<std::uint32_t>(nodes.size())) != Status::ok) return false;
        std::vector<NrHandle> h;
        for (std::uint32_t c = 0; c < n; ++c) h.push_back(nr->register_thread(node_index(c)).value());
        (void)repl::hosted::run_threads(&rt, n, [&](std::uint32_t c) {
            client(pools[c], dur, samples[c], [&](const typename O::Op& op) { return nr->execute(op, h[c]); });
        });
    } else {
        auto obj = std::make_unique<SharedObject<O, repl::hosted::HostedRelax>>();
        (void)repl::hosted::run_threads(&rt, n, [&](std::uint32_t c) {
            client(pools[c], dur, samples[c], [&](const typename O::Op& op) { return obj->execute(op); });
        });
    }
    out = summarize(samples);
    return true;
}

// Stops the process if one point overruns `limit` (a protocol that livelocks must not hang the
// bench): the point is written as timed_out, the CSV closed, exit status 3.
class Watchdog {
public:
    Watchdog() : m_thread([this] { loop(); }) {}
    ~Watchdog() {
        {
            std::lock_guard<std::mutex> g(m_mu);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    void arm(std::chrono::milliseconds limit, std::string row, std::FILE* csv) {
        std::lock_guard<std::mutex> g(m_mu);
        m_deadline = std::chrono::steady_clock::now() + limit;
        m_row = std::move(row);
        m_csv = csv;
        m_armed = true;
        m_cv.notify_all();
    }
    void disarm() {
        std::lock_guard<std::mutex> g(m_mu);
        m_armed = false;
    }

private:
    void loop() {
        std::unique_lock<std::mutex> g(m_mu);
        while (!m_stop) {
            if (!m_armed) {
                m_cv.wait(g);
                continue;
            }
            if (m_cv.wait_until(g, m_deadline) == std::cv_status::timeout && m_armed &&
                std::chrono::steady_clock::now() >= m_deadline) {
                std::fprintf(m_csv, "%s\n", m_row.c_str());
                std::fclose(m_csv);
                std::printf("TIMED OUT: %s (the bench stops: its threads cannot be cancelled)\n", m_row.c_str());
                std::fflush(stdout);
                std::_Exit(3);
            }
        }
    }
    std::mutex m_mu;
    std::condition_variable m_cv;
    bool m_stop = false, m_armed = false;
    std::chrono::steady_clock::time_point m_deadline;
    std::string m_row;
    std::FILE* m_csv = nullptr;
    std::thread m_thread;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

struct Options {
    std::string out;
    std::string object = "kv";
    std::vector<Protocol> protocols{std::begin(all_protocols), std::end(all_protocols)};
    std::vector<std::uint32_t> cores, updates{0, 10, 100};
    std::uint64_t duration_ms = 300;
    std::uint32_t repeat = 1;
    std::uint64_t point_timeout_ms = 0;  // 0: 20 x duration + 10 s
    bool plot = true, sim = true;
};

template <Catalogued O>
int run_bench(const Options& o, myr::hosted::Runtime& rt) {
    const auto max_cores = static_cast<std::uint32_t>(rt.cores().size());
    std::vector<std::uint32_t> cores_list = o.cores;
    if (cores_list.empty())
        for (std::uint32_t c = 1; c <= max_cores; ++c) cores_list.push_back(c);
    std::filesystem::create_directories(o.out);
    const std::string csv_path = o.out + "/replication.csv";
    std::FILE* csv = std::fopen(csv_path.c_str(), "w");
    if (csv == nullptr) return 1;
    std::fprintf(csv, "protocol,object,cores,updates_pct,runs,ops_per_s,ops_per_s_min,ops_per_s_max,p50_ns,p50_ns_min,"
                      "p50_ns_max,p99_ns,p99_ns_min,p99_ns_max,status\n");
    const std::uint64_t dur = o.duration_ms * 1'000'000;
    const std::uint64_t limit_ms = o.point_timeout_ms ? o.point_timeout_ms : 20 * o.duration_ms + 10'000;
    const std::string object(O::name);
    Watchdog dog;
    for (std::uint32_t n : cores_list) {
        if (n == 0 || n > max_cores) {
            std::fprintf(stderr, "skipping %u cores: this machine has %u\n", n, max_cores);
            continue;
        }
        for (std::uint32_t u : o.updates) {
            for (Protocol p : o.protocols) {
                const std::string name(to_string(p));
                if (p == Protocol::broadcast && !O::commutes) {
                    std::printf("%-10s %s: skipped (its updates do not commute)\n", name.c_str(), object.c_str());
                    continue;
                }
                std::vector<double> tput, p50, p99;
                for (std::uint32_t r = 0; r < o.repeat; ++r) {
                    dog.arm(std::chrono::milliseconds(limit_ms),
                            name + "," + object + "," + std::to_string(n) + "," + std::to_string(u) + "," +
                                std::to_string(r + 1) + ",,,,,,,,,,timed_out",
                            csv);
                    Run run{};
                    const bool ok = run_point<O>(rt, p, n, u, dur, run);
                    dog.disarm();
                    if (!ok) return 1;
                    tput.push_back(run.ops_per_s);
                    p50.push_back(static_cast<double>(run.p50));
                    p99.push_back(static_cast<double>(run.p99));
                }
                const auto lo = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
                const auto hi = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
                std::fprintf(csv, "%s,%s,%u,%u,%u,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,ok\n", name.c_str(),
                             object.c_str(), n, u, o.repeat, median(tput), lo(tput), hi(tput), median(p50), lo(p50),
                             hi(p50), median(p99), lo(p99), hi(p99));
                std::fflush(csv);
                std::printf("%-10s %s cores=%u updates=%3u%%  %12.0f ops/s (%.0f..%.0f, %u runs)  p50 %6.0f ns  p99 %7.0f ns\n",
                            name.c_str(), object.c_str(), n, u, median(tput), lo(tput), hi(tput), o.repeat, median(p50),
                            median(p99));
                std::fflush(stdout);
            }
        }
    }
    std::fclose(csv);
    if (o.sim) {
        if (!bench::write_sim_costs(o.out + "/replication_costs.csv")) return 1;
        std::printf("simulated message costs: %s/replication_costs.csv\n", o.out.c_str());
    }
    if (o.plot) {
        // Per update ratio, one image: throughput (left) and p50 latency (right) against cores,
        // medians with min..max error bars; integer core ticks, y from zero, legend outside.
        const std::string gp = o.out + "/replication.gp";
        std::FILE* g = std::fopen(gp.c_str(), "w");
        if (g == nullptr) return 1;
        std::string names;
        for (Protocol p : o.protocols) names += (names.empty() ? "" : " ") + std::string(to_string(p));
        std::fprintf(g, "set datafile separator ','\nset terminal pngcairo size 1400,500 noenhanced\n"
                        "set xlabel 'cores'\nset xtics 1\nset mxtics 1\nset grid\nset key outside right top\n"
                        "set offsets 0.3, 0.3, 0, 0\n");
        for (std::uint32_t u : o.updates) {
            const std::string sel = "'< awk -F, -v p='.p.' \"\\$1==p && \\$4==" + std::to_string(u) + " && \\$15==\\\"ok\\\"\" " +
                                    csv_path + "'";
            std::fprintf(g, "set output '%s/replication_u%u.png'\nset multiplot layout 1,2 title '%s, %u%% updates (median of %u; bars: min..max)'\n",
                         o.out.c_str(), u, object.c_str(), u, o.repeat);
            std::fprintf(g, "set title 'throughput'\nset ylabel 'operations/s (all cores)'\nset yrange [0:*]\n"
                            "plot for [p in \"%s\"] %s using 3:6:7:8 with yerrorlines title p\n",
                         names.c_str(), sel.c_str());
            std::fprintf(g, "set title 'latency per operation (p50)'\nset ylabel 'ns'\nset yrange [0:*]\n"
                            "plot for [p in \"%s\"] %s using 3:9:10:11 with yerrorlines title p\n"
                            "unset multiplot\n",
                         names.c_str(), sel.c_str());
        }
        std::fclose(g);
        if (std::system(("gnuplot " + gp).c_str()) != 0) std::fprintf(stderr, "gnuplot failed (plots skipped)\n");
        else std::printf("plots: %s/replication_u*.png\n", o.out.c_str());
    }
    std::printf("wrote %s\n", csv_path.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    bool update_docs = false, quick = false;
    const auto usage = [] {
        std::string objects;
        for (std::string_view n : Objects::names) objects += (objects.empty() ? "" : ", ") + std::string(n);
        std::fprintf(stderr,
                     "usage: myriad-bench-replication [--object NAME] [--protocol P[,P..]] [--cores N[,N..]]\n"
                     "       [--updates PCT[,PCT..]] [--duration-ms MS] [--repeat N] [--point-timeout-ms MS]\n"
                     "       [--out DIR | --update-docs] [--quick] [--no-plot] [--no-sim]\n"
                     "objects: %s\n",
                     objects.c_str());
        return 2;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--out") o.out = next();
        else if (a == "--update-docs") update_docs = true;
        else if (a == "--object") o.object = next();
        else if (a == "--protocol") {
            o.protocols.clear();
            std::stringstream ss(next());
            std::string item;
            while (std::getline(ss, item, ',')) {
                auto p = parse_protocol(item);
                if (!p.ok()) {
                    std::fprintf(stderr, "unknown protocol '%s' (broadcast, 2pc, sequencer, nr, shared)\n", item.c_str());
                    return 2;
                }
                o.protocols.push_back(*p);
            }
        } else if (a == "--cores") o.cores = parse_list(next());
        else if (a == "--updates") o.updates = parse_list(next());
        else if (a == "--duration-ms") o.duration_ms = std::stoull(next());
        else if (a == "--repeat") o.repeat = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::stoul(next())));
        else if (a == "--point-timeout-ms") o.point_timeout_ms = std::stoull(next());
        else if (a == "--quick") quick = true;
        else if (a == "--no-plot") o.plot = false;
        else if (a == "--no-sim") o.sim = false;
        else return usage();
    }
    if (quick) {
        // A few seconds, for CI: 1 and 2 cores, 0% and 100% updates, 20 ms per point, 2 runs.
        if (o.cores.empty()) o.cores = {1, 2};
        o.updates = {0, 100};
        o.duration_ms = 20;
        o.repeat = 2;
        o.sim = false;
    }
    if (update_docs && !o.out.empty()) {
        std::fprintf(stderr, "--update-docs writes docs/results; it does not go with --out\n");
        return 2;
    }
    if (update_docs) o.out = "docs/results";
    if (o.out.empty()) {
        char tmpl[] = "/tmp/myriad-bench-replication-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) return 1;
        o.out = tmpl;
    }
    if (Objects::id_of(o.object) == 0) {
        std::fprintf(stderr, "unknown object '%s'\n", o.object.c_str());
        return usage();
    }
    auto rt_r = myr::hosted::Runtime::create();
    if (!rt_r.ok()) {
        std::fprintf(stderr, "hosted runtime: %s\n", to_string(rt_r.status()));
        return 1;
    }
    auto rt = std::move(rt_r).value();
    for (const auto& note : rt->notes()) std::fprintf(stderr, "note: %s\n", note.c_str());
    int rc = 1;
    (void)Objects::visit(Objects::id_of(o.object), [&](auto tag) { rc = run_bench<typename decltype(tag)::type>(o, *rt); });
    return rc;
}
