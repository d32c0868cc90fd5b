#pragma once
// Kept memory (docs/monitors.md, "Kept memory"; MonitorOp::kept): a block that a supervised server
// instance's monitor keeps across the instance's crashes and restarts on its core, so a restarted
// instance finds what its predecessor wrote. What it finds was written by a program that crashed:
// check it before trusting it.
#include <myr/user/monitor_call.hpp>
#include <myr/user/vspace.hpp>

namespace myr::user {

struct KeptBlock {
    std::uint8_t* base = nullptr;
    std::uint64_t size = 0;
    bool fresh = false;  // made for this call (zeroed): no predecessor wrote in it
};

// The calling instance's kept block of 2^bits bytes (abi::kept_min_bits..kept_max_bits; the first
// call of an instance fixes the size): its capability into `slot`, mapped writable at vaddr
// (aligned to the size), with page tables from cap::ram into `tables` where missing.
// permission_denied: not the running instance of a supervised server; no_memory: no block that
// large is free on this core (ask again later); invalid_argument: bits, or not the size held.
inline Status kept_memory(std::uint64_t bits, std::uint64_t slot, std::uint64_t vaddr, TableSlots& tables, KeptBlock& out) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::kept);
    m.w[1] = bits;
    const Status s = monitor_call(m, slot);
    if (s != Status::ok) return s;
    if (m.cap_arrived != 1) return Status::internal;
    if (const Status ms = map_with_tables(slot, vaddr, abi::map_write, cap::ram, tables); ms != Status::ok) {
        (void)cap_delete(slot);
        return ms;
    }
    out = {reinterpret_cast<std::uint8_t*>(vaddr), m.w[1], m.w[2] == 1};
    return Status::ok;
}

} // namespace myr::user
