// myriad-bench-bind: binding on real cores (`./myriad bench bind`, a step of `./myriad bench all`).
// The monitors' binding protocol (myr/monitor/binder.hpp, the code the guest monitors run) on N
// nodes spread over this machine's cores (monitor/hosted/.../ring_run.hpp: node k on thread
// k % threads, each thread pinned with hwloc), two client domains per node binding to the server
// of another node again and again: bind by name, both rings taken, one round trip, close. Timed
// per binding from the bind call to the first echo back, and the run's rate of bindings.
//
// Baseline, in the same run on the same cores: Linux's own connection set-up between threads, a
// Unix-domain stream socket: a server thread per node (accept, echo one word, close) and two
// client threads per node that connect to another node's server, send a word, read the echo and
// close; timed from socket() to the echo. Both sides do the same work per connection (find the
// peer by name, set up a channel, one round trip, tear it down); Myriad's clients poll, Linux's
// block.
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/hosted/ring_run.hpp>

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace myr;
using Clock = std::chrono::steady_clock;

struct Options {
    std::string out = "docs/results/bind";
    std::vector<std::uint32_t> nodes;  // empty: 2, 4, 8, ... up to the host's cores (at least 2, at most 16)
    std::uint32_t binds = 5000;        // bindings per client
};

void usage() {
    std::puts(
        "usage: myriad-bench-bind [--out DIR] [--nodes LIST] [--binds N] [--quick]\n"
        "  --out DIR      where bind_hosted.csv goes (default docs/results/bind)\n"
        "  --nodes LIST   comma-separated node counts, 2..16 (default: 2, 4, 8, ... up to the host's cores)\n"
        "  --binds N      bindings per client, two clients per node (default 5000)\n"
        "  --quick        CI size: 2 nodes, 300 bindings per client");
}

bool parse_u32(const char* s, std::uint32_t& out) {
    if (s == nullptr || *s == '\0') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > 1000000000ul) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

struct Row {
    std::string mechanism;
    std::uint32_t nodes = 0, threads = 0;
    std::uint64_t connections = 0;
    double per_second = 0;
    std::uint64_t median_ns = 0, p90_ns = 0;
};

std::uint64_t percentile(std::vector<std::uint64_t>& v, double p) {
    if (v.empty()) return 0;
    const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    return v[i];
}

void pin(std::uint32_t os_cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(os_cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

sockaddr_un address(std::uint32_t node) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    // Abstract namespace: nothing on disk, gone with the process.
    const std::string name = "myriad-bench-bind-" + std::to_string(::getpid()) + "-" + std::to_string(node);
    std::memcpy(a.sun_path + 1, name.data(), std::min(name.size(), sizeof a.sun_path - 2));
    return a;
}
socklen_t address_len(const sockaddr_un& a) {
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(a.sun_path + 1));
}

bool full_io(int fd, void* buf, std::size_t n, bool write_) {
    auto* p = static_cast<char*>(buf);
    while (n) {
        const ssize_t r = write_ ? ::write(fd, p, n) : ::read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            return false;
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

// Linux's baseline: a listening Unix socket per node, two connecting clients per node.
bool linux_connect(const hosted::Runtime& rt, std::uint32_t nodes, std::uint32_t binds, Row& row) {
    constexpr std::uint64_t quit = ~std::uint64_t{0};
    const auto cores = rt.cores();
    const auto cpu = [&](std::uint32_t k) { return cores[k % cores.size()].os_index; };
    std::vector<int> listeners(nodes, -1);
    for (std::uint32_t k = 0; k < nodes; ++k) {
        const sockaddr_un a = address(k);
        listeners[k] = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listeners[k] < 0 || ::bind(listeners[k], reinterpret_cast<const sockaddr*>(&a), address_len(a)) != 0 ||
            ::listen(listeners[k], 128) != 0) {
            std::perror("bench-bind: listen");
            return false;
        }
    }
    std::atomic<bool> failed{false};
    std::vector<std::thread> servers;
    for (std::uint32_t k = 0; k < nodes; ++k)
        servers.emplace_back([&, k] {
            pin(cpu(k));
            for (;;) {
                const int c = ::accept4(listeners[k], nullptr, nullptr, SOCK_CLOEXEC);
                if (c < 0) {
                    if (errno == EINTR) continue;
                    failed = true;
                    return;
                }
                std::uint64_t w = 0;
                const bool ok = full_io(c, &w, sizeof w, false) && (w == quit || full_io(c, &w, sizeof w, true));
                ::close(c);
                if (!ok) failed = true;
                if (w == quit || !ok) return;
            }
        });
    const std::uint32_t clients = 2 * nodes;
    std::vector<std::vector<std::uint64_t>> samples(clients);
    std::atomic<std::uint32_t> ready{0};
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (std::uint32_t i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            const std::uint32_t k = i / 2;
            pin(cpu(k));
            std::mt19937 rng(7919u * (i + 1));
            samples[i].reserve(binds);
            ready.fetch_add(1);
            while (ready.load() < clients) std::this_thread::yield();
            for (std::uint32_t n = 0; n < binds && !failed; ++n) {
                const std::uint32_t peer = (k + 1 + static_cast<std::uint32_t>(rng() % (nodes - 1))) % nodes;
                const sockaddr_un a = address(peer);
                const auto t0 = Clock::now();
                const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                std::uint64_t w = n + 1, back = 0;
                const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&a), address_len(a)) == 0 &&
                                full_io(fd, &w, sizeof w, true) && full_io(fd, &back, sizeof back, false) && back == w;
                const auto t1 = Clock::now();
                if (fd >= 0) ::close(fd);
                if (!ok) {
                    failed = true;
                    return;
                }
                samples[i].push_back(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
            }
        });
    for (std::thread& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    for (std::uint32_t k = 0; k < nodes; ++k) {  // each server's last connection says quit
        const sockaddr_un a = address(k);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        std::uint64_t w = quit;
        if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), address_len(a)) != 0 || !full_io(fd, &w, sizeof w, true))
            failed = true;
        if (fd >= 0) ::close(fd);
    }
    for (std::thread& t : servers) t.join();
    for (int fd : listeners) ::close(fd);
    if (failed) {
        std::fprintf(stderr, "bench-bind: a Unix-socket connection failed\n");
        return false;
    }
    std::vector<std::uint64_t> all;
    for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
    row = {"linux-unix-connect", nodes, 3 * nodes, all.size(),
           static_cast<double>(all.size()) / wall, percentile(all, 0.5), percentile(all, 0.9)};
    return true;
}

