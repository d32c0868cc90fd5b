#pragma once
// Whole-table consistency check: the invariants every CapTable operation must keep. Used by the
// unit and fuzz tests after every step, and cheap enough for a debug self-check on a small table
// (quadratic in the number of live slots).
#include <myr/caps/table.hpp>

namespace myr::caps {

struct AuditResult {
    Status status = Status::ok;  // internal when an invariant is broken
    SlotIdx slot = no_slot;      // the slot where it was seen
    const char* what = "";       // which invariant
};

// Checks: link symmetry and acyclicity; empty slots carry no links; derivation only below an
// untyped or between copies of one object; copies keep identity, never gain rights, keep their
// badge; every derived object lies in its nearest untyped ancestor's used range, aligned to its
// size; an untyped without children has watermark 0; live memory objects overlap only when one
// is an untyped ancestor of the other (or both are caps of one object); cnodes lie in table
// memory and nothing else but untyped does.
[[nodiscard]] AuditResult audit(const CapTable& table);

} // namespace myr::caps
