// Every core, the boot core included, runs core_main in its own copy of the CPU driver
// (README, "How a boot goes" step 4): it initialises only its own state, audits that its kernel lives in its
// own node's memory, and reports. The boot core then starts the others and runs the self-check.
#include "cspace.hpp"
#include "domain.hpp"
#include "frames.hpp"
#include "report.hpp"

#include <arch/cpu.hpp>
#include <arch/fpu.hpp>
#include <arch/platform.hpp>
#include <myr/exit_codes.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/percore.hpp>
#include <myr/kernel/share_nothing.hpp>

#include <atomic>

extern "C" char __image_start[], __image_end[];
extern "C" char boot_stack_top[];

namespace myr::kernel {

constinit PerCore this_core{};

namespace {

constexpr std::uint32_t ticks_before_up = 2;  // proves this core's timer interrupts arrive

std::uint64_t placed_ms;  // boot core: ms since kernel entry when the copies were placed

std::uint64_t ms_since_boot(const BootBlock& bb) {
    return (arch::rdtsc() - bb.boot_tsc) / (bb.tsc_per_ms ? bb.tsc_per_ms : 1);
}

void set_state(BootBlock& bb, CoreState s) {
    std::atomic_thread_fence(std::memory_order_release);
    bb.state = s;
}
CoreState get_state(const BootBlock& bb) {
    const CoreState s = bb.state;
    std::atomic_thread_fence(std::memory_order_acquire);
    return s;
}

const char* exception_name(std::uint64_t v) {
    constexpr const char* names[] = {
        "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
        "device not available", "double fault", "coprocessor overrun", "invalid TSS",
        "segment not present", "stack fault", "general protection", "page fault", "reserved",
        "x87 error", "alignment check", "machine check", "SIMD error", "virtualization",
        "control protection"};
    return v < sizeof names / sizeof names[0] ? names[v] : "reserved";
}

// Walks this core's own page tables over the kernel image: which physical pages back it, are
// they one contiguous copy, and do they lie in the memory of this core's memory node.
Audit audit_kernel_pages() {
    Audit a{};
    DirectMapFrames frames;
    PageTables pt(frames, arch::read_cr3() & pte::addr_mask);
    const auto vstart = reinterpret_cast<std::uint64_t>(__image_start);
    const auto vend = reinterpret_cast<std::uint64_t>(__image_end);
    a.contiguous = 1;
    a.node_local = 1;
    a.phys_start = ~0ull;
    const acpi::Topology& topo = this_core.topology;
    for (std::uint64_t v = vstart; v < vend; v += 4096) {
        const auto t = pt.translate(v);
        if (!t.ok()) {
            a.contiguous = 0;
            a.node_local = 0;
            continue;
        }
        if (a.pages == 0) a.phys_start = t->phys;
        else if (t->phys != a.phys_start + (v - vstart)) a.contiguous = 0;
        if (t->phys + 4096 > a.phys_end) a.phys_end = t->phys + 4096;
        ++a.pages;
        if (topo.has_srat && topo.num_ranges) {
            bool inside = false;
            for (std::uint32_t r = 0; r < topo.num_ranges; ++r) {
                const acpi::MemRange& m = topo.ranges[r];
                if (m.node == this_core.info.mem_node && t->phys >= m.base && t->phys + 4096 <= m.base + m.length)
                    inside = true;
            }
            if (!inside) a.node_local = 0;
        }
    }
    return a;
}

// Visits every page-table frame reachable from this core's CR3 (large pages are leaves) and
// counts those outside its own table frames [lo, hi), which boot.cpp allocated node-locally.
void audit_table_frames(std::uint64_t lo, std::uint64_t hi, Audit& a) {
    struct Count {
        std::uint64_t lo, hi;
        std::uint32_t count, outside;
        void see(std::uint64_t phys) {
            ++count;
            if (phys < lo || phys >= hi) ++outside;
        }
    } c{lo, hi, 0, 0};
    DirectMapFrames frames;
    PageTables pt(frames, arch::read_cr3() & pte::addr_mask);
    c.see(pt.root());
    pt.for_each_table_frame([](void* ctx, std::uint64_t phys) { static_cast<Count*>(ctx)->see(phys); }, &c, 0, 511);
    a.table_frames = c.count;
    a.tables_own = c.outside == 0;
}

// The frames that belong to another core's kernel (docs/share-nothing.md): for every other core,
// its CPU-driver copy (text, data, bss: its stacks, its per-core state), its page-table frames
// and kernel pool, and its user pool (capability table, endpoints, its domains' page tables and
// frames). Read from the boot blocks, which the boot core filled before starting any core.
PhysRange foreign_ranges[3 * acpi::max_cpus];

std::size_t foreign_kernel_ranges(const BootBlock& me) {
    const BootBlock* all = arch::phys_to_virt<const BootBlock>(me.boot_blocks_phys);
    std::size_t n = 0;
    for (std::uint32_t c = 0; c < me.num_cores; ++c) {
        if (c == me.core) continue;
        const BootBlock& b = all[c];
        foreign_ranges[n++] = {b.kernel_phys, b.kernel_phys + b.kernel_size};
        foreign_ranges[n++] = {b.tables_phys, b.pool_phys + b.pool_size};
        foreign_ranges[n++] = {b.user_pool_phys, b.user_pool_phys + b.user_pool_size};
    }
    return normalise_ranges({foreign_ranges, n});
}

// Walks this core's own page tables (the kernel half every domain shares, and anything else
// reachable from CR3) for writable mappings of another core's kernel frames.
void audit_foreign_writable(const BootBlock& me, Audit& a) {
    const std::size_t n = foreign_kernel_ranges(me);
    DirectMapFrames frames;
    a.foreign_writable = count_writable_frames(frames, arch::read_cr3() & pte::addr_mask, {foreign_ranges, n});
}

// Copies what this core needs at run time out of the hand-over (its boot block, every core's
// channel memory, the loaded image's topology and module table) into its own memory, so nothing
// reads another core's memory or the loaded image after boot (docs/share-nothing.md).
void take_hand_over(const BootBlock& bb) {
    this_core.info = bb;
    this_core.topology = *arch::phys_to_virt<const acpi::Topology>(bb.topology_phys);
    this_core.options = *arch::phys_to_virt<const Options>(bb.options_phys);
    const BootBlock* all = arch::phys_to_virt<const BootBlock>(bb.boot_blocks_phys);
    for (std::uint32_t c = 0; c < bb.num_cores && c < acpi::max_cpus; ++c)
        this_core.peers[c] = {all[c].inbox_phys, all[c].chan_pool_phys, all[c].chan_pool_size};
    // Each core's block names its memory node's pool: together they name every pool.
    for (std::uint32_t c = 0; c < bb.num_cores && c < acpi::max_cpus; ++c)
        if (all[c].ram_pool_size && all[c].mem_node < acpi::max_nodes)
            this_core.ram_pools[all[c].mem_node] = {all[c].ram_pool_phys, all[c].ram_pool_phys + all[c].ram_pool_size};
    this_core.boot_apic = all[bb.boot_core].apic_id;
    if (this_core.is_boot_core) this_core.all_boots = arch::phys_to_virt<BootBlock>(bb.boot_blocks_phys);
    const Module* mods = arch::phys_to_virt<const Module>(bb.modules_phys);
    this_core.num_modules = bb.num_modules < max_modules ? bb.num_modules : max_modules;
    for (std::uint32_t m = 0; m < this_core.num_modules; ++m) this_core.modules[m] = mods[m];
}

// A core's boot lines, from the numbers it left in its boot block, with its own prefix: the boot
// core prints them as it sees each core up (and a core prints its own only in the fault self-test).
void print_boot_report(const BootBlock& bb) {
    char text[1024];
    LineBuffer report(text, sizeof text, bb.console_prefix);
    const Audit& au = bb.audit;
    const bool own = au.node_local && au.contiguous && au.tables_own;
    report.emit("core-up core={} apic={} socket={} node={} kernel={:#x} ms={}", bb.core, bb.apic_id, bb.socket,
                bb.node, bb.kernel_phys, bb.up_ms);
    report.log("audit: {} kernel pages, {} page-table frames, all own and node-local: {}; other cores' kernel "
               "frames it could write: {}", au.pages, au.table_frames, own, au.foreign_writable);
    report.emit("audit core={} kernel={:#x}-{:#x} pages={} node-local={} foreign-writable={}", bb.core, au.phys_start,
                au.phys_end, au.pages, own ? "yes" : "no", au.foreign_writable);
    report.log("supervisor protection: SMEP {}, SMAP {}", bb.smep ? "on" : "off (not in this CPU)",
               bb.smap ? "on" : "off (not in this CPU)");
    console_text(report.c_str());
}

void wait_ticks(std::uint64_t n) {
    const std::uint64_t until = this_core.ticks + n;
    while (this_core.ticks < until) arch::sti_hlt();
}

[[noreturn]] void run_boot_core();
void check_run_complete();

} // namespace


[[noreturn]] void on_exception(std::uint64_t vector, std::uint64_t error, std::uint64_t rip, std::uint64_t cr2) {
    emit("exception core={} vector={} error={:#x} rip={:#x} cr2={:#x}", this_core.core, vector, error, rip, cr2);
    log("{} (vector {}) at {:#x}: this core stops; the others go on", exception_name(vector), vector, rip);
    if (this_core.boot) {
        set_state(*this_core.boot, CoreState::failed);
        if (!this_core.is_boot_core) arch::lapic_send_ipi(this_core.boot_apic, arch::vector_wakeup);
    }
    // The boot core ends the run; with it gone nothing else could.
    if (this_core.is_boot_core || !this_core.boot) arch::debug_exit(static_cast<std::uint8_t>(GuestExit::panic));
    arch::halt_forever();
}

extern "C" [[noreturn]] void core_main(BootBlock* bb) {
    // An AP may have started on a below-4-GiB copy of its top-level table; move to the real one
    // (same entries, so nothing mapped changes under our feet).
    if ((arch::read_cr3() & pte::addr_mask) != bb->pml4_phys) arch::write_cr3(bb->pml4_phys);
    this_core.boot = bb;
    this_core.core = bb->core;
    this_core.node = bb->node;
    this_core.apic_id = bb->apic_id;
    this_core.is_boot_core = bb->core == bb->boot_core;
    if (this_core.is_boot_core) placed_ms = ms_since_boot(*bb);  // it comes here once the copies are placed
    set_state(*bb, CoreState::entered);
    console_attach(arch::phys_to_virt<ConsoleLock>(bb->console_lock_phys), bb->console_prefix);
    take_hand_over(*bb);
    if (this_core.options.selftest_stall == static_cast<std::int32_t>(bb->core) && !this_core.is_boot_core)
        arch::halt_forever();  // self-test: entered, never up; the boot core must name this core

    arch::load_gdt_tss();
    arch::load_idt();
    arch::lapic_init(this_core.topology.lapic_address);
    if (arch::lapic_id() != bb->apic_id) {
        log("LAPIC id {} does not match the MADT's {}", arch::lapic_id(), bb->apic_id);
        set_state(*bb, CoreState::failed);
        arch::halt_forever();
    }
    // Running high now: drop the identity map of the low memory the trampoline needed.
    DirectMapFrames frames;
    PageTables(frames, arch::read_cr3() & pte::addr_mask).clear_top_level(0);
    arch::write_cr3(arch::read_cr3());
    set_state(*bb, CoreState::described);

    bb->socket = arch::socket_of_this_cpu();
    bb->audit = audit_kernel_pages();
    audit_table_frames(bb->tables_phys, bb->pool_phys, bb->audit);
    audit_foreign_writable(*bb, bb->audit);
    set_state(*bb, CoreState::audited);
    if (const Status s = reports_attach(*bb); s != Status::ok) panic("kernel report channel unusable: {}", to_string(s));
    arch::enable_syscalls();
    if (!arch::enable_fpu()) panic("this CPU has no FXSAVE or SSE2: user FPU state cannot be kept");
    const arch::SupervisorProtection prot = arch::enable_smep_smap();
    domains_init(bb->user_pool_phys, bb->user_pool_size, bb->pml4_phys);
    if (const Status s = cspace_init(); s != Status::ok && bb->user_pool_size)
        log("no capability table on this core: {} (user domains cannot start)", to_string(s));
    arch::lapic_timer_periodic(bb->lapic_ticks_per_ms, this_core.options.timer_hz);
    wait_ticks(ticks_before_up);

    // This core's boot lines are numbers in its boot block; the boot core formats and prints them
    // (print_boot_report): a core that is up goes idle at once instead of queueing for the
    // serial port behind all the others, and runs no formatting code on its way up.
    bb->up_ms = ms_since_boot(*bb);
    bb->smep = prot.smep;
    bb->smap = prot.smap;
    // The fault self-test core prints its own lines, so they come before its exception's.
    if (this_core.options.selftest_fault == static_cast<std::int32_t>(bb->core) && !this_core.is_boot_core) {
        print_boot_report(*bb);
        bb->reported = 1;
    }
    set_state(*bb, CoreState::up);

    if (this_core.is_boot_core) {
        print_boot_report(*bb);
        run_boot_core();
    }
    arch::lapic_send_ipi(this_core.boot_apic, arch::vector_wakeup);

    if (this_core.options.selftest_fault == static_cast<std::int32_t>(bb->core)) {
        log("self-test: touching an unmapped address");
        *reinterpret_cast<volatile std::uint64_t*>(0x10) = 1;  // low half is unmapped now
    }
    if (this_core.options.num_spawn || this_core.options.monitor[0]) start_spawn_plan();
    schedule();
}

namespace {
bool timer_stopped;  // this core's LAPIC timer (started in core_main); bss: no .data in the image

// A core without any domain has nothing a tick could wake or preempt, and nothing can give it
// one later (domains are created only by code running on their own core, from a domain or
// from the boot-time spawn plan, which runs before the core first idles). Its periodic tick
// would be pure cost: an emulated machine (TCG) interrupts its one host thread for every tick
// of every core, N cores x timer_hz per second, so idle ticks slow the others down in
// proportion to N. The boot core keeps ticking: its waits end on the tick.
void tick_only_when_needed() {
    bool any = this_core.is_boot_core;
    for (std::uint32_t i = 0; i < max_domains && !any; ++i) any = domain_table()[i].state != DomainState::free;
    if (any != timer_stopped) return;
    if (any) arch::lapic_timer_periodic(this_core.info.lapic_ticks_per_ms, this_core.options.timer_hz);
    else arch::lapic_timer_stop();
    timer_stopped = !any;
}
} // namespace

extern "C" [[noreturn]] void idle_loop() {
    for (;;) {
        arch::cli();
        if (this_core.is_boot_core && (this_core.options.num_spawn || this_core.options.monitor[0])) check_run_complete();
        tick_only_when_needed();
        arch::sti_hlt();
        arch::cli();
        // Work arrives only through interrupts; a handler that made a domain runnable switched
        // to it already, so there is nothing else to look for here yet.
    }
}

[[noreturn]] void idle() {
    // Restart on a fresh stack: whatever kernel context called us is finished.
    const std::uint64_t top = reinterpret_cast<std::uint64_t>(boot_stack_top) - 1024;
    asm volatile("mov %0, %%rsp\n\tcall idle_loop" ::"r"(top) : "memory");
    __builtin_unreachable();
}

namespace {

[[noreturn]] void finish(bool ok, const char* why) {
    if (!ok) log("self-check failed: {}", why);
    arch::debug_exit(static_cast<std::uint8_t>(ok ? GuestExit::success : GuestExit::check_failed));
}

struct WaitResult {
    std::uint64_t first_up_ms, last_up_ms;  // when the boot core saw the first and the last AP up
};

// Waits, asleep between wake-ups (each AP's IPI when it is up, and this core's tick), until
// every other core is up or has failed, printing each one's boot report as it comes. The wait
// ends on progress: it goes on for as long as some core changes state at least every boot.stall_ms,
// so a slow boot is waited for and a stuck core is named. Each wake-up looks only at the cores
// still pending.
WaitResult wait_for_cores(BootBlock* blocks, const BootBlock& me) {
    static std::uint32_t pending[acpi::max_cpus];
    static CoreState seen[acpi::max_cpus];
    std::uint32_t waiting = 0;
    for (std::uint32_t i = 0; i < me.num_cores; ++i)
        if (i != me.core) pending[waiting++] = i;
    WaitResult w{};
    std::uint64_t last_progress = arch::rdtsc();
    while (waiting) {
        std::uint32_t kept = 0;
        for (std::uint32_t k = 0; k < waiting; ++k) {
            const std::uint32_t i = pending[k];
            const CoreState s = get_state(blocks[i]);
            if (s != seen[i]) {
                seen[i] = s;
                last_progress = arch::rdtsc();
            }
            if (s != CoreState::up && s != CoreState::failed) {
                pending[kept++] = i;
                continue;
            }
            // A core that failed after core-up (the fault self-test) has its lines too.
            if (!blocks[i].reported && (s == CoreState::up || blocks[i].up_ms)) print_boot_report(blocks[i]);
            if (s == CoreState::up) {
                w.last_up_ms = ms_since_boot(me);
                if (!w.first_up_ms) w.first_up_ms = w.last_up_ms;
            }
        }
        waiting = kept;
        if (!waiting || arch::rdtsc() - last_progress > me.tsc_per_ms * this_core.options.boot_stall_ms) break;
        arch::sti_hlt();
    }
    for (std::uint32_t k = 0; k < waiting; ++k)
        log("core {} did not come up: {} (no core made progress for {} ms)", pending[k],
            seen[pending[k]] == CoreState::not_started ? "it never started"
            : seen[pending[k]] == CoreState::entered   ? "it entered its CPU driver and stopped"
                                                       : "it stopped while initialising",
            this_core.options.boot_stall_ms);
    return w;
}

[[noreturn]] void run_boot_core() {
    BootBlock* blocks = this_core.all_boots;
    const BootBlock& me = this_core.info;
    const std::uint32_t n = me.num_cores;
    const std::uint64_t tsc_ms = me.tsc_per_ms;

    // INIT to every AP, 10 ms, then SIPI twice (SDM Vol. 3A §9.4.4.1). All start at once: each
    // finds its own page tables in the trampoline table by APIC id.
    for (std::uint32_t i = 0; i < n; ++i)
        if (i != me.core) arch::lapic_send_init(blocks[i].apic_id);
    arch::delay_us(tsc_ms, 10000);
    for (int round = 0; round < 2; ++round) {
        for (std::uint32_t i = 0; i < n; ++i)
            if (i != me.core && get_state(blocks[i]) == CoreState::not_started)
                arch::lapic_send_sipi(blocks[i].apic_id, 0x08);
        arch::delay_us(tsc_ms, 200);
    }
    const std::uint64_t sipi_ms = ms_since_boot(me);
    const WaitResult w = wait_for_cores(blocks, me);
    // A core asked to fault as a self-test reports up first and faults after: wait for it.
    const std::int32_t fault = this_core.options.selftest_fault;
    if (fault >= 0 && static_cast<std::uint32_t>(fault) < n && static_cast<std::uint32_t>(fault) != me.core) {
        const std::uint64_t since = arch::rdtsc();
        while (get_state(blocks[fault]) != CoreState::failed && arch::rdtsc() - since < tsc_ms * this_core.options.boot_stall_ms) arch::sti_hlt();
    }
    emit("boot-phases cores={} placed={} sipi={} first-up={} last-up={}", n, placed_ms, sipi_ms, w.first_up_ms,
         w.last_up_ms);
    std::uint32_t up = 0, failed = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const CoreState s = get_state(blocks[i]);
        up += s == CoreState::up;
        failed += s == CoreState::failed;
    }

