// Host tests of the CPU driver's pure logic: multiboot parsing, the per-node physical memory
// plan, page-table building and walking, kernel options, and the log formatter.
#include <myr/format.hpp>
#include <myr/kernel/frame_allocator.hpp>
#include <myr/kernel/multiboot.hpp>
#include <myr/kernel/options.hpp>
#include <myr/kernel/page_tables.hpp>
#include <myr/kernel/phys_memory.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace myr;
using namespace myr::kernel;

namespace {

// A fake low-memory image with helpers to place multiboot structures.
struct FakeMemory {
    std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(0x20000, 0);
    void put32(std::size_t at, std::uint32_t v) { std::memcpy(&bytes[at], &v, 4); }
    void put64(std::size_t at, std::uint64_t v) { std::memcpy(&bytes[at], &v, 8); }
    void put_str(std::size_t at, const char* s) { std::memcpy(&bytes[at], s, std::strlen(s) + 1); }
    Bytes view() const { return {bytes.data(), bytes.size()}; }
};

constexpr std::uint32_t info_at = 0x9500;

FakeMemory qemu_like_info() {
    FakeMemory m;
    m.put32(info_at + 0, (1u << 2) | (1u << 6));  // cmdline, mmap
    m.put32(info_at + 16, 0x9000);
    m.put_str(0x9000, "/boot/kernel timer_hz=250 config=2s4c");
    const std::uint64_t map[][3] = {{0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0x100000, 0x1fee0000, 1}, {0xfffc0000, 0x40000, 2}};
    std::size_t off = 0x9800;
    for (const auto& e : map) {
        m.put32(off, 20);
        m.put64(off + 4, e[0]);
        m.put64(off + 12, e[1]);
        m.put32(off + 20, static_cast<std::uint32_t>(e[2]));
        off += 24;
    }
    m.put32(info_at + 44, 24 * 4);
    m.put32(info_at + 48, 0x9800);
    return m;
}

} // namespace

TEST(Multiboot, ParsesCmdlineAndMemoryMap) {
    const FakeMemory m = qemu_like_info();
    BootInfo info{};
    ASSERT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::ok);
    EXPECT_STREQ(info.cmdline, "/boot/kernel timer_hz=250 config=2s4c");
    ASSERT_EQ(info.num_memory, 4u);
    EXPECT_EQ(info.memory[2].base, 0x100000u);
    EXPECT_EQ(info.memory[2].length, 0x1fee0000u);
    EXPECT_EQ(info.memory[1].type, 2u);
}

TEST(Multiboot, RejectsBadInput) {
    FakeMemory m = qemu_like_info();
    BootInfo info{};
    EXPECT_EQ(parse_multiboot(m.view(), 0x12345678, info_at, info), Status::invalid_argument);
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, 0x1fff0, info), Status::truncated);
    m.put32(info_at + 44, 0x100000);  // memory map length beyond memory
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::truncated);
    m = qemu_like_info();
    m.put32(0x9800, 3);  // entry size too small to hold an entry: would loop or misread
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::malformed);
    m = qemu_like_info();
    m.put32(info_at + 0, 1u << 2);  // no memory map
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::not_found);
    m = qemu_like_info();
    std::memset(&m.bytes[0x1ff00], 'x', m.bytes.size() - 0x1ff00);  // unterminated command line
    m.put32(info_at + 16, 0x1ff00);
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::truncated);
    m = qemu_like_info();
    std::memset(&m.bytes[0x1e000], 'x', kernel_cmdline_bytes);  // terminated, but longer than BootInfo holds
    m.bytes[0x1e000 + kernel_cmdline_bytes] = 0;
    m.put32(info_at + 16, 0x1e000);
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::overflow);
    m.bytes[0x1e000 + kernel_cmdline_bytes - 1] = 0;  // the longest that fits, with its NUL
    EXPECT_EQ(parse_multiboot(m.view(), multiboot_boot_magic, info_at, info), Status::ok);
    EXPECT_EQ(std::strlen(info.cmdline), kernel_cmdline_bytes - 1);
}

