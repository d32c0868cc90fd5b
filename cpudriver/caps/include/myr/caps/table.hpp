#pragma once
// CapTable: one core's capability slots and their derivation tree, over caller memory.
//
// Capabilities are core-local in a multikernel: each CPU driver owns one CapTable and never
// touches another core's (cross-core bookkeeping is the monitors' job). The table is a fixed
// array of 64-byte slots that is also a range of physical memory: a CNode object *is* a run of
// these slots, carved from an untyped that covers table memory, as seL4 stores CNodes in the
// RAM they were retyped from. No allocation, no recursion: every operation is bounded by the
// table size. Every failing call leaves the table byte-for-byte unchanged.
#include <myr/caps/cap.hpp>
#include <myr/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::caps {

using SlotIdx = std::uint32_t;
inline constexpr SlotIdx no_slot = 0xffff'ffffu;

// One slot: the capability, its derivation-tree links (indices into the same table), and two
// words the layer above owns (e.g. where a frame is mapped). Links are none in a null slot.
struct Slot {
    Cap cap;
    SlotIdx parent = no_slot;
    SlotIdx first_child = no_slot;
    SlotIdx next_sibling = no_slot;
    SlotIdx prev_sibling = no_slot;
    std::uint64_t ext[2] = {0, 0};  // zero on creation and copy; travels with move
};
static_assert(sizeof(Slot) == (std::size_t{1} << slot_bits));
static_assert(alignof(Slot) == 8);

// Where retype, remove and revoke report an object whose last capability disappeared, so the
// caller can finalise it (dequeue an endpoint, stop a domain, unmap a frame). Memory itself comes
// back through the untyped's watermark, not through this report.
struct FreedSink {
    void (*fn)(void* ctx, const Cap& object) = nullptr;
    void* ctx = nullptr;
    void operator()(const Cap& object) const {
        if (fn != nullptr) fn(ctx, object);
    }
};

class CapTable {
public:
    CapTable() = default;
    CapTable(const CapTable&) = delete;
    CapTable& operator=(const CapTable&) = delete;

    // Take `slots` (which live at physical address `phys_base`) and empty them.
    // invalid_argument: no slots, more than 2^31, phys_base not 64-byte aligned, or the range
    // wraps / passes the physical limit.
    [[nodiscard]] Status init(std::span<Slot> slots, std::uint64_t phys_base);

    [[nodiscard]] std::uint32_t size() const { return m_count; }
    [[nodiscard]] std::uint64_t phys_base() const { return m_phys; }
    [[nodiscard]] std::uint64_t phys_end() const { return m_phys + (std::uint64_t{m_count} << slot_bits); }
    [[nodiscard]] const Slot& slot(SlotIdx i) const { return m_slots[i]; }
    [[nodiscard]] const Cap& cap(SlotIdx i) const { return m_slots[i].cap; }
    [[nodiscard]] std::span<const Slot> slots() const { return {m_slots, m_count}; }
    // The layer above's words of an occupied slot.
    [[nodiscard]] std::uint64_t* ext(SlotIdx i) { return m_slots[i].ext; }

    // Boot only: place a root capability (no parent) built with make_*(). Validates its shape and
    // that its memory overlaps no live object. out_of_range, exists, invalid_argument.
    [[nodiscard]] Status install(SlotIdx dest, const Cap& cap);

    // CSpace lookup: walk from the cnode in `root`, consuming `depth` bits of `cptr` from the top,
    // each cnode consuming its radix bits, until exactly `depth` bits are used. Returns the slot
    // reached (which may be empty). invalid_argument: depth 0 or > 64, cptr wider than depth, depth
    // ends inside a cnode's index; not_found: an intermediate slot is empty; wrong_type: the root
    // or an intermediate slot is not a cnode; out_of_range: root outside the table.
    [[nodiscard]] Result<SlotIdx> lookup(SlotIdx root, std::uint64_t cptr, unsigned depth) const;
    // lookup + check(cap, type, need).
    [[nodiscard]] Result<SlotIdx> lookup_cap(SlotIdx root, std::uint64_t cptr, unsigned depth, CapType type,
                                             Rights need) const;
    // First slot of `count` consecutive slots at `offset` in the cnode at `cnode` (which needs the
    // write right): how a syscall names retype destinations. invalid_argument for count 0.
    [[nodiscard]] Result<SlotIdx> cnode_range(SlotIdx cnode, std::uint64_t offset, std::uint32_t count) const;