    // Share-nothing audit across cores: kernel copies must not overlap and must be node-local.
    // `reached`: cores that got as far as core-up (a self-test fault comes after it).
    std::uint32_t overlaps = 0, nonlocal = 0, reached = 0;
    std::uint64_t foreign = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const Audit& a = blocks[i].audit;
        if (get_state(blocks[i]) == CoreState::not_started || a.pages == 0) continue;
        ++reached;
        if (!a.node_local || !a.contiguous || !a.tables_own) ++nonlocal;
        foreign += a.foreign_writable;
        for (std::uint32_t j = i + 1; j < n; ++j) {
            const Audit& b = blocks[j].audit;
            if (get_state(blocks[j]) == CoreState::not_started || b.pages == 0) continue;
            if (a.phys_start < b.phys_end && b.phys_start < a.phys_end) ++overlaps;
        }
    }

    log("core  apic  socket  node  mem-node  cpu-driver copy");
    for (std::uint32_t i = 0; i < n; ++i) {
        const BootBlock& b = blocks[i];
        log("{:4}  {:4}  {:6}  {:4}  {:8}  {:#x}-{:#x}", i, b.apic_id, b.socket, b.node, b.mem_node,
            b.audit.phys_start, b.audit.phys_end);
    }
    const acpi::Topology& topo = this_core.topology;
    log("distances ({} nodes{}):", topo.num_nodes, topo.has_slit ? "" : ", defaults: no SLIT");
    for (std::uint32_t a = 0; a < topo.num_nodes; ++a) {
        char row[256];
        FixedBuffer r(row, sizeof row);
        for (std::uint32_t b = 0; b < topo.num_nodes; ++b) format_to(r, "{:4}", topo.distance[a][b]);
        log("  node {:2}:{}", a, row);
    }
    emit("audit-summary cores={} overlaps={} nonlocal={} foreign-writable={}", reached, overlaps, nonlocal, foreign);
    const std::uint64_t ms = (arch::rdtsc() - me.boot_tsc) / (tsc_ms ? tsc_ms : 1);
    emit("boot-complete cores={} nodes={} ms={}", reached, topo.num_nodes ? topo.num_nodes : 1, ms);
    this_core.all_boots = nullptr;  // the hand-over is over: from here on, reports come by message

    if (fault >= 0) {
        finish(failed == 1 && up + 1 == n && reached == n && overlaps == 0 && nonlocal == 0 && foreign == 0,
               "fault self-test: unexpected core states");
    }
    if (up != n) finish(false, "not every core came up");
    if (overlaps != 0 || nonlocal != 0 || foreign != 0) finish(false, "share-nothing audit failed");
    if (!this_core.options.num_spawn && !this_core.options.monitor[0]) finish(true, "");
    start_spawn_plan();
    schedule();
}

// Boot core, when idle: the run ends once every core has no domain left (its own, and every
// other core's report on its channel).
void check_run_complete() {
    if (!domains_all_gone()) return;
    DomainCounts t = domain_counts();
    if (!reports_all_done(t)) return;
    emit("run-complete cores={} domains={} exited={} failed={} faulted={}", this_core.info.num_cores, t.started,
         t.exited, t.failed, t.faulted);
    finish(t.failed == 0, "a domain exited with a non-zero code");
}

} // namespace
} // namespace myr::kernel
