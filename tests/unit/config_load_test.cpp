// Loading configs: every shipped file validates; every class of mistake is refused before QEMU
// with a message that names the key.
#include "config_test_support.hpp"

#include <myr/boot_limits.hpp>
#include <myr/config/apic_ids.hpp>
#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>
#include <myr/config/units.hpp>

#include <gtest/gtest.h>

#include <filesystem>

namespace myr::config {
namespace {

using testing::base;
using testing::expect_refused;
using testing::load;

TEST(ConfigLoad, EveryShippedConfigLoads) {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("configs")) {
        if (entry.path().extension() != ".toml") continue;
        ++count;
        const LoadResult r = load_config_file(entry.path());
        ASSERT_TRUE(r.ok()) << entry.path() << ": " << (r.errors.empty() ? "" : r.errors[0]);
        EXPECT_EQ(r.config->name, entry.path().stem().string());
        EXPECT_TRUE(r.config->warnings.empty()) << entry.path();
    }
    EXPECT_GE(count, 8);
}

TEST(ConfigLoad, DefaultIsTwoSocketsOfFour) {
    const LoadResult r = load_config_file("configs/default.toml");
    ASSERT_TRUE(r.ok());
    const Config& c = *r.config;
    EXPECT_EQ(c.sockets, 2u);
    EXPECT_EQ(c.cores, 4u);
    EXPECT_EQ(c.cpu_count(), 8u);
    EXPECT_EQ(c.nodes.size(), 2u);
}

TEST(ConfigLoad, MinimalConfigGetsDefaults) {
    const LoadResult r = load(base);
    ASSERT_TRUE(r.ok()) << r.errors[0];
    const Config& c = *r.config;
    EXPECT_EQ(c.cpu_count(), 4u);
    ASSERT_EQ(c.nodes.size(), 2u);  // one per socket
    EXPECT_FALSE(c.nodes_explicit);
    EXPECT_EQ(c.nodes[0].cpus, (std::vector<unsigned>{0, 1}));
    EXPECT_EQ(c.nodes[1].cpus, (std::vector<unsigned>{2, 3}));
    EXPECT_EQ(c.nodes[1].memory_bytes, 128 * mib);
    EXPECT_EQ(c.distance(0, 1), 20u);
    EXPECT_EQ(c.distance(1, 1), 10u);
    EXPECT_EQ(c.timer_hz, 100u);
    EXPECT_EQ(c.timeout_s, 120u);
    EXPECT_EQ(c.accel, Accel::automatic);
    EXPECT_EQ(c.tcg_threads, TcgThreads::automatic);
    EXPECT_EQ(c.socket_of(3), 1u);
    EXPECT_EQ(c.node_of(3), 1u);
}

TEST(ConfigLoad, SmtCpuOrderIsSocketMajor) {
    const LoadResult r = load_config_file("configs/smt.toml");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.config->cpu_count(), 8u);
    EXPECT_EQ(r.config->socket_of(3), 0u);
    EXPECT_EQ(r.config->socket_of(4), 1u);
}

TEST(ConfigLoad, UnevenMemorylessNodeUsesNearestMemory) {
    const LoadResult r = load_config_file("configs/uneven.toml");
    ASSERT_TRUE(r.ok());
    const Config& c = *r.config;
    ASSERT_EQ(c.nodes.size(), 3u);
    EXPECT_EQ(c.nodes[2].memory_bytes, 0u);
    EXPECT_EQ(c.memory_home(2), 1u);
    EXPECT_EQ(c.memory_home(0), 0u);
    EXPECT_EQ(c.node_of(7), 2u);
}

TEST(ConfigLoad, MemorylessTieGoesToLowestIndex) {
    const LoadResult r = load(base + R"(
[[node]]
cpus = "0-1"
memory = "128M"
[[node]]
cpus = "2"
memory = "128M"
[[node]]
cpus = "3"
memory = 0
)");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    EXPECT_EQ(r.config->memory_home(2), 0u);
}

