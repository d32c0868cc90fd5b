#include <myr/kernel/page_tables.hpp>

namespace myr::kernel {
namespace {

constexpr unsigned index_of(std::uint64_t virt, unsigned level) {  // level 3 = PML4 .. 0 = PT
    return static_cast<unsigned>((virt >> (12 + 9 * level)) & 0x1ff);
}
constexpr bool canonical(std::uint64_t virt) {
    const std::uint64_t top = virt >> 47;
    return top == 0 || top == 0x1ffff;
}

} // namespace

Result<PageTables> PageTables::create(FrameSource& frames) {
    const std::uint64_t root = MYR_TRY(frames.alloc_zeroed_frame());
    return PageTables(frames, root);
}

Result<std::uint64_t*> PageTables::next_level(std::uint64_t* table, unsigned index, std::uint64_t user) {
    std::uint64_t& e = table[index];
    if (!(e & pte::present)) {
        const std::uint64_t frame = MYR_TRY(m_frames.alloc_zeroed_frame());
        // Intermediate entries are permissive; the leaf decides (SDM Vol. 3A §4.6). The user bit
        // must be set at every level for a user page to be reachable from ring 3.
        e = frame | pte::present | pte::writable | user;
    } else if (e & pte::large) {
        return Status::exists;
    } else {
        e |= user;
    }
    return m_frames.table(e & pte::addr_mask);
}

Status PageTables::map(std::uint64_t virt, std::uint64_t phys, std::uint64_t size,
                       std::uint64_t flags, std::uint64_t page_bytes) {
    if (page_bytes != (4ull << 10) && page_bytes != (2ull << 20)) return Status::invalid_argument;
    if ((virt | phys | size) & (page_bytes - 1)) return Status::invalid_argument;
    if (!canonical(virt) || !canonical(virt + size - 1) || virt + size < virt) return Status::out_of_range;
    if (phys & ~pte::addr_mask) return Status::out_of_range;
    const unsigned leaf_level = page_bytes == 4096 ? 0 : 1;
    // One walk per leaf table, not per page: the leaf table changes only where v crosses what
    // one table covers (512 pages), so a run of pages costs one walk per 2 MiB (1 GiB).
    const std::uint64_t table_span = page_bytes * 512;
    std::uint64_t* table = nullptr;
    for (std::uint64_t off = 0; off < size; off += page_bytes) {
        const std::uint64_t v = virt + off;
        if (table == nullptr || (v & (table_span - 1)) == 0) {
            table = m_frames.table(m_root);
            for (unsigned level = 3; level > leaf_level; --level)
                table = MYR_TRY(next_level(table, index_of(v, level), flags & pte::user));
        }
        std::uint64_t& e = table[index_of(v, leaf_level)];
        if (e & pte::present) return Status::exists;
        e = (phys + off) | flags | pte::present | (leaf_level == 1 ? pte::large : 0);
    }
    return Status::ok;
}

void PageTables::clear_top_level(std::uint64_t virt) { m_frames.table(m_root)[index_of(virt, 3)] = 0; }

Result<std::uint64_t> PageTables::unmap(std::uint64_t virt) {
    if (!canonical(virt) || (virt & 0xfff)) return Status::invalid_argument;
    std::uint64_t* table = m_frames.table(m_root);
    for (unsigned level = 3; level > 0; --level) {
        const std::uint64_t e = table[index_of(virt, level)];
        if (!(e & pte::present)) return Status::not_found;
        if (e & pte::large) return Status::unsupported;
        table = m_frames.table(e & pte::addr_mask);
    }
    std::uint64_t& leaf = table[index_of(virt, 0)];
    if (!(leaf & pte::present)) return Status::not_found;
    const std::uint64_t phys = leaf & pte::addr_mask;
    leaf = 0;
    return phys;
}

void PageTables::for_each_table_frame(void (*fn)(void* ctx, std::uint64_t phys), void* ctx, unsigned first,
                                      unsigned last) {
    std::uint64_t* l4 = m_frames.table(m_root);
    for (unsigned i = first; i <= last && i < 512; ++i) {
        if (!(l4[i] & pte::present)) continue;
        std::uint64_t* l3 = m_frames.table(l4[i] & pte::addr_mask);
        for (unsigned j = 0; j < 512; ++j) {
            if (!(l3[j] & pte::present) || (l3[j] & pte::large)) continue;
            std::uint64_t* l2 = m_frames.table(l3[j] & pte::addr_mask);
            for (unsigned k = 0; k < 512; ++k)
                if ((l2[k] & pte::present) && !(l2[k] & pte::large)) fn(ctx, l2[k] & pte::addr_mask);
            fn(ctx, l3[j] & pte::addr_mask);
        }
        fn(ctx, l4[i] & pte::addr_mask);
    }
}

Result<std::uint64_t*> PageTables::entry(std::uint64_t virt, unsigned level, unsigned* missing) const {
    if (!canonical(virt) || level > 3) return Status::out_of_range;
    std::uint64_t* table = m_frames.table(m_root);
    for (unsigned l = 3; l > level; --l) {
        const std::uint64_t e = table[index_of(virt, l)];
        if (!(e & pte::present)) {
            if (missing) *missing = l;
            return Status::not_found;
        }
        if (e & pte::large) return Status::unsupported;
        table = m_frames.table(e & pte::addr_mask);
    }
    return &table[index_of(virt, level)];
}

Result<Translation> PageTables::translate(std::uint64_t virt) const {
    if (!canonical(virt)) return Status::out_of_range;
    std::uint64_t* table = m_frames.table(m_root);
    for (unsigned level = 3;; --level) {
        const std::uint64_t e = table[index_of(virt, level)];
        if (!(e & pte::present)) return Status::not_found;
        const std::uint64_t span = 1ull << (12 + 9 * level);
        if (level == 0 || ((level == 1 || level == 2) && (e & pte::large))) {
            const std::uint64_t base = e & pte::addr_mask & ~(span - 1);
            return Translation{base + (virt & (span - 1)), e & ~pte::addr_mask, span};
        }
        if (level == 3 && (e & pte::large)) return Status::malformed;
        table = m_frames.table(e & pte::addr_mask);
    }
}

} // namespace myr::kernel
