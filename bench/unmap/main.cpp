// myriad-bench-unmap: the hosted half of `./myriad bench unmap` (tools/bench/unmap.sh runs it).
// The TLB shootdown protocol of monitor/include/myr/monitor/shootdown.hpp, the same ShootNode the
// simulation checks, run on Linux threads pinned to the first N cores of this machine (member i on
// core i; monitor/hosted/myr/monitor/hosted/shootdown_run.hpp), one unmap after another from member
// 0, for each of the five protocols; beside it, in the same run and on the same threads, Linux's
// own munmap of a page every thread has touched.
//
// What the hosted figure is: each member's "replica" is an array of page entries in its own
// memory; removing a page clears the entry. User code cannot invalidate a TLB, so the hosted
// figure is the protocol's cost (its lines and the waiting) without the invlpg each core does in
// the guest; Linux's figure includes its IPIs and invalidations. Counts (lines, hops) for larger
// machines come from the plans alone (unmap_model.csv), the same numbers the simulation checks a
// run sends.
#include <myr/hosted/clock.hpp>
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/hosted/shootdown_run.hpp>
#include <myr/monitor/shootdown.hpp>
#include <myr/urpc/urpc.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace myr;
using monitor::ShootPlan;
using monitor::ShootProtocol;

struct Options {
    std::string out = "docs/results/unmap";
    std::vector<std::uint32_t> sizes;  // members per span; empty: 2, 4, 8, ... up to every core
    std::uint64_t rounds = 20000;      // timed unmaps per protocol and size
    std::uint32_t blocks = 5;          // protocols and munmap alternate in this many blocks
};

void usage() {
    std::puts(
        "usage: myriad-bench-unmap [--out DIR] [--sizes LIST] [--rounds N] [--quick]\n"
        "  --out DIR      where unmap_hosted.csv and unmap_model.csv go (default docs/results/unmap)\n"
        "  --sizes LIST   comma-separated span sizes (default: 2, 4, 8, ... and every core)\n"
        "  --rounds N     timed unmaps per protocol and size (default 20000)\n"
        "  --quick        CI size: 2 members, 500 rounds");
}

bool parse_u64(const char* s, std::uint64_t& out) {
    if (s == nullptr || *s == '\0') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    out = v;
    return true;
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        std::uint64_t v = 0;
        if (a == "--out") {
            const char* d = value();
            if (d == nullptr) return false;
            o.out = d;
        } else if (a == "--rounds") {
            if (!parse_u64(value(), v) || v < 10 || v > 10'000'000) return false;
            o.rounds = v;
        } else if (a == "--sizes") {
            const char* list = value();
            if (list == nullptr) return false;
            std::string s = list;
            std::size_t start = 0;
            while (start <= s.size()) {
                const std::size_t comma = std::min(s.find(',', start), s.size());
                if (!parse_u64(s.substr(start, comma - start).c_str(), v) || v < 2 || v > monitor::shoot_max_members)
                    return false;
                o.sizes.push_back(static_cast<std::uint32_t>(v));
                start = comma + 1;
            }
        } else if (a == "--quick") {
            o.sizes = {2};
            o.rounds = 500;
        } else {
            return false;
        }
    }
    return true;
}

struct Topo {
    std::vector<std::uint8_t> distance;
    std::uint32_t nodes = 0;
    std::vector<std::uint16_t> member_node;
    monitor::ShootTopology view() const { return {distance, nodes, member_node}; }
};

// Members 0..n-1 on cores 0..n-1; nodes numbered densely, distances from the runtime.
Topo host_topology(const hosted::Runtime& rt, std::uint32_t n) {
    Topo t;
    std::map<std::uint32_t, std::uint16_t> dense;
    std::vector<std::uint32_t> rep;
    for (std::uint32_t c = 0; c < n; ++c) {
        auto [it, fresh] = dense.try_emplace(rt.cores()[c].node, static_cast<std::uint16_t>(dense.size()));
        if (fresh) rep.push_back(c);
        t.member_node.push_back(it->second);
    }
    t.nodes = static_cast<std::uint32_t>(dense.size());
    for (std::uint32_t a = 0; a < t.nodes; ++a)
        for (std::uint32_t b = 0; b < t.nodes; ++b) t.distance.push_back(static_cast<std::uint8_t>(rt.distance(rep[a], rep[b])));
    return t;
}

// The QEMU machine the guest half boots: 8 sockets x 8 cores, one node per socket, SLIT 10/20.
Topo model_8s8c(std::uint32_t n) {
    Topo t;
    t.nodes = 8;
    for (std::uint32_t a = 0; a < 8; ++a)
        for (std::uint32_t b = 0; b < 8; ++b) t.distance.push_back(a == b ? 10 : 20);
    for (std::uint32_t c = 0; c < n; ++c) t.member_node.push_back(static_cast<std::uint16_t>(c / 8));
    return t;
}