TEST(ConfigLoad, SizesAndCpuListForms) {
    EXPECT_EQ(parse_memory_size("1G").value(), 1024 * mib);
    EXPECT_EQ(parse_memory_size("512m").value(), 512 * mib);
    EXPECT_EQ(parse_memory_size("65536K").value(), 64 * mib);
    EXPECT_EQ(parse_memory_size("0").value(), 0u);
    EXPECT_EQ(parse_memory_size("300").value(), 300 * mib);
    EXPECT_FALSE(parse_memory_size("1.5G").ok());
    EXPECT_FALSE(parse_memory_size("G").ok());
    EXPECT_FALSE(parse_memory_size("-1M").ok());
    EXPECT_FALSE(parse_memory_size("99999999999999999999G").ok());
    EXPECT_EQ(format_memory_size(1536 * mib), "1536M");
    EXPECT_EQ(parse_cpu_list("0-2,5").value(), (std::vector<unsigned>{0, 1, 2, 5}));
    EXPECT_EQ(format_cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
    EXPECT_FALSE(parse_cpu_list("3-1").ok());
    EXPECT_FALSE(parse_cpu_list("0,,1").ok());
    EXPECT_FALSE(parse_cpu_list("0-").ok());
    EXPECT_FALSE(parse_cpu_list("1,1").ok());
    EXPECT_FALSE(parse_cpu_list("a").ok());
}

TEST(ConfigLoad, IntegerMemoryIsMiB) {
    const LoadResult r = load(R"(
name = "t"
[machine]
memory = 128
)");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.config->memory_bytes, 128 * mib);
}

TEST(ConfigRefuse, Syntax) {
    const LoadResult r = load("name = \"t\"\n[machine\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.errors[0].find("x.toml:2:"), std::string::npos) << r.errors[0];
}

TEST(ConfigRefuse, UnknownKeysAnywhere) {
    expect_refused("timout = 3\n" + base, "timout", "unknown key");
    expect_refused(base + "timout = 3\n", "machine.timout", "unknown key");
    expect_refused(base + "[run]\ntimout = 3\n", "run.timout", "did you mean 'run.timeout'");
    expect_refused("name = \"t\"\n[machine]\ncore = 2\nmemory = \"128M\"\n", "machine.core", "did you mean");
    expect_refused(base + "[kernel]\ntimer = 100\n", "kernel.timer", "unknown key");
    expect_refused(base + "[distances]\nmatrx = []\n", "distances.matrx", "unknown key");
    expect_refused(base + "[[node]]\ncpus = \"0-3\"\nmem = \"256M\"\n", "node[0].mem", "unknown key");
    expect_refused(base + "[extra]\n", "extra", "unknown key");
}

TEST(ConfigRefuse, WrongTypes) {
    expect_refused("name = 3\n[machine]\nmemory = \"128M\"\n", "name", "must be a string");
    expect_refused("name = \"t\"\n[machine]\ncores = \"4\"\nmemory = \"128M\"\n", "machine.cores", "integer");
    expect_refused("name = \"t\"\nmachine = 3\n", "machine", "must be a table");
    expect_refused("name = \"t\"\n[machine]\nmemory = 1.5\n", "machine.memory", "size");
    expect_refused(base + "[kernel]\noptions = \"a\"\n", "kernel.options", "array of strings");
    expect_refused(base + "[kernel]\noptions = [1]\n", "kernel.options[0]", "must be a string");
    expect_refused(base + "[run]\naccel = true\n", "run.accel", "must be a string");
    expect_refused("node = 1\n" + base, "node", "array of tables");
    expect_refused(base + "[[node]]\ncpus = 3\n", "node[0].cpus", "CPU list");
    expect_refused(base + "[distances]\nmatrix = [[10, \"x\"], [20, 10]]\n", "distances.matrix[0][1]", "integer");
    expect_refused(base + "[distances]\nmatrix = 5\n", "distances.matrix", "array");
}

TEST(ConfigRefuse, Required) {
    expect_refused("[machine]\nmemory = \"128M\"\n", "name", "required");
    expect_refused("name = \"t\"\n", "machine.memory", "required");
    expect_refused("name = \"has space\"\n[machine]\nmemory = \"128M\"\n", "name", "characters");
}

TEST(ConfigRefuse, Counts) {
    expect_refused("name = \"t\"\n[machine]\ncores = 0\nmemory = \"128M\"\n", "machine.cores", "must be >= 1 (got 0)");
    expect_refused("name = \"t\"\n[machine]\nsockets = -1\nmemory = \"128M\"\n", "machine.sockets", ">= 1");
    expect_refused("name = \"t\"\n[machine]\nthreads = 3\nmemory = \"128M\"\n", "machine.threads", "1 or 2");
    expect_refused("name = \"t\"\n[machine]\nsockets = 16\ncores = 16\nthreads = 2\nmemory = \"16G\"\n", "machine",
                   "at most 255");
}

// QEMU's APIC ids (hw/i386/topology.h): fields padded to powers of two, threads lowest.
TEST(ApicIds, HighestIdPadsEachLevel) {
    EXPECT_EQ(highest_apic_id(1, 1, 1), 0u);
    EXPECT_EQ(highest_apic_id(8, 8, 1), 63u);
    EXPECT_EQ(highest_apic_id(16, 15, 1), 15u * 16 + 14);  // 254: the largest that fits
    EXPECT_EQ(highest_apic_id(15, 17, 1), 14u * 32 + 16);  // 464: 17 cores take 5 bits
    EXPECT_EQ(highest_apic_id(2, 3, 2), (1u << 3) | (2u << 1) | 1u);
    EXPECT_EQ(highest_apic_id(1, 255, 1), 254u);
}

TEST(ApicIds, RefusedWithTheNearestShapesThatFit) {
    EXPECT_EQ(apic_id_problem(16, 15, 1), "");
    EXPECT_EQ(apic_id_problem(8, 16, 1), "");
    EXPECT_EQ(apic_id_problem(1, 255, 1), "");
    const std::string e = apic_id_problem(15, 17, 1);
    EXPECT_NE(e.find("APIC ids up to 464"), std::string::npos) << e;
    EXPECT_NE(e.find("rounds cores up to 32"), std::string::npos) << e;
    EXPECT_NE(e.find("nearest that fit: 15 sockets x 16 cores x 1 thread (240 CPUs), or 1 socket x 255 cores x 1 thread (255 CPUs)"),
              std::string::npos) << e;
    // 9 x 17 x 2: threads take a bit too; no 306-CPU split fits, fewer cores do.
    const std::string t = apic_id_problem(9, 17, 2);
    EXPECT_NE(t.find("APIC ids up to 545"), std::string::npos) << t;
    EXPECT_NE(t.find("nearest that fit: 9 sockets x 8 cores x 2 threads (144 CPUs)"), std::string::npos) << t;
    EXPECT_EQ(t.find(", or "), std::string::npos) << t;
    // Every shape this check passes really fits; every one it refuses really does not.
    for (unsigned s = 1; s <= 20; ++s)
        for (unsigned c = 1; c <= 40; ++c)
            for (unsigned th = 1; th <= 2; ++th) {
                const unsigned cw = c > 1 ? 32 - static_cast<unsigned>(__builtin_clz(c - 1)) : 0;
                const unsigned tw = th > 1 ? 1 : 0;
                const unsigned top = ((s - 1) << (cw + tw)) | ((c - 1) << tw) | (th - 1);
                EXPECT_EQ(apic_id_problem(s, c, th).empty(), top <= 254) << s << "x" << c << "x" << th;
            }
}

TEST(ConfigRefuse, ApicIdsBeyondXapic) {
    expect_refused("name = \"t\"\n[machine]\nsockets = 15\ncores = 17\nmemory = \"4G\"\n", "machine",
                   "nearest that fit: 15 sockets x 16 cores");
    const LoadResult r = load("name = \"t\"\n[machine]\nsockets = 16\ncores = 15\nmemory = \"4G\"\n");
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
}

TEST(ConfigWarn, BeyondSixtyFourCpus) {
    const LoadResult r = load("name = \"t\"\n[machine]\nsockets = 2\ncores = 40\nmemory = \"1G\"\n");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    ASSERT_EQ(r.config->warnings.size(), 1u);
    EXPECT_NE(r.config->warnings[0].find("80 CPUs"), std::string::npos);
}

TEST(ConfigRefuse, NodeCpus) {
    expect_refused(base + "[[node]]\ncpus = \"0-2\"\n[[node]]\ncpus = \"2-3\"\n", "node[1].cpus", "already in node[0]");
    expect_refused(base + "[[node]]\ncpus = \"0-1\"\n[[node]]\ncpus = \"2\"\n", "node", "CPUs 3 are in no node");
    expect_refused(base + "[[node]]\ncpus = \"0-3\"\n[[node]]\ncpus = \"4\"\n", "node[1].cpus", "out of range");
    expect_refused(base + "[[node]]\ncpus = \"1-0\"\n", "node[0].cpus", "reversed");
    expect_refused(base + "[[node]]\ncpus = \"0-3\"\nmemory = \"128M\"\n[[node]]\nmemory = \"0\"\n", "node[1]",
                   "neither CPUs nor memory");
}

TEST(ConfigRefuse, Memory) {
    expect_refused("name = \"t\"\n[machine]\nmemory = \"32M\"\n", "machine.memory", "between 64M and 64G");
    expect_refused("name = \"t\"\n[machine]\nmemory = \"65G\"\n", "machine.memory", "between 64M and 64G");
    expect_refused("name = \"t\"\n[machine]\nmemory = \"100000K\"\n", "machine.memory", "whole number of MiB");
    expect_refused("name = \"t\"\n[machine]\nmemory = \"lots\"\n", "machine.memory", "not a size");
    // 3 sockets cannot split 256M into whole MiB
    expect_refused("name = \"t\"\n[machine]\nsockets = 3\nmemory = \"256M\"\n", "machine.memory", "split evenly");
    expect_refused(base + "[[node]]\ncpus = \"0-1\"\nmemory = \"128M\"\n[[node]]\ncpus = \"2-3\"\nmemory = \"64M\"\n",
                   "machine.memory", "sum of the node memories");
    expect_refused(base + "[[node]]\ncpus = \"0-1\"\nmemory = \"240M\"\n[[node]]\ncpus = \"2-3\"\nmemory = \"16M\"\n",
                   "node[1].memory", "at least 32M");
    expect_refused(base + "[[node]]\ncpus = \"0-1\"\nmemory = \"128M\"\n[[node]]\ncpus = \"2-3\"\n", "node",
                   "every node or for none");
    expect_refused(base + "[[node]]\ncpus = \"0-1\"\nmemory = \"0\"\n[[node]]\ncpus = \"2-3\"\nmemory = \"256M\"\n",
                   "node[0].memory", "node 0 must have memory");
    expect_refused(base + "[[node]]\ncpus = \"0-1\"\nmemory = \"130000K\"\n[[node]]\ncpus = \"2-3\"\nmemory = \"132144K\"\n",
                   "node[0].memory", "whole number of MiB");
}

TEST(ConfigRefuse, Distances) {
    expect_refused(base + "[distances]\nmatrix = [[10, 20]]\n", "distances.matrix", "2 rows (got 1)");
    expect_refused(base + "[distances]\nmatrix = [[10, 20], [20]]\n", "distances.matrix[1]", "2 entries");
    expect_refused(base + "[distances]\nmatrix = [[11, 20], [20, 10]]\n", "distances.matrix[0][0]", "must be 10");
    expect_refused(base + "[distances]\nmatrix = [[10, 255], [20, 10]]\n", "distances.matrix[0][1]", "10 and 254");
    expect_refused(base + "[distances]\nmatrix = [[10, 9], [20, 10]]\n", "distances.matrix[0][1]", "10 and 254");
    // Asymmetric is allowed.
    EXPECT_TRUE(load(base + "[distances]\nmatrix = [[10, 20], [30, 10]]\n").ok());
}

TEST(ConfigRefuse, KernelAndRun) {
    expect_refused(base + "[kernel]\ntimer_hz = 5\n", "kernel.timer_hz", ">= 10 (got 5)");
    expect_refused(base + "[kernel]\ntimer_hz = 20000\n", "kernel.timer_hz", "<= 10000");
    expect_refused(base + "[kernel]\noptions = [\"a b\"]\n", "kernel.options[0]", "one word");
    expect_refused(base + "[kernel]\noptions = [\"\"]\n", "kernel.options[0]", "empty");
    expect_refused(base + "[kernel]\noptions = [\"timer_hz=5\"]\n", "kernel.options[0]", "set by the tool");
    expect_refused(base + "[run]\ntimeout = 0\n", "run.timeout", ">= 1");
    expect_refused(base + "[run]\naccel = \"hvf\"\n", "run.accel", "\"auto\", \"tcg\" or \"kvm\"");
    expect_refused(base + "[run]\ntcg_threads = \"many\"\n", "run.tcg_threads", "single");
}

TEST(ConfigRefuse, ReportsEveryProblem) {
    const LoadResult r = load("name = \"t\"\n[machine]\ncores = 0\nthreads = 5\nmemory = \"128M\"\n[run]\naccel = \"x\"\n");
    ASSERT_FALSE(r.ok());
    EXPECT_GE(r.errors.size(), 3u);
}

TEST(ConfigLoad, MissingFile) {
    const LoadResult r = load_config_file("configs/does-not-exist.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.errors[0].find("cannot open"), std::string::npos);
}
} // namespace
} // namespace myr::config

namespace myr::config {
namespace {

TEST(ConfigSystem, ProgramsSpawnAndPlanBecomeModulesAndKernelWords) {
    const LoadResult r = load(base + R"([system]
monitor = "monitor"
programs = ["bindsrv", "bindcli", "hello"]
spawn = ["hello@0-1*2"]
plan = "spawn:bindsrv@0=3,spawn:bindcli,wait,broadcast,status,shutdown"
)");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
    const System& s = r.config->system;
    EXPECT_TRUE(s.present);
    EXPECT_EQ(s.modules(), (std::vector<std::string>{"monitor", "bindsrv", "bindcli", "hello"}));
    EXPECT_EQ(s.kernel_words(), (std::vector<std::string>{"monitor=monitor", "spawn=hello@0-1*2",
                                                          "plan=spawn:bindsrv@0=3,spawn:bindcli,wait,broadcast,status,shutdown"}));
    EXPECT_EQ(kernel_command_line(*r.config, {"plan=x"}),
              "timer_hz=100 config=t monitor=monitor spawn=hello@0-1*2 "
              "plan=spawn:bindsrv@0=3,spawn:bindcli,wait,broadcast,status,shutdown plan=x")
        << "[system] words come after the config's options and before the run's --append words";
}

TEST(ConfigSystem, AbsentMeansNothingRuns) {
    const LoadResult r = load(base);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.config->system.present);
    EXPECT_TRUE(r.config->system.modules().empty());
    EXPECT_TRUE(r.config->system.kernel_words().empty());
}

TEST(ConfigSystem, Refused) {
    const std::string sys = base + "[system]\nmonitor = \"monitor\"\n";
    expect_refused(sys + "programs = [\"a b\"]\n", "system.programs[0]", "program name");
    expect_refused(sys + "programs = [\"hello\", \"hello\"]\n", "system.programs[1]", "twice");
    expect_refused(sys + "programs = [\"x23456789012345678901234\"]\n", "system.programs[0]", "1-23");
    expect_refused(sys + "programs = [1]\n", "system.programs[0]", "must be a string");
    expect_refused(sys + "spawn = [\"hello@0\"]\n", "system.spawn[0]", "not in system.programs");
    expect_refused(sys + "programs = [\"hello\"]\nspawn = [\"hello@4\"]\n", "system.spawn[0]", "below 4");
    expect_refused(sys + "programs = [\"hello\"]\nspawn = [\"hello\"]\n", "system.spawn[0]", "NAME@CORES");
    expect_refused(sys + "programs = [\"hello\"]\nspawn = [\"hello@all*0\"]\n", "system.spawn[0]", "K 1..1000");
    expect_refused(sys + "plan = \"ping-all,pnig\"\n", "system.plan step 2", "not a plan step");
    expect_refused(sys + "plan = \"spawn:hello\"\n", "system.plan step 1", "not in system.programs");
    expect_refused(sys + "programs = [\"hello\"]\nplan = \"spawn:hello@9\"\n", "system.plan step 1", "not below 4");
    expect_refused(sys + "programs = [\"hello\"]\nplan = \"spawn:hello=x\"\n", "system.plan step 1", "must be a number");
    expect_refused(sys + "plan = \"ping-all shutdown\"\n", "system.plan", "without spaces");
    expect_refused(base + "[system]\nplan = \"ping-all\"\n", "system.plan", "needs system.monitor");
    expect_refused(sys + "colour = \"blue\"\n", "system.colour", "");
}

// Heartbeats between the monitors and the kill-core step (docs/monitors.md, "Membership and core
// failure"): the period becomes monitor.heartbeat=MS; kill-core:N needs it, and a core that exists
// once each (core 0, which runs the plan, with 3 CPUs or more; steps of core 0's monitor only before it).
TEST(ConfigSystem, CoreHeartbeatAndKillCore) {
    const LoadResult r = load(base + R"([system]
monitor = "monitor"
core_heartbeat = "100ms"
plan = "kill-core:3,wait,shutdown"
)");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
    EXPECT_EQ(r.config->system.core_heartbeat_ms, 100u);
    EXPECT_EQ(r.config->system.kernel_words(),
              (std::vector<std::string>{"monitor=monitor", "monitor.heartbeat=100", "plan=kill-core:3,wait,shutdown"}));
    // The period may come from kernel.options instead.
    const LoadResult o = load(base + R"([kernel]
options = ["monitor.heartbeat=50"]
[system]
monitor = "monitor"
plan = "kill-core:1"
)");
    EXPECT_TRUE(o.ok()) << (o.errors.empty() ? "" : o.errors[0]);
    const std::string sys = base + "[system]\nmonitor = \"monitor\"\n";
    const std::string beat = sys + "core_heartbeat = \"100ms\"\n";
    expect_refused(sys + "plan = \"kill-core:2\"\n", "system.plan step 1", "needs heartbeats");
    // Core 0 runs the plan: after it stops, the elected coordinator goes on with the plan, but the
    // steps that run on core 0's monitor only are refused; a majority must be left.
    EXPECT_TRUE(load(beat + "plan = \"kill-core:0,wait,status,shutdown\"\n").ok());
    const LoadResult before = load(beat + "plan = \"bench,probe,wait,kill-core:0,broadcast\"\n");
    EXPECT_TRUE(before.ok()) << (before.errors.empty() ? "" : before.errors[0]);
    expect_refused(beat + "plan = \"kill-core:0,wait,bench\"\n", "system.plan step 3", "runs on core 0's monitor only");
    expect_refused(beat + "programs = [\"spanner\"]\nplan = \"kill-core:0,unmap:2\"\n", "system.plan step 2", "runs on core 0's monitor only");
    expect_refused(beat + "plan = \"kill-core:2,wait,kill-core:2\"\n", "system.plan step 3", "stops that core already");
    expect_refused(beat + "plan = \"kill-core:4\"\n", "system.plan step 1", "a core below 4");
    expect_refused(beat + "plan = \"kill-core:x\"\n", "system.plan step 1", "kill-core:N");
    expect_refused(beat + "plan = \"kill-core:\"\n", "system.plan step 1", "kill-core:N");
    expect_refused(sys + "core_heartbeat = \"5ms\"\n", "system.core_heartbeat", "10ms to 60s");
    expect_refused(sys + "core_heartbeat = \"2m\"\n", "system.core_heartbeat", "10ms to 60s");
    expect_refused(sys + "core_heartbeat = \"often\"\n", "system.core_heartbeat", "10ms to 60s");
    expect_refused(base + "[system]\ncore_heartbeat = \"100ms\"\n", "system.core_heartbeat", "needs system.monitor");
}

// The unmap step (docs/unmap.md): a span over 2..N cores, 1-10 rounds, with the spanner program.
TEST(ConfigSystem, UnmapStep) {
    const std::string sys = base + "[system]\nmonitor = \"monitor\"\nprograms = [\"spanner\"]\n";
    const LoadResult r = load(sys + "plan = \"unmap:4,unmap:2:10,unmap:3:1:forge,unmap:3:2:refuse,shutdown\"\n");
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
    expect_refused(sys + "plan = \"unmap:1\"\n", "system.plan step 1", "2 <= N <= 4");
    expect_refused(sys + "plan = \"unmap:5\"\n", "system.plan step 1", "2 <= N <= 4");
    expect_refused(sys + "plan = \"unmap:\"\n", "system.plan step 1", "unmap:N[:R[:forge|:refuse]]");
    expect_refused(sys + "plan = \"unmap:x\"\n", "system.plan step 1", "unmap:N[:R[:forge|:refuse]]");
    expect_refused(sys + "plan = \"unmap:4:0\"\n", "system.plan step 1", "must be 1-10");
    expect_refused(sys + "plan = \"unmap:4:11\"\n", "system.plan step 1", "must be 1-10");
    expect_refused(sys + "plan = \"unmap:4:\"\n", "system.plan step 1", "must be 1-10");
    expect_refused(sys + "plan = \"unmap:4:2:forged\"\n", "system.plan step 1", "must be 1-10");
    expect_refused(sys + "plan = \"unmap:4:forge\"\n", "system.plan step 1", "must be 1-10");
    expect_refused(base + "[system]\nmonitor = \"monitor\"\nplan = \"unmap:2\"\n", "system.plan step 1",
                   "needs program 'spanner'");
}

// [[server]] (docs/configs.md, "Servers"): placement, replicas, arguments and the kernel words.
TEST(ConfigServer, PlacementReplicasAndKernelWords) {
    const LoadResult r = load(base + R"([system]
monitor = "monitor"
programs = ["hello"]
plan = "start:kv@3,stop:kv,start:hello,stop:hello@1,names:2,shutdown"

[[server]]
program = "memserv"
cores = "per-node"
args = "  pool=4M   fast "

[[server]]
name = "kv"
program = "kvstore"
cores = "1-3"
replicas = 2
args = "mode=a:b"

[[server]]
name = "all"
program = "hello"
cores = "all"
)");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
    const System& s = r.config->system;
    ASSERT_EQ(s.servers.size(), 3u);
    EXPECT_EQ(s.servers[0].name, "memserv");  // the program's name by default
    EXPECT_EQ(s.servers[0].cores, (std::vector<unsigned>{0, 2}));  // the lowest core of each node
    EXPECT_EQ(s.servers[0].args, "pool=4M fast");                    // spaces normalised
    EXPECT_EQ(s.servers[1].cores, (std::vector<unsigned>{1, 2}));    // the first 2 of 1-3
    EXPECT_EQ(s.servers[2].cores, (std::vector<unsigned>{0, 1, 2, 3}));
    // Server programs not listed become boot modules (after the listed ones); a listed one is not
    // loaded twice.
    EXPECT_EQ(s.modules(), (std::vector<std::string>{"monitor", "hello", "memserv", "kvstore"}));
    EXPECT_EQ(s.kernel_words(), (std::vector<std::string>{"monitor=monitor", "server.0=memserv:memserv:0.2:pool=4M,fast",
                                                          "server.1=kv:kvstore:1.2:mode=a:b", "server.2=all:hello:0.1.2.3:",
                                                          "plan=start:kv@3,stop:kv,start:hello,stop:hello@1,names:2,shutdown"}));
}

// Every word a config puts on the kernel command line must fit together: a plan and servers that
// are each within their limits but too long together were once accepted, and the kernel stopped
// at boot (`multiboot information unusable: overflow`, found by the fault campaign).
TEST(ConfigServer, TheWholeKernelCommandLineMustFit) {
    // A full plan, the servers' words, and kernel.options (which have no limit of their own).
    std::string plan;
    while (plan.size() < 880) plan += "sleep:100,";
    plan += "shutdown";
    const auto config = [&](int options) {
        std::string t = "name = \"t\"\n[machine]\nsockets = 2\ncores = 2\nmemory = \"256M\"\n[kernel]\noptions = [";
        for (int i = 0; i < options; ++i) t += (i ? ", \"" : "\"") + std::string("monitor.note") + std::to_string(i) + "=" + std::string(600, 'a') + "\"";
        t += "]\n[system]\nmonitor = \"monitor\"\nplan = \"" + plan + "\"\n";
        t += "[[server]]\nname = \"kv\"\nprogram = \"kvstore\"\ncores = \"all\"\nargs = \"" + std::string(60, 'b') + "\"\n";
        return t;
    };
    const LoadResult fits = load(config(3));
    ASSERT_TRUE(fits.ok()) << (fits.errors.empty() ? "" : fits.errors[0]);
    EXPECT_GT(kernel_command_line(*fits.config).size(), 2048u) << "over the old 1024-byte limit by far";
    EXPECT_LE(kernel_command_line(*fits.config).size(), config_cmdline_bytes);
    expect_refused(config(5), "system", "kernel command line");
    // A plan in kernel.options is bounded like [system]'s: the monitor would refuse a longer one
    // and run its default plan.
    expect_refused(base + "[kernel]\noptions = [\"plan=" + plan + ",status,status\"]\n", "kernel.options[0]", "at most 900");
}

// One check bounds every plan word on the kernel command line, and names where the long one came
// from: [system], kernel.options, or a run's --append (myriadctl run).
TEST(ConfigSystem, EveryPlanWordIsBounded) {
    std::string steps;
    for (int i = 0; i < 127; ++i) steps += "status,";
    const std::string longest = steps + "status,wait", over = steps + "sleep:1,wait";
    ASSERT_EQ(longest.size(), max_plan);
    ASSERT_EQ(over.size(), max_plan + 1);
    const std::string sys = base + "[system]\nmonitor = \"monitor\"\nplan = \"";
    const LoadResult fits = load(sys + longest + "\"\n");
    ASSERT_TRUE(fits.ok()) << (fits.errors.empty() ? "" : fits.errors[0]);
    EXPECT_TRUE(kernel_word_problems(*fits.config).empty());
    expect_refused(sys + over + "\"\n", "system.plan", "a plan of 901 characters; at most 900");
    expect_refused(base + "[kernel]\noptions = [\"monitor=monitor\", \"plan=" + over + "\"]\n", "kernel.options[1]",
                   "a plan of 901 characters; at most 900");

    const auto problems = kernel_word_problems(*fits.config, {"plan=wait", "plan=" + over});
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].from, "--append");
    EXPECT_NE(problems[0].problem.find("a plan of 901 characters; at most 900"), std::string::npos) << problems[0].problem;
    EXPECT_TRUE(kernel_word_problems(*fits.config, {"plan=" + longest}).empty());
}

