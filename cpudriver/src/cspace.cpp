#include "cspace.hpp"

#include "frames.hpp"
#include "ipc.hpp"

#include <arch/cpu.hpp>
#include <arch/platform.hpp>
#include <myr/abi/syscall.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/elf.hpp>
#include <myr/kernel/page_tables.hpp>
#include <myr/kernel/percore.hpp>

namespace myr::kernel {
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

caps::CapTable table;
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

// Unmaps every mapped frame in the subtree rooted at `root` (which is about to be deleted), so
// no domain keeps access to memory whose capability is gone. Iterative walk over the tree links.
void unmap_slot(SlotIdx i) {
    std::uint64_t* ext = table.ext(i);
    if (!(ext[0] & 1)) return;
    const std::uint64_t vaddr = ext[0] & ~std::uint64_t{0xfff};
    Domain& owner = domain_table()[ext[1]];
    if (owner.state != DomainState::free && owner.pml4) {
        DirectMapFrames dm;
        (void)PageTables(dm, owner.pml4).unmap(vaddr);
        if (current_domain() == &owner) arch::write_cr3(arch::read_cr3());
    }
    ext[0] = ext[1] = 0;
}

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
    unmap_subtree(i, true);
    MYR_TRY(table.revoke(i, freed_sink));
    return table.remove(i, freed_sink);
}

} // namespace

caps::CapTable& cap_table() { return table; }

Status cspace_init() {
    FrameAllocator& fa = user_frames();
    constexpr std::uint32_t table_frames = table_slots * sizeof(caps::Slot) / 4096;
    const std::uint64_t table_phys = MYR_TRY(fa.allocate_run(kernel_owner, table_frames));
    zero_phys(table_phys, std::uint64_t{table_frames} * 4096);
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
    ready = true;
    return Status::ok;
}

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
    MYR_TRY(table.mint(k_endpoint, d.cnode_first + cslot::endpoint, caps::all_rights(CapType::endpoint), d.serial));
    MYR_TRY(table.mint(k_monitor_ep, d.cnode_first + cslot::monitor, Rights::send | Rights::grant, d.serial));
    return Status::ok;
}

Status cspace_grant_monitor(Domain& d, std::uint64_t pool_phys, std::uint64_t pool_size) {
    MYR_TRY(table.remove(d.cnode_first + cslot::monitor, freed_sink));
    MYR_TRY(table.copy(k_monitor_ep, d.cnode_first + cslot::monitor));
    if (pool_size) MYR_TRY(table.install(d.cnode_first + cslot::chan_pool, caps::make_untyped(pool_phys, pool_size)));
    return Status::ok;
}