constexpr std::uint64_t page = 4096;

bool run_protocol(hosted::Runtime& rt, const ShootPlan& plan, std::uint64_t first, std::uint64_t count,
                  std::vector<std::uint32_t>& cycles, std::uint64_t& malformed) {
    const monitor::hosted::ShootRun r = monitor::hosted::run_shootdowns(rt, plan, first, count, cycles);
    malformed += r.malformed + r.miscounted + r.reachable;
    return r.ok && r.completed == count;
}

// Linux: a page every thread touched, unmapped by thread 0 while the others keep running in the
// same address space (so the kernel must shoot down their TLB entries).
bool run_munmap(hosted::Runtime& rt, std::uint32_t n, std::uint64_t count, std::vector<std::uint32_t>& cycles) {
    std::atomic<std::uint64_t> round{0};
    std::atomic<std::uint32_t> touched{0};
    std::atomic<std::uint64_t> sink{0};
    std::atomic<volatile std::uint8_t*> current{nullptr};
    std::atomic<bool> failed{false};
    std::vector<std::uint32_t> cores(n);
    for (std::uint32_t c = 0; c < n; ++c) cores[c] = c;
    const Status s = rt.run(cores, [&](std::uint32_t me) {
        if (me == 0) {
            for (std::uint64_t r = 1; r <= count; ++r) {
                void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
                if (p == MAP_FAILED) {
                    failed = true;
                    round.store(~0ull);
                    return;
                }
                auto* bytes = static_cast<volatile std::uint8_t*>(p);
                bytes[0] = 1;
                current.store(bytes);
                touched.store(0);
                round.store(r, std::memory_order_release);
                while (touched.load(std::memory_order_acquire) != n - 1) urpc::cpu_relax();
                const std::uint64_t t0 = hosted::Tsc::read();
                munmap(p, page);
                cycles.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(hosted::Tsc::read() - t0, UINT32_MAX)));
            }
            round.store(~0ull);
        } else {
            std::uint64_t seen = 0;
            for (;;) {
                const std::uint64_t r = round.load(std::memory_order_acquire);
                if (r == ~0ull) return;
                if (r != seen) {
                    seen = r;
                    sink.fetch_add(current.load()[0], std::memory_order_relaxed);  // a TLB entry for it
                    touched.fetch_add(1, std::memory_order_release);
                }
                urpc::cpu_relax();
            }
        }
    });
    return s == Status::ok && !failed;
}

double pct(std::vector<std::uint32_t> v, double q) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

} // namespace

