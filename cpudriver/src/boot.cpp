// The boot core's plan (README, "How a boot goes" steps 2-3): read the boot information and ACPI, place one
// copy of the CPU-driver image per core in memory of that core's NUMA node, build each core's
// page tables, fill the boot blocks, and then leave the loaded image for its own copy.
#include "acpi_discovery.hpp"
#include "frames.hpp"

#include <arch/cpu.hpp>
#include <arch/layout.h>
#include <arch/platform.hpp>
#include <myr/abi/syscall.hpp>
#include <myr/kernel/console.hpp>
#include <myr/urpc/channel_layout.hpp>
#include <myr/kernel/multiboot.hpp>
#include <myr/kernel/percore.hpp>
#include <myr/kernel/boot_plan.hpp>
#include <myr/kernel/frame_allocator.hpp>
#include <myr/kernel/phys_memory.hpp>
#include <myr/kernel/share_nothing.hpp>
#include <myr/urpc/channel_layout.hpp>

extern "C" char __image_start[], __rodata_start[], __data_end[], __bss_start[], __image_end[], __loaded_end[];

namespace myr::kernel {
namespace {

// Per core: 120 rings of 4 KiB for bindings, then 544 KiB of kept memory (abi::kept_area_bytes).
// With a core's inbox it still fits the 2 MiB its channel part is rounded up to (boot_plan.cpp).
constexpr std::uint64_t chan_pool_size = 1024 * 1024;
constexpr std::uint64_t four_gib = 4ull << 30;
constexpr std::uint64_t two_mib = 2ull << 20;

// Boot-core-only scratch state, in the loaded image's bss. It is read by other cores only through
// the topology_phys pointer (the topology, read-only after this point).
[[gnu::section(BOOT_ONLY_SECTION)]] BootInfo boot_info;
[[gnu::section(BOOT_ONLY_SECTION)]] PhysMemory usable;   // RAM per node as the firmware reports it
[[gnu::section(BOOT_ONLY_SECTION)]] PhysMemory free_mem; // what is still unallocated

// Frames for extending the boot page tables, taken from the boot core's node below 4 GiB (which
// the boot tables already map).
class BootFrames final : public FrameSource {
public:
    explicit BootFrames(std::uint32_t node) : m_node(node) {}
    Result<std::uint64_t> alloc_zeroed_frame() override {
        const std::uint64_t f = MYR_TRY(free_mem.allocate(m_node, 4096, 4096, four_gib));
        auto* p = arch::phys_to_virt<std::uint64_t>(f);
        for (unsigned i = 0; i < 512; ++i) p[i] = 0;
        return f;
    }
    std::uint64_t* table(std::uint64_t phys) override { return arch::phys_to_virt<std::uint64_t>(phys); }

private:
    std::uint32_t m_node;
};

// Allocates one frame below 4 GiB, from `node` if it has such memory, else from any node. Used
// for the copy of a core's top-level table that the 32-bit trampoline loads.
Result<std::uint64_t> low_frame(std::uint32_t node) {
    if (auto f = free_mem.allocate(node, 4096, 4096, four_gib); f.ok()) return *f;
    for (std::uint32_t n = 0; n < free_mem.num_nodes(); ++n)
        if (auto f = free_mem.allocate(n, 4096, 4096, four_gib); f.ok()) return *f;
    return Status::no_memory;
}

std::uint64_t image_size() { return static_cast<std::uint64_t>(__image_end - __image_start); }

// A pristine copy of the image at dst: text + rodata (`copy_bytes`), then a zeroed bss. In 8-byte
// words (linker.ld page-aligns both parts): the boot core does this once per core, and the
// compiler's memcpy/memset (support.cpp) go byte by byte. The attribute keeps GCC from turning
// the loops back into those calls.
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void copy_image(std::uint64_t* dst, std::uint64_t copy_bytes) {
    const auto* src = reinterpret_cast<const std::uint64_t*>(__image_start);
    const std::uint64_t words = copy_bytes / 8, total = image_size() / 8;
    for (std::uint64_t w = 0; w < words; ++w) dst[w] = src[w];
    for (std::uint64_t w = words; w < total; ++w) dst[w] = 0;
}

void print_node_lines(const acpi::Topology& topo) {
    for (std::uint32_t n = 0; n < usable.num_nodes(); ++n) {
        char mem[200];
        FixedBuffer m(mem, sizeof mem);
        const auto ranges = usable.ranges(n);
        if (ranges.empty()) m.put("none");
        for (std::size_t i = 0; i < ranges.size(); ++i)
            format_to(m, "{}{:#x}-{:#x}", i ? "," : "", ranges[i].base, ranges[i].end);
        char cpus[200];
        FixedBuffer c(cpus, sizeof cpus);
        std::int64_t run_start = -1, prev = -2;
        auto flush = [&](std::int64_t end) {
            if (run_start < 0) return;
            format_to(c, "{}{}", c.size() ? "," : "", run_start);
            if (end > run_start) format_to(c, "-{}", end);
        };
        for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
            if (topo.num_nodes && topo.cpus[i].node != n) continue;
            if (i != prev + 1) {
                flush(prev);
                run_start = i;
            }
            prev = i;
        }
        flush(prev);
        if (!c.size()) c.put("none");
        emit("node id={} mem={} cpus={}", n, mem, cpus);
    }
}

// Builds core `i`'s page tables: its image copy at the kernel's virtual addresses, the direct
// map without `others` (every other core's kernel region, normalised), and the low identity map
// the AP trampoline needs until the core runs high.
Result<std::uint64_t> build_tables(PoolFrames& frames, std::uint64_t kernel_phys, std::uint64_t ram_top,
                                   std::span<const PhysRange> others) {
    auto pt = MYR_TRY(PageTables::create(frames));
    const auto vstart = reinterpret_cast<std::uint64_t>(__image_start);
    const auto rodata = reinterpret_cast<std::uint64_t>(__rodata_start);
    const auto bss = reinterpret_cast<std::uint64_t>(__bss_start);
    const auto vend = reinterpret_cast<std::uint64_t>(__image_end);
    MYR_TRY(pt.map(vstart, kernel_phys, rodata - vstart, 0, 4096));  // text: read + execute
    MYR_TRY(pt.map(rodata, kernel_phys + (rodata - vstart), bss - rodata, pte::no_execute, 4096));
    MYR_TRY(pt.map(bss, kernel_phys + (bss - vstart), vend - bss, pte::writable | pte::no_execute, 4096));
    // The top 32 MiB below 4 GiB hold the APIC/IOAPIC MMIO windows: uncached (SDM §11.4.1).
    MYR_TRY(map_direct(pt, DIRECT_MAP_BASE, ram_top, others, {0xfe000000ull, four_gib}));
    MYR_TRY(pt.map(0, 0, two_mib, pte::writable, two_mib));  // trampoline; dropped once running high
    return pt.root();
}

// Every core's memory (boot_plan.hpp place_core_memory): its kernel region (docs/share-nothing.md:
// CPU-driver copy, page-table pool, user pool, whole 2 MiB pages of nothing else, so every other
// core's direct map leaves it out exactly, without splitting a large page), then its channel
// memory (inbox, binding rings), which other cores may write.
[[gnu::section(BOOT_ONLY_SECTION)]] CorePlacement placed[acpi::max_cpus];
[[gnu::section(BOOT_ONLY_SECTION)]] PhysRange sorted_regions[acpi::max_cpus];  // every core's region, normalised: num_sorted of them
std::size_t num_sorted;
[[gnu::section(BOOT_ONLY_SECTION)]] PhysRange others_of_core[acpi::max_cpus + 1];  // scratch: the regions of all cores but one

// Places every core's memory before any page table is built: each core's direct map must know
// all the others. A core whose node cannot also fit its user pool runs no domains.
template <typename MemNodeOf>
void place_all_cores(std::uint32_t num_cpus, MemNodeOf mem_node_of, const CoreMemoryPlan& plan,
                     const std::uint64_t* user_pool) {
    for (std::uint32_t i = 0; i < num_cpus; ++i) {
        const std::uint32_t mem_node = mem_node_of(i);
        const auto c = place_core_memory(free_mem, mem_node, plan, image_size(), chan_pool_size, user_pool[mem_node]);
        if (!c.ok()) panic("node {} has no memory left for core {}'s CPU driver: {}", mem_node, i, to_string(c.status()));
        placed[i] = *c;
        // The region's rounding slack (up to 2 MiB) goes to the domains: it is this core's
        // memory either way, and at 16 MiB per core it decides whether a monitor fits.
        if (c->user_pool_bytes) {
            const std::uint64_t room = c->region + c->region_bytes - c->user_pool;
            const std::uint64_t cap = std::uint64_t{max_pool_frames} * 4096;
            placed[i].user_pool_bytes = room < cap ? room : cap;
        }
        sorted_regions[i] = {c->region, c->region + c->region_bytes};
    }
    num_sorted = normalise_ranges({sorted_regions, num_cpus});
}

// The regions of every core but `core`, normalised: sorted_regions less core's own region
// (regions are disjoint; normalise_ranges merged touching ones, so cut the own one out).
std::span<const PhysRange> regions_of_others(std::uint32_t core) {
    const PhysRange own{placed[core].region, placed[core].region + placed[core].region_bytes};
    std::size_t n = 0;
    for (std::size_t i = 0; i < num_sorted; ++i) {
        const PhysRange r = sorted_regions[i];
        if (own.base >= r.base && own.end <= r.end) {
            if (r.base < own.base) others_of_core[n++] = {r.base, own.base};
            if (own.end < r.end) others_of_core[n++] = {own.end, r.end};
        } else {
            others_of_core[n++] = r;
        }
    }
    return {others_of_core, n};
}

// What each core takes from its node before user pools, from the memory map (boot_plan.hpp).
CoreMemoryPlan core_memory_plan(std::uint64_t top, std::uint32_t num_cpus) {
    return plan_core_memory({.ram_top = top,
                             .image_virt = reinterpret_cast<std::uint64_t>(__image_start),
                             .image_bytes = image_size(),
                             .direct_map_virt = DIRECT_MAP_BASE,
                             .num_cpus = num_cpus,
                             .channel_bytes = urpc::channel_bytes(abi::monitor_channel_slots),
                             .chan_pool_bytes = chan_pool_size});
}

// The APIC ids the boot core can start: any with x2APIC, up to 254 in xAPIC mode (255 is the
// broadcast id there).
void check_apic_ids(const acpi::Topology& topo) {
    log("local APIC: {} mode", arch::lapic_x2apic_mode() ? "x2APIC" : "xAPIC");
    if (arch::lapic_x2apic_mode()) return;
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i)
        if (topo.cpus[i].apic_id > 254)
            panic("CPU {} has APIC id {}, which only x2APIC can reach, and this CPU has no x2APIC", i, topo.cpus[i].apic_id);
}

