// check_boot_log against synthetic serial logs: a good boot for several configs, then one
// mistake at a time.
#include <myr/config/boot_log.hpp>
#include <myr/config/load.hpp>
#include <myr/config/units.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

namespace myr::config {
namespace {

Config shipped(const char* name) {
    LoadResult r = load_config_file(std::string("configs/") + name + ".toml");
    EXPECT_TRUE(r.ok());
    return *r.config;
}

std::string hex(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

// Guest-physical address of the `linear`-th byte of RAM on QEMU's q35: RAM below the PCI hole
// stays, the rest moves above 4 GiB (split at 2 GiB from 2.75 GiB of RAM up, else at 2.75 GiB).
std::uint64_t gpa(const Config& c, std::uint64_t linear) {
    const std::uint64_t lowmem = c.memory_bytes >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
    return linear < lowmem ? linear : linear - lowmem + 0x100000000ull;
}

// Where node n's memory starts in the physical map (nodes laid out in order).
std::uint64_t node_base(const Config& c, unsigned n) {
    std::uint64_t base = 0;
    for (unsigned i = 0; i < n; ++i) base += c.nodes[i].memory_bytes;
    return gpa(c, base);
}

// Node n's memory as the kernel reports it: one range, or two when it straddles the PCI hole.
std::string node_mem(const Config& c, unsigned n) {
    std::uint64_t linear = 0;
    for (unsigned i = 0; i < n; ++i) linear += c.nodes[i].memory_bytes;
    const std::uint64_t lowmem = c.memory_bytes >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
    const std::uint64_t end = linear + c.nodes[n].memory_bytes;
    if (linear < lowmem && end > lowmem)
        return hex(linear) + "-" + hex(lowmem) + "," + hex(0x100000000ull) + "-" + hex(gpa(c, end - 1) + 1);
    return hex(gpa(c, linear)) + "-" + hex(gpa(c, end - 1) + 1);
}

// Kernel copy of core i: 1 MiB, inside its memory home, distinct per core.
std::uint64_t kernel_of(const Config& c, unsigned cpu) {
    return node_base(c, c.memory_home(c.node_of(cpu))) + 16 * mib + 2 * mib * cpu;
}

// A log as a correct kernel would print it, with human lines interleaved.
std::string good_log(const Config& c, const std::function<std::string(unsigned)>& core_extra = {}) {
    std::string s = "SeaBIOS (version 1.16)\r\nmyriad: booting\n";
    for (unsigned n = 0; n < c.nodes.size(); ++n) {
        const std::uint64_t size = c.nodes[n].memory_bytes;
        std::string mem = "none";
        if (size != 0 && n == 0) mem = "0x0-0x9fc00,0x100000-" + hex(size - 128 * 1024);  // legacy hole, BIOS tail
        else if (size != 0) mem = node_mem(c, n);
        s += "node id=" + std::to_string(n) + " mem=" + mem + " cpus=" + format_cpu_list(c.nodes[n].cpus) + "\n";
    }
    for (unsigned i = 0; i < c.cpu_count(); ++i) {
        s += "[c" + std::to_string(i) + "/n" + std::to_string(c.node_of(i)) + "] starting\n";
        if (core_extra) s += core_extra(i);
        s += "core-up core=" + std::to_string(i) + " apic=" + std::to_string(i) + " socket=" +
             std::to_string(c.socket_of(i)) + " node=" + std::to_string(c.node_of(i)) + " kernel=" + hex(kernel_of(c, i)) + "\n";
    }
    for (unsigned i = 0; i < c.cpu_count(); ++i)
        s += "audit core=" + std::to_string(i) + " kernel=" + hex(kernel_of(c, i)) + "-" + hex(kernel_of(c, i) + mib) +
             " pages=256 node-local=yes foreign-writable=0\n";
    s += "audit-summary cores=" + std::to_string(c.cpu_count()) + " overlaps=0 nonlocal=0 foreign-writable=0\n";
    s += "boot-complete cores=" + std::to_string(c.cpu_count()) + " nodes=" + std::to_string(c.nodes.size()) + " ms=42\n";
    return s;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const std::size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
}

std::string remove_line(std::string s, const std::string& starting) {
    const std::size_t p = s.find("\n" + starting);
    EXPECT_NE(p, std::string::npos) << starting;
    if (p == std::string::npos) return s;
    const std::size_t e = s.find('\n', p + 1);
    s.erase(p + 1, e - p);
    return s;
}

// The log fails and some problem contains `what`.
void expect_problem(const Config& c, const std::string& log, const std::string& what) {
    const auto problems = check_boot_log(c, log);
    std::string all;
    for (const auto& p : problems) {
        all += p + "\n";
        if (p.find(what) != std::string::npos) return;
    }
    ADD_FAILURE() << "no problem with '" << what << "'; got:\n" << all;
}

TEST(CheckLog, GoodLogsPass) {
    for (const char* name : {"1s1c", "1s4c", "2s4c", "4s4c", "8s8c", "smt", "uneven", "default"}) {
        const Config c = shipped(name);
        const auto problems = check_boot_log(c, good_log(c));
        EXPECT_TRUE(problems.empty()) << name << ": " << problems.front();
    }
}

TEST(CheckLog, EmptyLogFails) {
    const Config c = shipped("2s4c");
    const auto problems = check_boot_log(c, "");
    EXPECT_GE(problems.size(), 4u);
    expect_problem(c, "", "boot did not complete");
    expect_problem(c, "", "cores 0-7 never came up");
}

TEST(CheckLog, NodeProblems) {
    const Config c = shipped("2s4c");
    const std::string log = good_log(c);
    expect_problem(c, remove_line(log, "node id=1"), "node 1 was never reported");
    expect_problem(c, replace(log, "cpus=4-7", "cpus=4-6"), "node 1 has CPUs 4-6 but the config says 4-7");
    expect_problem(c, replace(log, "mem=0x20000000-0x40000000", "mem=0x20000000-0x30000000"), "node 1 reports");
    expect_problem(c, replace(log, "mem=0x20000000-0x40000000", "mem=none"), "reports no memory");
    expect_problem(c, replace(log, "mem=0x20000000-0x40000000", "mem=0x20000000-0x40100000"), "node 1 reports");
    expect_problem(c, replace(log, "mem=0x20000000-0x40000000", "mem=garbage"), "malformed mem=");
    expect_problem(c, log + "node id=1 mem=none cpus=4-7\n", "more than once");
    expect_problem(c, log + "node id=5 mem=none cpus=\n", "config has only 2 nodes");
}

TEST(CheckLog, MemorylessNode) {
    const Config c = shipped("uneven");
    const std::string log = good_log(c);
    EXPECT_NE(log.find("node id=2 mem=none cpus=6-7"), std::string::npos);
    // Node 2's kernels must be in node 1 (its nearest node with memory), not node 0.
    expect_problem(c, replace(log, "core=6 apic=6 socket=1 node=2 kernel=" + hex(kernel_of(c, 6)),
                              "core=6 apic=6 socket=1 node=2 kernel=0x2000000"),
                   "outside the memory of node 1 (nearest node with memory to its node 2)");
    expect_problem(c, replace(log, "node id=2 mem=none", "node id=2 mem=0x40000000-0x50000000"), "memory-less");
}

// The checker knows where each node's memory is from the config, so a log whose node lines agree
// with a wrong kernel (memory of the wrong node, or not where QEMU puts it) still fails.
TEST(CheckLog, NodeMemoryComesFromTheConfig) {
    const Config c = shipped("4s4c");  // four nodes of equal size
    const std::string log = good_log(c);
    const std::string m1 = "mem=" + node_mem(c, 1), m2 = "mem=" + node_mem(c, 2);
    // Nodes 1 and 2 swapped: sizes and totals still match.
    const std::string swapped = replace(replace(log, "node id=1 " + m1, "node id=1 " + m2 + "X"), "node id=2 " + m2,
                                        "node id=2 " + m1);
    const std::string both = replace(swapped, m2 + "X", m2);
    expect_problem(c, both, "node 1 reports memory " + node_mem(c, 2) + " outside the range the config gives it (" +
                                node_mem(c, 1) + ")");
    expect_problem(c, both, "node 2 reports memory");
    // A core of node 1 whose kernel sits in node 2's memory fails even when node 1's line claims
    // that memory (the old checker trusted the line).
    const std::uint64_t k4 = kernel_of(c, 4), in_node2 = node_base(c, 2) + 16 * mib;
    const std::string moved = replace(replace(both, "kernel=" + hex(k4) + "\n", "kernel=" + hex(in_node2) + "\n"),
                                      "audit core=4 kernel=" + hex(k4) + "-" + hex(k4 + mib),
                                      "audit core=4 kernel=" + hex(in_node2) + "-" + hex(in_node2 + mib));
    expect_problem(c, moved, "core 4 runs a kernel at " + hex(in_node2) + ", outside the memory of node 1");
    expect_problem(c, moved, "core 4 audit: its kernel copy " + hex(in_node2));
}

// Above 2.75 GiB of RAM, QEMU moves everything past 2 GiB above the PCI hole (to 4 GiB).
TEST(CheckLog, MemoryAboveThePciHole) {
    Config c = shipped("2s4c");
    c.memory_bytes = 6144 * mib;
    c.nodes[0].memory_bytes = c.nodes[1].memory_bytes = 3072 * mib;
    const std::string log = good_log(c);
    EXPECT_NE(log.find("node id=0 mem=0x0-0x9fc00,0x100000-0xbffe0000"), std::string::npos) << log;
    // The synthetic node 0 line above is wrong on purpose (it ignores the hole); use QEMU's.
    const std::string real = replace(log, "node id=0 mem=0x0-0x9fc00,0x100000-0xbffe0000",
                                     "node id=0 mem=0x0-0x9fc00,0x100000-0x80000000,0x100000000-0x140000000");
    EXPECT_NE(real.find("node id=1 mem=0x140000000-0x200000000"), std::string::npos) << real;
    EXPECT_TRUE(check_boot_log(c, real).empty()) << check_boot_log(c, real).front();
    // Node 0 as if there were no hole: 0x80000000-0xc0000000 is the PCI window, not RAM.
    expect_problem(c, log, "node 0 reports memory 0x100000-0xbffe0000 outside the range the config gives it "
                           "(0x0-0x80000000,0x100000000-0x140000000)");
}

// core-up kernel= and the audit's range come from different code in the kernel; they must agree.
TEST(CheckLog, CoreUpKernelMatchesTheAudit) {
    const Config c = shipped("2s4c");
    const std::string log = good_log(c);
    const std::uint64_t k3 = kernel_of(c, 3), other = k3 + 64 * 1024;  // same node, another copy
    expect_problem(c, replace(log, "node=0 kernel=" + hex(k3) + "\n", "node=0 kernel=" + hex(other) + "\n"),
                   "core 3 reports its kernel at " + hex(other) + " (core-up) but its audit found the copy at " + hex(k3));
}

TEST(CheckLog, CoreProblems) {
    const Config c = shipped("2s4c");
    const std::string log = good_log(c);
    expect_problem(c, remove_line(log, "core-up core=5 "), "cores 5 never came up");
    expect_problem(c, log + "core-up core=5 apic=5 socket=1 node=1 kernel=" + hex(kernel_of(c, 5)) + "\n",
                   "core 5 came up more than once");
    expect_problem(c, log + "core-up core=8 apic=8 socket=2 node=2 kernel=0x0\n", "core 8 is reported but the config has only 8");
    expect_problem(c, replace(log, "core=5 apic=5 socket=1", "core=5 apic=5 socket=0"), "core 5 reports socket 0");
    expect_problem(c, replace(log, "socket=1 node=1 kernel=" + hex(kernel_of(c, 5)), "socket=1 node=0 kernel=" + hex(kernel_of(c, 5))),
                   "core 5 reports node 0");
    expect_problem(c, replace(log, "node=1 kernel=" + hex(kernel_of(c, 5)), "node=1 kernel=0x1000000"),
                   "core 5 runs a kernel at 0x1000000, outside the memory of node 1");
    expect_problem(c, replace(log, "core-up core=3 apic=3", "core-up core=x apic=3"), "malformed 'core-up' line");
}

TEST(CheckLog, SmtSockets) {
    const Config c = shipped("smt");
    const std::string log = good_log(c);
    expect_problem(c, replace(log, "core=3 apic=3 socket=0", "core=3 apic=3 socket=1"), "core 3 reports socket 1");
}

TEST(CheckLog, AuditProblems) {
    const Config c = shipped("2s4c");
    const std::string log = good_log(c);
    const std::string a1 = "audit core=1 kernel=" + hex(kernel_of(c, 1)) + "-" + hex(kernel_of(c, 1) + mib);
    expect_problem(c, replace(log, a1 + " pages=256 node-local=yes", a1 + " pages=256 node-local=no"), "is not node-local");
    expect_problem(c, replace(log, a1, "audit core=1 kernel=" + hex(kernel_of(c, 0)) + "-" + hex(kernel_of(c, 0) + mib)),
                   "the kernel copies of cores 0 (");
    expect_problem(c, replace(log, a1, "audit core=1 kernel=" + hex(kernel_of(c, 1) + mib / 2) + "-" + hex(kernel_of(c, 1) + 3 * mib)),
                   "overlap");
    expect_problem(c, replace(log, a1, "audit core=1 kernel=0x30000000-0x30100000"), "lies outside the memory of node 0");
    expect_problem(c, remove_line(log, "audit core=6 "), "cores 6 were never audited");
    expect_problem(c, replace(log, "overlaps=0 nonlocal=0", "overlaps=2 nonlocal=0"), "2 overlapping");
    expect_problem(c, replace(log, "overlaps=0 nonlocal=0", "overlaps=0 nonlocal=1"), "1 kernel copies outside");
    expect_problem(c, remove_line(log, "audit-summary"), "no 'audit-summary' line");
    expect_problem(c, replace(log, "audit-summary cores=8", "audit-summary cores=7"), "counts 7 cores");
    // Share nothing, enforced: a core that can write another core's kernel frames, or does not say.
    expect_problem(c, replace(log, a1 + " pages=256 node-local=yes foreign-writable=0", a1 + " pages=256 node-local=yes foreign-writable=512"),
                   "core 1 audit: 512 frames of other cores' kernels are writable");
    expect_problem(c, replace(log, a1 + " pages=256 node-local=yes foreign-writable=0", a1 + " pages=256 node-local=yes"),
                   "foreign-writable= missing");
    expect_problem(c, replace(log, "nonlocal=0 foreign-writable=0", "nonlocal=0 foreign-writable=3"), "reports 3 writable frames");
    expect_problem(c, replace(log, "nonlocal=0 foreign-writable=0", "nonlocal=0"), "foreign-writable= missing");
}

TEST(CheckLog, CompletionPanicException) {
    const Config c = shipped("2s4c");
    const std::string log = good_log(c);
    expect_problem(c, replace(log, "boot-complete cores=8 nodes=2", "boot-complete cores=8 nodes=1"), "counts 1 nodes, expected 2");
    expect_problem(c, replace(log, "boot-complete cores=8", "boot-complete cores=6"), "counts 6 cores, expected 8");
    expect_problem(c, log + "boot-complete cores=8 nodes=2 ms=1\n", "boot-complete is reported more than once");
    expect_problem(c, log + "panic core=3 msg=out of frames on node 1\n", "core 3 panicked: out of frames on node 1");
    expect_problem(c, log + "exception core=2 vector=14 error=0x2 rip=0xffffffff80001000 cr2=0x0\n",
                   "core 2 took exception vector 14");
    // Not at the start of a line: ignored, like any human text.
    EXPECT_TRUE(check_boot_log(c, log + "[c1/n0] panic core=1 msg=x\n").empty());
}

TEST(CheckLog, SelftestFaultExpected) {
    Config c = shipped("2s4c");
    c.kernel_options = {"selftest.fault=3"};
    const std::string exc = "exception core=3 vector=14 error=0x0 rip=0x1000 cr2=0xdead\n";
    const std::string log = good_log(c, [&](unsigned i) { return i == 3 ? exc : std::string(); });
    EXPECT_TRUE(check_boot_log(c, log).empty());
    // The faulting core may stop before it is counted or audited.
    std::string stopped = remove_line(remove_line(log, "core-up core=3 "), "audit core=3 ");
    stopped = replace(replace(stopped, "audit-summary cores=8", "audit-summary cores=7"), "boot-complete cores=8", "boot-complete cores=7");
    EXPECT_TRUE(check_boot_log(c, stopped).empty());
    expect_problem(c, good_log(c), "selftest.fault=3 but core 3 reported no exception");
    expect_problem(c, log + exc, "more than the one selftest.fault");
    expect_problem(c, log + "exception core=4 vector=13 error=0x0 rip=0x1 cr2=0x0\n", "core 4 took exception");
    expect_problem(c, remove_line(log, "core-up core=4 "), "cores 4 never came up");
    expect_problem(c, remove_line(log, "boot-complete"), "boot did not complete");
}

TEST(CheckLog, FaultFromExtraWords) {
    const Config c = shipped("2s4c");
    const std::string log = good_log(c, [](unsigned i) {
        return i == 2 ? std::string("exception core=2 vector=6 error=0x0 rip=0x1 cr2=0x0\n") : std::string();
    });
    EXPECT_FALSE(check_boot_log(c, log).empty());
    BootLogOptions o;
    o.extra_kernel_words = {"selftest.fault=2"};
    EXPECT_TRUE(check_boot_log(c, log, o).empty());
    EXPECT_EQ(expected_fault_cores(c, {"selftest.fault=2", "selftest.fault=2", "other=1"}), std::vector<unsigned>{2});
}

} // namespace
} // namespace myr::config
