// The share-nothing direct map and its audit (myr/kernel/share_nothing.hpp) on a fake arena:
// a direct map that leaves out other cores' kernel regions has no writable foreign frame, the
// full direct map of today has every one of them, and the walk honours W at every level.
#include <myr/kernel/page_tables.hpp>
#include <myr/kernel/share_nothing.hpp>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

using namespace myr;
using namespace myr::kernel;

namespace {

constexpr std::uint64_t base = 0xffff800000000000ull;
constexpr std::uint64_t mib2 = 2ull << 20;
constexpr PhysRange no_mmio{0, 0};

class FakeFrames final : public FrameSource {
public:
    Result<std::uint64_t> alloc_zeroed_frame() override {
        const std::uint64_t phys = 0x7000000000ull + 0x1000 * m_frames.size();
        m_frames[phys] = std::make_unique<std::uint64_t[]>(512);
        return phys;
    }
    std::uint64_t* table(std::uint64_t phys) override { return m_frames.at(phys).get(); }

private:
    std::map<std::uint64_t, std::unique_ptr<std::uint64_t[]>> m_frames;
};

} // namespace

TEST(ShareNothing, NormalisesSortsAndMerges) {
    std::vector<PhysRange> r{{0x5000, 0x6000}, {0x1000, 0x2000}, {0x2000, 0x3000}, {0x8000, 0x8000}, {0x1800, 0x2800}};
    const std::size_t n = normalise_ranges(r);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(r[0].base, 0x1000u);
    EXPECT_EQ(r[0].end, 0x3000u);
    EXPECT_EQ(r[1].base, 0x5000u);
    EXPECT_EQ(r[1].end, 0x6000u);
}

// Four cores, each with a 2 MiB-aligned private region; core 1 builds its direct map without the
// other three. Its audit finds nothing writable of theirs; its own region is still mapped.
TEST(ShareNothing, DirectMapLeavesOutOtherCoresRegions) {
    const std::uint64_t top = 1ull << 30;
    std::vector<PhysRange> region{{0x1000000, 0x1400000}, {0x1400000, 0x1800000}, {0x20000000, 0x20200000},
                                  {0x30000000, 0x30600000}};
    // What "belongs to another core's kernel" inside each region (the audit's precise ranges):
    // the image copy, the page-table pool, the user pool, with gaps between them.
    auto kernel_frames = [&](unsigned core) {
        const std::uint64_t b = region[core].base;
        return std::vector<PhysRange>{{b, b + 0x90000}, {b + 0x90000, b + 0x110000}, {b + 0x120000, region[core].end}};
    };
    std::vector<PhysRange> others, foreign;
    for (unsigned c = 0; c < 4; ++c) {
        if (c == 1) continue;
        others.push_back(region[c]);
        for (const PhysRange& r : kernel_frames(c)) foreign.push_back(r);
    }
    foreign.resize(normalise_ranges(foreign));
    others.resize(normalise_ranges(others));

    FakeFrames frames;
    auto pt = PageTables::create(frames);
    ASSERT_TRUE(pt.ok());
    ASSERT_EQ(map_direct(*pt, base, top, others, {0xfe000000, 1ull << 32}), Status::ok);
    EXPECT_EQ(count_writable_frames(frames, pt->root(), foreign), 0u);
    for (const PhysRange& r : others)
        for (std::uint64_t p = r.base; p < r.end; p += mib2)
            EXPECT_EQ(pt->translate(base + p).status(), Status::not_found) << std::hex << p;
    const auto own = pt->translate(base + region[1].base + 0x1234);
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(own->phys, region[1].base + 0x1234);
    EXPECT_TRUE(own->flags & pte::writable);
    EXPECT_TRUE(pt->translate(base + 0x3fe00000).ok()) << "memory of no core stays mapped";

    // The negative control: today's direct map (everything writable) counts every foreign frame.
    FakeFrames all_frames;
    auto full = PageTables::create(all_frames);
    ASSERT_TRUE(full.ok());
    ASSERT_EQ(map_direct(*full, base, top, {}, no_mmio), Status::ok);
    std::uint64_t expect = 0;
    for (const PhysRange& r : foreign) expect += (r.end - r.base) / 4096;
    EXPECT_EQ(count_writable_frames(all_frames, full->root(), foreign), expect);
}

TEST(ShareNothing, UnalignedExclusionCostsWholePagesAndMmioIsUncached) {
    FakeFrames frames;
    auto pt = PageTables::create(frames);
    ASSERT_TRUE(pt.ok());
    const std::vector<PhysRange> ex{{0x3ff000, 0x401000}};  // straddles the 2 MiB boundary at 4 MiB
    ASSERT_EQ(map_direct(*pt, base, 16 * mib2, ex, {0x1000000, 0x1200000}), Status::ok);
    EXPECT_EQ(pt->translate(base + 0x200000).status(), Status::not_found);
    EXPECT_EQ(pt->translate(base + 0x400000).status(), Status::not_found);
    EXPECT_TRUE(pt->translate(base + 0x600000).ok());
    const auto mmio = pt->translate(base + 0x1000000);
    ASSERT_TRUE(mmio.ok());
    EXPECT_TRUE(mmio->flags & pte::cache_disable);
    EXPECT_FALSE(pt->translate(base + 0xe00000)->flags & pte::cache_disable);
    EXPECT_EQ(map_direct(*pt, base, mib2 + 4096, {}, no_mmio), Status::invalid_argument);
}

// The audit counts effective write access: W must be set at every level, and 4 KiB leaves count
// only their own frame.
TEST(ShareNothing, AuditHonoursWritableAtEveryLevel) {
    FakeFrames frames;
    auto pt = PageTables::create(frames);
    ASSERT_TRUE(pt.ok());
    const std::vector<PhysRange> foreign{{0x200000, 0x400000}};
    ASSERT_EQ(pt->map(0xffffffff80000000ull, 0x200000, 0x3000, pte::writable, 4096), Status::ok);
    ASSERT_EQ(pt->map(0xffffffff80100000ull, 0x300000, 0x1000, 0, 4096), Status::ok);  // read-only leaf
    ASSERT_EQ(pt->map(0x40000000, 0x800000, mib2, pte::writable, mib2), Status::ok);   // not foreign
    EXPECT_EQ(count_writable_frames(frames, pt->root(), foreign), 3u);
    // The same frames twice: two ways to write them.
    ASSERT_EQ(pt->map(0x80000000, 0x200000, mib2, pte::writable, mib2), Status::ok);
    EXPECT_EQ(count_writable_frames(frames, pt->root(), foreign), 3u + 512u);
    // Clearing W in the PML4 entry above the 2 MiB mapping makes it read-only as a whole.
    auto top = pt->entry(0x80000000, 3);
    ASSERT_TRUE(top.ok());
    **top &= ~pte::writable;
    EXPECT_EQ(count_writable_frames(frames, pt->root(), foreign), 3u);
}