namespace {

acpi::Topology two_nodes() {
    static acpi::Topology t{};
    t = {};
    t.has_srat = true;
    t.num_nodes = 2;
    t.num_ranges = 3;
    t.ranges[0] = {0, 0xa0000, 0, 0, false, false};
    t.ranges[1] = {0x100000, 0x1ff00000, 0, 0, false, false};
    t.ranges[2] = {0x20000000, 0x20000000, 1, 1, false, false};
    return t;
}

BootInfo memory_map(std::initializer_list<MemoryMapEntry> entries) {
    BootInfo b{};
    for (const auto& e : entries) b.memory[b.num_memory++] = e;
    return b;
}

} // namespace

TEST(PhysMemory, IntersectsFirmwareMapWithSrat) {
    const auto topo = two_nodes();
    // One e820 range straddles the node boundary; a reserved hole at the end of node 1.
    const BootInfo b = memory_map({{0, 0x9fc00, 1}, {0x100000, 0x3ffe0000 - 0x100000, 1}, {0x3ffe0000, 0x20000, 2}});
    PhysMemory pm;
    ASSERT_EQ(pm.build(b, topo), Status::ok);
    ASSERT_EQ(pm.ranges(0).size(), 2u);
    EXPECT_EQ(pm.ranges(0)[0].end, 0x9f000u);  // rounded down to a page
    EXPECT_EQ(pm.ranges(0)[1].base, 0x100000u);
    EXPECT_EQ(pm.ranges(0)[1].end, 0x20000000u);
    ASSERT_EQ(pm.ranges(1).size(), 1u);
    EXPECT_EQ(pm.ranges(1)[0].base, 0x20000000u);
    EXPECT_EQ(pm.ranges(1)[0].end, 0x3ffe0000u);
}

TEST(PhysMemory, NoSratMeansOneNode) {
    acpi::Topology topo{};
    topo.num_nodes = 1;
    const BootInfo b = memory_map({{0x100000, 0x700000, 1}});
    PhysMemory pm;
    ASSERT_EQ(pm.build(b, topo), Status::ok);
    EXPECT_EQ(pm.free_bytes(0), 0x700000u);
}

TEST(PhysMemory, AllocatesNodeLocalAlignedAndNeverTwice) {
    const auto topo = two_nodes();
    PhysMemory pm;
    ASSERT_EQ(pm.build(memory_map({{0, 0x9fc00, 1}, {0x100000, 0x3ff00000, 1}}), topo), Status::ok);
    ASSERT_EQ(pm.reserve({0, 0x100000}), Status::ok);
    ASSERT_EQ(pm.reserve({0x100000, 0x13d0b0}), Status::ok);  // unaligned end: rounded up
    std::vector<PhysRange> taken;
    for (int i = 0; i < 20; ++i) {
        for (std::uint32_t node : {0u, 1u}) {
            const auto a = pm.allocate(node, 0x3e000, 0x10000);
            ASSERT_TRUE(a.ok()) << "node " << node << " round " << i << ": " << to_string(a.status());
            EXPECT_EQ(*a % 0x10000, 0u);
            EXPECT_GE(*a, 0x13e000u);
            if (node == 1) EXPECT_GE(*a, 0x20000000u); else EXPECT_LT(*a + 0x3e000, 0x20000000u);
            for (const auto& t : taken) EXPECT_FALSE(*a < t.end && t.base < *a + 0x3e000) << "overlap";
            taken.push_back({*a, *a + 0x3e000});
        }
    }
    EXPECT_EQ(pm.allocate(0, 1ull << 40, 4096).status(), Status::no_memory);
    EXPECT_EQ(pm.allocate(5, 4096, 4096).status(), Status::invalid_argument);
    EXPECT_EQ(pm.allocate(1, 4096, 4096, 0x20000000).status(), Status::no_memory);  // below-limit
    EXPECT_EQ(pm.allocate(0, 4096, 3).status(), Status::invalid_argument);
}

