// Tables as QEMU 7.2 (SeaBIOS, q35) builds them for
//   -smp 12,sockets=2,cores=3,threads=2 -numa node,mem=1G -numa node,mem=1G -numa dist,...=21
// and the RSDP / RSDT / XSDT walk through a fake physical memory image.
#include "acpi_test_util.hpp"

#include <myr/acpi/discovery.hpp>

#include <cstring>

namespace myr::acpi::test {
namespace {

// APIC ids of that -smp: 3 cores round up to 4 id slots, so socket 1 starts at 8.
constexpr std::uint32_t qemu_apic_ids[12] = {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13};

ByteVec qemu_madt() {
    TableBuilder t("APIC", 1);
    madt_header(t);
    for (std::uint32_t i = 0; i < 12; ++i) madt_lapic(t, i, qemu_apic_ids[i], 1);
    t.u8(1).u8(12).u8(0).u8(0).u32(0xfec00000).u32(0);     // I/O APIC (§5.2.12.3)
    t.u8(2).u8(10).u8(0).u8(0).u32(2).u16(0);              // IRQ0 -> GSI2 (§5.2.12.5)
    for (std::uint32_t irq : {5u, 9u, 10u, 11u}) t.u8(2).u8(10).u8(0).u8(irq).u32(irq).u16(0xd);
    t.u8(4).u8(6).u8(0xff).u16(0).u8(1);                   // LAPIC NMI on LINT1 (§5.2.12.7)
    return t.finish();
}

ByteVec qemu_srat() {
    TableBuilder t("SRAT", 1);
    srat_header(t);
    for (std::uint32_t i = 0; i < 12; ++i) srat_cpu(t, qemu_apic_ids[i], i < 6 ? 0 : 1, 1);
    srat_mem(t, 0, 0xa0000, 0, 1);                         // node 0 below the legacy hole
    srat_mem(t, 0x100000, 0x40000000 - 0x100000, 0, 1);    // ... and above 1 MiB
    srat_mem(t, 0x40000000, 0x40000000, 1, 1);
    srat_mem(t, 0, 0, 0, 0);                               // QEMU's empty disabled entries
    srat_mem(t, 0, 0, 0, 0);
    return t.finish();
}

ByteVec qemu_slit() { return slit({{10, 21}, {21, 10}}); }

TEST(AcpiQemu, NonContiguousApicIdsIndexedByMadtOrder) {
    const ByteVec madt = qemu_madt(), srat = qemu_srat(), sl = qemu_slit();
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(madt, srat, sl), *t), Status::ok);
    ASSERT_EQ(t->num_cpus, 12u);
    for (std::uint32_t i = 0; i < 12; ++i) {
        EXPECT_EQ(t->cpus[i].apic_id, qemu_apic_ids[i]);
        EXPECT_EQ(t->cpus[i].acpi_uid, i);
        EXPECT_EQ(t->cpus[i].node, i < 6 ? 0 : 1);
    }
    ASSERT_EQ(t->num_nodes, 2u);
    EXPECT_EQ(t->nodes[0].num_cpus, 6u);
    EXPECT_EQ(t->nodes[1].num_cpus, 6u);
    ASSERT_EQ(t->num_ranges, 3u);
    EXPECT_EQ(t->ranges[0].length, 0xa0000u);
    EXPECT_EQ(t->ranges[1].base, 0x100000u);
    EXPECT_EQ(t->ranges[2].node, 1u);
    EXPECT_EQ(t->nodes[0].mem_bytes, 0x40000000u - 0x60000u);
    EXPECT_EQ(t->nodes[1].mem_bytes, 0x40000000u);
    EXPECT_TRUE(t->has_slit);
    EXPECT_EQ(t->distance[0][1], 21u);
    EXPECT_EQ(t->distance[1][0], 21u);
    EXPECT_EQ(t->num_warnings, 0u);
}

TEST(AcpiQemu, NoSlitUnlessDistancesGiven) {
    const ByteVec madt = qemu_madt(), srat = qemu_srat();
    auto t = make_topology();
    ASSERT_EQ(parse_topology(tables(madt, srat), *t), Status::ok);
    EXPECT_FALSE(t->has_slit);
    EXPECT_EQ(t->distance[0][1], 20u);
    EXPECT_EQ(t->num_warnings, 0u);
}

