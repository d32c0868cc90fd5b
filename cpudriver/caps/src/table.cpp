// CapTable operations. Every public operation validates everything first and only then writes,
// so a failing call changes nothing. The derivation tree is an explicit tree of slot indices
// (parent, first child, siblings). Two shapes only:
//   - below an untyped: the objects carved from it (and untyped subdivisions);
//   - below any other cap: its copies (same object, rights <= parent's, same badge).
// Copies of one object that share a parent sit next to each other in the sibling list (removal
// splices children in place), so "is this the last cap to the object" looks only at neighbours.
#include <myr/caps/table.hpp>

namespace myr::caps {

namespace {

constexpr bool is_pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

constexpr unsigned log2_exact(std::uint64_t v) {
    unsigned b = 0;
    while (v > 1) {
        v >>= 1;
        ++b;
    }
    return b;
}

bool overlaps(const Cap& a, std::uint64_t base, std::uint64_t end) { return a.base < end && base < a.end(); }

// Shape of a root capability handed to install(). Memory objects must have the exact size and
// alignment retype would give them.
Status validate_root(const Cap& c) {
    if ((c.flags & ~cap_known_flags) != 0) return Status::invalid_argument;
    if (!has(all_rights(c.type), c.rights)) return Status::invalid_argument;
    if (c.word != 0) return Status::invalid_argument;  // no watermark, no badge on a root
    switch (c.type) {
    case CapType::null: return Status::invalid_argument;
    case CapType::untyped:
        if (c.aux != 0 || c.size == 0 || c.base >= phys_limit || c.size > phys_limit - c.base)
            return Status::invalid_argument;
        return Status::ok;
    case CapType::frame:
    case CapType::channel_memory:
    case CapType::page_table:
    case CapType::cnode:
    case CapType::endpoint:
    case CapType::notification: {
        if (!is_pow2(c.size)) return Status::invalid_argument;
        ObjectSpec spec{c.type, 0};
        if (c.type == CapType::frame || c.type == CapType::channel_memory) {
            if (c.aux != 0) return Status::invalid_argument;
            spec.param = static_cast<std::uint8_t>(log2_exact(c.size));
        } else if (c.type == CapType::page_table || c.type == CapType::cnode) {
            if (c.aux > 0xff) return Status::invalid_argument;
            spec.param = static_cast<std::uint8_t>(c.aux);
        } else if (c.aux != 0) {
            return Status::invalid_argument;
        }
        const Result<unsigned> bits = object_size_bits(spec);
        if (!bits.ok()) return bits.status();
        if (c.size != std::uint64_t{1} << *bits || (c.base & (c.size - 1)) != 0 || c.base >= phys_limit ||
            c.size > phys_limit - c.base)
            return Status::invalid_argument;
        return Status::ok;
    }
    case CapType::kernel:
    case CapType::domain:  // base = core index / domain serial
        if (c.size != 1 || c.aux != 0 || c.base > 0xffff'ffffu) return Status::invalid_argument;
        return Status::ok;
    case CapType::io_port:
        if (c.aux != 0 || c.size == 0 || c.base > 0xffff || c.size > 0x10000 - c.base)
            return Status::invalid_argument;
        return Status::ok;
    case CapType::ipi:
        // Vectors 0-31 are exceptions (Intel SDM vol. 3A, 6.2).
        if (c.aux < 32 || c.aux > 255 || c.size == 0 || c.base > 0xffff'ffffu || c.size > 0x1'0000'0000u - c.base)
            return Status::invalid_argument;
        return Status::ok;
    case CapType::irq:
        if (c.aux < 32 || c.aux > 255 || c.base != 0 || c.size != 1) return Status::invalid_argument;
        return Status::ok;
    }
    return Status::invalid_argument;
}

} // namespace

Status CapTable::init(std::span<Slot> slots, std::uint64_t phys_base) {
    if (slots.empty() || slots.size() > (std::size_t{1} << 31)) return Status::invalid_argument;
    if ((phys_base & ((std::uint64_t{1} << slot_bits) - 1)) != 0) return Status::invalid_argument;
    const std::uint64_t bytes = std::uint64_t{slots.size()} << slot_bits;
    if (phys_base >= phys_limit || bytes > phys_limit - phys_base) return Status::invalid_argument;
    m_slots = slots.data();
    m_count = static_cast<std::uint32_t>(slots.size());
    m_phys = phys_base;
    m_high = 0;
    for (Slot& s : slots) s = Slot{};
    return Status::ok;
}

Status CapTable::install(SlotIdx dest, const Cap& c) {
    if (!valid(dest)) return Status::out_of_range;
    if (live(dest)) return Status::exists;
    MYR_TRY(validate_root(c));
    if (is_memory(c.type)) {
        if (c.type == CapType::cnode ? !in_table(c.base, c.end())
                                     : c.type != CapType::untyped && touches_table(c.base, c.end()))
            return Status::invalid_argument;
    }
    for (SlotIdx i = 0; i < m_high; ++i) {  // no live slot lies at or above m_high
        const Cap& o = m_slots[i].cap;
        if (o.is_null()) continue;
        if (same_object(o, c)) return Status::exists;
        if (is_memory(c.type) && is_memory(o.type) && overlaps(o, c.base, c.end())) return Status::exists;
    }
    if (c.type == CapType::cnode) {
        // A root cnode starts empty (apart from itself, when it is placed in its own slots).
        const SlotIdx first = cnode_first_slot(c);
        for (SlotIdx i = first; i < first + (SlotIdx{1} << c.aux); ++i)
            if (i != dest && live(i)) return Status::exists;
    }
    m_slots[dest] = Slot{};
    m_slots[dest].cap = c;
    raise_high(dest);
    return Status::ok;
}

Result<SlotIdx> CapTable::lookup(SlotIdx root, std::uint64_t cptr, unsigned depth) const {
    if (depth == 0 || depth > 64) return Status::invalid_argument;
    if (depth < 64 && (cptr >> depth) != 0) return Status::invalid_argument;
    if (!valid(root)) return Status::out_of_range;
    SlotIdx cur = root;
    unsigned remaining = depth;
    // Each round consumes at least one bit (radix >= 1), so at most 64 rounds.
    for (;;) {
        const Cap& c = m_slots[cur].cap;
        if (c.is_null()) return Status::not_found;
        if (c.type != CapType::cnode) return Status::wrong_type;
        const unsigned radix = c.aux;
        if (radix > remaining) return Status::invalid_argument;
        remaining -= radix;
        const std::uint64_t index = (cptr >> remaining) & ((std::uint64_t{1} << radix) - 1);
        const SlotIdx next = cnode_first_slot(c) + static_cast<SlotIdx>(index);
        if (remaining == 0) return next;
        cur = next;
    }
}

Result<SlotIdx> CapTable::lookup_cap(SlotIdx root, std::uint64_t cptr, unsigned depth, CapType type,
                                     Rights need) const {
    const SlotIdx i = MYR_TRY(lookup(root, cptr, depth));
    MYR_TRY(check(m_slots[i].cap, type, need));
    return i;
}

Result<SlotIdx> CapTable::cnode_range(SlotIdx cnode, std::uint64_t offset, std::uint32_t count) const {
    if (!valid(cnode)) return Status::out_of_range;
    const Cap& c = m_slots[cnode].cap;
    MYR_TRY(check(c, CapType::cnode, Rights::write));
    if (count == 0) return Status::invalid_argument;
    const std::uint64_t slots = std::uint64_t{1} << c.aux;
    if (offset > slots || count > slots - offset) return Status::out_of_range;
    return static_cast<SlotIdx>(cnode_first_slot(c) + offset);
}

Status CapTable::retype(SlotIdx src, ObjectSpec spec, std::uint32_t count, SlotIdx dest, FreedSink freed) {
    if (!valid(src)) return Status::out_of_range;
    const Cap& u = m_slots[src].cap;
    if (u.is_null()) return Status::not_found;
    if (u.type != CapType::untyped) return Status::wrong_type;
    if (!has(u.rights, Rights::retype)) return Status::permission_denied;
    const unsigned bits = MYR_TRY(object_size_bits(spec));
    if (count == 0 || count > max_retype_count) return Status::invalid_argument;
    if (!valid(dest) || count > m_count - dest) return Status::out_of_range;
    for (SlotIdx d = dest; d < dest + count; ++d)
        if (live(d)) return Status::exists;

    // Placement: from the watermark (0 when nothing was carved or everything was revoked), aligned
    // to the object size. base + size <= phys_limit (2^52) and size <= 2^52 keep this overflow-free.
    const std::uint64_t obj = std::uint64_t{1} << bits;
    const std::uint64_t used = has_children(src) ? u.word : 0;
    const std::uint64_t start = (u.base + used + obj - 1) & ~(obj - 1);
    if (std::uint64_t{count} > (u.size >> bits)) return Status::no_memory;
    const std::uint64_t total = std::uint64_t{count} << bits;
    if (start > u.end() || u.end() - start < total) return Status::no_memory;
    const std::uint64_t end = start + total;

    // Table memory holds cnodes only: a frame there would let user space write capabilities.
    if (spec.type == CapType::cnode ? !in_table(start, end)
                                    : spec.type != CapType::untyped && touches_table(start, end))
        return Status::invalid_argument;

    SlotIdx r0 = 0;
    SlotIdx r1 = 0;
    if (spec.type == CapType::cnode) {
        r0 = static_cast<SlotIdx>((start - m_phys) >> slot_bits);
        r1 = static_cast<SlotIdx>((end - m_phys) >> slot_bits);
        if (src >= r0 && src < r1) return Status::invalid_argument;
        if (dest < r1 && dest + count > r0) return Status::invalid_argument;
        for (SlotIdx s = r0; s < r1; ++s) {
            const Slot& o = m_slots[s];
            if (!o.cap.is_null() && o.first_child != no_slot && (o.cap.type == CapType::untyped || o.parent == no_slot))
                return Status::busy;
        }
    }

    // Commit: nothing below can fail.
    for (SlotIdx s = r0; s < r1; ++s)
        if (live(s)) remove_unchecked(s, freed);
    m_slots[src].cap.word = end - m_slots[src].cap.base;
    for (std::uint32_t k = 0; k < count; ++k) {
        raise_high(dest + k);
        Slot& d = m_slots[dest + k];
        d = Slot{};
        d.cap.type = spec.type;
        d.cap.base = start + (std::uint64_t{k} << bits);
        d.cap.size = obj;
        d.cap.aux = (spec.type == CapType::page_table || spec.type == CapType::cnode) ? spec.param : 0u;
        d.cap.rights = all_rights(spec.type);
        link_child(src, dest + k);
    }
    return Status::ok;
}

Status CapTable::mint(SlotIdx src, SlotIdx dest, Rights mask, std::uint64_t badge) {
    if (!valid(src) || !valid(dest)) return Status::out_of_range;
    const Cap& s = m_slots[src].cap;
    if (s.is_null()) return Status::not_found;
    if (live(dest)) return Status::exists;
    // Untyped: one watermark per region. Page tables: one cap per table, so its ext words are the
    // one record of where the table is installed (docs/capabilities.md).
    if (s.type == CapType::untyped || s.type == CapType::page_table) return Status::invalid_argument;
    // Badges: endpoints and notifications carry one to the receiver; an IPI cap's badge (core + 1)
    // narrows it to ringing that one core of its range (a doorbell).
    if (badge != 0 && ((s.type != CapType::endpoint && s.type != CapType::notification && s.type != CapType::ipi) ||
                       s.word != 0))
        return Status::invalid_argument;
    if (badge != 0 && s.type == CapType::ipi && (badge - 1 < s.base || badge - 1 - s.base >= s.size))
        return Status::out_of_range;
    // Each field written once (IPC with a capability copies one per message): the cap, no
    // children, no ext words; link_child sets the other links.
    raise_high(dest);
    Slot& d = m_slots[dest];
    d.cap = s;
    d.cap.flags = 0;  // a copy of a pinned cap is an ordinary one: the original stays put
    d.cap.rights = s.rights & mask;
    if (badge != 0) d.cap.word = badge;
    d.first_child = no_slot;
    d.ext[0] = d.ext[1] = 0;
    link_child(src, dest);
    return Status::ok;
}

Status CapTable::move(SlotIdx src, SlotIdx dest) {
    if (!valid(src) || !valid(dest)) return Status::out_of_range;
    if (!live(src)) return Status::not_found;
    if (live(dest)) return Status::exists;
    if (m_slots[src].cap.pinned()) return Status::permission_denied;
    Slot& s = m_slots[src];
    raise_high(dest);
    m_slots[dest] = s;
    if (s.prev_sibling != no_slot)
        m_slots[s.prev_sibling].next_sibling = dest;
    else if (s.parent != no_slot)
        m_slots[s.parent].first_child = dest;
    if (s.next_sibling != no_slot) m_slots[s.next_sibling].prev_sibling = dest;
    for (SlotIdx c = s.first_child; c != no_slot; c = m_slots[c].next_sibling) m_slots[c].parent = dest;
    clear_slot(src);
    return Status::ok;
}

Status CapTable::remove(SlotIdx i, FreedSink freed) {
    if (!valid(i)) return Status::out_of_range;
    const Slot& s = m_slots[i];
    if (s.cap.is_null()) return Status::not_found;
    if (s.cap.pinned()) return Status::permission_denied;
    if (s.first_child != no_slot && (s.cap.type == CapType::untyped || s.parent == no_slot)) return Status::busy;
    remove_unchecked(i, freed);
    return Status::ok;
}

Status CapTable::set_pinned(SlotIdx i, bool pinned) {
    if (!valid(i)) return Status::out_of_range;
    if (!live(i)) return Status::not_found;
    Cap& c = m_slots[i].cap;
    c.flags = static_cast<std::uint8_t>(pinned ? (c.flags | cap_pinned) : (c.flags & ~cap_pinned));
    return Status::ok;
}

Status CapTable::revoke(SlotIdx i, FreedSink freed, std::uint32_t budget) {
    if (!valid(i)) return Status::out_of_range;
    if (!live(i)) return Status::not_found;
    // Leaves first: a leaf is never refused, and the tree depth bounds each descent.
    while (m_slots[i].first_child != no_slot) {
        if (budget == 0) return Status::would_block;
        SlotIdx leaf = m_slots[i].first_child;
        while (m_slots[leaf].first_child != no_slot) leaf = m_slots[leaf].first_child;
        remove_unchecked(leaf, freed);
        --budget;
    }
    return Status::ok;
}

void CapTable::remove_unchecked(SlotIdx i, FreedSink freed) {
    Slot& s = m_slots[i];
    const Cap object = s.cap;
    const bool last = is_last_reference(i);
    const SlotIdx parent = s.parent;
    if (s.first_child != no_slot) {
        // Copies move up into our place in the parent's list (callers guarantee a parent), so
        // copies of one object stay adjacent.
        SlotIdx last_child = s.first_child;
        for (SlotIdx c = s.first_child; c != no_slot; c = m_slots[c].next_sibling) {
            m_slots[c].parent = parent;
            last_child = c;
        }
        m_slots[s.first_child].prev_sibling = s.prev_sibling;
        m_slots[last_child].next_sibling = s.next_sibling;
        if (s.prev_sibling != no_slot)
            m_slots[s.prev_sibling].next_sibling = s.first_child;
        else
            m_slots[parent].first_child = s.first_child;
        if (s.next_sibling != no_slot) m_slots[s.next_sibling].prev_sibling = last_child;
    } else {
        unlink(i);
    }
    clear_slot(i);
    // seL4's rule: an untyped whose children are all gone may be carved from its start again.
    if (parent != no_slot) {
        Slot& p = m_slots[parent];
        if (p.cap.type == CapType::untyped && p.first_child == no_slot) p.cap.word = 0;
    }
    if (last) freed(object);
}

} // namespace myr::caps