namespace {

// Fake physical memory for page tables: frames handed out from a map keyed by address.
class FakeFrames final : public FrameSource {
public:
    Result<std::uint64_t> alloc_zeroed_frame() override {
        if (m_frames.size() >= m_limit) return Status::no_memory;
        const std::uint64_t phys = 0x1000000 + 0x1000 * m_frames.size();
        m_frames[phys] = std::make_unique<std::uint64_t[]>(512);
        return phys;
    }
    std::uint64_t* table(std::uint64_t phys) override { return m_frames.at(phys).get(); }
    std::size_t count() const { return m_frames.size(); }
    std::size_t m_limit = 1000;

private:
    std::map<std::uint64_t, std::unique_ptr<std::uint64_t[]>> m_frames;
};

} // namespace

TEST(PageTables, MapsAndTranslatesKernelAndDirectMap) {
    FakeFrames frames;
    auto pt = PageTables::create(frames);
    ASSERT_TRUE(pt.ok());
    const std::uint64_t kv = 0xffffffff80100000ull;
    ASSERT_EQ(pt->map(kv, 0x20000000, 0x3e000, pte::writable | pte::no_execute, 4096), Status::ok);
    ASSERT_EQ(pt->map(0xffff800000000000ull, 0, 4ull << 30, pte::writable, 2 << 20), Status::ok);
    const auto t = pt->translate(kv + 0x1234);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->phys, 0x20001234u);
    EXPECT_EQ(t->page_size, 4096u);
    EXPECT_TRUE(t->flags & pte::no_execute);
    const auto d = pt->translate(0xffff800000000000ull + 0xfee00020ull);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->phys, 0xfee00020u);
    EXPECT_EQ(d->page_size, 2u << 20);
    EXPECT_EQ(pt->translate(kv + 0x3e000).status(), Status::not_found);
    EXPECT_EQ(pt->translate(0x0000800000000000ull).status(), Status::out_of_range);  // non-canonical
    // 1 PML4 + kernel (PDPT, PD, PT) + direct map (PDPT + 4 PDs)
    EXPECT_EQ(frames.count(), 9u);
}

// map() walks once per leaf table: a run that starts inside a table and crosses several table
// boundaries must map exactly what mapping each page on its own maps.
TEST(PageTables, RunsAcrossTableBoundariesMapLikeSinglePages) {
    struct Case {
        std::uint64_t virt, phys, pages, page_bytes;
    };
    const Case cases[] = {
        {0x1ff000, 0x5000000, 1030, 4096},                       // from the last PT entry, across 3 PTs
        {0x7fffff000ull, 0x9000000, 3, 4096},                     // across a 32 GiB PD/PDPT boundary
        {0xffff800000000000ull + (1ull << 30) - (4 << 20), 0, 700, 2 << 20},  // 2 MiB pages across 1 GiB tables
    };
    for (const Case& c : cases) {
        FakeFrames run_frames, page_frames;
        auto run = PageTables::create(run_frames);
        auto one = PageTables::create(page_frames);
        ASSERT_TRUE(run.ok() && one.ok());
        ASSERT_EQ(run->map(c.virt, c.phys, c.pages * c.page_bytes, pte::writable, c.page_bytes), Status::ok);
        for (std::uint64_t i = 0; i < c.pages; ++i)
            ASSERT_EQ(one->map(c.virt + i * c.page_bytes, c.phys + i * c.page_bytes, c.page_bytes, pte::writable, c.page_bytes),
                      Status::ok);
        EXPECT_EQ(run_frames.count(), page_frames.count()) << "the same tables";
        for (std::uint64_t i = 0; i < c.pages; ++i) {
            const std::uint64_t v = c.virt + i * c.page_bytes + 0x123;
            const auto a = run->translate(v);
            ASSERT_TRUE(a.ok()) << std::hex << v;
            EXPECT_EQ(a->phys, c.phys + i * c.page_bytes + 0x123) << std::hex << v;
            EXPECT_EQ(a->page_size, c.page_bytes);
        }
        EXPECT_EQ(run->translate(c.virt + c.pages * c.page_bytes).status(), Status::not_found) << "nothing past the run";
        EXPECT_EQ(run->map(c.virt + (c.pages - 1) * c.page_bytes, c.phys, c.page_bytes, 0, c.page_bytes), Status::exists);
    }
}