    // Carve `count` objects of `spec` from the untyped in `untyped` into empty slots
    // [dest, dest+count), each aligned to its size, from the watermark up (from 0 when the untyped
    // has no children). New caps get all_rights(type) and become children of the untyped.
    // Errors: out_of_range (a slot index), not_found (empty source), wrong_type (not untyped),
    // permission_denied (no retype right), invalid_argument (spec, count, table-memory rule,
    // destination inside a new cnode), exists (destination occupied), no_memory (does not fit),
    // busy (a new cnode would cover an untyped with children). A new cnode's slots are emptied
    // first: caps left there by a dead cnode are removed and reported to `freed`.
    [[nodiscard]] Status retype(SlotIdx untyped, ObjectSpec spec, std::uint32_t count, SlotIdx dest,
                                FreedSink freed = {});

    // Derive into empty `dest` a child of `src` with the same rights (copy) or rights & mask and
    // an optional badge (mint; endpoint/notification only, never on an already badged cap).
    // Untyped caps (one watermark per region) and page-table caps (one installation record per
    // table) are never copied. out_of_range, not_found, exists, invalid_argument.
    [[nodiscard]] Status copy(SlotIdx src, SlotIdx dest) {
        return valid(src) ? mint(src, dest, m_slots[src].cap.rights, 0) : Status::out_of_range;
    }
    [[nodiscard]] Status mint(SlotIdx src, SlotIdx dest, Rights mask, std::uint64_t badge);
    // copy() for a caller that has checked both indices are in the table, `src` is live and `dest`
    // empty (the IPC fast path): the same copy, or false and no change where copy would refuse
    // (an untyped or a page table). Inline: one capability per message crosses here.
    [[nodiscard]] bool copy_checked(SlotIdx src, SlotIdx dest) {
        const Slot& s = m_slots[src];
        if (s.cap.type == CapType::untyped || s.cap.type == CapType::page_table) return false;
        raise_high(dest);
        Slot& d = m_slots[dest];
        d.cap = s.cap;
        d.cap.flags = 0;
        d.first_child = no_slot;
        d.ext[0] = d.ext[1] = 0;
        link_child(src, dest);
        return true;
    }

    // Move the cap (and its ext words and flags) from `src` to empty `dest`, keeping its place in
    // the tree. permission_denied for a pinned cap.
    [[nodiscard]] Status move(SlotIdx src, SlotIdx dest);

    // Delete one capability. Its children (copies) move up to its parent. If it was the last
    // capability to its object, the object is reported to `freed`. An untyped with children is
    // refused with busy: revoke it first; a pinned cap with permission_denied. Removing a cnode's
    // last cap does not touch the caps in its slots (see docs/capabilities.md: they are cleared
    // when that memory is retyped again).
    [[nodiscard]] Status remove(SlotIdx slot, FreedSink freed = {});

    // remove() of the commonest delete, inline: a live leaf `slot` (in the table) that is not
    // pinned and not the last capability to its object (a copy received over IPC), so nothing is
    // freed and no untyped's watermark moves. True when it removed it; false and no change for
    // anything else, which takes remove().
    [[nodiscard]] bool remove_copy(SlotIdx i) {
        Slot& s = m_slots[i];
        if (s.first_child != no_slot || s.cap.pinned() || s.cap.type == CapType::untyped) return false;
        if (is_last_reference(i)) return false;
        unlink(i);
        clear_slot(i);
        return true;
    }

