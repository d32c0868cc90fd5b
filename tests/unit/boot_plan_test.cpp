// The boot core's per-core memory plan (cpudriver/include/myr/kernel/boot_plan.hpp): page-table
// frame counts, and the whole plan for every core of a 1 TiB, 8-node machine placed with the
// same PhysMemory the kernel uses.
#include <myr/kernel/boot_plan.hpp>
#include <myr/kernel/frame_allocator.hpp>
#include <myr/kernel/phys_memory.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using namespace myr;
using namespace myr::kernel;

namespace {

constexpr std::uint64_t kib = 1024, mib = kib * 1024, gib = mib * 1024;
constexpr std::uint64_t image_virt = 0xffffffff80100000ull;  // KERNEL_VBASE + 1 MiB (linker.ld)
constexpr std::uint64_t direct_map = 0xffff800000000000ull;

} // namespace

TEST(BootPlan, CountsTablesPerLevel) {
    // One 4 KiB page: PML4, PDPT, PD, PT.
    const TableMapping one[] = {{0x1000, 4096, 4096}};
    EXPECT_EQ(table_frames(one), 4u);
    // 2 MiB pages need no PT; 1 GiB pages no PD.
    const TableMapping big[] = {{0, 4 * gib, 2 * mib}};
    EXPECT_EQ(table_frames(big), 1u + 1 + 4);
    const TableMapping huge[] = {{0, 4 * gib, gib}};
    EXPECT_EQ(table_frames(huge), 1u + 1);
    // Ranges that share a table count it once; a range across a 2 MiB boundary needs two PTs.
    const TableMapping shared[] = {{0x1000, 4096, 4096}, {0x5000, 4096, 4096}, {0x1ff000, 0x2000, 4096}};
    EXPECT_EQ(table_frames(shared), 1u + 1 + 1 + 2);
    // Across a 512 GiB boundary: two PDPTs, two PDs.
    const TableMapping wide[] = {{512 * gib - 2 * mib, 4 * mib, 2 * mib}};
    EXPECT_EQ(table_frames(wide), 1u + 2 + 2);
}

TEST(BootPlan, SmallMachinesKeepTheOldPool) {
    const CoreMemoryPlan p = plan_core_memory({4 * gib, image_virt, 3 * mib, direct_map, 8, 1152, 512 * kib});
    // PML4; PDPTs: direct map, image, identity; PDs: 4 + 1 + 1; PTs: the image's two 2 MiB regions.
    EXPECT_EQ(p.table_frames, 1u + 3 + 6 + 2);
    EXPECT_EQ(p.table_pool, 512 * kib);
    EXPECT_EQ(p.inbox, 12 * kib);  // 8 x 1152 bytes, rounded up to pages
}