TEST(PageTables, RefusesOverlapsMisalignmentAndReportsExhaustion) {
    FakeFrames frames;
    auto pt = PageTables::create(frames);
    ASSERT_TRUE(pt.ok());
    ASSERT_EQ(pt->map(0x200000, 0x200000, 0x200000, 0, 2 << 20), Status::ok);
    EXPECT_EQ(pt->map(0x200000, 0x800000, 4096, 0, 4096), Status::exists);  // inside a large page
    EXPECT_EQ(pt->map(0x201000, 0x800000, 4096, 0, 2 << 20), Status::invalid_argument);
    EXPECT_EQ(pt->map(0x1000, 0x800001, 4096, 0, 4096), Status::invalid_argument);
    EXPECT_EQ(pt->map(0x1000, 0x800000, 4096, 0, 8192), Status::invalid_argument);
    ASSERT_EQ(pt->map(0x1000, 0x800000, 4096, 0, 4096), Status::ok);
    EXPECT_EQ(pt->map(0x1000, 0x900000, 4096, 0, 4096), Status::exists);
    frames.m_limit = frames.count();
    EXPECT_EQ(pt->map(0x7f0000000000ull, 0, 4096, 0, 4096), Status::no_memory);
    pt->clear_top_level(0);
    EXPECT_EQ(pt->translate(0x1000).status(), Status::not_found);
}

// The non-allocating walk the kernel uses for page-table capabilities: the entry at a level,
// or the level of the first missing table.
TEST(PageTables, EntryWalksExistingTablesOnly) {
    FakeFrames frames;
    auto pt = PageTables::create(frames);
    ASSERT_TRUE(pt.ok());
    const std::uint64_t v = 0x10000000;
    unsigned missing = 0;
    EXPECT_EQ(pt->entry(v, 0, &missing).status(), Status::not_found);
    EXPECT_EQ(missing, 3u) << "no PDPT";
    const auto top = pt->entry(v, 3, &missing);
    ASSERT_TRUE(top.ok()) << "the PML4 entry always exists";
    EXPECT_EQ(**top, 0u);
    ASSERT_EQ(pt->map(0x400000, 0x800000, 4096, pte::user, 4096), Status::ok);  // PDPT, PD, PT for 0..2 MiB
    const std::size_t tables = frames.count();
    EXPECT_EQ(pt->entry(v, 0, &missing).status(), Status::not_found);
    EXPECT_EQ(missing, 1u) << "PDPT and PD exist, the PT for 256 MiB does not";
    const auto pd_entry = pt->entry(v, 1, &missing);
    ASSERT_TRUE(pd_entry.ok());
    EXPECT_EQ(**pd_entry, 0u);
    const auto leaf = pt->entry(0x400000, 0, &missing);
    ASSERT_TRUE(leaf.ok());
    EXPECT_EQ(**leaf & pte::addr_mask, 0x800000u);
    EXPECT_EQ(frames.count(), tables) << "the walk allocates nothing";
    EXPECT_EQ(pt->entry(0x0000800000000000ull, 0).status(), Status::out_of_range);
    EXPECT_EQ(pt->entry(v, 4).status(), Status::out_of_range);
    ASSERT_EQ(pt->map(0x40000000, 0x40000000, 2 << 20, 0, 2 << 20), Status::ok);
    EXPECT_EQ(pt->entry(0x40000000, 0).status(), Status::unsupported) << "a large page is a leaf";
}