// Replication settings the monitor cannot read whole would run every object's default protocol:
// refused wherever they come from (the [replication] table's stay far below; --append can not).
TEST(ConfigSystem, ReplicationSettingsAreBounded) {
    const LoadResult r = load(base + "[system]\nmonitor = \"monitor\"\nplan = \"wait\"\n");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
    std::string items;
    while (items.size() < max_repl) items += "registry:2pc,";
    const std::string fits = items.substr(0, max_repl), over = items.substr(0, max_repl + 1);
    EXPECT_TRUE(kernel_word_problems(*r.config, {"repl=" + fits}).empty());
    const auto problems = kernel_word_problems(*r.config, {"repl=" + over});
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].from, "--append");
    EXPECT_NE(problems[0].problem.find("replication settings of 512 characters; at most 511"), std::string::npos)
        << problems[0].problem;
}

// Restart policies (docs/configs.md, "Servers"; myr/supervise.hpp) travel as a fifth field.
TEST(ConfigServer, RestartPolicies) {
    const LoadResult r = load(base + R"([system]
monitor = "monitor"
plan = "sleep:250,shutdown"
[[server]]
name = "a"
program = "hello"
cores = "0"
restart = "3/10s"
[[server]]
name = "b"
program = "hello"
cores = "1"
restart = "always"
restart_backoff = "2s"
[[server]]
name = "c"
program = "hello"
cores = "2"
restart = "never"
[[server]]
name = "d"
program = "hello"
cores = "3"
)");
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
    const System& s = r.config->system;
    using W = std::vector<std::string>;
    EXPECT_EQ(s.servers[0].kernel_word(0), "server.0=a:hello:0:");
    EXPECT_EQ(s.servers[0].supervision_words(0), W{"server.0.restart=3/10000@100"});
    EXPECT_EQ(s.servers[1].supervision_words(1), W{"server.1.restart=always@2000"});
    EXPECT_EQ(s.servers[2].supervision_words(2), W{});  // never: no word
    EXPECT_EQ(s.servers[3].supervision_words(3), W{});
    EXPECT_EQ(s.kernel_words(), (W{"monitor=monitor", "server.0=a:hello:0:", "server.0.restart=3/10000@100", "server.1=b:hello:1:",
                                   "server.1.restart=always@2000", "server.2=c:hello:2:", "server.3=d:hello:3:",
                                   "plan=sleep:250,shutdown"}));
    const LoadResult h = load(base + "[system]\nmonitor = \"monitor\"\n[[server]]\nprogram = \"hello\"\ncores = \"0\"\n"
                                     "heartbeat = \"250ms\"\n[[server]]\nname = \"b\"\nprogram = \"hello\"\ncores = \"1\"\n"
                                     "heartbeat = \"1s\"\nrestart = \"always\"\n");
    ASSERT_TRUE(h.ok()) << (h.errors.empty() ? "" : h.errors[0]);
    EXPECT_EQ(h.config->system.servers[0].supervision_words(0), W{"server.0.heartbeat=250"});  // never restarted
    EXPECT_EQ(h.config->system.servers[1].supervision_words(1), (W{"server.1.restart=always@100", "server.1.heartbeat=1000"}));
}