// 1 TiB over 8 nodes of 128 GiB, as QEMU lays it out on q35: RAM below 2 GiB, the PCI hole,
// the rest from 4 GiB. 512 CPUs (acpi::max_cpus), 64 per node.
TEST(BootPlan, OneTebibyteEightNodes) {
    constexpr std::uint32_t nodes = 8, cpus = 512;
    constexpr std::uint64_t per_node = 128 * gib, total = nodes * per_node;
    auto topo = std::make_unique<acpi::Topology>();
    topo->has_srat = true;
    topo->num_nodes = nodes;
    topo->num_cpus = cpus;
    for (std::uint32_t i = 0; i < cpus; ++i) topo->cpus[i] = {i, i, i / 64, static_cast<std::uint16_t>(i / 64), i > 254};
    // Node 0: [0, 640 KiB), [1 MiB, 2 GiB), [4 GiB, 130 GiB); node k: the next 128 GiB.
    auto add_range = [&](std::uint64_t base, std::uint64_t len, std::uint32_t node) {
        topo->ranges[topo->num_ranges++] = {base, len, node, static_cast<std::uint16_t>(node), false, false};
    };
    add_range(0, 0xa0000, 0);
    add_range(0x100000, 2 * gib - 0x100000, 0);
    add_range(4 * gib, per_node - 2 * gib, 0);
    for (std::uint32_t n = 1; n < nodes; ++n) add_range(4 * gib + n * per_node - 2 * gib, per_node, n);
    for (std::uint32_t n = 0; n < nodes; ++n) topo->nodes[n] = {n, 64, per_node, static_cast<std::uint16_t>(n)};

    auto boot = std::make_unique<BootInfo>();
    boot->memory[boot->num_memory++] = {0, 0x9fc00, 1};
    boot->memory[boot->num_memory++] = {0x100000, 2 * gib - 0x100000, 1};
    boot->memory[boot->num_memory++] = {4 * gib, total - 2 * gib, 1};
    auto usable = std::make_unique<PhysMemory>();
    ASSERT_EQ(usable->build(*boot, *topo), Status::ok);
    auto mem = std::make_unique<PhysMemory>(*usable);
    ASSERT_EQ(mem->reserve({0, 0x100000}), Status::ok);

    const std::uint64_t ram_top = 4 * gib + total - 2 * gib;  // already a GiB multiple
    const std::uint64_t image = 3 * mib;
    const CoreMemoryPlan p = plan_core_memory({ram_top, image_virt, image, direct_map, cpus, 1152, 512 * kib});
    // PML4; PDPTs: 3 for the direct map (1026 GiB spans three 512 GiB slots) + image + identity;
    // PDs: 1026 + image + identity; PTs: the image's two 2 MiB regions.
    EXPECT_EQ(p.table_frames, 1u + 5 + 1028 + 2);
    EXPECT_GT(p.table_frames, 512 * kib / 4096) << "the old fixed 512 KiB pool would have run out (the panic this replaces)";
    EXPECT_EQ(p.table_pool, (p.table_frames + 16) * 4096);
    EXPECT_EQ(p.inbox, (1152ull * cpus + 4095) / 4096 * 4096);

    std::uint64_t share[nodes];
    for (std::uint32_t n = 0; n < nodes; ++n) {
        share[n] = user_pool_share(mem->free_bytes(n), 64, p.kernel_total, std::uint64_t{max_pool_frames} * 4096);
        EXPECT_EQ(share[n], std::uint64_t{max_pool_frames} * 4096) << "128 GiB per node: every core gets the cap";
    }
    // Place every core's memory the way boot.cpp does; all of it must fit, on the core's node,
    // without overlaps.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> taken;
    for (std::uint32_t i = 0; i < cpus; ++i) {
        const std::uint32_t n = i / 64;
        const auto c = place_core_memory(*mem, n, p, image, 512 * kib, share[n]);
        ASSERT_TRUE(c.ok()) << "core " << i << ": " << to_string(c.status());
        EXPECT_EQ(c->user_pool_bytes, share[n]);
        EXPECT_EQ(c->chan_pool % (512 * kib), 0u);
        EXPECT_EQ(c->image % (64 * kib), 0u);
        EXPECT_EQ(c->user_pool % (64 * kib), 0u);
        EXPECT_EQ(c->region % (2 * mib), 0u);
        EXPECT_EQ(c->region_bytes % (2 * mib), 0u);
        const std::pair<std::uint64_t, std::uint64_t> kernel[] = {{c->user_pool, share[n]}, {c->image, image},
                                                                  {c->tables, p.table_pool}};
        for (const auto& [at, size] : kernel)
            EXPECT_TRUE(at >= c->region && at + size <= c->region + c->region_bytes) << "core " << i << ": kernel part outside its region";
        for (const std::uint64_t at : {c->chan_pool, c->inbox})
            EXPECT_GE(at, c->region + c->region_bytes) << "core " << i << ": channel memory inside its kernel region";
        const std::pair<std::uint64_t, std::uint64_t> parts[] = {{c->chan_pool, 512 * kib}, {c->user_pool, share[n]},
                                                                 {c->image, image}, {c->tables, p.table_pool}, {c->inbox, p.inbox}};
        for (const auto& [at, size] : parts) {
            EXPECT_TRUE(usable->contains(n, {at, at + size})) << "core " << i << " placed off its node";
            for (const auto& [tb, ts] : taken) ASSERT_FALSE(at < tb + ts && tb < at + size) << "core " << i << " overlaps";
            taken.push_back({at, size});
        }
    }
    for (std::uint32_t n = 0; n < nodes; ++n) EXPECT_GT(mem->free_bytes(n), 64 * gib) << "node " << n;
}

// Separate aligned allocations per core (the old boot loop) left an alignment gap per core, and a
// node holds at most max_ranges_per_node free ranges: 64 cores on one node stopped boot at core
// 30 ("no memory for core 30's channel pool"). One block per core leaves none.
TEST(BootPlan, ManyCoresOnOneNodeDoNotFragment) {
    auto topo = std::make_unique<acpi::Topology>();
    topo->num_nodes = 1;
    auto boot = std::make_unique<BootInfo>();
    boot->memory[boot->num_memory++] = {0x100000, 2 * gib - 0x100000, 1};
    boot->memory[boot->num_memory++] = {4 * gib, 58 * gib, 1};
    auto mem = std::make_unique<PhysMemory>();
    ASSERT_EQ(mem->build(*boot, *topo), Status::ok);
    const std::uint64_t image = 0x65000;  // about today's image, bss included
    const CoreMemoryPlan p = plan_core_memory({64 * gib, image_virt, image, direct_map, 255, 1152, 512 * kib});
    const std::uint64_t share = user_pool_share(mem->free_bytes(0), 255, p.kernel_total, 64 * mib);
    EXPECT_EQ(share, 64 * mib);
    for (std::uint32_t i = 0; i < 255; ++i) {
        const auto c = place_core_memory(*mem, 0, p, image, 512 * kib, share);
        ASSERT_TRUE(c.ok()) << "core " << i << ": " << to_string(c.status());
    }
    // At most the gap before the first 2 MiB boundary of the low range, never one per core.
    EXPECT_LE(mem->ranges(0).size(), 3u);
}