std::uint64_t ram_top() {
    std::uint64_t top = four_gib;
    for (std::uint32_t i = 0; i < boot_info.num_memory; ++i) {
        const auto& e = boot_info.memory[i];
        if (e.type == static_cast<std::uint32_t>(MemoryType::available) && e.base + e.length > top)
            top = e.base + e.length;
    }
    return (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
}

// The kernel report channels (docs/share-nothing.md): one URPC channel per core into the boot
// core's node, where the boot core receives what it needs to know at run time (a core's domains
// are all gone, with their counts). Channel memory: the sender writes its slots, the receiver
// the credit line; nothing else in it is written by two cores.
std::uint64_t make_report_channels(std::uint32_t node, std::uint32_t num_cpus) {
    const std::uint64_t bytes = urpc::channel_bytes(report_slots);
    const auto phys = free_mem.allocate(node, bytes * num_cpus, 4096);
    if (!phys.ok()) panic("no memory for the kernel report channels");
    for (std::uint32_t c = 0; c < num_cpus; ++c) {
        auto* mem = arch::phys_to_virt<std::byte>(*phys + c * bytes);
        if (urpc::format_channel({mem, bytes}, {report_slots, urpc::Wake::poll}) != Status::ok)
            panic("cannot format report channel {}", c);
    }
    return *phys;
}

} // namespace

