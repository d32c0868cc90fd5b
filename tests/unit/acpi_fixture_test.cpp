// The parser on real firmware: tables dumped from a Dell PowerEdge R820 and a Supermicro H8DGU
// (tests/fixtures/acpi/README.md states every fact checked here).
#include "acpi_test_util.hpp"

#include <myr/acpi/format.hpp>

#include <set>

namespace myr::acpi::test {
namespace {

struct Machine {
    ByteVec madt, srat, slit;
    std::unique_ptr<Topology> topo = make_topology();
    Status status = Status::internal;

    explicit Machine(const std::string& name)
        : madt(load_fixture(name, "APIC")), srat(load_fixture(name, "SRAT")),
          slit(load_fixture(name, "SLIT")) {
        status = parse_topology(tables(madt, srat, slit), *topo);
    }
    std::vector<std::uint32_t> apic_ids_of(std::uint16_t node) const {
        std::vector<std::uint32_t> ids;
        for (std::uint32_t i = 0; i < topo->num_cpus; ++i)
            if (topo->cpus[i].node == node) ids.push_back(topo->cpus[i].apic_id);
        return ids;
    }
    std::string cpu_list(std::uint16_t node) const {
        char buf[512];
        auto len = format_cpu_list(*topo, node, buf);
        EXPECT_TRUE(len.ok());
        return buf;
    }
};

std::vector<std::uint32_t> range(std::uint32_t first, std::uint32_t last) {
    std::vector<std::uint32_t> v;
    for (std::uint32_t i = first; i <= last; ++i) v.push_back(i);
    return v;
}

TEST(AcpiDellR820, CpusAreEnabledMadtEntriesInOrder) {
    Machine m("dell-r820");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    EXPECT_EQ(t.num_cpus, 80u);
    EXPECT_EQ(t.lapic_address, 0xfee00000u);
    // Sockets interleaved: 0, 32, 64, 96, 2, ...; the boot CPU (APIC id 0) first.
    EXPECT_EQ(t.cpus[0].apic_id, 0u);
    EXPECT_EQ(t.cpus[1].apic_id, 32u);
    EXPECT_EQ(t.cpus[2].apic_id, 64u);
    EXPECT_EQ(t.cpus[3].apic_id, 96u);
    EXPECT_EQ(t.cpus[4].apic_id, 2u);
    std::set<std::uint32_t> ids;
    for (std::uint32_t i = 0; i < t.num_cpus; ++i) {
        ids.insert(t.cpus[i].apic_id);
        EXPECT_LT(t.cpus[i].apic_id, 208u) << "disabled entries 208-223 must be skipped";
        EXPECT_FALSE(t.cpus[i].x2apic);
    }
    std::set<std::uint32_t> expected;
    for (std::uint32_t base : {0u, 16u, 32u, 48u, 64u, 80u, 96u, 112u})
        for (std::uint32_t k = 0; k < 10; ++k) expected.insert(base + k);
    EXPECT_EQ(ids, expected);
    EXPECT_EQ(t.num_warnings, 0u);
}

TEST(AcpiDellR820, ProximityOneToFourBecomeNodesZeroToThree) {
    Machine m("dell-r820");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    EXPECT_TRUE(t.has_srat);
    ASSERT_EQ(t.num_nodes, 4u);
    for (std::uint16_t n = 0; n < 4; ++n) {
        EXPECT_EQ(t.nodes[n].proximity, n + 1u);
        EXPECT_EQ(t.nodes[n].num_cpus, 20u);
        EXPECT_EQ(t.nodes[n].nearest_mem_node, n);
        auto ids = m.apic_ids_of(n);
        std::set<std::uint32_t> got(ids.begin(), ids.end());
        std::set<std::uint32_t> want;
        for (std::uint32_t k = 0; k < 10; ++k) {
            want.insert(32u * n + k);
            want.insert(32u * n + 16 + k);
        }
        EXPECT_EQ(got, want) << "node " << n;
    }
    // MADT order interleaves sockets: CPUs of one node are 4 apart.
    EXPECT_EQ(m.cpu_list(0), "0,4,8,12,16,20,24,28,32,36,40,44,48,52,56,60,64,68,72,76");
    EXPECT_EQ(m.cpu_list(3), "3,7,11,15,19,23,27,31,35,39,43,47,51,55,59,63,67,71,75,79");
    for (std::uint32_t i = 0; i < t.num_cpus; ++i)
        EXPECT_EQ(t.cpus[i].proximity, t.nodes[t.cpus[i].node].proximity);
}

TEST(AcpiDellR820, MemoryRangesAndDisabledEntries) {
    Machine m("dell-r820");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    // 4 enabled ranges; the 6 disabled zero-length pxm-0 entries must not appear (nor pxm 0).
    ASSERT_EQ(t.num_ranges, 4u);
    const std::uint64_t starts[] = {0x0, 0x440000000, 0x840000000, 0xC40000000, 0x1040000000};
    std::uint64_t total = 0;
    for (std::uint32_t r = 0; r < 4; ++r) {
        EXPECT_EQ(t.ranges[r].base, starts[r]);
        EXPECT_EQ(t.ranges[r].base + t.ranges[r].length, starts[r + 1]);
        EXPECT_EQ(t.ranges[r].node, r);
        EXPECT_EQ(t.ranges[r].proximity, r + 1);
        EXPECT_FALSE(t.ranges[r].hotplug);
        EXPECT_FALSE(t.ranges[r].nonvolatile);
        total += t.ranges[r].length;
    }
    EXPECT_EQ(total, 65ull << 30);
    EXPECT_EQ(t.nodes[0].mem_bytes, 17ull << 30);
    EXPECT_EQ(t.nodes[1].mem_bytes, 16ull << 30);
}

TEST(AcpiDellR820, DistancesMapThroughProximityDomains) {
    Machine m("dell-r820");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    EXPECT_TRUE(t.has_slit);
    // Ring: pxm 1-3 and 2-4 (nodes 0-2 and 1-3) are 30, other pairs 20; row 0 of the SLIT unused.
    const std::uint8_t want[4][4] = {
        {10, 20, 30, 20}, {20, 10, 20, 30}, {30, 20, 10, 20}, {20, 30, 20, 10}};
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) EXPECT_EQ(t.distance[i][j], want[i][j]) << i << "," << j;
}

TEST(AcpiSupermicroH8dgu, CpusStartAtApicSixteen) {
    Machine m("supermicro-h8dgu");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    ASSERT_EQ(t.num_cpus, 24u);
    for (std::uint32_t i = 0; i < 24; ++i) {
        EXPECT_EQ(t.cpus[i].apic_id, i < 12 ? 16 + i : 32 + (i - 12));
        EXPECT_EQ(t.cpus[i].acpi_uid, i + 1);
    }
    EXPECT_EQ(t.num_warnings, 0u) << "disabled CPUs 152-159 have no SRAT entry and need none";
}

TEST(AcpiSupermicroH8dgu, NodesAndReversedApicIds) {
    Machine m("supermicro-h8dgu");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    ASSERT_EQ(t.num_nodes, 4u);
    EXPECT_EQ(m.apic_ids_of(0), range(16, 21));
    EXPECT_EQ(m.apic_ids_of(1), range(22, 27));
    EXPECT_EQ(m.apic_ids_of(2), range(38, 43)); // higher ids, lower domain
    EXPECT_EQ(m.apic_ids_of(3), range(32, 37));
    EXPECT_EQ(m.cpu_list(0), "0-5");
    EXPECT_EQ(m.cpu_list(1), "6-11");
    EXPECT_EQ(m.cpu_list(2), "18-23");
    EXPECT_EQ(m.cpu_list(3), "12-17");
}

TEST(AcpiSupermicroH8dgu, MemorylessNodesUseLowestNearestNode) {
    Machine m("supermicro-h8dgu");
    ASSERT_EQ(m.status, Status::ok);
    const Topology& t = *m.topo;
    ASSERT_EQ(t.num_ranges, 4u);
    EXPECT_EQ(t.ranges[0].base, 0x0u);
    EXPECT_EQ(t.ranges[0].length, 0xA0000u);
    EXPECT_EQ(t.ranges[1].base, 0x100000u);
    EXPECT_EQ(t.ranges[1].base + t.ranges[1].length, 0xE0000000u);
    EXPECT_EQ(t.ranges[2].base, 0x100000000u);
    EXPECT_EQ(t.ranges[2].base + t.ranges[2].length, 0x920000000u);
    EXPECT_EQ(t.ranges[3].base, 0x920000000u);
    EXPECT_EQ(t.ranges[3].base + t.ranges[3].length, 0x1220000000u);
    EXPECT_EQ(t.ranges[3].node, 3u);
    EXPECT_EQ(t.nodes[0].mem_bytes, (36ull << 30) - (384ull << 10));
    EXPECT_EQ(t.nodes[1].mem_bytes, 0u);
    EXPECT_EQ(t.nodes[2].mem_bytes, 0u);
    EXPECT_EQ(t.nodes[3].mem_bytes, 36ull << 30);
    // All remote distances are 16: the tie goes to the lowest index, node 0.
    EXPECT_EQ(t.nodes[0].nearest_mem_node, 0u);
    EXPECT_EQ(t.nodes[1].nearest_mem_node, 0u);
    EXPECT_EQ(t.nodes[2].nearest_mem_node, 0u);
    EXPECT_EQ(t.nodes[3].nearest_mem_node, 3u);
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) EXPECT_EQ(t.distance[i][j], i == j ? 10 : 16);
}

