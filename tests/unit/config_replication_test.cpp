// [replication] in a machine config: protocol per object, checked against the objects, the
// protocols the guest runs and the machine, and handed to the monitors as the `repl=` option.
#include "config_test_support.hpp"

#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>

#include <gtest/gtest.h>

namespace myr::config {
namespace {

using testing::base;

LoadResult load(const std::string& replication) { return testing::load(base + "[replication]\n" + replication); }

void expect_refused(const std::string& replication, const std::string& key, const std::string& what) {
    testing::expect_refused(base + "[replication]\n" + replication, key, what);
}

TEST(ConfigReplication, NoTableNoOption) {
    const LoadResult r = load_config_string(base, "x.toml");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.config->replication.empty());
    EXPECT_EQ(kernel_command_line(*r.config).find("repl="), std::string::npos);
}

TEST(ConfigReplication, ProtocolPerObjectBecomesKernelOption) {
    const LoadResult r = load("registry = \"2pc\"\nmemory = \"sequencer\"\ncounter = \"broadcast\"\nkv = \"2PC\"\n");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    ASSERT_EQ(r.config->replication.objects.size(), 4u);
    EXPECT_EQ(replication_kernel_option(r.config->replication),
              "repl=registry:2pc,memory:sequencer,counter:broadcast,kv:2pc");
    EXPECT_NE(kernel_command_line(*r.config).find(" repl=registry:2pc,memory:sequencer,counter:broadcast,kv:2pc"),
              std::string::npos);
}

TEST(ConfigReplication, ProtocolSettings) {
    const LoadResult r = load("registry = \"2pc\"\nregistry_coordinator = \"owner\"\nregistry_owner = 3\n"
                              "kv = \"sequencer\"\nkv_sequencer = 2\nkv_reads = \"linearizable\"\nfanout = \"unicast\"\n");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    EXPECT_EQ(replication_kernel_option(r.config->replication),
              "repl=registry:2pc:coord=owner:owner=3,kv:sequencer:seq=2:reads=lin,fanout:unicast");
}

TEST(ConfigReplication, UnknownProtocolOrObject) {
    expect_refused("kv = \"paxos\"\n", "replication.kv", "unknown protocol \"paxos\"");
    expect_refused("kvs = \"2pc\"\n", "replication.kvs", "did you mean 'replication.kv");
    expect_refused("kv = 2\n", "replication.kv", "must be a string");
    expect_refused("fanout = \"star\"\n", "replication.fanout", "\"tree\" or \"unicast\"");
}

TEST(ConfigReplication, SharedMemoryProtocolsRefusedInTheGuest) {
    expect_refused("kv = \"nr\"\n", "replication.kv", "shared between the monitors");
    expect_refused("counter = \"shared\"\n", "replication.counter", "shared between the monitors");
}

TEST(ConfigReplication, BroadcastOnlyForCommutingObjects) {
    expect_refused("registry = \"broadcast\"\n", "replication.registry", "do not commute");
    expect_refused("memory = \"broadcast\"\n", "replication.memory", "do not commute");
    EXPECT_TRUE(load("kv = \"broadcast\"\ncounter = \"broadcast\"\n").ok());
}

// The object list and `commutes` come from the catalogue (myr/repl/objects/catalog.hpp), not a
// hand list here: the example object `max` is known with all its keys, and may broadcast.
TEST(ConfigReplication, ObjectsComeFromTheCatalogue) {
    EXPECT_EQ(replication_objects(), (std::vector<std::string>{"registry", "memory", "counter", "kv", "max", "nametable"}));
    const LoadResult r = load("max = \"broadcast\"\nmax_replicas = \"core\"\n");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    EXPECT_EQ(replication_kernel_option(r.config->replication), "repl=max:broadcast:replicas=core");
    EXPECT_TRUE(load("max = \"sequencer\"\nmax_sequencer = 1\n").ok());
}

// replicate: plan steps are checked before boot with the monitors' rules, in [system] and in a
// plan= word of kernel.options; the error names the step.
TEST(ConfigReplication, ReplicatePlanStepsCheckedBeforeBoot) {
    const std::string sys = "[system]\nmonitor = \"monitor\"\nplan = ";
    testing::expect_refused(base + sys + "\"replicate:nosuch:2pc,shutdown\"\n", "system.plan step 1", "unknown object 'nosuch'");
    testing::expect_refused(base + sys + "\"ping-all,replicate:kv:paxos\"\n", "system.plan step 2", "bad field 'paxos'");
    testing::expect_refused(base + sys + "\"replicate:kv:nr\"\n", "system.plan step 1", "shared between the monitors");
    testing::expect_refused(base + sys + "\"replicate:registry:broadcast\"\n", "system.plan step 1", "do not commute");
    testing::expect_refused(base + sys + "\"replicate:kv:0\"\n", "system.plan step 1", "1..1000000");
    // The protocol from [replication] counts: registry under broadcast is refused there already,
    // memory's default (2pc) is fine, and a config protocol applies to a step without one.
    EXPECT_TRUE(testing::load(base + sys + "\"replicate:memory:20:add:node,replicate:max:broadcast:30,shutdown\"\n").ok());
    testing::expect_refused(base + "[kernel]\noptions = [\"plan=ping-all,replicate:kvv:2pc\"]\n",
                            "kernel.options[0] plan step 2", "unknown object 'kvv'");
    EXPECT_TRUE(testing::load(base + "[kernel]\noptions = [\"plan=replicate:max:2pc:5,shutdown\"]\n").ok());
}

TEST(ConfigReplication, SettingsMustMatchTheProtocolAndMachine) {
    expect_refused("kv = \"2pc\"\nkv_sequencer = 0\n", "replication.kv_sequencer", "applies to protocol sequencer only");
    expect_refused("kv_sequencer = 0\n", "replication.kv_sequencer", "replication.kv (its protocol) is not");
    expect_refused("kv = \"sequencer\"\nkv_sequencer = 4\n", "replication.kv_sequencer", "0..3 (got 4)");
    expect_refused("kv = \"sequencer\"\nkv_sequencer = -1\n", "replication.kv_sequencer", "(got -1)");
    expect_refused("kv = \"sequencer\"\nkv_sequencer = \"0\"\n", "replication.kv_sequencer", "must be an integer");
    expect_refused("kv = \"sequencer\"\nkv_reads = \"fast\"\n", "replication.kv_reads", "\"local\" or \"linearizable\"");
    expect_refused("kv = \"sequencer\"\nkv_coordinator = \"owner\"\n", "replication.kv_coordinator", "2pc only");
    expect_refused("registry = \"2pc\"\nregistry_owner = 1\n", "replication.registry_owner", "_coordinator = \"owner\"");
    expect_refused("registry = \"2pc\"\nregistry_coordinator = \"boss\"\n", "replication.registry_coordinator",
                   "\"origin\" or \"owner\"");
}

TEST(ConfigReplication, ToolSetsTheOption) {
    const LoadResult r = load_config_string(base + "[kernel]\noptions = [\"repl=kv:2pc\"]\n", "x.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.errors[0].find("[replication] table"), std::string::npos) << r.errors[0];
}

TEST(ConfigReplication, AtMost64Cores) {
    const LoadResult r = load_config_string(R"(
name = "big"
[machine]
sockets = 2
cores = 40
memory = "256M"
[replication]
kv = "2pc"
)", "x.toml");
    ASSERT_FALSE(r.ok());
    bool found = false;
    for (const auto& e : r.errors) found = found || e.find("at most 64 cores") != std::string::npos;
    EXPECT_TRUE(found);
}

} // namespace
} // namespace myr::config

