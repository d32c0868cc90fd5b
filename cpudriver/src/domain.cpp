// Domains, their address spaces and the per-core round-robin scheduler.
#include "domain.hpp"

#include "cspace.hpp"
#include "frames.hpp"
#include "ipc.hpp"
#include "report.hpp"

#include <arch/cpu.hpp>
#include <arch/platform.hpp>
#include <myr/abi/syscall.hpp>
#include <myr/exit_codes.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/elf.hpp>
#include <myr/kernel/page_tables.hpp>
#include <myr/kernel/percore.hpp>

namespace myr::kernel {

namespace domain_detail {
Domain* running;                 // null while idle
Domain table[max_domains];
}
using domain_detail::running;
using domain_detail::table;

namespace {

// Whose x87/SSE state and data segment selectors are in the registers: the domain that last ran
// in user mode here (it may have gone idle since, or entered the kernel). The kernel never
// touches these registers, so they are saved only when a different domain is about to run (eager
// switching: no #NM).
Domain* fpu_owner;
FrameAllocator frames;
std::uint64_t core_pml4;         // the core's own tables: used while idle
std::uint32_t next_serial;
std::uint32_t generations_left[max_spawn];
DomainCounts counts;             // this core's alone; the boot core learns them by message
bool all_gone;                   // reported: every domain of this core has ended

// Page-table frames for a domain come from the pool with the domain as owner, so they are freed
// with everything else it holds.
class DomainFrames final : public FrameSource {
public:
    explicit DomainFrames(std::uint16_t owner) : m_owner(owner) {}
    Result<std::uint64_t> alloc_zeroed_frame() override {
        const std::uint64_t f = MYR_TRY(frames.allocate(m_owner));
        auto* p = arch::phys_to_virt<std::uint64_t>(f);
        for (unsigned i = 0; i < 512; ++i) p[i] = 0;
        return f;
    }
    std::uint64_t* table(std::uint64_t phys) override { return arch::phys_to_virt<std::uint64_t>(phys); }

private:
    std::uint16_t m_owner;
};

Status load_image(Domain& d, const ElfImage& img) {
    DomainFrames df(d.owner);
    const std::uint64_t root = MYR_TRY(df.alloc_zeroed_frame());
    // The kernel half: the same top-level entries as this core's own tables (its copy only).
    const auto* kernel_l4 = arch::phys_to_virt<const std::uint64_t>(core_pml4);
    auto* l4 = arch::phys_to_virt<std::uint64_t>(root);
    for (unsigned i = 256; i < 512; ++i) l4[i] = kernel_l4[i];
    d.pml4 = root;
    PageTables pt(df, root);
    for (std::uint32_t s = 0; s < img.num_segments; ++s) {
        const ElfSegment& seg = img.segments[s];
        const std::uint64_t flags = pte::user | (seg.writable ? pte::writable : 0) | (seg.executable ? 0 : pte::no_execute);
        for (std::uint64_t off = 0; off < seg.memsz; off += 4096) {
            const std::uint64_t page = MYR_TRY(frames.allocate(d.owner));
            const std::uint64_t va = seg.vaddr + off;
            // Copy the part of the file image that falls in this page and zero the rest of it
            // (text and data pages are all file; bss pages all zero): each byte written once.
            const std::uint64_t fstart = seg.file_vaddr, fend = seg.file_vaddr + seg.file.size();
            const std::uint64_t lo = va > fstart ? va : fstart;
            const std::uint64_t hi = va + 4096 < fend ? va + 4096 : fend;
            auto* bytes = arch::phys_to_virt<std::uint8_t>(page);
            // (memcpy and memset go 8 bytes at a time: an ELF segment's file offset and address
            // agree modulo the page size, and modules start on a page.)
            if (lo < hi) {
                __builtin_memset(bytes, 0, lo - va);
                __builtin_memcpy(bytes + (lo - va), seg.file.data() + (lo - fstart), hi - lo);
                __builtin_memset(bytes + (hi - va), 0, va + 4096 - hi);
            } else {
                __builtin_memset(bytes, 0, 4096);
            }
            MYR_TRY(pt.map(va, page, 4096, flags, 4096));
        }
    }
    for (std::uint64_t i = 0; i < user_stack_pages; ++i) {
        const std::uint64_t page = MYR_TRY(df.alloc_zeroed_frame());
        MYR_TRY(pt.map(user_stack_top - (i + 1) * 4096, page, 4096, pte::user | pte::writable | pte::no_execute, 4096));
    }
    return Status::ok;
}

const Module* modules(std::uint32_t& count) {
    count = this_core.num_modules;
    return this_core.modules;
}

// The module's name: the file name of the first word of its multiboot string.
void module_name(const Module& m, char* out, std::size_t cap) {
    const char* start = m.name;
    for (const char* p = m.name; *p && *p != ' '; ++p)
        if (*p == '/') start = p + 1;
    std::size_t i = 0;
    while (start[i] && start[i] != ' ' && i + 1 < cap) {
        out[i] = start[i];
        ++i;
    }
    out[i] = '\0';
}

bool same(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

// A core is busy while a domain can still run or waits for a peer; servers idling in receive
// on an endpoint only their own core can reach do not keep it alive.
bool any_alive() {
    for (const Domain& d : table)
        if (ipc_keeps_core_busy(d)) return true;
    return false;
}

// After a domain ends: start its spawn spec's next generation, or report this core done.
void after_exit(std::uint32_t spawn_index) {
    if (spawn_index < max_spawn && generations_left[spawn_index] > 0) {
        const SpawnSpec& sp = this_core.options.spawn[spawn_index];
        std::uint32_t n = 0;
        const Module* mods = modules(n);
        for (std::uint32_t m = 0; m < n; ++m) {
            char name[24];
            module_name(mods[m], name, sizeof name);
            if (!same(name, sp.name)) continue;
            --generations_left[spawn_index];
            if (!spawn_module(m, spawn_index, this_core.core).ok()) generations_left[spawn_index] = 0;
            return;
        }
    }
    if (!any_alive() && !all_gone) {
        // Log first: once the report is out the boot core may end the run at any moment.
        const std::uint32_t kernel = frames.owned_count(0xffff);
        log("all domains of this core are gone ({} frames held by domains, {} free, {} kernel)",
            frames.total() - frames.free_count() - kernel, frames.free_count(), kernel);
        all_gone = true;
        if (!this_core.is_boot_core) report_domains_done(counts);
    }
}

} // namespace

[[noreturn]] void switch_to_domain(Domain& d) {
    running = &d;
    if (fpu_owner != &d) {
        // Selectors: loading one is a descriptor load, so only when they differ (nearly every
        // domain keeps the null selectors it starts with).
        const arch::UserSegments live = arch::save_user_segments();
        if (fpu_owner) {
            arch::fpu_save(fpu_owner->fpu);
            fpu_owner->segs = live;
        }
        arch::fpu_restore(d.fpu);
        if (!(live == d.segs)) arch::load_user_segments(d.segs);
        fpu_owner = &d;
    }
    if ((arch::read_cr3() & pte::addr_mask) != d.pml4) arch::write_cr3(d.pml4);
    arch::set_syscall_save_area(d.regs);
    arch::resume_user(d.regs, d.in_syscall);
}

void domains_init(std::uint64_t pool_phys, std::uint64_t pool_size, std::uint64_t kernel_pml4) {
    frames.init(pool_phys, static_cast<std::uint32_t>(pool_size / 4096));
    core_pml4 = kernel_pml4;
    for (std::uint32_t i = 0; i < max_domains; ++i) {
        table[i].state = DomainState::free;
        table[i].owner = static_cast<std::uint16_t>(i + 1);
    }
}

Status map_user_page(Domain& d, std::uint64_t vaddr, std::uint64_t phys, std::uint64_t flags) {
    DomainFrames df(d.owner);
    return PageTables(df, d.pml4).map(vaddr, phys, 4096, flags, 4096);
}

FrameAllocator& user_frames() { return frames; }

Result<Domain*> spawn_module(std::uint32_t module, std::uint32_t spawn_index, std::uint64_t arg) {
    std::uint32_t n = 0;
    const Module* mods = modules(n);
    if (module >= n) return Status::not_found;
    Domain* d = nullptr;
    // The free slot whose domain started longest ago (never used: serial 0): domain_status keeps
    // answering how a domain ended until its slot starts another, so reusing the slot just freed
    // would let a monitor that was preempted between its last look and this spawn lose how it
    // ended (docs/monitors.md, "Death feed").
    for (Domain& slot : table)
        if (slot.state == DomainState::free && (!d || slot.serial < d->serial)) d = &slot;
    if (!d) return Status::overflow;
    const Module& m = mods[module];
    ElfImage img{};
    const Bytes file(arch::phys_to_virt<const std::uint8_t>(m.start), m.end - m.start);
    char name[24];
    module_name(m, name, sizeof name);
    if (const Status s = parse_elf(file, img); s != Status::ok) {
        log("cannot start '{}': not a valid program ({})", name, to_string(s));
        return s;
    }
    if (const Status s = load_image(*d, img); s != Status::ok) {
        frames.free_all(d->owner);
        log("cannot start '{}': {}", name, to_string(s));
        return s;
    }
    for (std::size_t i = 0; i < sizeof d->name; ++i) d->name[i] = name[i];
    d->serial = ++next_serial;
    if (const Status s = cspace_create(*d); s != Status::ok) {
        frames.free_all(d->owner);
        log("cannot start '{}': no capability space ({})", name, to_string(s));
        return s;
    }
    d->wait = IpcWait::none;
    d->reply_to = nullptr;
    d->event_pending = false;
    d->recv_events = false;
    d->ended = abi::DomainStatus::runnable;
    d->end_code = 0;
    d->module = module;
    d->spawn_index = spawn_index;
    d->regs = {};
    d->regs.rip = img.entry;
    d->regs.rsp = user_stack_top;
    d->regs.cs = arch::user_cs;
    d->regs.ss = arch::user_ss;
    d->regs.rflags = arch::rflags_if | 0x2;
    d->regs.rdi = arg;
    d->in_syscall = false;
    arch::fpu_reset(d->fpu);  // FNINIT state: nothing of an earlier domain in this slot survives
    d->segs = {};             // null selectors: nothing of an earlier domain either
    d->state = DomainState::runnable;
    ++counts.started;
    emit("domain-start core={} domain={} name={}", this_core.core, d->serial, d->name);
    return d;
}

// Monitor privileges: a kernel cap and an IPI cap in its cspace, the mesh of every core's inbox
// mapped into its address space, and the mesh geometry in its argument registers.
Status make_monitor(Domain& d) {
    const BootBlock& me = this_core.info;
    caps::CapTable& t = cap_table();
    MYR_TRY(t.install(d.cnode_first + 5, caps::make_kernel(this_core.core)));
    MYR_TRY(t.install(d.cnode_first + 6, caps::make_ipi(0, me.num_cores, arch::vector_wakeup)));
    MYR_TRY(cspace_grant_monitor(d));
    const std::uint64_t stride = me.inbox_size;
    for (std::uint32_t c = 0; c < me.num_cores; ++c)
        for (std::uint64_t off = 0; off < stride; off += 4096)
            MYR_TRY(map_user_page(d, abi::monitor_mesh_base + c * stride + off, this_core.peers[c].inbox_phys + off,
                                  pte::user | pte::writable | pte::no_execute));
    d.regs.rsi = me.num_cores;
    d.regs.rdx = abi::monitor_mesh_base;
    d.regs.rcx = stride;
    d.regs.r8 = me.channel_bytes;
    d.regs.r9 = me.node | (std::uint64_t{this_core.options.monitor_flags} << 32);
    return Status::ok;
}

void start_spawn_plan() {
    const Options& o = this_core.options;
    std::uint32_t n = 0;
    const Module* mods = modules(n);
    bool any = false;
    if (o.monitor[0]) {
        const auto d = spawn_by_name(o.monitor, this_core.core);
        if (!d.ok()) {
            log("monitor '{}' did not start: {}", o.monitor, to_string(d.status()));
        } else if (const Status s = make_monitor(**d); s != Status::ok) {
            log("monitor '{}' could not get its privileges: {}", o.monitor, to_string(s));
            destroy_domain(**d);
        } else {
            any = true;
        }
    }
    for (std::uint32_t s = 0; s < o.num_spawn; ++s) {
        if (!core_in_list(o.spawn[s].cores, this_core.core)) continue;
        bool found = false;
        for (std::uint32_t m = 0; m < n && !found; ++m) {
            char name[24];
            module_name(mods[m], name, sizeof name);
            if (!same(name, o.spawn[s].name)) continue;
            found = true;
            generations_left[s] = o.spawn[s].generations - 1;
            any = spawn_module(m, s, this_core.core).ok() || any;
        }
        if (!found) log("spawn: no boot module named '{}'", o.spawn[s].name);
    }
    if (!any) after_exit(max_spawn);
}

Result<Domain*> spawn_by_name(const char* name, std::uint64_t arg) {
    std::uint32_t n = 0;
    const Module* mods = modules(n);
    for (std::uint32_t m = 0; m < n; ++m) {
        char mod_name[24];
        module_name(mods[m], mod_name, sizeof mod_name);
        if (same(mod_name, name)) return spawn_module(m, max_spawn, arg);
    }
    return Status::not_found;
}

void wake_event_waiter(Domain& d, bool remember) {
    if (d.state == DomainState::free || d.state == DomainState::dead) return;
    if (d.state == DomainState::blocked && d.wait == IpcWait::recv && d.recv_events) {
        // A server waiting for local calls and for its rings at once (abi::recv_events).
        ipc_cancel_receive(d);
        d.regs.rax = static_cast<std::uint64_t>(static_cast<std::uint32_t>(Status::would_block));
        return;
    }
    if (d.state != DomainState::blocked || d.wait != IpcWait::event) {
        // Between its last look at its channels and its wait_event: without this, a peer's
        // doorbell in that window was lost and the domain slept until the next tick.
        if (remember) d.event_pending = true;
        return;
    }
    d.wait = IpcWait::none;
    d.state = DomainState::runnable;
    d.regs.rax = static_cast<std::uint64_t>(Status::ok);
}

void wake_event_waiters(bool remember) {
    for (Domain& d : table) wake_event_waiter(d, remember);
}

std::uint32_t destroy_domain(Domain& d) {
    ipc_forget(d);
    cspace_destroy(d);
    if ((arch::read_cr3() & pte::addr_mask) == d.pml4) arch::write_cr3(core_pml4);
    const std::uint32_t freed = frames.free_all(d.owner);
    d.state = DomainState::free;
    d.pml4 = 0;
    if (running == &d) {
        running = nullptr;
        arch::spare_save_area();
    }
    if (fpu_owner == &d) fpu_owner = nullptr;  // its registers are dead: never saved anywhere
    return freed;
}

[[noreturn]] void schedule() {
    // Round robin from the one after the current (or the start).
    const std::uint32_t start = running ? static_cast<std::uint32_t>(running - table) + 1 : 0;
    for (std::uint32_t n = 0; n < max_domains; ++n) {
        Domain& d = table[(start + n) % max_domains];
        if (d.state == DomainState::runnable) switch_to_domain(d);
    }
    // The domain that was running may have just blocked in receive as the last busy one (a
    // server whose last client ended while the server was still runnable): the core is done
    // now, not at some later exit that never comes.
    const bool blocked_last = running != nullptr;
    running = nullptr;
    arch::spare_save_area();
    if ((arch::read_cr3() & pte::addr_mask) != core_pml4) arch::write_cr3(core_pml4);
    if (blocked_last && !all_gone) after_exit(max_spawn);
    idle();
}

Status copy_from_user(Domain& d, std::uint64_t uaddr, void* dst, std::uint64_t len) {
    if (uaddr >= user_space_end || len > user_space_end - uaddr) return Status::invalid_argument;
    DirectMapFrames dm;
    PageTables pt(dm, d.pml4);
    auto* out = static_cast<std::uint8_t*>(dst);
    while (len) {
        const auto t = pt.translate(uaddr);
        if (!t.ok() || !(t->flags & pte::user)) return Status::invalid_argument;
        const std::uint64_t in_page = 4096 - (uaddr & 0xfff);
        const std::uint64_t n = len < in_page ? len : in_page;
        __builtin_memcpy(out, arch::phys_to_virt<const std::uint8_t>(t->phys), n);
        out += n;
        uaddr += n;
        len -= n;
    }
    return Status::ok;
}

Status user_writable(Domain& d, std::uint64_t uaddr, std::uint64_t len) {
    if (uaddr >= user_space_end || len > user_space_end - uaddr) return Status::invalid_argument;
    DirectMapFrames dm;
    PageTables pt(dm, d.pml4);
    for (std::uint64_t a = uaddr & ~std::uint64_t{0xfff}; a < uaddr + len; a += 4096) {
        const auto t = pt.translate(a);
        if (!t.ok() || !(t->flags & pte::user) || !(t->flags & pte::writable)) return Status::invalid_argument;
    }
    return Status::ok;
}

Status copy_to_user(Domain& d, std::uint64_t uaddr, const void* src, std::uint64_t len) {
    // Check every page first, so a bad buffer changes nothing.
    MYR_TRY(user_writable(d, uaddr, len));
    DirectMapFrames dm;
    PageTables pt(dm, d.pml4);
    const auto* in = static_cast<const std::uint8_t*>(src);
    while (len) {
        const auto t = pt.translate(uaddr);
        const std::uint64_t in_page = 4096 - (uaddr & 0xfff);
        const std::uint64_t n = len < in_page ? len : in_page;
        __builtin_memcpy(arch::phys_to_virt<std::uint8_t>(t->phys), in, n);
        in += n;
        uaddr += n;
        len -= n;
    }
    return Status::ok;
}

void on_timer_tick(arch::TrapFrame& frame) {
    this_core.ticks = this_core.ticks + 1;
    wake_event_waiters(false);
    if (!arch::from_user(frame) || !running) {
        if (!running && !arch::from_user(frame)) {
            // Idle: run whatever the tick woke (the idle context is abandoned).
            for (Domain& d : table)
                if (d.state == DomainState::runnable) schedule();
        }
        return;
    }
    // Preempt: the interrupted domain goes to the back of the round robin.
    running->regs = frame;
    running->in_syscall = false;
    schedule();
}

void on_wakeup_ipi(arch::TrapFrame& frame) {
    this_core.wakeups = this_core.wakeups + 1;
    wake_event_waiters();
    if (!running && !arch::from_user(frame))
        for (Domain& d : table)
            if (d.state == DomainState::runnable) schedule();
}

[[noreturn]] void on_user_exception(arch::TrapFrame& frame, std::uint64_t cr2) {
    Domain* d = running;
    if (!d) on_exception(frame.vector, frame.error, frame.rip, cr2);
    emit("domain-fault core={} domain={} name={} vector={} error={:#x} rip={:#x} cr2={:#x}", this_core.core,
         d->serial, d->name, frame.vector, frame.error, frame.rip, frame.vector == 14 ? cr2 : 0);
    const std::uint32_t spawn_index = d->spawn_index;
    d->ended = abi::DomainStatus::faulted;
    d->end_code = static_cast<std::uint32_t>(frame.vector);
    const std::uint32_t freed = destroy_domain(*d);
    log("killed domain {} ({}): {} frames returned; the other domains go on", d->serial, d->name, freed);
    ++counts.faulted;
    after_exit(spawn_index);
    schedule();
}

void exit_current(std::uint64_t code) {
    Domain* d = running;
    const std::uint32_t spawn_index = d->spawn_index;
    const std::uint32_t serial = d->serial;
    char name[24];
    for (std::size_t i = 0; i < sizeof name; ++i) name[i] = d->name[i];
    d->ended = abi::DomainStatus::exited;
    d->end_code = static_cast<std::uint32_t>(code);
    const std::uint32_t freed = destroy_domain(*d);
    emit("domain-exit core={} domain={} name={} code={} frames={}", this_core.core, serial, name, code, freed);
    if (code == 0) ++counts.exited;
    else ++counts.failed;
    after_exit(spawn_index);
}

void kill_domain(Domain& d, const Domain& by) {
    const std::uint32_t spawn_index = d.spawn_index;
    const std::uint32_t by_serial = by.serial;  // `by` may be `d`: read it before d is freed
    d.ended = abi::DomainStatus::killed;
    d.end_code = by_serial;
    const std::uint32_t freed = destroy_domain(d);
    emit("domain-killed core={} domain={} name={} by={} frames={}", this_core.core, d.serial, d.name, by_serial, freed);
    // Counted with the faults: the run ends as it would had the domain faulted.
    ++counts.faulted;
    after_exit(spawn_index);
}

const DomainCounts& domain_counts() { return counts; }
bool domains_all_gone() { return all_gone; }

Domain* domain_by_serial(std::uint32_t serial) {
    for (Domain& d : table)
        if (d.serial == serial && serial != 0) return &d;
    return nullptr;
}

} // namespace myr::kernel
