// Compact CPU lists, boot-log lines and the QEMU mirror config.
#include "acpi_test_util.hpp"

#include <myr/acpi/format.hpp>
#include <mirror_config.hpp>

namespace myr::acpi::test {
namespace {

std::string list(std::vector<std::uint32_t> v) {
    char buf[128];
    auto r = format_index_list(v, buf);
    EXPECT_TRUE(r.ok());
    return std::string(buf, r.ok() ? *r : 0);
}

TEST(AcpiFormat, CompactLists) {
    EXPECT_EQ(list({}), "");
    EXPECT_EQ(list({7}), "7");
    EXPECT_EQ(list({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
    EXPECT_EQ(list({0, 2, 4}), "0,2,4");
    EXPECT_EQ(list({4294967294u, 4294967295u}), "4294967294-4294967295");
}

TEST(AcpiFormat, SmallBufferIsOverflow) {
    char buf[4];
    const std::uint32_t v[] = {0, 1, 2, 3, 8};
    EXPECT_EQ(format_index_list(v, buf).status(), Status::overflow);
    EXPECT_EQ(buf[3], '\0');
    EXPECT_EQ(format_index_list(v, std::span<char>()).status(), Status::overflow);
}

struct Parsed {
    ByteVec madt, srat, slit;
    std::unique_ptr<Topology> topo = make_topology();
    explicit Parsed(const std::string& m)
        : madt(load_fixture(m, "APIC")), srat(load_fixture(m, "SRAT")),
          slit(load_fixture(m, "SLIT")) {
        EXPECT_EQ(parse_topology(tables(madt, srat, slit), *topo), Status::ok);
    }
};

TEST(AcpiMirror, DellConfig) {
    Parsed p("dell-r820");
    auto text = mirror_config(*p.topo, "mirror-of-dell", "Dell R820");
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, R"(name = "mirror-of-dell"
description = "Dell R820"

[machine]
sockets = 4
cores = 10
threads = 2
memory = "4095M"

[[node]]
cpus = "0-19"
memory = "1071M"

[[node]]
cpus = "20-39"
memory = "1008M"

[[node]]
cpus = "40-59"
memory = "1008M"

[[node]]
cpus = "60-79"
memory = "1008M"

[distances]
matrix = [[10,20,30,20], [20,10,20,30], [30,20,10,20], [20,30,20,10]]
)");
}

TEST(AcpiMirror, SupermicroConfigHasMemorylessNodes) {
    Parsed p("supermicro-h8dgu");
    auto text = mirror_config(*p.topo, "mirror \"sm\"", "two\nlines");
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, R"(name = "mirror \"sm\""
description = "two\nlines"

[machine]
sockets = 4
cores = 6
threads = 1
memory = "4G"

[[node]]
cpus = "0-5"
memory = "2G"

[[node]]
cpus = "6-11"
memory = "0"

[[node]]
cpus = "12-17"
memory = "0"

[[node]]
cpus = "18-23"
memory = "2G"

[distances]
matrix = [[10,16,16,16], [16,10,16,16], [16,16,10,16], [16,16,16,10]]
)");
}

TEST(AcpiMirror, UnequalNodesUseOneSocketAndSmallNodesGetMinimum) {
    TableBuilder madt("APIC", 1);
    madt_header(madt);
    for (std::uint32_t i = 0; i < 5; ++i) madt_lapic(madt, i, i, 1);
    TableBuilder srat("SRAT", 1);
    srat_header(srat);
    for (std::uint32_t i = 0; i < 5; ++i) srat_cpu(srat, i, i < 3 ? 0 : 1, 1);
    srat_mem(srat, 0, 64ull << 30, 0, 1);
    srat_mem(srat, 64ull << 30, 16ull << 20, 1, 1);
    const ByteVec m = madt.finish(), s = srat.finish();
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(m, s), *t), Status::ok);
    auto plan = plan_mirror(*t);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->sockets, 1u);
    EXPECT_EQ(plan->cores, 5u);
    EXPECT_EQ(plan->threads, 1u);
    ASSERT_EQ(plan->node_cpus.size(), 2u);
    EXPECT_EQ(plan->node_cpus[0], "0-2");
    EXPECT_EQ(plan->node_cpus[1], "3-4");
    EXPECT_EQ(plan->node_mib[1], mirror_min_node_mib);
    EXPECT_EQ(plan->node_mib[0], mirror_max_total_mib - mirror_min_node_mib);
}

} // namespace
} // namespace myr::acpi::test