namespace myr::config {
namespace {

// Replicas per NUMA node: table-wide and per object, passed through repl=.
TEST(ConfigReplication, ReplicasPerNode) {
    const LoadResult r = load("replicas = \"node\"\nkv = \"2pc\"\ncounter = \"broadcast\"\ncounter_replicas = \"core\"\n");
    ASSERT_TRUE(r.ok()) << r.errors[0];
    EXPECT_EQ(r.config->replication.replicas, "node");
    EXPECT_EQ(replication_kernel_option(r.config->replication),
              "repl=counter:broadcast:replicas=core,kv:2pc,replicas:node");
    const LoadResult only = load("replicas = \"core\"\n");
    ASSERT_TRUE(only.ok()) << only.errors[0];
    EXPECT_EQ(replication_kernel_option(only.config->replication), "repl=replicas:core");
    // Base machine: 2 sockets x 2 cores, nodes {0,1} {2,3}: core 2 is node 1's replica.
    const LoadResult seq = load("kv = \"sequencer\"\nkv_replicas = \"node\"\nkv_sequencer = 2\n");
    ASSERT_TRUE(seq.ok()) << seq.errors[0];
    EXPECT_EQ(replication_kernel_option(seq.config->replication), "repl=kv:sequencer:seq=2:replicas=node");
}

TEST(ConfigReplication, ReplicasRefused) {
    expect_refused("replicas = \"socket\"\n", "replication.replicas", "must be \"core\"");
    expect_refused("replicas = 1\n", "replication.replicas", "must be a string");
    expect_refused("kv = \"2pc\"\nkv_replicas = \"numa\"\n", "replication.kv_replicas", "(got \"numa\")");
    expect_refused("kv_replicas = \"node\"\n", "replication.kv_replicas", "is set but replication.kv");
    expect_refused("replicas = \"node\"\nkv = \"sequencer\"\nkv_sequencer = 3\n", "replication.kv_sequencer",
                   "core 3 is on node 1, whose replica is core 2");
    expect_refused("registry = \"2pc\"\nregistry_replicas = \"node\"\nregistry_coordinator = \"owner\"\n"
                   "registry_owner = 1\n",
                   "replication.registry_owner", "only the lowest core of each node holds a replica");
    expect_refused("replicas = \"node\"\nkv_replica = \"node\"\n", "replication.kv_replica", "unknown key");
}

} // namespace
} // namespace myr::config
