// Malformed and unusual tables: each gives a clear Status or a recorded warning, never a crash
// (this suite runs under ASan/UBSan).
#include "acpi_test_util.hpp"

namespace myr::acpi::test {
namespace {

ByteVec two_cpu_madt() {
    TableBuilder t("APIC", 1);
    madt_header(t);
    madt_lapic(t, 0, 0, 1);
    madt_lapic(t, 1, 1, 1);
    return t.finish();
}

Status parse(const ByteVec& madt, const ByteVec& srat = {}, const ByteVec& sl = {}) {
    auto t = make_topology();
    return parse_topology(tables(madt, srat, sl), *t);
}

TEST(AcpiBroken, MadtHeaderProblems) {
    EXPECT_EQ(parse({}), Status::not_found);
    ByteVec madt = two_cpu_madt();
    madt[20] ^= 1;
    EXPECT_EQ(parse(madt), Status::bad_checksum);
    madt = two_cpu_madt();
    EXPECT_EQ(parse(ByteVec(madt.begin(), madt.begin() + 20)), Status::truncated);
    madt[4] = static_cast<std::uint8_t>(madt.size() + 1); // length beyond the buffer
    TableBuilder::fix_checksum(madt);
    EXPECT_EQ(parse(madt), Status::truncated);
    madt = two_cpu_madt();
    madt[0] = 'X';
    TableBuilder::fix_checksum(madt);
    EXPECT_EQ(parse(madt), Status::malformed);
    madt = two_cpu_madt();
    madt[4] = 10; // length below a header
    TableBuilder::fix_checksum(madt);
    EXPECT_EQ(parse(madt), Status::malformed);
    TableBuilder only_header("APIC", 1);
    only_header.u32(0xfee00000); // no flags field
    EXPECT_EQ(parse(only_header.finish()), Status::truncated);
}

TEST(AcpiBroken, MadtSubtableLengths) {
    TableBuilder zero("APIC", 1);
    madt_header(zero);
    madt_lapic(zero, 0, 0, 1);
    zero.u8(1).u8(0).u16(0); // length 0 would loop forever
    EXPECT_EQ(parse(zero.finish()), Status::malformed);

    TableBuilder past("APIC", 1);
    madt_header(past);
    madt_lapic(past, 0, 0, 1);
    past.u8(1).u8(40).u16(0); // runs past the table end
    EXPECT_EQ(parse(past.finish()), Status::truncated);

    TableBuilder short_lapic("APIC", 1);
    madt_header(short_lapic);
    short_lapic.u8(0).u8(4).u8(0).u8(0); // a Local APIC entry needs 8 bytes
    EXPECT_EQ(parse(short_lapic.finish()), Status::malformed);

    TableBuilder dangling("APIC", 1);
    madt_header(dangling);
    madt_lapic(dangling, 0, 0, 1);
    dangling.u8(0); // one byte: no length field
    EXPECT_EQ(parse(dangling.finish()), Status::truncated);
}

TEST(AcpiBroken, NoEnabledCpu) {
    TableBuilder t("APIC", 1);
    madt_header(t);
    madt_lapic(t, 0, 0, 0);
    madt_lapic(t, 1, 1, 2); // online capable only: not running at boot
    EXPECT_EQ(parse(t.finish()), Status::not_found);
    TableBuilder empty("APIC", 1);
    madt_header(empty);
    EXPECT_EQ(parse(empty.finish()), Status::not_found);
}

TEST(AcpiBroken, TooManyCpusIsOverflowAndClears) {
    TableBuilder t("APIC", 1);
    madt_header(t);
    for (std::uint32_t i = 0; i <= max_cpus; ++i) madt_x2apic(t, i, i, 1);
    auto topo = make_topology();
    EXPECT_EQ(parse_topology(tables(t.finish()), *topo), Status::overflow);
    EXPECT_EQ(topo->num_cpus, 0u);
    EXPECT_EQ(topo->num_nodes, 0u);
}

TEST(AcpiBroken, TooManyNodesIsOverflow) {
    TableBuilder srat("SRAT", 2);
    srat_header(srat);
    for (std::uint32_t i = 0; i <= max_nodes; ++i) srat_mem(srat, 0x100000ull * i, 0x100000, i, 1);
    EXPECT_EQ(parse(two_cpu_madt(), srat.finish()), Status::overflow);
}

TEST(AcpiBroken, SratSubtableLengths) {
    TableBuilder zero("SRAT", 1);
    srat_header(zero);
    zero.u8(1).u8(0);
    EXPECT_EQ(parse(two_cpu_madt(), zero.finish()), Status::malformed);
    TableBuilder short_mem("SRAT", 1);
    srat_header(short_mem);
    short_mem.u8(1).u8(20).u64(0).u64(0).u16(0);
    EXPECT_EQ(parse(two_cpu_madt(), short_mem.finish()), Status::malformed);
    TableBuilder short_header("SRAT", 1);
    short_header.u32(1);
    EXPECT_EQ(parse(two_cpu_madt(), short_header.finish()), Status::truncated);
}

TEST(AcpiBroken, SlitProblemsFallBackToDefaults) {
    const ByteVec madt = two_cpu_madt();
    TableBuilder srat("SRAT", 1);
    srat_header(srat);
    srat_cpu(srat, 0, 0, 1);
    srat_cpu(srat, 1, 1, 1);
    srat_mem(srat, 0, 0x1000000, 0, 1);
    const ByteVec s = srat.finish();
    auto t = make_topology();

    struct Case {
        ByteVec slit;
        WarningCode code;
    };
    TableBuilder huge("SLIT", 1);
    huge.u64(1ull << 40).u8(10);
    TableBuilder none("SLIT", 1);
    none.u64(0);
    TableBuilder too_short("SLIT", 1);
    too_short.u64(3).u8(10).u8(20).u8(20).u8(10);
    const Case cases[] = {
        {huge.finish(), WarningCode::slit_bad_size},
        {none.finish(), WarningCode::slit_bad_size},
        {too_short.finish(), WarningCode::slit_bad_size},
        {slit({{10, 20}, {20, 0}}), WarningCode::slit_bad_distance},
        {slit({{10, 5}, {20, 10}}), WarningCode::slit_bad_distance},
        {slit({{10}}), WarningCode::slit_domain_too_large},
    };
    for (const Case& c : cases) {
        ASSERT_EQ(parse_topology(tables(madt, s, c.slit), *t), Status::ok);
        EXPECT_TRUE(has_warning(*t, c.code)) << static_cast<int>(c.code);
        EXPECT_FALSE(t->has_slit);
        EXPECT_EQ(t->distance[0][1], 20u);
        EXPECT_EQ(t->distance[1][1], 10u);
    }
    ByteVec bad = slit({{10, 20}, {20, 10}});
    bad[44] = 11;
    EXPECT_EQ(parse_topology(tables(madt, s, bad), *t), Status::bad_checksum);
}

TEST(AcpiBroken, CpuMissingFromSratGoesToNodeZero) {
    TableBuilder srat("SRAT", 1);
    srat_header(srat);
    srat_cpu(srat, 1, 5, 1);
    srat_cpu(srat, 0, 3, 0); // disabled entry for CPU 0: as if absent
    srat_mem(srat, 0, 0x1000000, 3, 1);
    srat_mem(srat, 0x1000000, 0x1000000, 7, 0); // disabled, with a length: no node 7
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(two_cpu_madt(), srat.finish()), *t), Status::ok);
    ASSERT_EQ(t->num_nodes, 2u);
    EXPECT_EQ(t->nodes[0].proximity, 3u);
    EXPECT_EQ(t->nodes[1].proximity, 5u);
    EXPECT_EQ(t->cpus[0].node, 0u);
    EXPECT_EQ(t->cpus[0].proximity, 3u);
    EXPECT_EQ(t->cpus[1].node, 1u);
    EXPECT_TRUE(has_warning(*t, WarningCode::cpu_without_srat_entry));
    EXPECT_EQ(t->nodes[1].nearest_mem_node, 0u);
    EXPECT_EQ(t->num_ranges, 1u);
}

