#include "cspace.hpp"

#include "frames.hpp"
#include "ipc.hpp"

#include <arch/cpu.hpp>
#include <arch/platform.hpp>
#include <myr/abi/syscall.hpp>
#include <myr/kernel/boot_plan.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/elf.hpp>
#include <myr/kernel/page_tables.hpp>
#include <myr/kernel/percore.hpp>

namespace myr::kernel {
namespace cspace_detail {
caps::CapTable table;
}

namespace {

using caps::Cap;
using caps::CapType;
using caps::Rights;
using caps::SlotIdx;

// The core's table: 4096 slots (256 KiB of its own pool). The first 256 are the kernel's own:
constexpr std::uint32_t table_slots = 4096;
constexpr std::uint32_t kernel_slots = 256;
constexpr SlotIdx k_table_untyped = 1;   // covers the table beyond the kernel slots: cnodes
constexpr SlotIdx k_ram_untyped = 2;     // per-domain RAM, then the core endpoint
constexpr SlotIdx k_endpoint = 3;        // the core's shared endpoint (unbadged)
constexpr SlotIdx k_monitor_ep = 4;      // the monitor's endpoint: domains call their monitor on it
constexpr SlotIdx k_cnode_untyped = 64;  // + domain index: a cnode's worth of table memory
constexpr SlotIdx k_domain_ram = 128;    // + domain index: its RAM untyped while not lent out
constexpr SlotIdx k_cnode = 192;         // + domain index: the domain's cnode cap
// + domain index: the root domain cap (base = serial) of the domain the slot holds or last held.
// Every domain cap derives from it; it stays after its domain ends, so copies elsewhere keep
// answering with how it ended, and is revoked (deleting every copy) when the slot starts the
// next domain.
constexpr SlotIdx k_domain = 224;
static_assert(k_domain + max_domains <= kernel_slots);
constexpr unsigned domain_ram_bits = 17; // 128 KiB
constexpr std::uint16_t kernel_owner = 0xffff;

using cspace_detail::table;
bool ready;

std::uint32_t index_of(const Domain& d) { return static_cast<std::uint32_t>(&d - domain_table()); }

// Objects whose last capability went away: endpoints wake whoever waited on them.
void on_freed(void*, const Cap& object) {
    if (object.type == CapType::endpoint || object.type == CapType::notification) ipc_endpoint_gone(object.base);
}
constexpr caps::FreedSink freed_sink{on_freed, nullptr};

void zero_phys(std::uint64_t base, std::uint64_t size) {
    auto* p = arch::phys_to_virt<std::uint64_t>(base);
    for (std::uint64_t i = 0; i < size / 8; ++i) p[i] = 0;
}

// Mapping records (frames, channel memory) and installation records (page tables) live in the
// cap's ext words: ext[0] = vaddr | 1 while mapped or installed, ext[1] = domain-table index |
// serial << 32 of the domain whose address space holds it. The serial makes a record left over
// from an ended domain (a cap moved elsewhere before it died) name nobody.
std::uint64_t record_of(const Domain& d) { return index_of(d) | (std::uint64_t{d.serial} << 32); }

Domain* record_owner(const std::uint64_t* ext) {
    Domain& o = domain_table()[(ext[1] & 0xffff'ffffu) % max_domains];
    if (o.state == DomainState::free || !o.pml4 || o.serial != (ext[1] >> 32)) return nullptr;
    return &o;
}

// Changed entries of the loaded address space: reloading CR3 drops its TLB entries and cached
// paging structures (user pages are never global). Another domain's tables are loaded fresh
// when it next runs (switch_to_domain writes CR3).
void flush_if_loaded(const Domain& o) {
    if ((arch::read_cr3() & pte::addr_mask) == o.pml4) arch::write_cr3(arch::read_cr3());
}

// Ends the mapping or installation `i` records. The entry is cleared only when the walk from the
// owner's root still reaches it and it still points to this object: a path cut further up (a
// table above was uninstalled) is not reachable by the MMU either, and a stale record never
// clears someone else's entry. A page table is zeroed as it leaves its tree (seL4 clears a page
// table on unmap the same way), so an uninstalled table never holds entries: installing it again
// cannot bring back a mapping whose frame has gone. Tables below it are cut off with it; their
// caps keep their (stale) records until unmap_table or delete.
void unmap_slot(SlotIdx i) {
    std::uint64_t* ext = table.ext(i);
    if (!(ext[0] & 1)) return;
    const Cap& c = table.cap(i);
    const std::uint64_t vaddr = ext[0] & ~std::uint64_t{0xfff};
    if (Domain* owner = record_owner(ext)) {
        const unsigned level = c.type == CapType::page_table ? c.aux : 0;  // the entry pointing at it
        // A page table is one entry; a frame or block of channel memory one per 4 KiB page (sys_map).
        const std::uint64_t pages = level == 0 ? c.size / 4096 : 1;
        DirectMapFrames dm;
        const auto e = PageTables(dm, owner->pml4).entry(vaddr, level);
        bool cleared = false;
        for (std::uint64_t k = 0; e.ok() && k < pages; ++k)
            if (((*e)[k] & pte::present) && ((*e)[k] & pte::addr_mask) == c.base + k * 4096) {
                (*e)[k] = 0;
                cleared = true;
            }
        if (cleared) flush_if_loaded(*owner);
    }
    if (c.type == CapType::page_table) zero_phys(c.base, c.size);
    ext[0] = ext[1] = 0;
}

// Unmaps every mapped frame and uninstalls every page table in the subtree rooted at `root`
// (which is about to be deleted), so no domain keeps access to memory whose capability is gone.
// Iterative walk over the tree links.
void unmap_subtree(SlotIdx root, bool include_root) {
    if (include_root) unmap_slot(root);
    SlotIdx i = table.slot(root).first_child;
    while (i != caps::no_slot) {
        unmap_slot(i);
        if (table.slot(i).first_child != caps::no_slot) {
            i = table.slot(i).first_child;
            continue;
        }
        while (i != root && table.slot(i).next_sibling == caps::no_slot) i = table.slot(i).parent;
        if (i == root) break;
        i = table.slot(i).next_sibling;
    }
}

Status delete_slot(SlotIdx i) {
    if (table.cap(i).is_null()) return Status::not_found;
    // Refused before anything changes (remove would refuse it too, after the revoke).
    if (table.cap(i).pinned()) return Status::permission_denied;
    // A leaf that is not mapped (most deletes: a copy received over IPC) has nothing to unmap
    // or revoke: straight to remove.
    if (table.slot(i).first_child == caps::no_slot && !(table.ext(i)[0] & 1))
        return table.remove_copy(i) ? Status::ok : table.remove(i, freed_sink);
    unmap_subtree(i, true);
    MYR_TRY(table.revoke(i, freed_sink));
    return table.remove(i, freed_sink);
}

} // namespace


Status cspace_init() {
    FrameAllocator& fa = user_frames();
    constexpr std::uint32_t table_frames = table_slots * sizeof(caps::Slot) / 4096;
    const std::uint64_t table_phys = MYR_TRY(fa.allocate_run(kernel_owner, table_frames));
    // No zeroing first: init writes every slot (empty slots are not all zero bytes).
    static_assert(std::uint64_t{table_frames} * 4096 == std::uint64_t{table_slots} * sizeof(caps::Slot));
    MYR_TRY(table.init({arch::phys_to_virt<caps::Slot>(table_phys), table_slots}, table_phys));

    const std::uint64_t ram_size = std::uint64_t{max_domains} << domain_ram_bits;
    const std::uint64_t ram_phys = MYR_TRY(fa.allocate_run(kernel_owner, static_cast<std::uint32_t>(ram_size / 4096) + 16,
                                                           (1u << domain_ram_bits) / 4096));
    const std::uint64_t cnode_mem = table_phys + std::uint64_t{kernel_slots} * sizeof(caps::Slot);
    MYR_TRY(table.install(k_table_untyped, caps::make_untyped(cnode_mem, table.phys_end() - cnode_mem)));
    MYR_TRY(table.install(k_ram_untyped, caps::make_untyped(ram_phys, ram_size + 16 * 4096)));
    // Pre-carve one cnode's table memory and one RAM region per domain slot: each comes back
    // whole when its domain dies (an untyped's watermark resets once its children are gone).
    const caps::ObjectSpec cnode_untyped{CapType::untyped, static_cast<std::uint8_t>(cnode_radix + caps::slot_bits)};
    MYR_TRY(table.retype(k_table_untyped, cnode_untyped, max_domains, k_cnode_untyped));
    MYR_TRY(table.retype(k_ram_untyped, {CapType::untyped, domain_ram_bits}, max_domains, k_domain_ram));
    MYR_TRY(table.retype(k_ram_untyped, {CapType::endpoint, 0}, 1, k_endpoint));
    MYR_TRY(table.retype(k_ram_untyped, {CapType::endpoint, 0}, 1, k_monitor_ep));
    // Endpoints keep their wait queues in their own memory (ipc.cpp): empty means zeroed.
    zero_phys(table.cap(k_endpoint).base, table.cap(k_endpoint).size);
    zero_phys(table.cap(k_monitor_ep).base, table.cap(k_monitor_ep).size);
    ready = true;
    return Status::ok;
}

namespace {

// Is d's program named by a serve= kernel option (it receives on the core endpoint)?
bool serves_core(const Domain& d) {
    const Options& o = this_core.options;
    for (std::uint32_t k = 0; k < o.num_serve; ++k) {
        std::uint32_t j = 0;
        while (j < sizeof d.name && d.name[j] && d.name[j] == o.serve[k][j]) ++j;
        if (j < sizeof d.name && d.name[j] == '\0' && o.serve[k][j] == '\0') return true;
    }
    return false;
}

} // namespace

Status cspace_create(Domain& d) {
    if (!ready) return Status::unsupported;
    const std::uint32_t i = index_of(d);
    if (!table.cap(k_domain + i).is_null()) {
        MYR_TRY(table.revoke(k_domain + i, freed_sink));  // capabilities to the slot's last domain
        MYR_TRY(table.remove(k_domain + i, freed_sink));
    }
    MYR_TRY(table.install(k_domain + i, caps::make_domain(d.serial)));
    MYR_TRY(table.retype(k_cnode_untyped + i, {CapType::cnode, cnode_radix}, 1, k_cnode + i, freed_sink));
    d.cnode_slot = k_cnode + i;
    d.cnode_first = table.cnode_first_slot(table.cap(k_cnode + i));
    MYR_TRY(table.copy(k_cnode + i, d.cnode_first + cslot::self_cnode));
    MYR_TRY(table.copy(k_domain + i, d.cnode_first + cslot::self_domain));
    MYR_TRY(table.move(k_domain_ram + i, d.cnode_first + cslot::ram));
    // The lent RAM goes back to k_domain_ram + i when the domain ends (cspace_destroy): it must
    // be in this cnode then, and only once. Its own cnode stays too (deleting it is refused).
    MYR_TRY(table.set_pinned(d.cnode_first + cslot::ram, true));
    MYR_TRY(table.set_pinned(d.cnode_first + cslot::self_cnode, true));
    // Send (and grant) to the core's server; receiving there is the server's alone, or any
    // domain could take calls meant for it.
    const Rights ep_rights = serves_core(d) ? caps::all_rights(CapType::endpoint) : Rights::send | Rights::grant;
    MYR_TRY(table.mint(k_endpoint, d.cnode_first + cslot::endpoint, ep_rights, d.serial));
    MYR_TRY(table.mint(k_monitor_ep, d.cnode_first + cslot::monitor, Rights::send | Rights::grant, d.serial));
    return Status::ok;
}

Status cspace_grant_monitor(Domain& d) {
    MYR_TRY(table.remove(d.cnode_first + cslot::monitor, freed_sink));
    MYR_TRY(table.copy(k_monitor_ep, d.cnode_first + cslot::monitor));
    // A monitor's privileges stay with it: a reply of its that named one of these by mistake
    // would hand a domain every call to the monitor, the kernel cap or the ring memory of every
    // binding. Copies (a doorbell minted from the IPI cap) are ordinary caps.
    constexpr std::uint32_t privileges[] = {cslot::kernel, cslot::ipi, cslot::monitor};
    for (const std::uint32_t s : privileges)
        if (!table.cap(d.cnode_first + s).is_null()) MYR_TRY(table.set_pinned(d.cnode_first + s, true));
    return Status::ok;
}

// None of the panics below is reachable from user space (issue 10): revoke fails only for an
// empty or out-of-range slot; after a revoke nothing has children, so remove fails only for a
// pinned cap, and every pin is released first; the lent RAM is pinned to slot 3 of this cnode
// from cspace_create on (no system call moves or deletes a pinned cap), so it comes back once,
// into the kernel slot it left, which only this code refills.
void cspace_destroy(Domain& d) {
    if (!ready || !d.cnode_slot) return;
    const std::uint32_t i = index_of(d);
    for (std::uint32_t s = 0; s < (1u << cnode_radix); ++s) {
        const SlotIdx idx = d.cnode_first + s;
        if (table.cap(idx).is_null()) continue;
        (void)table.set_pinned(idx, false);
        // A domain cap is a name, not a resource: copies made from this one (handed to other
        // domains) move up to its parent instead of dying with this cspace.
        const bool keep_copies = table.cap(idx).type == CapType::domain;
        if (!keep_copies) unmap_subtree(idx, true);
        if (!keep_copies && table.revoke(idx, freed_sink) != Status::ok)
            panic("revoking slot {} of domain {} failed", s, d.serial);
        const bool is_lent_ram = s == cslot::ram && table.cap(idx).type == CapType::untyped &&
                                 table.slot(idx).parent == k_ram_untyped;
        if (is_lent_ram) {
            if (table.move(idx, k_domain_ram + i) != Status::ok) panic("returning RAM of domain {} failed", d.serial);
        } else if (table.remove(idx, freed_sink) != Status::ok) {
            panic("deleting slot {} of domain {} failed", s, d.serial);
        }
    }
    if (table.revoke(k_cnode_untyped + i, freed_sink) != Status::ok) panic("freeing the cnode of domain {} failed", d.serial);
    d.cnode_slot = 0;
}

Status cspace_give_domain_cap(const Domain& child, SlotIdx dest) {
    return table.copy(k_domain + index_of(child), dest);
}

Result<std::uint64_t> sys_cap_identify(Domain& d, std::uint64_t cptr) {
    const SlotIdx i = MYR_TRY(cspace_slot(d, cptr));
    const Cap& c = table.cap(i);
    if (c.is_null()) return Status::not_found;
    return (std::uint64_t{static_cast<std::uint8_t>(c.type)} << 32) | static_cast<std::uint16_t>(c.rights);
}

Status sys_cap_copy(Domain& d, std::uint64_t src, std::uint64_t dest, std::uint64_t rights) {
    const SlotIdx s = MYR_TRY(cspace_slot(d, src));
    const SlotIdx t = MYR_TRY(cspace_slot(d, dest));
    if (rights > 0xffff) return Status::invalid_argument;
    const Cap& c = table.cap(s);
    if (c.is_null()) return Status::not_found;
    const auto mask = static_cast<Rights>(rights);
    if ((c.rights & mask) == c.rights) return table.copy(s, t);
    return table.mint(s, t, mask, 0);  // fewer rights; a badge the source has is kept
}

Status sys_cap_mint(Domain& d, std::uint64_t src, std::uint64_t dest, std::uint64_t rights, std::uint64_t badge) {
    const SlotIdx s = MYR_TRY(cspace_slot(d, src));
    const SlotIdx t = MYR_TRY(cspace_slot(d, dest));
    if (rights > 0xffff) return Status::invalid_argument;
    return table.mint(s, t, static_cast<Rights>(rights), badge);
}

// The caps the kernel placed and relies on (its RAM, its own cnode; a monitor's privileges) are
// pinned: permission_denied.
Status sys_cap_delete(Domain& d, std::uint64_t cptr) {
    const SlotIdx i = MYR_TRY(cspace_slot(d, cptr));
    return delete_slot(i);
}

Status sys_cap_revoke(Domain& d, std::uint64_t cptr) {
    const SlotIdx i = MYR_TRY(cspace_slot(d, cptr));
    if (table.cap(i).is_null()) return Status::not_found;
    unmap_subtree(i, false);
    return table.revoke(i, freed_sink);
}

Status sys_retype(Domain& d, std::uint64_t untyped, std::uint64_t type, std::uint64_t size_bits, std::uint64_t dest,
                  std::uint64_t count) {
    const SlotIdx u = MYR_TRY(cspace_cap(d, untyped, CapType::untyped, Rights::retype));
    const auto t = static_cast<CapType>(type);
    // What a user domain may make from RAM: more RAM regions, frames, IPC objects, page tables
    // (size_bits is then the level: 1 PT, 2 PD, 3 PDPT; a root (4) only the kernel makes).
    if (type > 0xff || !(t == CapType::untyped || t == CapType::frame || t == CapType::endpoint ||
                         t == CapType::notification || t == CapType::channel_memory || t == CapType::page_table))
        return Status::invalid_argument;
    if (t == CapType::page_table && (size_bits < 1 || size_bits > 3)) return Status::invalid_argument;
    if (size_bits > 63 || count == 0 || count > (1u << cnode_radix)) return Status::invalid_argument;
    if (dest == 0 || dest >= (1u << cnode_radix) || dest + count > (1u << cnode_radix)) return Status::out_of_range;
    const SlotIdx first = d.cnode_first + static_cast<std::uint32_t>(dest);
    MYR_TRY(table.retype(u, {t, static_cast<std::uint8_t>(size_bits)}, static_cast<std::uint32_t>(count), first, freed_sink));
    // New frames, page tables and IPC objects start zeroed: the memory may have held another object.
    for (std::uint32_t k = 0; k < count; ++k) {
        const Cap& c = table.cap(first + k);
        if (c.type != CapType::untyped) zero_phys(c.base, c.size);
    }
    return Status::ok;
}

Status sys_map(Domain& d, std::uint64_t frame, std::uint64_t vaddr, std::uint64_t flags, std::uint64_t& missing_level) {
    // Frames and channel memory (rings shared with a domain on another core) map the same way.
    SlotIdx f = caps::no_slot;
    if (const auto cm = cspace_cap(d, frame, CapType::channel_memory, Rights::read | Rights::map); cm.ok())
        f = *cm;
    else
        f = MYR_TRY(cspace_cap(d, frame, CapType::frame, Rights::read));
    const Cap& c = table.cap(f);
    if (flags & ~(abi::map_write | abi::map_exec)) return Status::invalid_argument;
    if ((flags & abi::map_write) && !caps::has(c.rights, Rights::write)) return Status::permission_denied;
    if ((flags & abi::map_exec) && !caps::has(c.rights, Rights::execute)) return Status::permission_denied;
    // Frames are 4 KiB. Channel memory may be a larger block (a supervised instance's kept
    // memory, MonitorOp::kept: up to 2 MiB): mapped whole, at an address aligned to its size, so
    // all its pages sit in one page table.
    constexpr std::uint64_t two_mib_bytes = std::uint64_t{1} << 21;
    if (c.size != 4096 && (c.type != CapType::channel_memory || c.size < 4096 || c.size > two_mib_bytes))
        return Status::unsupported;
    if (vaddr & (c.size - 1)) return Status::invalid_argument;
    if (vaddr < user_space_start || vaddr >= user_space_end || c.size > user_space_end - vaddr) return Status::out_of_range;
    std::uint64_t* ext = table.ext(f);
    if (ext[0] & 1) return Status::exists;  // one mapping per capability
    // The tables on the way must exist: the kernel allocates none after spawn (map_table).
    DirectMapFrames dm;
    unsigned missing = 0;
    const auto e = PageTables(dm, d.pml4).entry(vaddr, 0, &missing);
    if (!e.ok()) {
        if (e.status() == Status::not_found) missing_level = missing;
        return e.status();
    }
    const std::uint64_t pages = c.size / 4096;
    for (std::uint64_t i = 0; i < pages; ++i)
        if ((*e)[i] & pte::present) return Status::exists;  // nothing mapped then
    for (std::uint64_t i = 0; i < pages; ++i)
        (*e)[i] = (c.base + i * 4096) | pte::present | pte::user | ((flags & abi::map_write) ? pte::writable : 0) |
                  ((flags & abi::map_exec) ? 0 : pte::no_execute);
    ext[0] = vaddr | 1;
    ext[1] = record_of(d);
    return Status::ok;
}

Status sys_unmap(Domain& d, std::uint64_t frame) {
    const auto cm = cspace_cap(d, frame, CapType::channel_memory, Rights::none);
    const SlotIdx f = cm.ok() ? *cm : MYR_TRY(cspace_cap(d, frame, CapType::frame, Rights::none));
    if (!(table.ext(f)[0] & 1)) return Status::not_found;
    unmap_slot(f);
    return Status::ok;
}

Status sys_map_table(Domain& d, std::uint64_t pt, std::uint64_t vaddr, std::uint64_t level, std::uint64_t& missing_level) {
    const SlotIdx t = MYR_TRY(cspace_cap(d, pt, CapType::page_table, Rights::map));
    const Cap& c = table.cap(t);
    // 1 = PT (covers 2 MiB), 2 = PD (1 GiB), 3 = PDPT (512 GiB); the root (4) is the kernel's.
    if (level < 1 || level > 3 || level != c.aux) return Status::invalid_argument;
    const std::uint64_t span = std::uint64_t{1} << (12 + 9 * level);
    if (vaddr & (span - 1)) return Status::invalid_argument;
    if (vaddr >= user_space_end) return Status::out_of_range;  // the kernel half, non-canonical
    std::uint64_t* ext = table.ext(t);
    if (ext[0] & 1) return Status::exists;  // one installation per table
    DirectMapFrames dm;
    unsigned missing = 0;
    const auto e = PageTables(dm, d.pml4).entry(vaddr, static_cast<unsigned>(level), &missing);
    if (!e.ok()) {
        if (e.status() == Status::not_found) missing_level = missing;
        return e.status();
    }
    if (**e & pte::present) return Status::exists;
    // Intermediate entries are permissive (the leaf decides), as the kernel's own are.
    **e = c.base | pte::present | pte::writable | pte::user;
    ext[0] = vaddr | 1;
    ext[1] = record_of(d);
    return Status::ok;
}

Status sys_unmap_table(Domain& d, std::uint64_t pt) {
    const SlotIdx t = MYR_TRY(cspace_cap(d, pt, CapType::page_table, Rights::none));
    if (!(table.ext(t)[0] & 1)) return Status::not_found;
    unmap_slot(t);
    return Status::ok;
}

// Ring memory of a binding: [phys, phys + 2^size_bits) wholly inside some core's channel pool
// (ranges copied at boot: no boot block read at run time). own: inside this core's pool.
Status check_channel_range(std::uint64_t phys, std::uint64_t size_bits, bool& own) {
    if (size_bits < 12 || size_bits > 20) return Status::invalid_argument;
    const std::uint64_t size = std::uint64_t{1} << size_bits;
    if (phys & (size - 1)) return Status::invalid_argument;
    for (std::uint32_t c = 0; c < this_core.info.num_cores; ++c) {
        const PeerMemory& p = this_core.peers[c];
        if (phys >= p.chan_pool_phys && phys - p.chan_pool_phys < p.chan_pool_size &&
            size <= p.chan_pool_size - (phys - p.chan_pool_phys)) {
            own = c == this_core.core;
            return Status::ok;
        }
    }
    return Status::out_of_range;
}

// A capability for a binding's ring (docs/monitors.md, "Ring memory comes back"): the monitor of
// the core whose pool holds it makes the first one, the peer's monitor its own; each core then has
// one root for it (install refuses a second while one lives). Only a monitor may ask, and only for
// channel-pool memory, so no capability to kernel memory or another domain's RAM can be forged.
// The owner's is made before any other core hears the address, so zeroing here wipes what an
// earlier binding left in a reused ring before anyone can read it.
Status sys_cap_create_remote(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                             std::uint64_t dest) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    const SlotIdx t = MYR_TRY(cspace_slot(d, dest));
    bool own = false;
    MYR_TRY(check_channel_range(phys, size_bits, own));
    MYR_TRY(table.install(t, caps::make_channel_memory(phys, static_cast<unsigned>(size_bits))));
    if (own) zero_phys(phys, std::uint64_t{1} << size_bits);
    return Status::ok;
}

// Every capability on this core to exactly that ring goes, wherever it is (a domain may have
// copied it, or moved it to another domain over IPC): after this no domain here maps it or can
// map it again. Copies go with their root (delete_slot revokes first); the scan restarts after each
// removal because a revoke empties other slots. The monitors call it when the binding is over for
// this core, and the owner reuses the memory only after every core that held it did.
Result<std::uint64_t> sys_cap_reclaim_channel(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    bool own = false;
    MYR_TRY(check_channel_range(phys, size_bits, own));
    const std::uint64_t size = std::uint64_t{1} << size_bits;
    const auto names_ring = [&](SlotIdx i) {
        const Cap& c = table.cap(i);
        return c.type == CapType::channel_memory && c.base == phys && c.size == size;
    };
    std::uint64_t removed = 0;
    for (SlotIdx i = 0; i < table_slots; ++i) removed += names_ring(i);
    for (SlotIdx i = 0; i < table_slots;) {
        if (!names_ring(i)) {
            ++i;
            continue;
        }
        // Its root: copies keep their object, so the walk up stays on caps to this ring, and
        // deleting the root (revoke first) takes every copy with it; later slots are looked at
        // again from the start, as the revoke emptied some.
        SlotIdx r = i;
        while (table.slot(r).parent != caps::no_slot) r = table.slot(r).parent;
        if (delete_slot(r) != Status::ok) return Status::busy;  // pinned: no ring ever is
        i = 0;
    }
    return removed;
}

// The page mapped at vaddr in t's address space goes, whichever capability of this core mapped it
// (a frame or channel memory: only they map pages; page tables are installed, not mapped). The
// capability stays where it is, unmapped, so its holder may map it again. A scan of the table:
// mappings are recorded in the capabilities, not indexed by address.
Status sys_unmap_at(Domain& t, std::uint64_t vaddr) {
    if (vaddr & 0xfff) return Status::invalid_argument;
    if (vaddr < user_space_start || vaddr >= user_space_end) return Status::out_of_range;
    if (t.state != DomainState::runnable && t.state != DomainState::blocked) return Status::connection_lost;
    const std::uint64_t rec = record_of(t);
    for (SlotIdx i = 0; i < table_slots; ++i) {
        const CapType type = table.cap(i).type;
        if (type != CapType::frame && type != CapType::channel_memory) continue;
        const std::uint64_t* ext = table.ext(i);
        if (ext[0] == (vaddr | 1) && ext[1] == rec) {
            unmap_slot(i);
            return Status::ok;
        }
    }
    return Status::not_found;
}

// An untyped capability for memory of a memserv pool (docs/servers.md, "memserv"): monitors turn a
// grant, which memserv decided and a monitor carried here, into RAM its holder can retype. Only a
// monitor may ask (the kernel cap), and only for a block inside one node's pool (check_ram_block,
// host-tested): no kernel memory, no core's user pool, no channel memory can be named. Two
// blocks that overlap cannot both have roots on one core (CapTable::install: exists).
Status sys_cap_create_ram(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                          std::uint64_t dest) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    const SlotIdx t = MYR_TRY(cspace_slot(d, dest));
    MYR_TRY(check_ram_block({this_core.ram_pools, acpi::max_nodes}, phys, size_bits));
    return table.install(t, caps::make_untyped(phys, std::uint64_t{1} << size_bits));
}

Result<std::uint64_t> sys_cap_phys(Domain& d, std::uint64_t kcap, std::uint64_t cptr, std::uint64_t what) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    const SlotIdx i = MYR_TRY(cspace_slot(d, cptr));
    const Cap& c = table.cap(i);
    if (c.is_null()) return Status::not_found;
    if (c.type != CapType::frame && c.type != CapType::channel_memory && c.type != CapType::untyped &&
        c.type != CapType::endpoint && c.type != CapType::notification)
        return Status::wrong_type;
    if (what > 2) return Status::invalid_argument;
    if (what == 2) return table.has_children(i) ? 1 : 0;
    return what == 0 ? c.base : c.size;
}

