// myriad-bench-channels: `myriad bench channels [--out DIR]`. For every ordered pair of the
// chosen cores, round-trip latency (p50/p99) and one-way streaming throughput of our channel
// against the cache-line limit, boost::lockfree, pipe and eventfd; the poll-then-block policy;
// multicast tree vs sequential unicast. Writes CSVs, a gnuplot script and its plots.
#include "mechanisms.hpp"
#include "multicast_bench.hpp"
#include "report.hpp"

#include <myr/hosted/clock.hpp>
#include <myr/hosted/runtime.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string out = "docs/results";
    std::vector<std::uint32_t> cores;  // empty: all
    std::vector<std::string> mechanisms;
    myr::bench::Settings settings;
    myr::bench::PollPolicy poll;
    bool plot = true;
    bool policy = true;
    bool multicast = true;
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = s.find(',', start);
        const std::size_t end = comma == std::string::npos ? s.size() : comma;
        if (end > start) parts.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

void usage() {
    std::puts(
        "usage: myriad-bench-channels [--out DIR] [--round-trips N] [--cores LIST]\n"
        "                             [--mechanisms LIST] [--no-pause] [--no-plot]\n"
        "                             [--no-policy] [--no-multicast] [--stream N]\n"
        "  --out DIR          where channels.csv, multicast.csv, policy.csv and plots go\n"
        "                     (default docs/results)\n"
        "  --round-trips N    timed round trips per mechanism and pair (default 1000000)\n"
        "  --cores LIST       comma-separated core numbers (default: every core)\n"
        "  --mechanisms LIST  subset of myriad,cacheline,boost_spsc,pipe,eventfd,myriad_block\n"
        "  --no-pause         poll without the pause instruction (all shared-memory mechanisms)\n"
        "  --stream N         messages of the throughput stream per mechanism and pair for the\n"
        "                     shared-memory mechanisms (default 20000000; system calls: N/20)");
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--out") {
            const char* v = value();
            if (v == nullptr) return false;
            o.out = v;
        } else if (a == "--round-trips") {
            const char* v = value();
            if (v == nullptr) return false;
            o.settings.round_trips = std::strtoull(v, nullptr, 10);
            if (o.settings.round_trips == 0) return false;
        } else if (a == "--stream") {
            const char* v = value();
            if (v == nullptr) return false;
            o.settings.stream_fast = std::strtoull(v, nullptr, 10);
            if (o.settings.stream_fast < 20 * o.settings.rounds) return false;
            o.settings.stream_slow = o.settings.stream_fast / 20;
        } else if (a == "--cores") {
            const char* v = value();
            if (v == nullptr) return false;
            for (const std::string& c : split(v))
                o.cores.push_back(static_cast<std::uint32_t>(std::strtoul(c.c_str(), nullptr, 10)));
        } else if (a == "--mechanisms") {
            const char* v = value();
            if (v == nullptr) return false;
            o.mechanisms = split(v);
        } else if (a == "--no-pause") {
            o.poll.pause = false;
        } else if (a == "--no-plot") {
            o.plot = false;
        } else if (a == "--no-policy") {
            o.policy = false;
        } else if (a == "--no-multicast") {
            o.multicast = false;
        } else {
            return false;
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    using namespace myr;
    Options o;
    if (!parse(argc, argv, o)) {
        usage();
        return 2;
    }
    auto created = hosted::Runtime::create();
    if (!created.ok()) {
        std::fprintf(stderr, "cannot read the machine: %s\n", to_string(created.status()));
        return 1;
    }
    hosted::Runtime& rt = **created;
    if (o.cores.empty())
        for (const hosted::Core& c : rt.cores()) o.cores.push_back(c.index);
    for (std::uint32_t c : o.cores) {
        if (c >= rt.cores().size()) {
            std::fprintf(stderr, "no core %u (this machine has %zu)\n", c, rt.cores().size());
            return 2;
        }
    }
    if (o.cores.size() < 2) {
        std::fprintf(stderr, "need at least two cores\n");
        return 2;
    }
    const hosted::Tsc tsc = hosted::Tsc::calibrate(100);
    bench::Report report(o.out, tsc.ghz(), o.poll.pause);
    report.header(rt, o.cores, o.settings.round_trips);

    for (std::uint32_t src : o.cores) {
        for (std::uint32_t dst : o.cores) {
            if (src == dst) continue;
            for (const bench::Figures& f :
                 bench::measure_pair(rt, tsc, src, dst, o.settings, o.poll, o.mechanisms))
                report.channel(src, dst, rt.distance(src, dst), f);
        }
    }
    report.channel_summary();

    if (o.policy) {
        const std::uint64_t gaps[] = {0, 10'000, 50'000};
        const std::uint64_t spins[] = {0, 20'000, ~0ULL >> 2};
        const std::uint64_t rounds = std::max<std::uint64_t>(2000, o.settings.round_trips / 200);
        for (std::uint64_t gap : gaps)
            for (std::uint64_t spin : spins)
                report.policy(bench::measure_policy(rt, tsc, o.cores[0], o.cores[1], rounds, gap, spin));
    }
    if (o.multicast) {
        const std::uint64_t rounds = std::max<std::uint64_t>(10'000, o.settings.round_trips / 10);
        for (const bench::MulticastRow& r : bench::measure_multicast(rt, tsc, o.cores, rounds))
            report.multicast(r);
    }
    if (!report.finish(o.plot)) return 1;
    if (bench::check_failures().load() != 0) {
        std::fprintf(stderr, "%llu messages were lost or reordered: figures are invalid\n",
                     static_cast<unsigned long long>(bench::check_failures().load()));
        return 1;
    }
    return 0;
}