void cspace_destroy(Domain& d) {
    if (!ready || !d.cnode_slot) return;
    const std::uint32_t i = index_of(d);
    for (std::uint32_t s = 0; s < (1u << cnode_radix); ++s) {
        const SlotIdx idx = d.cnode_first + s;
        if (table.cap(idx).is_null()) continue;
        // A domain cap is a name, not a resource: copies made from this one (handed to other
        // domains) move up to its parent instead of dying with this cspace.
        const bool keep_copies = table.cap(idx).type == CapType::domain;
        if (!keep_copies) unmap_subtree(idx, true);
        if (!keep_copies && table.revoke(idx, freed_sink) != Status::ok)
            panic("revoking slot {} of domain {} failed", s, d.serial);
        const bool is_lent_ram = table.cap(idx).type == CapType::untyped && table.slot(idx).parent == k_ram_untyped;
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

Result<SlotIdx> cspace_slot(Domain& d, std::uint64_t cptr) {
    if (cptr == 0 || cptr >= (1u << cnode_radix)) return Status::invalid_argument;
    return table.lookup(d.cnode_slot, cptr, cnode_radix);
}

Result<SlotIdx> cspace_cap(Domain& d, std::uint64_t cptr, CapType type, Rights need) {
    if (cptr == 0 || cptr >= (1u << cnode_radix)) return Status::invalid_argument;
    return table.lookup_cap(d.cnode_slot, cptr, cnode_radix, type, need);
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

Status sys_cap_delete(Domain& d, std::uint64_t cptr) {
    const SlotIdx i = MYR_TRY(cspace_slot(d, cptr));
    if (cptr == cslot::self_cnode) return Status::permission_denied;  // it would cut its own cspace
    const Cap& c = table.cap(i);
    if (c.type == CapType::untyped && table.slot(i).parent == k_ram_untyped) return Status::permission_denied;
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
    // What a user domain may make from RAM: more RAM regions, frames, IPC objects.
    if (type > 0xff || !(t == CapType::untyped || t == CapType::frame || t == CapType::endpoint ||
                         t == CapType::notification || t == CapType::channel_memory))
        return Status::invalid_argument;
    if (size_bits > 63 || count == 0 || count > (1u << cnode_radix)) return Status::invalid_argument;
    if (dest == 0 || dest >= (1u << cnode_radix) || dest + count > (1u << cnode_radix)) return Status::out_of_range;
    const SlotIdx first = d.cnode_first + static_cast<std::uint32_t>(dest);
    MYR_TRY(table.retype(u, {t, static_cast<std::uint8_t>(size_bits)}, static_cast<std::uint32_t>(count), first, freed_sink));
    // New frames and IPC objects start zeroed: the memory may have held another object.
    for (std::uint32_t k = 0; k < count; ++k) {
        const Cap& c = table.cap(first + k);
        if (c.type != CapType::untyped) zero_phys(c.base, c.size);
    }
    return Status::ok;
}

Status sys_map(Domain& d, std::uint64_t frame, std::uint64_t vaddr, std::uint64_t flags) {
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
    if (c.size != 4096) return Status::unsupported;  // 4 KiB frames only so far
    if (vaddr & 0xfff) return Status::invalid_argument;
    if (vaddr < user_space_start || vaddr >= user_space_end) return Status::out_of_range;
    std::uint64_t* ext = table.ext(f);
    if (ext[0] & 1) return Status::exists;  // one mapping per capability
    const std::uint64_t pte_flags =
        pte::user | ((flags & abi::map_write) ? pte::writable : 0) | ((flags & abi::map_exec) ? 0 : pte::no_execute);
    MYR_TRY(map_user_page(d, vaddr, c.base, pte_flags));
    ext[0] = vaddr | 1;
    ext[1] = index_of(d);
    return Status::ok;
}

Status sys_unmap(Domain& d, std::uint64_t frame) {
    const auto cm = cspace_cap(d, frame, CapType::channel_memory, Rights::none);
    const SlotIdx f = cm.ok() ? *cm : MYR_TRY(cspace_cap(d, frame, CapType::frame, Rights::none));
    if (!(table.ext(f)[0] & 1)) return Status::not_found;
    unmap_slot(f);
    return Status::ok;
}

// A capability for ring memory another core's monitor allocated (DESIGN.md §4: monitors move
// capabilities between cores by value). Only a monitor may ask, and only for memory inside some
// core's channel pool, so no capability to kernel memory or another domain's RAM can be forged.
Status sys_cap_create_remote(Domain& d, std::uint64_t kcap, std::uint64_t phys, std::uint64_t size_bits,
                             std::uint64_t dest) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    const SlotIdx t = MYR_TRY(cspace_slot(d, dest));
    if (size_bits < 12 || size_bits > 20) return Status::invalid_argument;
    const std::uint64_t size = std::uint64_t{1} << size_bits;
    if (phys & (size - 1)) return Status::invalid_argument;
    const BootBlock& me = *this_core.boot;
    const BootBlock* all = arch::phys_to_virt<const BootBlock>(me.boot_blocks_phys);
    bool inside = false;
    for (std::uint32_t c = 0; c < me.num_cores && !inside; ++c)
        inside = phys >= all[c].chan_pool_phys && phys - all[c].chan_pool_phys < all[c].chan_pool_size &&
                 size <= all[c].chan_pool_size - (phys - all[c].chan_pool_phys);
    if (!inside) return Status::out_of_range;
    return table.install(t, caps::make_channel_memory(phys, static_cast<unsigned>(size_bits)));
}

Result<std::uint64_t> sys_cap_phys(Domain& d, std::uint64_t kcap, std::uint64_t cptr) {
    MYR_TRY(cspace_cap(d, kcap, CapType::kernel, Rights::none));
    const SlotIdx i = MYR_TRY(cspace_slot(d, cptr));
    const Cap& c = table.cap(i);
    if (c.is_null()) return Status::not_found;
    if (c.type != CapType::frame && c.type != CapType::channel_memory && c.type != CapType::untyped)
        return Status::wrong_type;
    return c.base;
}

} // namespace myr::kernel
