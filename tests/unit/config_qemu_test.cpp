// QEMU command lines, accelerator choice and exit-status mapping.
#include <myr/config/accel.hpp>
#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>
#include <myr/config/runner.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace myr::config {
namespace {

Config shipped(const char* name) {
    LoadResult r = load_config_file(std::string("configs/") + name + ".toml");
    EXPECT_TRUE(r.ok());
    return *r.config;
}

// Values following every occurrence of `flag`.
std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& flag) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
        if (argv[i] == flag) out.push_back(argv[i + 1]);
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

QemuOptions tcg(bool multi = false) {
    QemuOptions o;
    o.kernel = "build/kernel.elf";
    o.accel = Accel::tcg;
    o.tcg_multi = multi;
    return o;
}

TEST(QemuArgs, TwoSocketsFourCores) {
    const auto a = qemu_args(shipped("2s4c"), tcg());
    EXPECT_EQ(a[0], "qemu-system-x86_64");
    EXPECT_EQ(values_of(a, "-machine"), std::vector<std::string>{"q35"});
    EXPECT_EQ(values_of(a, "-m"), std::vector<std::string>{"1024M"});
    EXPECT_EQ(values_of(a, "-smp"), std::vector<std::string>{"8,sockets=2,cores=4,threads=1"});
    EXPECT_EQ(values_of(a, "-object"), (std::vector<std::string>{"memory-backend-ram,id=m0,size=512M",
                                                                 "memory-backend-ram,id=m1,size=512M"}));
    const auto numa = values_of(a, "-numa");
    EXPECT_TRUE(has(numa, "node,nodeid=0,cpus=0-3,memdev=m0"));
    EXPECT_TRUE(has(numa, "node,nodeid=1,cpus=4-7,memdev=m1"));
    EXPECT_TRUE(has(numa, "dist,src=0,dst=1,val=20"));
    EXPECT_TRUE(has(numa, "dist,src=1,dst=0,val=20"));
    EXPECT_TRUE(has(numa, "dist,src=0,dst=0,val=10"));
    EXPECT_EQ(numa.size(), 2u + 4u);
    EXPECT_EQ(values_of(a, "-kernel"), std::vector<std::string>{"build/kernel.elf"});
    EXPECT_EQ(values_of(a, "-append"), std::vector<std::string>{"timer_hz=100 config=2s4c"});
    EXPECT_EQ(values_of(a, "-device"), std::vector<std::string>{"isa-debug-exit,iobase=0xf4,iosize=0x04"});
    EXPECT_EQ(values_of(a, "-accel"), std::vector<std::string>{"tcg,thread=single"});
    EXPECT_EQ(values_of(a, "-serial"), std::vector<std::string>{"stdio"});
    EXPECT_TRUE(has(a, "-no-reboot"));
    EXPECT_FALSE(has(a, "-S"));
    EXPECT_FALSE(has(a, "-initrd"));
}

TEST(QemuArgs, Smt) {
    const auto a = qemu_args(shipped("smt"), tcg(true));
    EXPECT_EQ(values_of(a, "-smp"), std::vector<std::string>{"8,sockets=2,cores=2,threads=2"});
    EXPECT_EQ(values_of(a, "-accel"), std::vector<std::string>{"tcg,thread=multi"});
    EXPECT_TRUE(has(values_of(a, "-numa"), "node,nodeid=1,cpus=4-7,memdev=m1"));
}

TEST(QemuArgs, UnevenMemorylessNodeHasNoMemdev) {
    const auto a = qemu_args(shipped("uneven"), tcg());
    const auto numa = values_of(a, "-numa");
    EXPECT_TRUE(has(numa, "node,nodeid=0,cpus=0-3,memdev=m0"));
    EXPECT_TRUE(has(numa, "node,nodeid=1,cpus=4-5,memdev=m1"));
    EXPECT_TRUE(has(numa, "node,nodeid=2,cpus=6-7"));
    EXPECT_EQ(values_of(a, "-object").size(), 2u);
    EXPECT_EQ(values_of(a, "-m"), std::vector<std::string>{"768M"});
    EXPECT_TRUE(has(numa, "dist,src=1,dst=2,val=15"));
    EXPECT_TRUE(has(numa, "dist,src=2,dst=0,val=30"));
    EXPECT_EQ(numa.size(), 3u + 9u);
}