// A node too small for a user pool still takes the core's kernel memory (domains are optional).
TEST(BootPlan, UserPoolIsOptional) {
    auto topo = std::make_unique<acpi::Topology>();
    topo->num_nodes = 1;
    auto boot = std::make_unique<BootInfo>();
    boot->memory[boot->num_memory++] = {0x100000, 6 * mib, 1};  // 4 MiB aligned: one core's kernel + channel parts only
    auto mem = std::make_unique<PhysMemory>();
    ASSERT_EQ(mem->build(*boot, *topo), Status::ok);
    const CoreMemoryPlan p = plan_core_memory({gib, image_virt, 0x65000, direct_map, 1, 1152, 512 * kib});
    const auto c = place_core_memory(*mem, 0, p, 0x65000, 512 * kib, 64 * mib);
    ASSERT_TRUE(c.ok()) << to_string(c.status());
    EXPECT_EQ(c->user_pool_bytes, 0u);
    EXPECT_EQ(place_core_memory(*mem, 0, p, 0x65000, 512 * kib, 0).status(), Status::no_memory);
    EXPECT_EQ(place_core_memory(*mem, 0, p, 0x65000, 512 * kib, 1000).status(), Status::invalid_argument);
}

TEST(BootPlan, UserPoolShare) {
    EXPECT_EQ(user_pool_share(100 * mib, 0, mib, 64 * mib), 0u);
    EXPECT_EQ(user_pool_share(4 * mib, 4, mib, 64 * mib), 0u);  // nothing left after the kernels
    // (100 - 4x10) MiB / 2 / 4 = 7.5 MiB, in 64 KiB units.
    EXPECT_EQ(user_pool_share(100 * mib, 4, 10 * mib, 64 * mib), 15 * mib / 2);
    EXPECT_EQ(user_pool_share(100 * gib, 4, 10 * mib, 64 * mib), 64 * mib);
}

TEST(BootPlan, RamPoolPlacement) {
    auto topo = std::make_unique<acpi::Topology>();
    topo->num_nodes = 1;
    auto boot = std::make_unique<BootInfo>();
    boot->memory[boot->num_memory++] = {0x100000, 63 * mib, 1};
    auto mem = std::make_unique<PhysMemory>();
    ASSERT_EQ(mem->build(*boot, *topo), Status::ok);
    EXPECT_EQ(place_ram_pool(*mem, 0, 0).size(), 0u);          // the default: no pool
    const PhysRange r = place_ram_pool(*mem, 0, 3);            // 3 MiB -> 4 MiB, 2 MiB aligned
    EXPECT_EQ(r.size(), 4 * mib);
    EXPECT_EQ(r.base % (2 * mib), 0u);
    const PhysRange again = place_ram_pool(*mem, 0, 4);        // disjoint from the first
    EXPECT_TRUE(again.end <= r.base || again.base >= r.end);
    EXPECT_EQ(place_ram_pool(*mem, 0, 1024).size(), 0u);       // more than the node has: none, no failure
    EXPECT_EQ(place_ram_pool(*mem, 1, 4).size(), 0u);          // a node without memory: none
    EXPECT_EQ(place_ram_pool(*mem, 0, ~0ull).size(), 0u);      // no wrap-around of mib * 2^20
}

TEST(BootPlan, RamBlockRule) {
    const PhysRange pools[] = {{0x4000'0000, 0x4040'0000}, {0, 0}, {0x8000'0000, 0x8020'0000}};
    EXPECT_EQ(check_ram_block(pools, 0x4000'0000, 12), Status::ok);
    EXPECT_EQ(check_ram_block(pools, 0x4000'0000, 22), Status::ok);       // the whole first pool
    EXPECT_EQ(check_ram_block(pools, 0x403f'f000, 12), Status::ok);       // its last page
    EXPECT_EQ(check_ram_block(pools, 0x8010'0000, 20), Status::ok);       // the second pool
    EXPECT_EQ(check_ram_block(pools, 0x4040'0000, 12), Status::out_of_range);  // just past the end
    EXPECT_EQ(check_ram_block(pools, 0x3fff'f000, 12), Status::out_of_range);  // just before the base
    EXPECT_EQ(check_ram_block(pools, 0x4000'0000, 23), Status::out_of_range);  // straddles the end
    EXPECT_EQ(check_ram_block(pools, 0x8000'0000, 22), Status::out_of_range);  // straddles (4 MiB on 2)
    EXPECT_EQ(check_ram_block(pools, 0, 12), Status::out_of_range);            // the empty entry is no pool
    EXPECT_EQ(check_ram_block(pools, 0x4000'1000, 13), Status::invalid_argument);  // misaligned
    EXPECT_EQ(check_ram_block(pools, 0x4000'0800, 12), Status::invalid_argument);
    EXPECT_EQ(check_ram_block(pools, 0x4000'0000, 0), Status::invalid_argument);   // zero / tiny sizes
    EXPECT_EQ(check_ram_block(pools, 0x4000'0000, 11), Status::invalid_argument);
    EXPECT_EQ(check_ram_block(pools, 0, 64), Status::invalid_argument);            // no shift past 63
    EXPECT_EQ(check_ram_block(pools, 0xffff'ffff'ffff'f000, 12), Status::out_of_range);
    EXPECT_EQ(check_ram_block({}, 0x4000'0000, 12), Status::out_of_range);
}