TEST(Options, ParsesKnownWordsAndReportsUnknown) {
    Options o = parse_options("build/cpudriver/myriad-kernel timer_hz=250 selftest.fault=3 config=4s4c");
    EXPECT_EQ(o.timer_hz, 250u);
    EXPECT_EQ(o.selftest_fault, 3);
    EXPECT_STREQ(o.config, "4s4c");
    EXPECT_STREQ(o.unknown, "");
    o = parse_options("");
    EXPECT_EQ(o.timer_hz, 100u);
    EXPECT_EQ(o.selftest_fault, -1);
    EXPECT_EQ(o.selftest_stall, -1);
    EXPECT_EQ(o.boot_stall_ms, 20000u);
    o = parse_options("/k selftest.stall=6 boot.stall_ms=3000");
    EXPECT_EQ(o.selftest_stall, 6);
    EXPECT_EQ(o.boot_stall_ms, 3000u);
    o = parse_options("/k boot.stall_ms=999");  // under a second: refused, the default stays
    EXPECT_EQ(o.boot_stall_ms, 20000u);
    EXPECT_STREQ(o.unknown, "boot.stall_ms=999");
    EXPECT_EQ(o.selftest_fault, -1);
    o = parse_options("/k timer_hz=5 bogus=1");  // out of range keeps the default
    EXPECT_EQ(o.timer_hz, 100u);
    EXPECT_STREQ(o.unknown, "timer_hz=5");
    o = parse_options("/k timer_hz=12x");
    EXPECT_EQ(o.timer_hz, 100u);
    EXPECT_STREQ(o.unknown, "timer_hz=12x");
    o = parse_options("/k timer_hz=99999999999999999999999");
    EXPECT_EQ(o.timer_hz, 100u);
}

TEST(Options, MemservPoolSize) {
    EXPECT_EQ(parse_options("/k").memserv_pool_mib, 0u);  // the default: no pools
    EXPECT_EQ(parse_options("/k memserv.pool=4").memserv_pool_mib, 4u);
    EXPECT_EQ(parse_options("/k memserv.pool=65536").memserv_pool_mib, 65536u);
    Options o = parse_options("/k memserv.pool=65537");  // over 64 GiB: refused, reported, none
    EXPECT_EQ(o.memserv_pool_mib, 0u);
    EXPECT_STREQ(o.unknown, "memserv.pool=65537");
    o = parse_options("/k memserv.pool=-1");
    EXPECT_EQ(o.memserv_pool_mib, 0u);
    EXPECT_STREQ(o.unknown, "memserv.pool=-1");
}

TEST(Options, ServeNamesTheCoreServers) {
    Options o = parse_options("/k serve=ipc_pong serve=epserver");
    ASSERT_EQ(o.num_serve, 2u);
    EXPECT_STREQ(o.serve[0], "ipc_pong");
    EXPECT_STREQ(o.serve[1], "epserver");
    EXPECT_STREQ(o.unknown, "");
    o = parse_options("/k serve= serve=a serve=b serve=c serve=d serve=e");
    EXPECT_EQ(o.num_serve, 4u) << "an empty name is refused, and at most max_serve names are kept";
    EXPECT_STREQ(o.unknown, "serve=");
    o = parse_options("/k serve=a_name_longer_than_twenty_three");
    EXPECT_STREQ(o.serve[0], "a_name_longer_than_twen") << "truncated like a module name";
}

// console=NAME names the one program whose domains read the serial console; a name that would be
// cut to fit (and so could name another program) or an empty one is refused.
TEST(Options, ConsoleNamesTheOwnerOfTheSerialInput) {
    Options o = parse_options("/k timer_hz=100");
    EXPECT_STREQ(o.console, "") << "nobody owns the console without the option";
    o = parse_options("/k console=shell serve=x");
    EXPECT_STREQ(o.console, "shell");
    EXPECT_STREQ(o.unknown, "");
    o = parse_options("/k console=");
    EXPECT_STREQ(o.console, "");
    EXPECT_STREQ(o.unknown, "console=");
    o = parse_options("/k console=a_name_longer_than_twenty_three");
    EXPECT_STREQ(o.console, "") << "refused, not truncated to a 23-byte name";
    EXPECT_STREQ(o.unknown, "console=a_name_longer_than_twenty_three");
    o = parse_options("/k console=abcdefghijklmnopqrstuvw");  // exactly 23: a module name's longest
    EXPECT_STREQ(o.console, "abcdefghijklmnopqrstuvw");
}