TEST(AcpiSupermicroH8dgu, BootLogLines) {
    Machine m("supermicro-h8dgu");
    ASSERT_EQ(m.status, Status::ok);
    char line[512];
    ASSERT_TRUE(format_node_line(*m.topo, 0, line).ok());
    EXPECT_STREQ(line, "node id=0 mem=0x0-0xa0000,0x100000-0xe0000000,0x100000000-0x920000000 "
                       "cpus=0-5");
    ASSERT_TRUE(format_node_line(*m.topo, 2, line).ok());
    EXPECT_STREQ(line, "node id=2 mem=none cpus=18-23");
    ASSERT_TRUE(format_cpu_line(*m.topo, 18, line).ok());
    EXPECT_STREQ(line, "cpu index=18 apic=38 node=2 pxm=2");
}

TEST(AcpiFixtures, TablesWithoutSratOrSlit) {
    const ByteVec madt = load_fixture("dell-r820", "APIC");
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(madt), *t), Status::ok);
    EXPECT_FALSE(t->has_srat);
    EXPECT_FALSE(t->has_slit);
    ASSERT_EQ(t->num_nodes, 1u);
    EXPECT_EQ(t->nodes[0].num_cpus, 80u);
    EXPECT_EQ(t->num_ranges, 0u);
    EXPECT_EQ(t->distance[0][0], 10u);

    // SRAT without SLIT: default distances.
    const ByteVec srat = load_fixture("dell-r820", "SRAT");
    ASSERT_EQ(parse_topology(tables(madt, srat), *t), Status::ok);
    EXPECT_FALSE(t->has_slit);
    EXPECT_EQ(t->distance[0][2], 20u);
    EXPECT_EQ(t->distance[1][1], 10u);
}

} // namespace
} // namespace myr::acpi::test