// A sparse physical memory image: reads outside it fail like unmapped memory.
struct FakeMemory {
    ByteVec image = ByteVec(0x200000, 0);

    void put(std::uint64_t phys, const ByteVec& bytes) {
        std::memcpy(image.data() + phys, bytes.data(), bytes.size());
    }
    PhysReader reader() {
        return PhysReader{this, [](void* ctx, std::uint64_t phys, std::uint8_t* dst, std::size_t len) {
                              auto* self = static_cast<FakeMemory*>(ctx);
                              if (phys > self->image.size() || self->image.size() - phys < len)
                                  return false;
                              std::memcpy(dst, self->image.data() + phys, len);
                              return true;
                          }};
    }
};

void fix_rsdp_checksums(ByteVec& rsdp) {
    auto sum = [&](std::size_t n) {
        std::uint8_t s = 0;
        for (std::size_t i = 0; i < n; ++i) s = static_cast<std::uint8_t>(s + rsdp[i]);
        return s;
    };
    rsdp[8] = 0;
    rsdp[8] = static_cast<std::uint8_t>(0x100 - sum(20));
    if (rsdp.size() >= 36) {
        rsdp[32] = 0;
        rsdp[32] = static_cast<std::uint8_t>(0x100 - sum(rsdp.size()));
    }
}

// ACPI 6.5 §5.2.5.3: "RSD PTR ", checksum, OEM id, revision, RSDT (+ length, XSDT, ext. checksum).
ByteVec make_rsdp(std::uint8_t revision, std::uint32_t rsdt, std::uint64_t xsdt) {
    ByteVec r;
    for (char c : std::string("RSD PTR ")) r.push_back(static_cast<std::uint8_t>(c));
    r.push_back(0);
    for (char c : std::string("BOCHS ")) r.push_back(static_cast<std::uint8_t>(c));
    r.push_back(revision);
    for (int i = 0; i < 4; ++i) r.push_back(static_cast<std::uint8_t>(rsdt >> (8 * i)));
    if (revision >= 2) {
        for (int i = 0; i < 4; ++i) r.push_back(static_cast<std::uint8_t>(36u >> (8 * i)));
        for (int i = 0; i < 8; ++i) r.push_back(static_cast<std::uint8_t>(xsdt >> (8 * i)));
        r.insert(r.end(), {0, 0, 0, 0});
    }
    fix_rsdp_checksums(r);
    return r;
}

constexpr std::uint64_t rsdp_at = 0xf6a40; // where SeaBIOS tends to put it
constexpr std::uint64_t rsdt_at = 0x100000;
constexpr std::uint64_t xsdt_at = 0x100800;
constexpr std::uint64_t facp_at = 0x101000, madt_at = 0x102000, srat_at = 0x103000,
                        slit_at = 0x104000;

// QEMU's layout: RSDP rev 0 in the BIOS area, an RSDT listing FACP, APIC, SRAT, SLIT.
FakeMemory qemu_memory(bool with_xsdt) {
    FakeMemory mem;
    TableBuilder facp("FACP", 1);
    facp.u64(0);
    mem.put(facp_at, facp.finish());
    mem.put(madt_at, qemu_madt());
    mem.put(srat_at, qemu_srat());
    mem.put(slit_at, qemu_slit());
    TableBuilder rsdt("RSDT", 1);
    for (std::uint64_t a : {facp_at, madt_at, srat_at, slit_at}) rsdt.u32(a);
    mem.put(rsdt_at, rsdt.finish());
    if (with_xsdt) {
        TableBuilder xsdt("XSDT", 1);
        for (std::uint64_t a : {facp_at, madt_at, srat_at, slit_at}) xsdt.u64(a);
        mem.put(xsdt_at, xsdt.finish());
        mem.put(rsdp_at, make_rsdp(2, rsdt_at, xsdt_at));
    } else {
        mem.put(rsdp_at, make_rsdp(0, rsdt_at, 0));
    }
    return mem;
}

