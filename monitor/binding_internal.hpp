#pragma once
// What binding.cpp (names, bindings, rings, the monitor's service loop) and domain_ops.cpp (kill,
// list and memserv grants for the domains of this core) share: the records of this core's domains,
// the monitor's cnode slots, and answering a call. Internal to the monitor.
#include <myr/abi/syscall.hpp>
#include <myr/result.hpp>
#include <myr/status.hpp>
#include <myr/urpc/message.hpp>
#include <myr/user/syscall.hpp>

#include <cstdint>

namespace myr::monitor::binding::detail {

// A domain of this core that used the service, or that this monitor started (then `cap` holds a
// domain capability to it: domain_status tells when it ended, and everything it held is freed).
struct DomainRec {
    bool used;
    bool accepts;            // it called accept: clients may bind to it by address (bind_to)
    bool name_cut;           // its program's name is longer than the 16 bytes kept (never may kill)
    std::uint32_t domain;
    std::uint64_t cap;       // our slot with a domain cap to it, 0: untracked (not started by us)
    std::uint64_t endpoint;  // our copy of its endpoint for local calls (its first local_offer), 0: none
    std::uint64_t name[2];   // its program's name (16 bytes) when we started it, else zero
};
constexpr unsigned max_domains = 40;
extern DomainRec domains[max_domains];
DomainRec* find_domain(std::uint64_t d);

// The monitor's own 64-slot cnode: slots for rings in transit, domain caps, memserv grants.
extern std::uint64_t slot_used;  // bit per cnode slot
Result<std::uint64_t> alloc_slot();
void free_slot(std::uint64_t s);  // deletes what is there and frees the slot (0: nothing)
unsigned free_slots();
void vacate(std::uint64_t s);     // the slot is empty (its cap moved away): free it without a delete

// Answers the domain whose call is being served: w0 = status (| high << 32), w1..w3 = values;
// `cap` moves with it where given. Whether the cap moved.
bool reply(Status st, std::uint64_t w1 = 0, std::uint64_t w2 = 0, std::uint64_t w3 = 0,
           std::uint64_t cap = abi::no_cap, std::uint64_t high = 0);
void wake_local_domains();  // domains of this core polling for an answer look again
// The capability sent with the call being served stays in its slot, which is the caller's from
// now on (free_slot it when done); 0 when none came.
std::uint64_t keep_incoming();

// ---- domain_ops.cpp ---------------------------------------------------------------------------
extern std::uint64_t monitor_domain;  // our own domain number (never killed)
bool may_kill(const DomainRec& rec);
bool may_grant(const DomainRec& rec);
Status kill_here(std::uint64_t domain, std::uint64_t caller_core, std::uint64_t caller);
Status list_here(std::uint64_t index, std::uint64_t (&w)[3]);
// A kill, list, grant or reclaim on another core for domain `who`: asks once, answers
// would_block until the reply is in (then the reply), busy beyond the limits.
void remote_op(std::uint64_t who, std::uint8_t type, std::uint64_t core, std::uint64_t arg, std::uint64_t x = 0,
               std::uint64_t y = 0);
void remotes_to_core_lost(std::uint64_t core);
void remotes_domain_ended(std::uint32_t domain);
Status ram_grant_here(std::uint64_t from, std::uint64_t domain, std::uint64_t ticket, std::uint64_t phys_bits);
Status ram_reclaim_here(std::uint64_t domain, std::uint64_t ticket);
// take_ram: the child of the grant moves to the domain; return_ram: the grant goes.
void take_ram(std::uint64_t domain, std::uint64_t ticket);
Status return_ram(std::uint64_t domain, std::uint64_t ticket);
unsigned grants_domain_ended(std::uint32_t domain);  // every grant it held goes; how many
// Whether [phys, phys + size) lies inside a grant held here for `domain`.
bool grant_covers(std::uint64_t domain, std::uint64_t phys, std::uint64_t size);

// ---- frames.cpp: frames across cores (docs/capabilities.md, "Frames across cores in the guest") --
void frames_init();
// MonitorOp::frame_give / frame_poll / frame_take / frame_revoke / frame_move from `who`; `incoming`: our slot
// with the cap sent with the call (deleted after the call by serve_local).
void frames_serve(std::uint64_t who, const user::Message& m, std::uint64_t incoming);
// Frames of `domain` inside [phys, phys + size) that were given to other cores: their revokes
// start (once); true while any is still under way (the grant must not go yet: ask again).
bool frames_release(std::uint32_t domain, std::uint64_t phys, std::uint64_t size);
// A domain of this core ended: the copies held for it go (their owners hear it) and the frames it
// gave are revoked; true while those revokes are under way (its death report must wait).
bool frames_domain_ended(std::uint32_t domain);
void frames_core_lost(std::uint64_t core);
void frames_line(std::uint64_t from, const urpc::Message& m);                        // cap_line
void frames_landed(std::uint64_t from, std::uint64_t tag, std::uint64_t status);     // frame_landed

// ---- far.cpp: endpoints and notifications across cores (docs/capabilities.md) ------------------
void far_init();
// MonitorOp::far_give / far_poll / far_take / far_revoke from `who` (`incoming` as for frames).
void far_serve(std::uint64_t who, const user::Message& m, std::uint64_t incoming);
void far_send(std::uint64_t badge, const user::Message& m);  // a call on a far capability
void far_tick();                                             // every round of serve_local
void far_domain_ended(std::uint32_t domain);
void far_core_lost(std::uint64_t core);
void far_line_in(std::uint64_t from, const urpc::Message& m);  // far_line

} // namespace myr::monitor::binding::detail
