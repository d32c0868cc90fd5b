// The CapTable invariants, checked from scratch (no trust in any cached state).
#include <myr/caps/audit.hpp>

namespace myr::caps {

namespace {

AuditResult fail(SlotIdx i, const char* what) { return AuditResult{Status::internal, i, what}; }

bool is_pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Is `anc` a proper ancestor of `i`? Only called after acyclicity has been checked.
bool is_ancestor(const CapTable& t, SlotIdx anc, SlotIdx i) {
    for (SlotIdx p = t.slot(i).parent; p != no_slot; p = t.slot(p).parent)
        if (p == anc) return true;
    return false;
}

AuditResult audit_links(const CapTable& t) {
    const SlotIdx n = t.size();
    auto ok_link = [&](SlotIdx l) { return l == no_slot || (l < n && !t.cap(l).is_null()); };
    for (SlotIdx i = 0; i < n; ++i) {
        const Slot& s = t.slot(i);
        if (s.cap.is_null()) {
            if (s.parent != no_slot || s.first_child != no_slot || s.next_sibling != no_slot ||
                s.prev_sibling != no_slot)
                return fail(i, "empty slot with links");
            continue;
        }
        if (!ok_link(s.parent) || !ok_link(s.first_child) || !ok_link(s.next_sibling) || !ok_link(s.prev_sibling))
            return fail(i, "link to an empty or out-of-range slot");
        if (s.parent == no_slot) {
            if (s.prev_sibling != no_slot || s.next_sibling != no_slot) return fail(i, "root in a sibling list");
        } else if (s.prev_sibling == no_slot) {
            if (t.slot(s.parent).first_child != i) return fail(i, "first sibling is not parent's first child");
        } else if (t.slot(s.prev_sibling).next_sibling != i || t.slot(s.prev_sibling).parent != s.parent) {
            return fail(i, "prev sibling does not point back");
        }
        if (s.next_sibling != no_slot &&
            (t.slot(s.next_sibling).prev_sibling != i || t.slot(s.next_sibling).parent != s.parent))
            return fail(i, "next sibling does not point back");
        if (s.first_child != no_slot &&
            (t.slot(s.first_child).parent != i || t.slot(s.first_child).prev_sibling != no_slot))
            return fail(i, "first child does not point back");
        SlotIdx steps = 0;
        for (SlotIdx p = s.parent; p != no_slot; p = t.slot(p).parent)
            if (++steps > n) return fail(i, "cycle in parent links");
    }
    return {};
}

AuditResult audit_shapes(const CapTable& t) {
    const SlotIdx n = t.size();
    for (SlotIdx i = 0; i < n; ++i) {
        const Slot& s = t.slot(i);
        const Cap& c = s.cap;
        if (c.is_null()) continue;
        if (static_cast<unsigned>(c.type) >= cap_type_count) return fail(i, "unknown type");
        if (!has(all_rights(c.type), c.rights)) return fail(i, "rights outside the type's set");
        if ((c.flags & ~cap_known_flags) != 0) return fail(i, "unknown flags");
        if (is_memory(c.type)) {
            if (c.size == 0 || c.base >= phys_limit || c.size > phys_limit - c.base) return fail(i, "bad memory range");
            const bool table_mem = c.base >= t.phys_base() && c.end() <= t.phys_end();
            const bool touches = c.base < t.phys_end() && c.end() > t.phys_base();
            if (c.type == CapType::cnode && !table_mem) return fail(i, "cnode outside table memory");
            if (c.type != CapType::cnode && c.type != CapType::untyped && touches)
                return fail(i, "non-cnode object in table memory");
            if (c.type != CapType::untyped && (!is_pow2(c.size) || (c.base & (c.size - 1)) != 0))
                return fail(i, "object not naturally aligned");
        }
        if (c.type == CapType::untyped) {
            if (c.word > c.size) return fail(i, "watermark beyond the untyped");
            if (s.first_child == no_slot && c.word != 0) return fail(i, "childless untyped with a watermark");
        }
        if (s.parent == no_slot) continue;
        const Cap& p = t.cap(s.parent);
        if (p.type == CapType::untyped) {
            if (!is_memory(c.type)) return fail(i, "non-memory object below an untyped");
            if (c.base < p.base || c.end() > p.base + p.word) return fail(i, "object outside parent's used range");
        } else {
            if (!same_object(p, c)) return fail(i, "child of a non-untyped is not a copy");
            if (c.type == CapType::page_table) return fail(i, "a page table has a copy");
            if (!has(p.rights, c.rights)) return fail(i, "copy gained rights");
            if (p.word != 0 && c.word != p.word) return fail(i, "copy changed its badge");
        }
    }
    return {};
}

AuditResult audit_siblings(const CapTable& t) {
    // Copies of one object under one parent are adjacent, and sibling lists end.
    const SlotIdx n = t.size();
    for (SlotIdx i = 0; i < n; ++i) {
        if (t.cap(i).is_null()) continue;
        SlotIdx len = 0;
        for (SlotIdx a = t.slot(i).first_child; a != no_slot; a = t.slot(a).next_sibling) {
            if (++len > n) return fail(i, "cycle in a sibling list");
            bool gap = false;
            for (SlotIdx b = t.slot(a).next_sibling; b != no_slot; b = t.slot(b).next_sibling) {
                if (!same_object(t.cap(a), t.cap(b))) {
                    gap = true;
                } else if (gap) {
                    return fail(a, "copies of one object not adjacent among siblings");
                }
            }
        }
    }
    return {};
}

AuditResult audit_overlap(const CapTable& t) {
    const SlotIdx n = t.size();
    for (SlotIdx i = 0; i < n; ++i) {
        const Cap& a = t.cap(i);
        if (!is_memory(a.type)) continue;
        for (SlotIdx j = i + 1; j < n; ++j) {
            const Cap& b = t.cap(j);
            if (!is_memory(b.type) || !(a.base < b.end() && b.base < a.end())) continue;
            if (same_object(a, b)) continue;
            const bool a_over_b = a.type == CapType::untyped && is_ancestor(t, i, j);
            const bool b_over_a = b.type == CapType::untyped && is_ancestor(t, j, i);
            if (!a_over_b && !b_over_a) return fail(j, "objects overlap without untyped ancestry");
        }
    }
    return {};
}

} // namespace

AuditResult audit(const CapTable& table) {
    for (auto* step : {audit_links, audit_shapes, audit_siblings, audit_overlap}) {
        const AuditResult r = step(table);
        if (r.status != Status::ok) return r;
    }
    return {};
}

} // namespace myr::caps