// A frame of a memserv pool that a domain of another core carved and gave on (the monitors'
// capability protocol: its owner core keeps the count of who holds copies). Only a monitor may ask,
// and only for memserv memory (check_ram_block), so no frame over kernel memory, a core's own user
// pool or channel memory can be made; on the core that carved it the untyped overlaps it and
// install refuses (exists), so a core never has two roots for the same memory.
Status sys_cap_create_frame(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                            std::uint64_t dest) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    const SlotIdx t = MYR_TRY(cspace_slot(d, dest));
    if (size_bits != 12 && size_bits != 21 && size_bits != 30) return Status::invalid_argument;
    MYR_TRY(check_ram_block({this_core.ram_pools, acpi::max_nodes}, phys, size_bits));
    return table.install(t, caps::make_frame(phys, static_cast<unsigned>(size_bits)));
}

// Every frame capability on this core inside the block goes, wherever it is (a domain may have
// copied it, or moved it to another domain over IPC), each unmapped first: the step of a revoke
// across cores on a core that is not the owner, or that is and must lose every copy. As
// cap_reclaim_channel, from the top of each frame's copies (its parent is the untyped it was carved
// from, or nothing), and from the start again after each, as a revoke empties other slots.
Result<std::uint64_t> sys_cap_reclaim_frame(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    MYR_TRY(check_ram_block({this_core.ram_pools, acpi::max_nodes}, phys, size_bits));
    const std::uint64_t end = phys + (std::uint64_t{1} << size_bits);
    const auto inside = [&](SlotIdx i) {
        const Cap& c = table.cap(i);
        return c.type == CapType::frame && c.base >= phys && c.end() <= end;
    };
    std::uint64_t removed = 0;
    for (SlotIdx i = 0; i < table_slots; ++i) removed += inside(i);
    for (SlotIdx i = 0; i < table_slots;) {
        if (!inside(i)) {
            ++i;
            continue;
        }
        SlotIdx r = i;
        while (table.slot(r).parent != caps::no_slot && caps::same_object(table.cap(table.slot(r).parent), table.cap(r)))
            r = table.slot(r).parent;
        if (delete_slot(r) != Status::ok) return Status::busy;  // pinned: the kernel pins no frame
        i = 0;
    }
    return removed;
}

} // namespace myr::kernel