TEST(QemuArgs, NonContiguousCpusRepeatClause) {
    LoadResult r = load_config_string(R"(
name = "nc"
[machine]
sockets = 2
cores = 4
memory = "256M"
[[node]]
cpus = "0-1,4-5"
[[node]]
cpus = "2-3,6-7"
)", "nc");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    const auto numa = values_of(qemu_args(*r.config, tcg()), "-numa");
    EXPECT_TRUE(has(numa, "node,nodeid=0,cpus=0-1,cpus=4-5,memdev=m0"));
    EXPECT_TRUE(has(numa, "node,nodeid=1,cpus=2-3,cpus=6-7,memdev=m1"));
}

TEST(QemuArgs, SingleNodeHasNoDistances) {
    const auto numa = values_of(qemu_args(shipped("1s4c"), tcg()), "-numa");
    EXPECT_EQ(numa, std::vector<std::string>{"node,nodeid=0,cpus=0-3,memdev=m0"});
}

TEST(QemuArgs, KvmGdbAppendInitrd) {
    Config c = shipped("1s1c");
    c.kernel_options = {"selftest.fault=3"};
    QemuOptions o = tcg();
    o.accel = Accel::kvm;
    o.gdb = true;
    o.initrd = "a,b";
    o.extra_append = {"x=1"};
    const auto a = qemu_args(c, o);
    EXPECT_EQ(values_of(a, "-accel"), std::vector<std::string>{"kvm"});
    EXPECT_EQ(values_of(a, "-cpu"), std::vector<std::string>{"max,-arch-capabilities"});
    EXPECT_TRUE(has(a, "-s"));
    EXPECT_TRUE(has(a, "-S"));
    EXPECT_EQ(values_of(a, "-initrd"), std::vector<std::string>{"a,b"});
    EXPECT_EQ(values_of(a, "-append"), std::vector<std::string>{"timer_hz=100 config=1s1c selftest.fault=3 x=1"});
}

TEST(QemuArgs, ShellJoinQuotes) {
    EXPECT_EQ(shell_join({"a", "b c", "it's", "x=1,y"}), "a 'b c' 'it'\\''s' x=1,y");
}

const char* cpuinfo_amd_svm = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme svm lm\n";
const char* cpuinfo_intel_vmx = "processor\t: 0\nflags\t\t: fpu vmx ept\n";
const char* cpuinfo_none = "processor\t: 0\nflags\t\t: fpu vme lm nsvm vmx_x hypervisor\nmodel name\t: vmx svm\n";

TEST(Accel, CpuinfoFlags) {
    EXPECT_TRUE(cpuinfo_has_hw_virt(cpuinfo_amd_svm));
    EXPECT_TRUE(cpuinfo_has_hw_virt(cpuinfo_intel_vmx));
    EXPECT_FALSE(cpuinfo_has_hw_virt(cpuinfo_none));  // only whole words on the flags line count
    EXPECT_FALSE(cpuinfo_has_hw_virt(""));
}

TEST(Accel, AutoNeedsKvmAndHardwareVirtualization) {
    EXPECT_EQ(resolve_accel(Accel::automatic, true, cpuinfo_amd_svm), Accel::kvm);
    EXPECT_EQ(resolve_accel(Accel::automatic, false, cpuinfo_amd_svm), Accel::tcg);
    EXPECT_EQ(resolve_accel(Accel::automatic, true, cpuinfo_none), Accel::tcg);  // software KVM (kvm_pvm)
    EXPECT_EQ(resolve_accel(Accel::kvm, false, ""), Accel::kvm);                 // explicit wins
    EXPECT_EQ(resolve_accel(Accel::tcg, true, cpuinfo_intel_vmx), Accel::tcg);
}

TEST(Accel, TcgThreads) {
    EXPECT_EQ(resolve_tcg_threads(TcgThreads::automatic, 64, 2), TcgThreads::single);
    EXPECT_EQ(resolve_tcg_threads(TcgThreads::automatic, 2, 2), TcgThreads::multi);
    EXPECT_EQ(resolve_tcg_threads(TcgThreads::automatic, 1, 16), TcgThreads::multi);
    EXPECT_EQ(resolve_tcg_threads(TcgThreads::multi, 64, 2), TcgThreads::multi);
    EXPECT_EQ(resolve_tcg_threads(TcgThreads::single, 1, 16), TcgThreads::single);
}