TEST(AcpiBroken, SratWithNothingUsableActsAsAbsent) {
    TableBuilder srat("SRAT", 1);
    srat_header(srat);
    srat_cpu(srat, 99, 4, 1); // a CPU the MADT does not have
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(two_cpu_madt(), srat.finish()), *t), Status::ok);
    EXPECT_FALSE(t->has_srat);
    EXPECT_EQ(t->num_nodes, 1u);
    EXPECT_EQ(t->nodes[0].num_cpus, 2u);
    EXPECT_TRUE(has_warning(*t, WarningCode::srat_no_nodes));
}

TEST(AcpiQuirks, X2apicOverrideDuplicatesAndWideDomains) {
    TableBuilder madt("APIC", 4);
    madt_header(madt);
    madt_lapic(madt, 0, 0, 1);
    madt_x2apic(madt, 1, 300, 1);
    madt_x2apic(madt, 2, 301, 2); // online capable, not enabled
    madt_lapic(madt, 3, 0, 1);    // duplicate id
    madt.u8(5).u8(12).u16(0).u64(0xfed00000);
    TableBuilder srat("SRAT", 3);
    srat_header(srat);
    srat_cpu(srat, 0, 0x10002, 1); // wide domain: only meaningful from SRAT revision 2
    srat_x2apic(srat, 300, 0x10002, 1);
    srat_mem(srat, 0, 0x1000000, 0x10002, 1 | 2 | 4);
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(madt.finish(), srat.finish()), *t), Status::ok);
    EXPECT_EQ(t->lapic_address, 0xfed00000u);
    ASSERT_EQ(t->num_cpus, 2u);
    EXPECT_TRUE(t->cpus[1].x2apic);
    EXPECT_EQ(t->cpus[1].apic_id, 300u);
    EXPECT_EQ(t->cpus[1].acpi_uid, 1u);
    EXPECT_TRUE(has_warning(*t, WarningCode::duplicate_apic_id));
    ASSERT_EQ(t->num_nodes, 1u);
    EXPECT_EQ(t->nodes[0].proximity, 0x10002u);
    EXPECT_TRUE(t->ranges[0].hotplug);
    EXPECT_TRUE(t->ranges[0].nonvolatile);

    // Revision 1: the upper domain bytes are reserved and ignored.
    TableBuilder old("SRAT", 1);
    srat_header(old);
    srat_cpu(old, 0, 0x10002, 1);
    srat_mem(old, 0, 0x1000000, 0x10002, 1);
    ASSERT_EQ(parse_topology(tables(two_cpu_madt(), old.finish()), *t), Status::ok);
    EXPECT_EQ(t->nodes[0].proximity, 2u);
}

TEST(AcpiQuirks, WrappingAndOverlappingRangesWarn) {
    TableBuilder srat("SRAT", 2);
    srat_header(srat);
    srat_cpu(srat, 0, 0, 1);
    srat_cpu(srat, 1, 0, 1);
    srat_mem(srat, ~0ull - 10, 100, 0, 1);
    srat_mem(srat, 0x1000, 0x2000, 0, 1);
    srat_mem(srat, 0x0, 0x2000, 0, 1);
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(two_cpu_madt(), srat.finish()), *t), Status::ok);
    EXPECT_EQ(t->num_ranges, 2u);
    EXPECT_EQ(t->ranges[0].base, 0u);
    EXPECT_TRUE(has_warning(*t, WarningCode::srat_bad_memory_range));
    EXPECT_TRUE(has_warning(*t, WarningCode::srat_memory_overlap));
}

} // namespace
} // namespace myr::acpi::test