int main(int argc, char** argv) {
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
    const auto host_cores = static_cast<std::uint32_t>(rt.cores().size());
    if (o.sizes.empty()) {
        for (std::uint32_t n = 2; n <= host_cores; n *= 2) o.sizes.push_back(n);
        if (o.sizes.empty() || o.sizes.back() != host_cores) o.sizes.push_back(host_cores);
        if (host_cores < 2) o.sizes.clear();
    }
    for (std::uint32_t n : o.sizes) {
        if (n > host_cores) {
            std::fprintf(stderr, "a span of %u needs %u cores; this machine has %u\n", n, n, host_cores);
            return 2;
        }
    }
    if (o.sizes.empty()) {
        std::fprintf(stderr, "need at least two cores\n");
        return 2;
    }
    const std::string mk = "mkdir -p '" + o.out + "'";
    if (std::system(mk.c_str()) != 0) return 1;
    const hosted::Tsc tsc = hosted::Tsc::calibrate(100);
    for (const std::string& note : rt.notes()) std::printf("note: %s\n", note.c_str());
    std::printf("hosted unmap: %u cores here, TSC %.3f GHz, %llu unmaps per protocol and size in %u blocks\n",
                host_cores, tsc.ghz(), static_cast<unsigned long long>(o.rounds), o.blocks);

    std::ofstream hosted_csv(o.out + "/unmap_hosted.csv");
    hosted_csv << "protocol,members,p50_ns,p99_ns,p50_vs_munmap,request_lines,ack_lines,critical_path_hops,"
                  "initiator_lines,cross_node_lines,malformed\n";
    std::printf("%8s %-15s %10s %10s %9s %6s %5s %9s %10s\n", "members", "protocol", "p50 ns", "p99 ns", "x munmap",
                "lines", "hops", "initiator", "cross-node");
    bool ok = true;
    for (std::uint32_t n : o.sizes) {
        const Topo topo = host_topology(rt, n);
        constexpr std::size_t protos = monitor::shoot_protocol_count;
        constexpr std::size_t kinds = protos + 1;  // the protocols and munmap
        std::vector<std::uint32_t> samples[kinds];
        ShootPlan plans[protos];
        for (std::size_t p = 0; p < protos; ++p)
            if (plans[p].build(monitor::shoot_protocols[p], topo.view(), 0) != Status::ok) return 1;
        std::uint64_t malformed[protos] = {};
        const std::uint64_t per_block = std::max<std::uint64_t>(1, o.rounds / o.blocks);
        for (std::uint32_t b = 0; b < o.blocks && ok; ++b) {
            for (std::size_t p = 0; p < protos && ok; ++p)
                ok = run_protocol(rt, plans[p], b * per_block, per_block, samples[p], malformed[p]);
            ok = ok && run_munmap(rt, n, per_block, samples[protos]);
        }
        if (!ok) {
            std::fprintf(stderr, "a run at %u members failed (threads not pinned, channel memory, or mmap)\n", n);
            return 1;
        }
        const double linux_p50 = tsc.to_ns(static_cast<std::uint64_t>(pct(samples[protos], 0.5)));
        for (std::size_t k = 0; k < kinds; ++k) {
            const double p50 = tsc.to_ns(static_cast<std::uint64_t>(pct(samples[k], 0.5)));
            const double p99 = tsc.to_ns(static_cast<std::uint64_t>(pct(samples[k], 0.99)));
            const double ratio = linux_p50 > 0 ? p50 / linux_p50 : 0;
            if (k < protos) {
                const ShootPlan& plan = plans[k];
                const unsigned lines = plan.request_lines() + plan.ack_lines();
                std::printf("%8u %-15s %10.0f %10.0f %9.2f %6u %5u %9u %10u\n", n,
                            monitor::shoot_protocol_name(plan.protocol()), p50, p99, ratio, lines,
                            plan.critical_path_hops(), plan.initiator_lines(),
                            plan.cross_node_lines(topo.member_node));
                hosted_csv << monitor::shoot_protocol_name(plan.protocol()) << ',' << n << ',' << p50 << ',' << p99 << ','
                           << ratio << ',' << plan.request_lines() << ',' << plan.ack_lines() << ','
                           << plan.critical_path_hops() << ',' << plan.initiator_lines() << ','
                           << plan.cross_node_lines(topo.member_node) << ',' << malformed[k] << '\n';
                if (malformed[k] != 0) {
                    std::fprintf(stderr, "%s: %llu lines refused or miscounted in an honest run\n",
                                 monitor::shoot_protocol_name(plan.protocol()),
                                 static_cast<unsigned long long>(malformed[k]));
                    ok = false;
                }
                if (samples[k].size() != per_block * o.blocks) {
                    std::fprintf(stderr, "%s: %zu of %llu unmaps finished\n", monitor::shoot_protocol_name(plan.protocol()),
                                 samples[k].size(), static_cast<unsigned long long>(per_block * o.blocks));
                    ok = false;
                }
            } else {
                std::printf("%8u %-15s %10.0f %10.0f %9.2f %6s %5s %9s %10s\n", n, "linux-munmap", p50, p99, 1.0, "-", "-",
                            "-", "-");
                hosted_csv << "linux-munmap," << n << ',' << p50 << ',' << p99 << ",1,,,,,,\n";
            }
        }
    }

    // Counts on the 8-socket x 8-core machine, span on cores 0..N-1 (from the plans).
    std::ofstream model_csv(o.out + "/unmap_model.csv");
    model_csv << "machine,protocol,members,request_lines,ack_lines,critical_path_hops,initiator_lines,cross_node_lines\n";
    for (std::uint32_t n : {2u, 4u, 8u, 16u, 32u, 64u}) {
        const Topo topo = model_8s8c(n);
        for (ShootProtocol proto : monitor::shoot_protocols) {
            ShootPlan plan;
            if (plan.build(proto, topo.view(), 0) != Status::ok) return 1;
            model_csv << "8s8c," << monitor::shoot_protocol_name(proto) << ',' << n << ',' << plan.request_lines() << ','
                      << plan.ack_lines() << ',' << plan.critical_path_hops() << ',' << plan.initiator_lines() << ','
                      << plan.cross_node_lines(topo.member_node) << '\n';
        }
    }
    hosted_csv.close();
    model_csv.close();
    if (!hosted_csv || !model_csv) {
        std::fprintf(stderr, "cannot write %s\n", o.out.c_str());
        return 1;
    }
    std::printf("wrote %s/unmap_hosted.csv and %s/unmap_model.csv\n", o.out.c_str(), o.out.c_str());
    return ok ? 0 : 1;
}