QemuOutcome exited(int code, std::size_t serial = 100) {
    QemuOutcome o;
    o.started = true;
    o.exited = true;
    o.exit_code = code;
    o.serial_bytes = serial;
    return o;
}

TEST(ExitStatus, Mapping) {
    EXPECT_EQ(map_qemu_outcome(exited(qemu_exit_code(GuestExit::success))), RunExit::success);
    EXPECT_EQ(map_qemu_outcome(exited(0x21)), RunExit::success);
    EXPECT_EQ(map_qemu_outcome(exited(qemu_exit_code(GuestExit::check_failed))), RunExit::check_failed);
    EXPECT_EQ(map_qemu_outcome(exited(qemu_exit_code(GuestExit::panic))), RunExit::panic);
    EXPECT_EQ(map_qemu_outcome(exited(0)), RunExit::no_status);   // -no-reboot after a triple fault
    EXPECT_EQ(map_qemu_outcome(exited(3)), RunExit::no_status);
    EXPECT_EQ(map_qemu_outcome(exited(1, 0)), RunExit::qemu_failed);  // usage error: no serial output
    EXPECT_EQ(map_qemu_outcome(exited(1, 10)), RunExit::no_status);
    QemuOutcome t = exited(0);
    t.timed_out = true;
    EXPECT_EQ(map_qemu_outcome(t), RunExit::timeout);
    QemuOutcome s;
    s.started = true;
    s.signal = 9;
    EXPECT_EQ(map_qemu_outcome(s), RunExit::no_status);
    EXPECT_EQ(map_qemu_outcome(QemuOutcome{}), RunExit::qemu_failed);
}

TEST(Runner, MissingBinaryIsQemuFailed) {
    RunRequest req;
    req.argv = {"/nonexistent/qemu-system-x86_64"};
    req.timeout_s = 5;
    const QemuOutcome o = run_qemu(req);
    EXPECT_FALSE(o.started);
    EXPECT_EQ(map_qemu_outcome(o), RunExit::qemu_failed);
}

TEST(Runner, StreamsOutputAndEnforcesTimeout) {
    std::string seen;
    RunRequest req;
    req.argv = {"/bin/sh", "-c", "echo hello; exec sleep 30"};
    req.timeout_s = 1;
    req.on_serial = [&](std::string_view s) { seen.append(s); };
    const QemuOutcome o = run_qemu(req);
    EXPECT_TRUE(o.timed_out);
    EXPECT_EQ(seen, "hello\n");
    EXPECT_EQ(map_qemu_outcome(o), RunExit::timeout);
}

// --until: the run ends at the first chunk after which stop() says so, and counts as a success.
TEST(Runner, StopEndsTheRunAsASuccess) {
    std::string seen;
    RunRequest req;
    req.argv = {"/bin/sh", "-c", "echo one; sleep 0.2; echo two; exec sleep 30"};
    req.timeout_s = 20;
    req.on_serial = [&](std::string_view s) { seen.append(s); };
    req.stop = [&] { return seen.find("two\n") != std::string::npos; };
    const auto t0 = std::chrono::steady_clock::now();
    const QemuOutcome o = run_qemu(req);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    EXPECT_TRUE(o.stopped);
    EXPECT_FALSE(o.timed_out);
    EXPECT_EQ(seen, "one\ntwo\n");
    EXPECT_EQ(map_qemu_outcome(o), RunExit::success);
}

TEST(Runner, ExitStatusAndStderr) {
    RunRequest req;
    req.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 33"};
    req.timeout_s = 10;
    const QemuOutcome o = run_qemu(req);
    EXPECT_TRUE(o.exited);
    EXPECT_EQ(o.exit_code, 33);
    EXPECT_EQ(o.serial_bytes, 4u);
    EXPECT_EQ(o.stderr_text, "err\n");
    EXPECT_EQ(map_qemu_outcome(o), RunExit::success);
}

} // namespace
} // namespace myr::config
