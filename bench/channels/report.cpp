#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace myr::bench {

namespace {

const Figures* find(const std::vector<const Figures*>& fs, const char* name) {
    for (const Figures* f : fs)
        if (f->mechanism == name) return f;
    return nullptr;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

} // namespace

Report::Report(std::string dir, double tsc_ghz, bool pause)
    : m_dir(std::move(dir)), m_ghz(tsc_ghz), m_pause(pause) {}

void Report::header(const hosted::Runtime& rt, const std::vector<std::uint32_t>& cores,
                    std::uint64_t round_trips) {
    std::printf("machine: %s, %zu cores; TSC %.3f GHz; load average %s\n", cpu_model().c_str(),
                rt.cores().size(), m_ghz, load_average().c_str());
    for (const std::string& n : rt.notes()) std::printf("note: %s\n", n.c_str());
    std::printf("cores:");
    for (std::uint32_t c : cores) std::printf(" %u(cpu %u, node %u)", c, rt.cores()[c].os_index, rt.cores()[c].node);
    std::printf("\n%llu timed round trips per mechanism and pair; poll loops %s pause\n\n",
                static_cast<unsigned long long>(round_trips), m_pause ? "with" : "without");
    std::printf("%-13s %4s %4s %5s %12s %12s %14s %10s\n", "mechanism", "src", "dst", "dist",
                "rtt_p50_ns", "rtt_p99_ns", "msgs_per_s", "msgs/kcyc");
    for (std::uint32_t c : cores) m_max_core = std::max(m_max_core, c);
}

void Report::channel(std::uint32_t src, std::uint32_t dst, std::uint32_t distance, const Figures& f) {
    std::printf("%-13s %4u %4u %5u %12.1f %12.1f %14.0f %10.2f\n", f.mechanism.c_str(), src, dst,
                distance, f.rtt.p50_ns, f.rtt.p99_ns, f.msgs_per_s, f.msgs_per_s / (m_ghz * 1e6));
    std::fflush(stdout);
    m_rows.push_back(Row{src, dst, distance, f});
}

void Report::channel_summary() {
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<const Figures*>> pairs;
    for (const Row& r : m_rows) pairs[{r.src, r.dst}].push_back(&r.f);
    std::printf("\ntargets per pair (myriad p50 <= 1.2x cacheline; myriad msgs/s >= boost_spsc; "
                "pipe p50 >= 20x myriad):\n");
    for (const auto& [pair, fs] : pairs) {
        const Figures* my = find(fs, "myriad");
        const Figures* line = find(fs, "cacheline");
        const Figures* boost = find(fs, "boost_spsc");
        const Figures* pipe = find(fs, "pipe");
        if (my == nullptr) continue;
        std::printf("  %u->%u:", pair.first, pair.second);
        if (line != nullptr && line->rtt.p50_ns > 0) {
            const double r = my->rtt.p50_ns / line->rtt.p50_ns;
            std::printf("  myriad/cacheline p50 %.2fx [%s]", r, r <= 1.2 ? "met" : "MISSED");
        }
        if (boost != nullptr && boost->msgs_per_s > 0) {
            const double r = my->msgs_per_s / boost->msgs_per_s;
            std::printf("  myriad/boost msgs %.2fx [%s]", r, r >= 1.0 ? "met" : "MISSED");
        }
        if (pipe != nullptr && my->rtt.p50_ns > 0) {
            const double r = pipe->rtt.p50_ns / my->rtt.p50_ns;
            std::printf("  pipe/myriad p50 %.1fx [%s]", r, r >= 20 ? "met" : "MISSED");
        }
        std::printf("\n");
    }
    std::fflush(stdout);
}

void Report::policy(const PolicyPoint& p) {
    if (m_policy.empty())
        std::printf("\npoll-then-block (server spins spin_ns, then futex): round trip after a gap\n"
                    "%10s %12s %12s %12s %9s\n", "gap_ns", "spin_ns", "rtt_p50_ns", "rtt_p99_ns",
                    "blocked");
    const bool forever = p.spin_ns >= (~0ULL >> 2);
    std::printf("%10llu %12s %12.1f %12.1f %8.1f%%\n", static_cast<unsigned long long>(p.gap_ns),
                forever ? "poll-only" : std::to_string(p.spin_ns).c_str(), p.rtt.p50_ns,
                p.rtt.p99_ns, p.blocked_share * 100);
    std::fflush(stdout);
    m_policy.push_back(p);
}

void Report::multicast(const MulticastRow& r) {
    if (m_multicast.empty())
        std::printf("\nmulticast from core 0 to all (tree: one line per remote node, then fan-out)\n"
                    "%-12s %-10s %5s %8s %10s %13s %5s %11s %11s\n", "machine", "mode", "cores",
                    "messages", "cross_node", "critical_path", "depth", "lat_p50_ns", "lat_p99_ns");
    std::printf("%-12s %-10s %5u %8u %10u %13u %5u", r.machine.c_str(), r.mode.c_str(), r.cores,
                r.messages, r.cross_node, r.critical_path_sends, r.depth);
    if (r.measured)
        std::printf(" %11.1f %11.1f\n", r.latency.p50_ns, r.latency.p99_ns);
    else
        std::printf(" %11s %11s\n", "-", "-");
    m_multicast.push_back(r);
}

bool Report::write_channels() const {
    std::ofstream out(m_dir + "/channels.csv");
    out << "mechanism,src,dst,distance,rtt_ns_p50,rtt_ns_p99,msgs_per_s\n";
    char line[256];
    for (const Row& r : m_rows) {
        std::snprintf(line, sizeof line, "%s,%u,%u,%u,%.1f,%.1f,%.0f\n", r.f.mechanism.c_str(), r.src,
                      r.dst, r.distance, r.f.rtt.p50_ns, r.f.rtt.p99_ns, r.f.msgs_per_s);
        out << line;
    }
    // Core-pair matrix of our channel's p50, for the heat map.
    std::ofstream matrix(m_dir + "/channels_matrix_myriad.dat");
    const std::uint32_t n = m_max_core + 1;
    std::vector<double> m(std::size_t{n} * n, 0);
    for (const Row& r : m_rows)
        if (r.f.mechanism == "myriad") m[std::size_t{r.src} * n + r.dst] = r.f.rtt.p50_ns;
    for (std::uint32_t a = 0; a < n; ++a) {
        for (std::uint32_t b = 0; b < n; ++b) matrix << (b ? " " : "") << m[std::size_t{a} * n + b];
        matrix << "\n";
    }
    return static_cast<bool>(out) && static_cast<bool>(matrix);
}

bool Report::write_policy() const {
    if (m_policy.empty()) return true;
    std::ofstream out(m_dir + "/policy.csv");
    out << "gap_ns,spin_ns,rtt_ns_p50,rtt_ns_p99,blocked_share\n";
    for (const PolicyPoint& p : m_policy) {
        const bool forever = p.spin_ns >= (~0ULL >> 2);
        out << p.gap_ns << "," << (forever ? std::string("inf") : std::to_string(p.spin_ns)) << ","
            << p.rtt.p50_ns << "," << p.rtt.p99_ns << "," << p.blocked_share << "\n";
    }
    return static_cast<bool>(out);
}

bool Report::write_multicast() const {
    if (m_multicast.empty()) return true;
    std::ofstream out(m_dir + "/multicast.csv");
    out << "machine,mode,cores,messages,cross_node_messages,critical_path_sends,depth,lat_ns_p50,"
           "lat_ns_p99\n";
    for (const MulticastRow& r : m_multicast) {
        out << r.machine << "," << r.mode << "," << r.cores << "," << r.messages << ","
            << r.cross_node << "," << r.critical_path_sends << "," << r.depth << ",";
        if (r.measured)
            out << r.latency.p50_ns << "," << r.latency.p99_ns << "\n";
        else
            out << ",\n";
    }
    return static_cast<bool>(out);
}

bool Report::write_plot_script() const {
    std::ofstream gp(m_dir + "/channels.gp");
    gp << "# Generated by myriad-bench-channels; run `gnuplot channels.gp` in this directory.\n"
          "set terminal pngcairo size 1400,650 font ',10' noenhanced\n"
          "set datafile separator ','\n"
          "set style data histograms\n"
          "set style histogram clustered gap 1\n"
          "set style fill solid 0.85 border -1\n"
          "set grid ytics\n"
          "set xtics rotate by -35 left\n"
          "set logscale y\n"
          "label(m,s,d) = sprintf('%s %s>%s', m, s, d)\n"
          "set output 'channels_latency.png'\n"
          "set title 'Round trip latency per mechanism and core pair (log scale)'\n"
          "set ylabel 'round trip (ns)'\n"
          "plot 'channels.csv' skip 1 using 5:xtic(label(strcol(1),strcol(2),strcol(3))) title 'p50',"
          " '' skip 1 using 6 title 'p99'\n"
          "set output 'channels_throughput.png'\n"
          "set title 'One-way pipelined throughput per mechanism and core pair (log scale)'\n"
          "set ylabel 'messages per second'\n"
          "plot 'channels.csv' skip 1 using 7:xtic(label(strcol(1),strcol(2),strcol(3))) title "
          "'msgs/s'\n";
    if (m_max_core + 1 > 2) {
        gp << "unset logscale y\n"
              "set datafile separator whitespace\n"
              "set output 'channels_heatmap.png'\n"
              "set terminal pngcairo size 800,700 noenhanced\n"
              "set title 'myriad round trip p50 (ns), core pairs'\n"
              "set xlabel 'dst core'\nset ylabel 'src core'\nset xtics norotate\n"
              "plot 'channels_matrix_myriad.dat' matrix with image notitle\n";
    }
    return static_cast<bool>(gp);
}

bool Report::finish(bool plot) {
    std::error_code ec;
    std::filesystem::create_directories(m_dir, ec);
    if (ec) {
        std::fprintf(stderr, "cannot create %s: %s\n", m_dir.c_str(), ec.message().c_str());
        return false;
    }
    if (!write_channels() || !write_policy() || !write_multicast() || !write_plot_script()) {
        std::fprintf(stderr, "cannot write results under %s\n", m_dir.c_str());
        return false;
    }
    std::printf("\nwrote %s/{channels.csv,policy.csv,multicast.csv,channels.gp}\n", m_dir.c_str());
    if (plot) {
        const std::string cmd = "command -v gnuplot >/dev/null && cd '" + m_dir + "' && gnuplot channels.gp";
        if (std::system(cmd.c_str()) == 0)
            std::printf("plots: %s/channels_latency.png, channels_throughput.png%s\n", m_dir.c_str(),
                        m_max_core + 1 > 2 ? ", channels_heatmap.png" : "");
        else
            std::printf("gnuplot not run (missing or failed): plots not drawn\n");
    }
    return true;
}

} // namespace myr::bench