TEST(ConfigServer, RestartRefused) {
    const std::string srv = base + "[system]\nmonitor = \"monitor\"\n[[server]]\nprogram = \"hello\"\ncores = \"0\"\n";
    expect_refused(srv + "restart = \"sometimes\"\n", "server[0].restart", "\"N/T\"");
    expect_refused(srv + "restart = \"3\"\n", "server[0].restart", "\"N/T\"");
    expect_refused(srv + "restart = \"0/10s\"\n", "server[0].restart", "1-16");
    expect_refused(srv + "restart = \"17/10s\"\n", "server[0].restart", "1-16");
    expect_refused(srv + "restart = \"3/10\"\n", "server[0].restart", "\"N/T\"");     // no unit
    expect_refused(srv + "restart = \"3/2h\"\n", "server[0].restart", "up to 1h");
    expect_refused(srv + "restart = \"3/0s\"\n", "server[0].restart", "\"N/T\"");
    expect_refused(srv + "restart = \"always\"\nrestart_backoff = \"fast\"\n", "server[0].restart_backoff", "duration");
    expect_refused(srv + "restart = \"always\"\nrestart_backoff = \"61s\"\n", "server[0].restart_backoff", "up to 60s");
    expect_refused(srv + "restart_backoff = \"1s\"\n", "server[0].restart_backoff", "restart is \"never\"");
    expect_refused(srv + "restart = 3\n", "server[0].restart", "must be a string");
    expect_refused(srv + "heartbeat = \"10ms\"\n", "server[0].heartbeat", "from 50ms to 10m");
    expect_refused(srv + "heartbeat = \"11m\"\n", "server[0].heartbeat", "from 50ms to 10m");
    expect_refused(srv + "heartbeat = \"soon\"\n", "server[0].heartbeat", "duration");
}