bool myriad_bind(hosted::Runtime& rt, std::uint32_t nodes, std::uint32_t binds, Row& row) {
    monitor::hosted::RingRunConfig cfg;
    cfg.nodes = nodes;
    cfg.cycles = binds;
    cfg.messages = 1;
    cfg.rings = 64;
    cfg.faults = false;
    cfg.timed = true;
    monitor::hosted::RingRun r = monitor::hosted::run_rings(rt, cfg);
    if (!r.ok || !r.failure.empty()) {
        std::fprintf(stderr, "bench-bind: the binding run failed: %s\n", r.failure.c_str());
        return false;
    }
    const std::uint32_t threads = static_cast<std::uint32_t>(std::min<std::size_t>(nodes, rt.cores().size()));
    row = {"myriad-bind", nodes, threads, r.bindings, static_cast<double>(r.bindings) / (static_cast<double>(r.wall_ns) / 1e9),
           percentile(r.setup_ns, 0.5), percentile(r.setup_ns, 0.9)};
    if (r.setup_ns.size() != r.bindings) {
        std::fprintf(stderr, "bench-bind: %zu timings for %llu bindings\n", r.setup_ns.size(),
                     static_cast<unsigned long long>(r.bindings));
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--out" && next) {
            opt.out = next;
            ++i;
        } else if (a == "--binds" && next) {
            if (!parse_u32(next, opt.binds)) return usage(), 2;
            ++i;
        } else if (a == "--nodes" && next) {
            std::string list = next;
            ++i;
            for (std::size_t p = 0; p <= list.size();) {
                const std::size_t c = std::min(list.find(',', p), list.size());
                std::uint32_t v = 0;
                if (!parse_u32(list.substr(p, c - p).c_str(), v) || v < 2 || v > 16) return usage(), 2;
                opt.nodes.push_back(v);
                p = c + 1;
            }
        } else if (a == "--quick") {
            opt.nodes = {2};
            opt.binds = 300;
        } else {
            usage();
            return a == "--help" ? 0 : 2;
        }
    }
    auto created = hosted::Runtime::create();
    if (!created.ok()) {
        std::fprintf(stderr, "bench-bind: no hosted runtime\n");
        return 1;
    }
    hosted::Runtime& rt = **created;
    const auto ncores = static_cast<std::uint32_t>(rt.cores().size());
    if (opt.nodes.empty()) {
        for (std::uint32_t n = 2; n <= std::min<std::uint32_t>(16, std::max<std::uint32_t>(2, ncores)); n *= 2) opt.nodes.push_back(n);
        if (ncores > 2 && ncores <= 16 && opt.nodes.back() != ncores) opt.nodes.push_back(ncores);
    }
    std::filesystem::create_directories(opt.out);
    const std::string path = opt.out + "/bind_hosted.csv";
    std::ofstream csv(path);
    if (!csv) {
        std::fprintf(stderr, "bench-bind: cannot write %s\n", path.c_str());
        return 1;
    }
    csv << "mechanism,nodes,threads,connections,per_second,median_ns,p90_ns\n";
    std::printf("binding on %u host cores, %u bindings per client, two clients per node\n", ncores, opt.binds);
    std::printf("%-20s %5s %7s %11s %11s %10s %10s %14s\n", "mechanism", "nodes", "threads", "connections", "per second",
                "median ns", "p90 ns", "median/linux");
    for (const std::uint32_t n : opt.nodes) {
        Row m, l;
        if (!myriad_bind(rt, n, opt.binds, m) || !linux_connect(rt, n, opt.binds, l)) return 1;
        for (const Row* r : {&m, &l}) {
            csv << r->mechanism << ',' << r->nodes << ',' << r->threads << ',' << r->connections << ','
                << static_cast<std::uint64_t>(r->per_second) << ',' << r->median_ns << ',' << r->p90_ns << '\n';
            std::printf("%-20s %5u %7u %11llu %11.0f %10llu %10llu %14.2f\n", r->mechanism.c_str(), r->nodes, r->threads,
                        static_cast<unsigned long long>(r->connections), r->per_second,
                        static_cast<unsigned long long>(r->median_ns), static_cast<unsigned long long>(r->p90_ns),
                        l.median_ns ? static_cast<double>(r->median_ns) / static_cast<double>(l.median_ns) : 0.0);
        }
    }
    for (const std::string& note : rt.notes()) std::printf("note: %s\n", note.c_str());
    std::printf("wrote %s\n", path.c_str());
    return 0;
}