    // Kernel only: pin the cap in `slot` to it, or release it (cap_pinned in cap.hpp).
    // out_of_range, not_found.
    [[nodiscard]] Status set_pinned(SlotIdx slot, bool pinned);

    // Delete every descendant of `slot` (leaves first), reporting freed objects. After revoking
    // an untyped its watermark is 0 again. Pinning does not protect a descendant: the kernel pins
    // only caps whose ancestors are its own (a revoke of them is the kernel's decision). At most `budget` deletions: would_block when
    // descendants remain (progress is kept; call again).
    [[nodiscard]] Status revoke(SlotIdx slot, FreedSink freed = {}, std::uint32_t budget = 0xffff'ffffu);

    [[nodiscard]] bool has_children(SlotIdx i) const { return m_slots[i].first_child != no_slot; }
    // Index of the slots a cnode cap's object occupies (its slot 0).
    [[nodiscard]] SlotIdx cnode_first_slot(const Cap& cnode) const {
        return static_cast<SlotIdx>((cnode.base - m_phys) >> slot_bits);
    }

private:
    [[nodiscard]] bool valid(SlotIdx i) const { return i < m_count; }
    [[nodiscard]] bool live(SlotIdx i) const { return i < m_count && !m_slots[i].cap.is_null(); }
    [[nodiscard]] bool in_table(std::uint64_t base, std::uint64_t end) const {
        return base >= m_phys && end <= phys_end();
    }
    [[nodiscard]] bool touches_table(std::uint64_t base, std::uint64_t end) const {
        return base < phys_end() && end > m_phys;
    }
    // True when no other slot in i's family (parent, siblings, children) holds its object.
    [[gnu::always_inline]] [[nodiscard]] bool is_last_reference(SlotIdx i) const {
        const Slot& s = m_slots[i];
        // Children of a non-untyped are copies; an untyped's children are other objects.
        if (s.first_child != no_slot && s.cap.type != CapType::untyped) return false;
        if (s.parent != no_slot && same_object(m_slots[s.parent].cap, s.cap)) return false;
        if (s.prev_sibling != no_slot && same_object(m_slots[s.prev_sibling].cap, s.cap)) return false;
        if (s.next_sibling != no_slot && same_object(m_slots[s.next_sibling].cap, s.cap)) return false;
        return true;
    }
    [[gnu::always_inline]] void link_child(SlotIdx parent, SlotIdx child) {
        Slot& p = m_slots[parent];
        Slot& c = m_slots[child];
        c.parent = parent;
        c.prev_sibling = no_slot;
        c.next_sibling = p.first_child;
        if (p.first_child != no_slot) m_slots[p.first_child].prev_sibling = child;
        p.first_child = child;
    }
    [[gnu::always_inline]] void unlink(SlotIdx i) {
        Slot& s = m_slots[i];
        if (s.prev_sibling != no_slot)
            m_slots[s.prev_sibling].next_sibling = s.next_sibling;
        else if (s.parent != no_slot)
            m_slots[s.parent].first_child = s.next_sibling;
        if (s.next_sibling != no_slot) m_slots[s.next_sibling].prev_sibling = s.prev_sibling;
        s.parent = s.next_sibling = s.prev_sibling = no_slot;
    }
    [[gnu::always_inline]] void clear_slot(SlotIdx i) { m_slots[i] = Slot{}; }
    [[gnu::always_inline]] void raise_high(SlotIdx i) {
        if (i >= m_high) m_high = i + 1;
    }
    // Remove a cap whose removal is allowed (not an untyped with children).
    void remove_unchecked(SlotIdx i, FreedSink freed);

    Slot* m_slots = nullptr;
    std::uint32_t m_count = 0;
    // One past the highest slot ever made live (install, retype, mint, move): every live slot
    // lies below it, so install's scan for a duplicate or overlapping object stops there instead
    // of reading the whole table (at boot the table is nearly empty).
    std::uint32_t m_high = 0;
    std::uint64_t m_phys = 0;
};

} // namespace myr::caps