TEST(ConfigServer, PerNodeSkipsNodesWithoutCores) {
    const LoadResult r = load(base + R"([[node]]
cpus = "0-3"
memory = "128M"
[[node]]
memory = "128M"
[system]
monitor = "monitor"
[[server]]
program = "memserv"
cores = "per-node"
)");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    EXPECT_EQ(r.config->system.servers[0].cores, (std::vector<unsigned>{0}));
}

TEST(ConfigServer, WithoutServersNothingChanges) {
    const LoadResult r = load(base + "[system]\nmonitor = \"monitor\"\n");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.config->system.servers.empty());
    EXPECT_EQ(r.config->system.kernel_words(), (std::vector<std::string>{"monitor=monitor"}));
}

TEST(ConfigServer, Refused) {
    const std::string sys = base + "[system]\nmonitor = \"monitor\"\nprograms = [\"hello\"]\n";
    const std::string srv = sys + "[[server]]\n";
    expect_refused(base + "[[server]]\nprogram = \"hello\"\ncores = \"0\"\n", "server", "needs a [system] table");
    expect_refused(base + "[system]\nprograms = [\"hello\"]\n[[server]]\nprogram = \"hello\"\ncores = \"0\"\n", "server",
                   "needs system.monitor");
    expect_refused(sys + "server = 3\n", "system.server", "unknown key");
    expect_refused("server = 3\n" + base, "server", "array of tables");
    expect_refused(srv + "cores = \"0\"\n", "server[0].program", "is required");
    expect_refused(srv + "program = \"a b\"\ncores = \"0\"\n", "server[0].program", "program name");
    expect_refused(srv + "program = \"monitor\"\ncores = \"0\"\n", "server[0].program", "is the monitor");
    expect_refused(srv + "program = 7\ncores = \"0\"\n", "server[0].program", "must be a string");
    expect_refused(srv + "program = \"hello\"\n", "server[0].cores", "is required");
    expect_refused(srv + "program = \"hello\"\ncores = \"\"\n", "server[0].cores", "");
    expect_refused(srv + "program = \"hello\"\ncores = \"0,9\"\n", "server[0].cores", "core 9 is not below 4");
    expect_refused(srv + "program = \"hello\"\ncores = \"3-1\"\n", "server[0].cores", "CPU list");
    expect_refused(srv + "program = \"hello\"\ncores = \"some\"\n", "server[0].cores", "per-node");
    expect_refused(srv + "program = \"hello\"\ncores = \"all\"\nreplicas = 5\n", "server[0].replicas", "5 is more than the 4 cores");
    expect_refused(srv + "program = \"hello\"\ncores = \"per-node\"\nreplicas = 0\n", "server[0].replicas", "at least 1");
    expect_refused(srv + "program = \"hello\"\ncores = \"0\"\nargs = \"a=1,b=2\"\n", "server[0].args", "without commas");
    expect_refused(srv + "program = \"hello\"\ncores = \"0\"\nargs = \"a=\\\"x\\\"\"\n", "server[0].args", "quotes");
    expect_refused(srv + "program = \"hello\"\ncores = \"0\"\nargs = \"" + std::string(65, 'a') + "\"\n", "server[0].args",
                   "is 65 characters, at most 64");
    expect_refused(srv + "program = \"hello\"\ncores = \"0\"\nname = \"x2345678901234567\"\n", "server[0].name", "1-16");
    expect_refused(srv + "program = \"hello\"\ncores = \"0\"\ncolour = 1\n", "server[0].colour", "unknown key");
    expect_refused(srv + "program = \"hello\"\ncores = \"0\"\n[[server]]\nprogram = \"hello\"\ncores = \"1\"\n", "server[1].name",
                   "names another [[server]]");
    expect_refused(srv + "program = \"kvstore-with-a-long-nm\"\ncores = \"0\"\n", "server[0].name", "longer than 16");
    std::string many = sys;
    for (int i = 0; i < 17; ++i) many += "[[server]]\nname = \"s" + std::to_string(i) + "\"\nprogram = \"hello\"\ncores = \"0\"\n";
    expect_refused(many, "server", "at most 16");
    std::string wide = sys;  // 16 servers on every core with long args: too much of the command line
    for (int i = 0; i < 16; ++i)
        wide += "[[server]]\nname = \"s" + std::to_string(i) + "\"\nprogram = \"hello\"\ncores = \"all\"\nargs = \"" +
                std::string(40, 'a') + "\"\n";
    expect_refused(wide, "server", "bytes of the kernel command line");
    // Plan steps start:/stop: name a server or a program, on a core of this machine.
    expect_refused(sys + "plan = \"start:nosuch\"\n", "system.plan step 1", "neither a [[server]] name");
    expect_refused(sys + "plan = \"stop:hello@4\"\n", "system.plan step 1", "not below 4");
    expect_refused(sys + "plan = \"stop:hello@\"\n", "system.plan step 1", "not below 4");
    expect_refused(sys + "plan = \"names:x\"\n", "system.plan step 1", "names:K");
    expect_refused(sys + "plan = \"sleep:1s\"\n", "system.plan step 1", "sleep:MS");
    expect_refused(sys + "plan = \"crash:nosuch@1\"\n", "system.plan step 1", "neither a [[server]] name");
    expect_refused(sys + "plan = \"crash:hello@9\"\n", "system.plan step 1", "not below 4");
}

} // namespace
} // namespace myr::config