// The monitors' options (plan=, repl=, ...) come from find_option (the kernel_option system
// call): myriadctl writes the config's words first and `--append` words last, and docs/configs.md
// promises that `--append plan=...` overrides the config's plan, so the last word must win.
TEST(Options, FindOptionTakesTheLastWordAndMatchesWholeKeys) {
    const auto value = [](const char* cmdline, const char* key) {
        const OptionValue v = find_option(cmdline, key, std::char_traits<char>::length(key));
        return v.found ? std::string(v.value, v.len) : std::string("<none>");
    };
    const char* line = "/k timer_hz=100 config=x plan=ping-all,shutdown repl=kv:2pc plan=replicate:kv:2pc:1 planx=9";
    EXPECT_EQ(value(line, "plan"), "replicate:kv:2pc:1") << "an appended plan= overrides the config's";
    EXPECT_EQ(value(line, "repl"), "kv:2pc");
    EXPECT_EQ(value(line, "planx"), "9");
    EXPECT_EQ(value(line, "pla"), "<none>") << "a prefix of a key is not the key";
    EXPECT_EQ(value(line, "x"), "<none>") << "a value is not a key";
    EXPECT_EQ(value("plan= plan=a", "plan"), "a");
    EXPECT_EQ(value("plan=a plan=", "plan"), "") << "an empty later value still overrides";
    EXPECT_EQ(value("", "plan"), "<none>");
    EXPECT_FALSE(find_option("plan=a", "plan", 0).found);
}

TEST(Format, FormatsIntegersStringsAndTruncates) {
    char buf[64];
    FixedBuffer out(buf, sizeof buf);
    format_to(out, "core-up core={} apic={} kernel={:#x} ok={} s={} neg={} {{x}}", 3u, 17, 0x140000ull, true, "n1", -42);
    EXPECT_STREQ(buf, "core-up core=3 apic=17 kernel=0x140000 ok=yes s=n1 neg=-42 {x}");
    char small[8];
    FixedBuffer s(small, sizeof small);
    format_to(s, "{}", 1234567890u);
    EXPECT_STREQ(small, "1234567");
    EXPECT_TRUE(s.truncated());
    char pad[16];
    FixedBuffer p(pad, sizeof pad);
    format_to(p, "[{:4}|{:02x}]", 7, 10);
    EXPECT_STREQ(pad, "[   7|0a]");
}

TEST(FrameAllocator, OwnsFreesAndAllocatesRuns) {
    static FrameAllocator fa;  // large: keep it off the stack
    fa.init(0x1000000, 64);
    EXPECT_EQ(fa.allocate(frame_free).status(), Status::invalid_argument);
    std::vector<std::uint64_t> a;
    for (int i = 0; i < 10; ++i) a.push_back(*fa.allocate(3));
    EXPECT_EQ(fa.free_count(), 54u);
    EXPECT_EQ(fa.free(a[0], 4), Status::permission_denied);  // not the owner
    EXPECT_EQ(fa.free(a[0] + 8, 3), Status::out_of_range);   // not a frame address
    EXPECT_EQ(fa.free(0x2000000, 3), Status::out_of_range);
    ASSERT_EQ(fa.free(a[4], 3), Status::ok);
    // A run of 8 aligned to 8 frames skips the hole at a[4] and the used prefix.
    const auto run = fa.allocate_run(7, 8, 8);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ((*run / 4096) % 8, 0u);
    EXPECT_GE(*run, a[9] + 4096);
    EXPECT_EQ(fa.owner_of(*run + 7 * 4096), 7u);
    EXPECT_EQ(fa.allocate_run(7, 100).status(), Status::no_memory);
    EXPECT_EQ(fa.free_all(3), 9u);
    EXPECT_EQ(fa.free_all(7), 8u);
    EXPECT_EQ(fa.free_count(), 64u);
    const auto whole = fa.allocate_run(9, 64);
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(*whole, 0x1000000u);
    EXPECT_EQ(fa.allocate(9).status(), Status::no_memory);
}