TEST(AcpiDiscovery, Revision0RsdpAndRsdt) {
    FakeMemory mem = qemu_memory(false);
    auto rsdp = find_rsdp(mem.reader());
    ASSERT_TRUE(rsdp.ok());
    EXPECT_EQ(*rsdp, rsdp_at);

    std::vector<std::uint8_t> buffer(16384);
    TableSet set;
    ASSERT_EQ(load_tables(mem.reader(), *rsdp, buffer, set), Status::ok);
    EXPECT_EQ(ByteVec(set.madt.begin(), set.madt.end()), qemu_madt());
    EXPECT_EQ(ByteVec(set.srat.begin(), set.srat.end()), qemu_srat());
    EXPECT_EQ(ByteVec(set.slit.begin(), set.slit.end()), qemu_slit());
    auto t = make_topology();
    ASSERT_EQ(parse_topology(set, *t), Status::ok);
    EXPECT_EQ(t->num_cpus, 12u);
    EXPECT_EQ(t->num_nodes, 2u);
}

TEST(AcpiDiscovery, XsdtPreferredOverRsdt) {
    FakeMemory mem = qemu_memory(true);
    // Break the RSDT: with a usable XSDT it must not even be read.
    mem.image[rsdt_at + 9] ^= 0xff;
    auto rsdp = find_rsdp(mem.reader());
    ASSERT_TRUE(rsdp.ok());
    std::vector<std::uint8_t> buffer(16384);
    TableSet set;
    ASSERT_EQ(load_tables(mem.reader(), *rsdp, buffer, set), Status::ok);
    EXPECT_FALSE(set.madt.empty());
    EXPECT_FALSE(set.srat.empty());
    EXPECT_FALSE(set.slit.empty());

    // A bad extended checksum makes the revision-2 RSDP invalid.
    mem.image[rsdp_at + 33] ^= 1;
    EXPECT_EQ(find_rsdp(mem.reader()).status(), Status::not_found);
}

TEST(AcpiDiscovery, EbdaScannedFirstAndBadCandidatesSkipped) {
    FakeMemory mem = qemu_memory(false);
    constexpr std::uint64_t ebda = 0x9fc00;
    mem.image[0x40e] = static_cast<std::uint8_t>((ebda >> 4) & 0xff);
    mem.image[0x40f] = static_cast<std::uint8_t>(ebda >> 12);
    ByteVec bad = make_rsdp(0, rsdt_at, 0);
    bad[8] ^= 1;
    mem.put(ebda, bad);                               // signature, wrong checksum: skipped
    mem.put(ebda + 0x20, make_rsdp(0, rsdt_at, 0));   // the valid one
    auto rsdp = find_rsdp(mem.reader());
    ASSERT_TRUE(rsdp.ok());
    EXPECT_EQ(*rsdp, ebda + 0x20);
}

TEST(AcpiDiscovery, Errors) {
    FakeMemory empty;
    EXPECT_EQ(find_rsdp(empty.reader()).status(), Status::not_found);

    FakeMemory mem = qemu_memory(false);
    TableSet set;
    std::vector<std::uint8_t> small(100);
    EXPECT_EQ(load_tables(mem.reader(), rsdp_at, small, set), Status::no_memory);
    EXPECT_TRUE(set.madt.empty());

    std::vector<std::uint8_t> buffer(16384);
    mem.image[srat_at + 50] ^= 0x5a; // corrupt the SRAT body
    EXPECT_EQ(load_tables(mem.reader(), rsdp_at, buffer, set), Status::bad_checksum);

    FakeMemory bad_root = qemu_memory(false);
    bad_root.image[rsdt_at + 9] ^= 1;
    EXPECT_EQ(load_tables(bad_root.reader(), rsdp_at, buffer, set), Status::bad_checksum);

    // A root entry pointing outside memory: the reader's failure is an error value.
    FakeMemory wild = qemu_memory(false);
    TableBuilder rsdt("RSDT", 1);
    rsdt.u32(0xfffff000);
    wild.put(rsdt_at, rsdt.finish());
    EXPECT_EQ(load_tables(wild.reader(), rsdp_at, buffer, set), Status::out_of_range);

    // Not an RSDP at all.
    EXPECT_EQ(load_tables(mem.reader(), 0x1000, buffer, set), Status::malformed);
}

} // namespace
} // namespace myr::acpi::test