extern "C" [[noreturn]] void bsp_main(std::uint32_t magic, std::uint64_t info_phys) {
    const std::uint64_t boot_tsc = arch::rdtsc();
    console_init();
    log("Myriad CPU driver starting on the boot core");

    const Bytes low_memory(arch::phys_to_virt<const std::uint8_t>(0), four_gib);
    if (const Status s = parse_multiboot(low_memory, magic, info_phys, boot_info); s != Status::ok)
        panic("multiboot information unusable: {}", to_string(s));
    this_core.options = parse_options(boot_info.cmdline);
    if (this_core.options.unknown[0]) log("ignoring unknown kernel option '{}'", this_core.options.unknown);

    acpi::Topology& topo = this_core.topology;
    if (const Status s = discover_topology(topo, this_core.options.dump_acpi); s != Status::ok)
        panic("ACPI topology unusable: {}", to_string(s));
    if (topo.num_cpus == 0) panic("ACPI lists no enabled CPU");

    if (const Status s = usable.build(boot_info, topo); s != Status::ok)
        panic("memory map unusable: {}", to_string(s));
    print_node_lines(topo);

    free_mem = usable;
    const Status reserved[] = {
        free_mem.reserve({0, 0x100000}),  // real-mode area: trampoline, BIOS data
        // The loaded image with its boot-only data: cores read the boot info there later.
        free_mem.reserve({arch::kernel_virt_to_phys_original(__image_start),
                          arch::kernel_virt_to_phys_original(__loaded_end)}),
    };
    for (const Status s : reserved)
        if (s != Status::ok) panic("cannot reserve boot memory: {}", to_string(s));
    for (std::uint32_t m = 0; m < boot_info.num_modules; ++m)
        if (free_mem.reserve({boot_info.modules[m].start, boot_info.modules[m].end}) != Status::ok)
            panic("cannot reserve module {}", m);

    arch::disable_legacy_pic();
    arch::lapic_init(topo.lapic_address);
    const std::uint32_t my_apic = arch::lapic_id();
    std::uint32_t boot_core = topo.num_cpus;
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i)
        if (topo.cpus[i].apic_id == my_apic) boot_core = i;
    if (boot_core == topo.num_cpus) panic("boot CPU (APIC id {}) is not in the MADT", my_apic);
    check_apic_ids(topo);
    const arch::Calibration cal = arch::calibrate_timers();
    log("timers: {} TSC ticks/ms, {} LAPIC ticks/ms", cal.tsc_per_ms, cal.lapic_per_ms);

    auto mem_node_of = [&](std::uint32_t cpu) -> std::uint32_t {
        if (!topo.has_srat || topo.num_nodes == 0) return 0;
        return topo.nodes[topo.cpus[cpu].node].nearest_mem_node;
    };

    // The boot blocks and the console lock: the one region every core writes (once).
    const std::uint64_t blocks_size = sizeof(BootBlock) * topo.num_cpus + sizeof(ConsoleLock);
    const auto blocks_phys = free_mem.allocate(mem_node_of(boot_core), blocks_size, 4096, four_gib);
    if (!blocks_phys.ok()) panic("no memory for boot blocks");
    auto* blocks = arch::phys_to_virt<BootBlock>(*blocks_phys);
    const std::uint64_t lock_phys = *blocks_phys + sizeof(BootBlock) * topo.num_cpus;
    *arch::phys_to_virt<ConsoleLock>(lock_phys) = {};

    // The boot tables map the first 4 GiB; copies may go above. Extend the direct map.
    const std::uint64_t top = ram_top();
    if (top > four_gib) {
        BootFrames frames(mem_node_of(boot_core));
        PageTables boot_tables(frames, arch::read_cr3() & pte::addr_mask);
        if (const Status s = boot_tables.map(DIRECT_MAP_BASE + four_gib, four_gib, top - four_gib,
                                             pte::writable | pte::no_execute, two_mib); s != Status::ok)
            panic("cannot map memory above 4 GiB: {}", to_string(s));
        arch::write_cr3(arch::read_cr3());
    }
    const std::uint64_t copy_bytes = static_cast<std::uint64_t>(__data_end - __image_start);
    // RAM for each core's user domains: half of what its memory node has left after the copies,
    // shared among the cores that live on that node, at most max_pool_frames pages.
    std::uint32_t cores_on[acpi::max_nodes] = {};
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) ++cores_on[mem_node_of(i)];
    const CoreMemoryPlan plan = core_memory_plan(top, topo.num_cpus);
    const std::uint64_t pool_size = plan.table_pool;
    log("per core: {} page-table frames of a {} KiB pool (RAM top {:#x})", plan.table_frames, pool_size / 1024, top);
    // memserv pools first (kernel option memserv.pool=MiB, default none): they come out of what
    // the user pools would share, and lie in no core's region (docs/servers.md, "memserv").
    PhysRange ram_pool[acpi::max_nodes] = {};
    for (std::uint32_t nd = 0; nd < free_mem.num_nodes() && nd < acpi::max_nodes; ++nd) {
        if (cores_on[nd] == 0 || this_core.options.memserv_pool_mib == 0) continue;
        ram_pool[nd] = place_ram_pool(free_mem, nd, this_core.options.memserv_pool_mib);
        if (ram_pool[nd].size()) log("memserv pool on node {}: {:#x}-{:#x}", nd, ram_pool[nd].base, ram_pool[nd].end);
        else log("no room for a {} MiB memserv pool on node {}; none", this_core.options.memserv_pool_mib, nd);
    }
    std::uint64_t user_pool[acpi::max_nodes] = {};
    for (std::uint32_t nd = 0; nd < free_mem.num_nodes() && nd < acpi::max_nodes; ++nd)
        user_pool[nd] = user_pool_share(free_mem.free_bytes(nd), cores_on[nd], plan.kernel_total,
                                        std::uint64_t{max_pool_frames} * 4096);

    place_all_cores(topo.num_cpus, mem_node_of, plan, user_pool);
    const std::uint64_t reports = make_report_channels(mem_node_of(boot_core), topo.num_cpus);

    arch::install_trampoline();
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i) {
        const std::uint32_t mem_node = mem_node_of(i);
        const CorePlacement& kr = placed[i];
        const std::uint64_t chan = urpc::channel_bytes(abi::monitor_channel_slots);
        const std::uint64_t inbox_size = plan.inbox;
        // Each channel of the inbox reads as unformatted until its monitor formats it: only the
        // magic words are written (zeroing N channels for each of N cores was N^2 stores).
        for (std::uint32_t c = 0; c < topo.num_cpus; ++c)
            urpc::retract_channel({arch::phys_to_virt<std::byte>(kr.inbox + c * chan), chan});
        copy_image(arch::phys_to_virt<std::uint64_t>(kr.image), copy_bytes);

        PoolFrames frames(kr.tables, kr.tables + pool_size);
        const auto root = build_tables(frames, kr.image, top, regions_of_others(i));
        if (!root.ok()) panic("page tables for core {}: {}", i, to_string(root.status()));

        BootBlock& bb = blocks[i];
        bb = {};
        bb.magic = boot_block_magic;
        bb.core = i;
        bb.apic_id = topo.cpus[i].apic_id;
        bb.node = topo.num_nodes ? topo.cpus[i].node : 0;
        bb.mem_node = mem_node;
        bb.num_cores = topo.num_cpus;
        bb.boot_core = boot_core;
        bb.kernel_phys = kr.image;
        bb.kernel_size = image_size();
        bb.pml4_phys = *root;
        bb.tables_phys = kr.tables;
        bb.pool_phys = frames.used_end();
        bb.pool_size = kr.tables + pool_size - frames.used_end();
        bb.user_pool_phys = kr.user_pool_bytes ? kr.user_pool : 0;
        bb.user_pool_size = kr.user_pool_bytes;
        bb.ram_pool_phys = mem_node < acpi::max_nodes ? ram_pool[mem_node].base : 0;
        bb.ram_pool_size = mem_node < acpi::max_nodes ? ram_pool[mem_node].size() : 0;
        bb.region_phys = kr.region;
        bb.region_size = kr.region_bytes;
        bb.report_phys = reports;
        bb.report_bytes = urpc::channel_bytes(report_slots);
        bb.inbox_phys = kr.inbox;
        bb.inbox_size = inbox_size;
        bb.channel_bytes = chan;
        bb.chan_pool_phys = kr.chan_pool;
        bb.chan_pool_size = chan_pool_size;
        bb.modules_phys = arch::kernel_virt_to_phys_original(boot_info.modules);
        bb.num_modules = boot_info.num_modules;
        bb.topology_phys = arch::kernel_virt_to_phys_original(&topo);
        bb.boot_blocks_phys = *blocks_phys;
        bb.console_lock_phys = lock_phys;
        bb.tsc_per_ms = cal.tsc_per_ms;
        bb.lapic_ticks_per_ms = cal.lapic_per_ms;
        bb.boot_tsc = boot_tsc;
        bb.options_phys = arch::kernel_virt_to_phys_original(&this_core.options);
        format_console_prefix(bb.console_prefix, i, bb.node);
        static_assert(sizeof bb.cmdline == sizeof boot_info.cmdline, "every core gets the whole command line");
        for (std::size_t c = 0; c + 1 < cmdline_max && boot_info.cmdline[c]; ++c) bb.cmdline[c] = boot_info.cmdline[c];
        if (i != boot_core) {
            // The trampoline loads CR3 in 32-bit mode: give it a copy of the top-level table
            // below 4 GiB when the real one is above; the core switches to the real one first.
            std::uint64_t start_cr3 = *root;
            if (*root >= four_gib) {
                const auto low = low_frame(mem_node);
                if (!low.ok()) panic("no memory below 4 GiB for core {}'s start tables", i);
                auto* dst_table = arch::phys_to_virt<std::uint64_t>(*low);
                const auto* src_table = arch::phys_to_virt<const std::uint64_t>(*root);
                for (unsigned e = 0; e < 512; ++e) dst_table[e] = src_table[e];
                start_cr3 = *low;
            }
            if (!arch::set_ap_start(bb.apic_id, static_cast<std::uint32_t>(start_cr3), reinterpret_cast<std::uint64_t>(&bb)))
                panic("the AP start table has no room for core {} (APIC id {})", i, bb.apic_id);
        }
    }
    log("placed {} CPU-driver copies of {} KiB each; leaving the loaded image", topo.num_cpus, image_size() / 1024);
    switch_to_core(blocks[boot_core].pml4_phys, &blocks[boot_core]);
}

} // namespace myr::kernel
