#pragma once
// The system-call ABI between user programs and the CPU driver: defined once, here.
//
// Entry: `syscall` with rax = Sys number; arguments in rdi, rsi, rdx, r10, r8, r9 (rcx and r11
// are clobbered by the instruction itself). Return: rax = myr::Status, rdx = a value where the
// call has one. IPC calls carry a message of `ipc_words` words in rsi, rdx, r10, r8 (register-only
// fast path) and return the received words in the same registers, with the badge in rdi.
#include <myr/status.hpp>

#include <cstdint>

namespace myr::abi {

enum class Sys : std::uint64_t {
    debug_print = 0,   // (const char* text, u64 len, flags) -> ok | invalid_argument (bad pointer/len);
                       // flags 1: a machine-readable log line (needs a kernel cap in slot 5);
                       // flags 2 (console_text): the bytes as they are, no prefix, no newline added
                       // (a prompt, echo), console owner only (see console_read), else permission_denied
    yield = 1,         // () -> ok
    exit = 2,          // (u64 code) -> does not return
    domain_info = 3,   // () -> rdx = core << 32 | domain id
    cap_identify = 4,  // (cptr) -> rdx = type << 32 | rights
    cap_copy = 5,      // (src cptr, dest slot, rights mask) -> ok
    cap_mint = 6,      // (src cptr, dest slot, rights mask, badge) -> ok
    cap_delete = 7,    // (cptr) -> ok; permission_denied for a cap the kernel pinned (slots below)
    cap_revoke = 8,    // (cptr) -> ok: deletes every capability derived from it
    retype = 9,        // (untyped cptr, type, size_bits, dest slot, count) -> ok; page_table: size_bits = level 1..3
    map = 10,          // (frame cptr, vaddr, flags) -> ok; maps into the caller's own space through page
                       // tables that exist: not_found with rdx = 1 (PT), 2 (PD) or 3 (PDPT) names the
                       // first missing one (make it with retype + map_table); rdx = 0 for an empty slot
    unmap = 11,        // (frame cptr) -> ok
    ipc_send = 12,     // (endpoint cptr | flags << 32, w0, w1, w2, w3, cap) -> ok; cap: see ipc_cap() below;
                       // flags send_poll: would_block (nothing queued) unless a receiver waits there now
    ipc_recv = 13,     // (endpoint cptr, slot for a received cap or no_cap, flags) -> words in
                       // rsi,rdx,r10,r8, badge in rdi, r9 = 1 when a cap arrived; flags (recv_poll,
                       // recv_events below): recv_poll: would_block instead of blocking when no sender
                       // waits; recv_events: would_block also on whatever ends a wait_event
    ipc_call = 14,     // send then wait for the reply on the same endpoint; a cap in the reply lands in
                       // the slot named by ipc_cap()'s second field
    ipc_reply_recv = 15, // (endpoint cptr | flags << 32, w0..w3, slot for a received cap or no_cap in r9)
                       // reply to the last caller (if it still waits), then receive as ipc_recv with
                       // those flags; the kernel switches straight to the caller when this blocks
    notify_wait = 16,  // (notification cptr) -> rdx = bits (cleared); blocks while none are set
    notify_signal = 17,// (notification cptr, bits) -> ok: ORs bits (the cap's badge when 0), wakes a waiter
    send_ipi = 18,     // (ipi cptr, core) -> ok: wakes that core's waiting domains
    spawn = 19,        // (kernel cptr, name ptr, name len, arg, dest slot or no_cap) -> rdx = domain: start a
                       // boot module here; with a dest slot (empty), a domain cap to the new domain lands there
    shutdown = 20,     // (kernel cptr, code) -> ends the whole run: code 0 success, else failure
    wait_event = 21,   // () -> ok: sleep until an IPI reaches this core or the next timer tick; returns at
                       // once when an IPI or a local sender's wake-up came since the caller's last wait_event
    kernel_option = 22,// (kernel cptr, key ptr, key len, buf ptr, buf len) -> rdx = value length:
                       // copies the value of kernel option `key=` (e.g. the run plan) into buf
    cap_create_remote = 23, // (kernel cptr, phys, size_bits 12..20, dest slot) -> ok: a channel_memory
                       // root cap for ring memory inside some core's channel pool (TopologyInfo): the
                       // monitors hand out binding rings this way, and the memory is zeroed when it
                       // lies in this core's own pool (its owner makes it first); out_of_range for any
                       // other memory; exists while a cap on this core still names that ring
    ipc_reply = 24,    // (w0, w1, w2, w3 in rsi,rdx,r10,r8, cap cptr or no_cap in r9) -> ok: answers the
                       // last caller without receiving again; the cap *moves* to the caller when it
                       // named an empty reply slot (caller sees r9 = 1), else stays; not_found: no caller;
                       // permission_denied: the cap is pinned (nothing is sent, the caller still waits)
    core_status = 25,  // (kernel cptr) -> rdx = live domains besides the caller | exited ok << 16 |
                       // exited failing << 32 | faulted << 48 (16 bits each, this core since boot)
    cap_phys = 26,     // (kernel cptr, cptr, what) -> rdx = physical base (what 0) or size in bytes (what 1)
                       // of a frame / channel_memory / untyped / endpoint / notification cap (monitors name
                       // rings, frames and objects to another core's monitor by address); what 2: 1 when
                       // copies were derived from this cap and some remain, else 0 (a monitor learns that
                       // its domains deleted every far capability it minted); invalid_argument for another `what`
    topology = 27,     // (TopologyInfo* buf, size) -> ok: the machine as this core's CPU driver parsed it
                       // (cores, nodes, node of each core, SLIT distances); any domain may ask
    domain_kill = 28,  // (domain cptr, needs write) -> ok: ends that domain like a fault (domain-killed line);
                       // connection_lost when it has already ended
    domain_status = 29,// (domain cptr, needs read) -> rdx = DomainStatus | code << 32 (see below)
    map_table = 30,    // (page_table cptr, vaddr, level 1..3) -> ok: installs the table in the caller's own
                       // space for vaddr (aligned to what it covers: 2 MiB, 1 GiB, 512 GiB); the level
                       // above must exist (not_found, rdx = the missing level), the entry be empty (exists)
    unmap_table = 31,  // (page_table cptr) -> ok: takes the table out of its tree and zeroes it (what was
                       // mapped through it is gone); not_found when it is not installed
    console_read = 32, // (u8* buf, u64 len <= console_read_max) -> rdx = bytes copied (0: none waiting);
                       // never blocks (sleep in wait_event between polls). Only the console owner, the
                       // domains running the program that kernel option `console=NAME` names, may read:
                       // anyone else permission_denied; a buffer not user-writable or len too large:
                       // invalid_argument, and no received byte is taken from the serial port
    cap_create_ram = 33, // (kernel cptr, phys, size_bits 12..39, dest slot) -> ok: an untyped root cap for
                       // [phys, phys + 2^size_bits) inside some node's memserv pool (TopologyInfo), aligned
                       // to its size (monitors turning memserv grants into memory); out_of_range for any
                       // block not wholly inside one pool, invalid_argument for a size or alignment
                       // untyped cannot have, exists when it overlaps memory a capability on this core
                       // already names; wrong_type without the kernel cap
    ticks = 34,        // () -> rdx = this core's timer ticks since it started (timer_hz per second; a core
                       // with no domain may skip ticks while idle): the clock timeouts count in
    core_stop = 35,    // (kernel cptr) -> does not return: this core prints core-stopped and halts with
                       // interrupts off; every domain on it stops where it is (fault injection: a core that
                       // dies, docs/faults.md; a monitor removed from the membership halts this way too).
                       // wrong_type / not_found without the kernel cap
    cap_reclaim_channel = 36, // (kernel cptr, phys, size_bits 12..20) -> rdx = capabilities removed: deletes
                       // every channel_memory cap on this core to exactly that ring (in any domain's
                       // cnode, copies first, each unmapped), so no domain of this core can reach it
                       // again (monitors returning a binding's ring memory, docs/monitors.md "Ring memory
                       // comes back"); out_of_range outside every channel pool, as cap_create_remote
    unmap_at = 37,     // (domain cptr with write, vaddr) -> ok: removes the page mapped at vaddr in that
                       // domain's address space (on this core), whichever frame or channel_memory cap
                       // mapped it (the cap stays, unmapped), and its TLB entry: the monitors' step of an
                       // unmap in an address space that spans cores (docs/unmap.md). not_found: nothing
                       // mapped there; invalid_argument: vaddr not page-aligned; out_of_range: outside
                       // user space; connection_lost: the domain ended; wrong_type / permission_denied
    cap_create_frame = 38, // (kernel cptr, phys, size_bits 12 | 21 | 30, dest slot) -> ok: a frame root cap for
                       // memory of a memserv pool that a domain of another core carved and handed on (the
                       // monitors' capability protocol, docs/capabilities.md "Across cores"): the block must
                       // lie in one node's pool, aligned (check_ram_block: out_of_range, invalid_argument);
                       // exists when a capability on this core already names memory overlapping it (on the
                       // core that carved it, its untyped does); wrong_type / not_found without the kernel cap
    cap_reclaim_frame = 39, // (kernel cptr, phys, size_bits 12..39) -> rdx = capabilities removed: deletes every
                       // frame cap on this core whose memory lies inside [phys, phys + 2^size_bits), copies
                       // first, each unmapped, so no domain here can reach that memory through a frame again
                       // (a revoke reaching this core); the same block rules as cap_create_frame
    count
};

inline constexpr unsigned ipc_words = 4;
inline constexpr std::uint64_t console_text = 2;        // debug_print flag
inline constexpr std::uint64_t console_read_max = 256;  // bytes one console_read may ask for
inline constexpr std::uint64_t no_cap = ~0ull;
inline constexpr std::uint64_t recv_poll = 1;  // ipc_recv flag
inline constexpr std::uint64_t send_poll = 1;  // ipc_send flag
// ipc_recv / ipc_reply_recv flag: a receive that is also a wait_event. With no sender waiting it
// blocks, and ends with would_block on what would end a wait_event (an IPI to this core, a local
// sender queueing anywhere, the next timer tick); a wake-up that came since the caller last waited
// ends it at once and is used up as wait_event uses it, so one server can sleep on same-core calls
// and its URPC rings at once without losing a wake-up. A domain blocked this way keeps its core
// busy, as one in wait_event does.
inline constexpr std::uint64_t recv_events = 2;
// The cap argument (r9) of ipc_send / ipc_call: no_cap, or the cptr of a capability to send in
// bits 0-31 (0xffffffff: none) and, for ipc_call only, the slot where a capability in the reply
// may land in bits 32-63 (0: none). Either needs the grant right on the endpoint cap used
// (permission_denied): capabilities cross a call, both ways, only over a cap with grant.
constexpr std::uint64_t ipc_cap(std::uint64_t send, std::uint64_t reply_slot) {
    return (send & 0xffff'ffffull) | (reply_slot << 32);
}
inline constexpr std::uint64_t ipc_no_send = 0xffff'ffffull;

// Sys::domain_status: the low 32 bits of rdx. A domain that ended is still answered for (with
// its code in rdx bits 32-63) until its kernel slot starts another domain; then every capability
// to it is deleted (later calls: not_found). connection_lost: the domain is gone and unknown.
enum class DomainStatus : std::uint32_t {
    runnable = 0,  // running or ready to run
    blocked = 1,   // waiting (IPC, notification, event)
    exited = 2,    // code = its exit code (low 32 bits)
    faulted = 3,   // code = the exception vector that killed it
    killed = 4,    // code = the domain number of the killer (domain_kill)
};

// Every domain starts with a domain capability to itself (read, write) in this slot.
inline constexpr std::uint64_t self_domain_slot = 2;

// Every domain holds, in slot 4, a send+grant capability to its core's endpoint badged with its
// domain id. Only the core's server may receive there: the domains running a program that the
// kernel option `serve=NAME` names get all rights (send, receive, grant) instead; any other
// domain's receive is permission_denied, so no domain can take calls meant for the server.
inline constexpr std::uint64_t core_endpoint_slot = 4;

// Slots whose capabilities the kernel placed and relies on: they are pinned (never moved by
// ipc_reply, never deleted: permission_denied). Every domain: 1 (its own cnode) and 3 (the RAM
// lent to it, which goes back to the kernel when it ends). A monitor also: 5, 6, 7 (its
// receiving copy of its endpoint) and 8. Copies of a pinned cap are ordinary caps.

// Every domain holds, in slot 7, a send+grant capability to its monitor's endpoint badged with its
// domain id (the monitor service: monitor_op below). A monitor starts with (besides the slots every
// domain has) a kernel capability in slot 5, an IPI capability for every core in slot 6, the
// receiving copy of its endpoint in slot 7 (slot 8 stays empty: its core's channel pool is named by
// address, TopologyInfo::chan_pool_base, and its rings made with cap_create_remote), and finds its arguments in registers:
// rdi = its core, rsi = number of cores, rdx = base of the mapped monitor mesh, rcx = bytes per
// core's inbox, r8 = bytes per channel, r9 = its NUMA node | monitor flags << 32 (kernel option monitor.flags). The inbox of core c starts at
// rdx + c * rcx and holds one channel per sending core s at offset s * r8.
inline constexpr std::uint64_t monitor_mesh_base = 0x0000'0001'0000'0000;  // 4 GiB
inline constexpr std::uint32_t monitor_channel_slots = 16;

// Filled by Sys::topology. Distances are row-major nodes x nodes (ACPI SLIT units, 10 = local).
inline constexpr std::uint32_t topo_max_cores = 256, topo_max_nodes = 64;
struct TopologyInfo {
    std::uint32_t cores, nodes;
    std::uint16_t core_node[topo_max_cores];
    std::uint8_t distance[topo_max_nodes * topo_max_nodes];
    std::uint64_t tsc_per_ms;  // TSC ticks per millisecond (the boot core's calibration): deadlines
    // Each node's memserv pool (kernel option memserv.pool=MiB; 0, 0: none), the only RAM
    // cap_create_ram turns into capabilities. Physical addresses, 2 MiB aligned.
    std::uint64_t ram_pool_base[topo_max_nodes];
    std::uint64_t ram_pool_bytes[topo_max_nodes];
    // Each core's channel pool (binding rings, in that core's node): the memory cap_create_remote
    // and cap_reclaim_channel accept. Every pool has chan_pool_bytes.
    std::uint64_t chan_pool_base[topo_max_cores];
    std::uint64_t chan_pool_bytes;
};

// Flags for Sys::map.
inline constexpr std::uint64_t map_write = 1;
inline constexpr std::uint64_t map_exec = 2;

// The monitor service (ipc_call on slot 7; w0 = operation; the answer's w0 = a Status, values in w1..w3).
// Names are up to 16 bytes packed little-endian into two words.
enum class MonitorOp : std::uint64_t {
    export_name = 1,  // (op, name0, name1) -> would_block while the monitors agree (ask again), then ok:
                      // clients on any core may now bind to this domain, or exists: another holds it
    bind = 2,         // (op, name0, name1) -> w1 = ticket; not_found when no core exports the name
    bind_poll = 3,    // (op, ticket) -> would_block, or w1 = binding id, w2 = peer core, w3 = peer domain
    accept = 4,       // (op, flags) -> would_block, or w1 = binding id, w2 = peer core, w3 = peer domain;
                      // flags & accept_service: w2 = peer core << 32 | peer domain, w3 = the service
                      // word the client passed to bind_to (0 for bind by name). The first accept marks
                      // the domain as accepting bindings by address (bind_to)
    take_ring = 5,    // (op, binding, which: 0 the ring it receives on, 1 the ring it sends on) ->
                      // the ring's channel_memory cap moves into the call's reply slot, w1 = its
                      // handle for unbind_ring
    doorbell = 6,     // (op, binding) -> an IPI cap badged for the peer's core only moves into the
                      // reply slot (wake a peer sleeping in wait_event); ask before taking the rings
    // Program arguments and run-time spawn (docs/monitors.md, "Program arguments", "Spawn").
    args = 7,         // (op, offset) -> w0 = ok | total length << 32, w1..w3 = up to 24 bytes of the
                      // caller's own argument string from offset (zero-padded); out_of_range past the end
    spawn = 8,        // (op, name0, name1, core or spawn_any) -> start program `name` (<= 16 bytes) there
                      // with the argument string staged by spawn_arg (then cleared): ok with w1 = core,
                      // w2 = domain (this core); would_block with w1 = ticket (another core: poll with
                      // (op, 0, ticket) until ok | the error); not_found: no such program; busy: too
                      // many spawns of the caller in flight; out_of_range: no such core
    spawn_arg = 14,   // (op, offset, bytes0, bytes1) -> ok: stages up to 16 bytes (to the first zero) at
                      // offset of the caller's next spawn's argument string; offset 0 starts it afresh;
                      // overflow past args::max_len (96), invalid_argument for a gap
    deaths = 9,       // (op, cursor) -> the next death the monitors reported after `cursor` (0: from the
                      // oldest held): w1 = its cursor, w2 = core << 32 | domain, w3 = how it ended
                      // (DomainStatus exited / faulted / killed | code << 32, as domain_status answers;
                      // death_unknown: its kernel slot was reused before its monitor looked);
                      // would_block when none is newer; overflow when `cursor` fell off this monitor's
                      // ring: w1 = the oldest cursor still held (ask again from there), w2 = deaths missed
    alive = 10,       // (op, core, domain) -> ok (no death of it reported to this monitor), or
                      // connection_lost (it ended); answered locally, no messages
    bind_to = 11,     // (op, core, domain, service) -> w1 = ticket for bind_poll, like bind(name), to a
                      // domain that has called accept at least once; bind_poll answers not_found when
                      // it never did (or does not exist), and the refusal costs the client nothing
    kill = 12,        // (op, core, domain) -> ok, not_found (no domain a monitor started, or already
                      // ended), permission_denied (the caller is not a program that kernel option
                      // monitor.kill names, or the target is a monitor or the caller itself); another
                      // core: would_block until its monitor answered (call again with the same words)
    list = 13,        // (op, core, index) -> the index-th live domain a monitor started on that core:
                      // w1 = domain | 1 << 32 when it is a server instance (started with `replicas=`
                      // in its arguments), w2..w3 = its program name (16 bytes); not_found past the end;
                      // another core: would_block until its monitor answered (call again, same words)
    // memserv grants as untyped capabilities (docs/servers.md, "memserv", "From a grant to a capability").
    grant_ram = 15,   // (op, core << 32 | domain, ticket, phys | size_bits) -> only a program that kernel
                      // option monitor.memserv names (else permission_denied): the monitor of `core`
                      // makes an untyped root for [phys, phys + 2^size_bits) (inside the pool of the
                      // caller's node), keeps it, and holds a child of it for (domain, ticket) until
                      // that domain takes it (take_ram). ok; busy: that monitor holds as many grants as
                      // it may (8 per core, 4 per domain); not_found: no live domain it started;
                      // exists: the ticket is held already; out_of_range / invalid_argument: the block.
                      // phys | size_bits = 0: reclaim: ok once no capability for (domain, ticket)
                      // is left there (revoked now, or returned before). Another core: would_block
                      // until its monitor answered (call again with the same words)
    take_ram = 16,    // (op, ticket) -> the untyped capability held for the caller under `ticket` moves
                      // into the call's reply slot; not_found for a ticket not held for this very
                      // domain (another domain's, one never granted, one taken or returned already)
    return_ram = 17,  // (op, ticket) -> ok: the monitor revoked and deleted the grant's root, so the
                      // untyped and everything retyped from it are gone (mappings too); not_found as
                      // for take_ram. Then free the grant at memserv
    // Same-core RPC over local IPC (docs/monitors.md, "Local calls"): a binding between two domains
    // of one core may also carry synchronous calls on an endpoint of the server.
    local_offer = 18, // (op, binding) + the server's own unbadged endpoint cap (with receive) sent with
                      // the call (ipc_cap(slot, 0)); the monitor keeps the first one a domain sends
                      // (later ones are ignored) until that domain ends. For a same-core binding the
                      // caller accepted and has not taken the rings of, the monitor mints a send-only
                      // cap to that endpoint badged with a number it never used before and holds it
                      // for the client: ok, w1 = the badge (calls from this client arrive with it).
                      // not_found: not its accepted binding, or the client took its rings already /
                      // was offered one; unsupported: a cross-core binding; invalid_argument: no cap
                      // came (or a badged one); wrong_type: not an endpoint with receive; busy: slots
    local_take = 19,  // (op, binding) -> the client's side, before it takes its rings: the cap the
                      // server offered moves into the reply slot (ok); would_block until the server
                      // offered one or took its rings without (then not_found: use the rings only);
                      // not_found also for a binding that is not the caller's; unsupported: cross-core
    heartbeat = 20,   // (op) -> w1 = the caller's heartbeat period in ms (0: none), w2 = the same in ticks,
                      // w3 = how often its monitor restarted this instance (0: first start): a supervised
                      // server instance must call again within every period, or its monitor ends it as
                      // hung and restarts it by its policy (docs/monitors.md, "Supervision");
                      // user::Heartbeat, user::restarts()
    server_info = 21, // (op, name0, name1) -> ok when the config has a [[server]] table whose name or
                      // program is `name` (16 bytes, nul-padded): w1 = its instances placed at boot,
                      // w2 = its table index, w3 = server_info_exported | core << 32 | domain when a
                      // domain also exported `name` in the monitors' table (else 0); else ok when a
                      // domain exported `name` there: w1 = 0, w2 = ~0, w3 = core << 32 | domain;
                      // not_found when neither.
                      // Answered locally, no messages (clients ask "does this machine run
                      // nameserv?": user::server_configured, nameserv::present)
    bind_cancel = 22, // (op, ticket) -> ok: the caller withdrew its bind (or bind_to) of that ticket, which
                      // it will not poll again: answered or not, the ticket is gone at once and no longer
                      // counts against the caller's bindings in set-up; the server's monitor drops the
                      // request unless the server accepted it already (then the server's side finds
                      // no client). not_found: no such ticket of the caller's. user::poll_binding
                      // cancels a bind it stopped waiting for
    unbind_ring = 23, // (op, handle) -> ok: the caller gives back a ring it took (take_ring answered the
                      // handle in w1); delete the capability first: once neither end of the binding
                      // holds the ring on any core, every capability to it is removed and the memory is
                      // used again (docs/monitors.md, "Ring memory comes back"). not_found: not a ring
                      // the caller holds (never taken, another's, given back already). user::close_channel
    // An address space that spans cores (docs/unmap.md): only the dispatcher a monitor started
    // for a span (program `spanner`, plan step unmap:N) may call these; anyone else: not_found.
    span_join = 24,   // (op, span) -> a channel_memory cap to the span's shared page moves into the reply
                      // slot; w1 = the address of the first page, w2 = pages to map (one copy each)
    span_poll = 25,   // (op, span, report, value) -> would_block while the span runs, ok once it ended.
                      // report 1: `value` pages are mapped (once); 2: after the end, `value` of them
                      // could still be reached; 3: its own unmap's result (value as span_unmapped)
    span_unmap = 26,  // (op, span, vaddr, protocol) -> unmap one of the span's pages on every core, this
                      // dispatcher's core the initiator: would_block while it runs (and until every
                      // member mapped), ok once no core can reach the page: call again with the same
                      // words until then. busy: another unmap of this core is running; invalid_argument:
                      // not a page of the span, or a protocol other than unicast (1), multicast (2),
                      // numa-multicast (3) or ipi (4) (broadcast's line belongs to the span's first core)
    // Frames across cores (docs/capabilities.md, "Frames across cores in the guest"): a frame the
    // caller carved from a memserv grant its monitor holds for it goes to a domain on another core
    // as that core's own frame capability; the giver can take every such copy back (revoke).
    frame_give = 27,   // (op, core, domain) + the frame cap sent with the call (ipc_cap(slot, ..)) ->
                       // ok, w1 = ticket: poll it with frame_poll. invalid_argument: no cap came, this
                       // core, no such core, domain 0; wrong_type: not a frame; permission_denied: not
                       // inside a grant held for the caller here; connection_lost: the target or its
                       // core is known to have ended; busy: too many gives or revokes in flight;
                       // no_memory: the monitor tracks as many frames as it may; unsupported: > 64 cores
    frame_poll = 28,   // (op, ticket) -> would_block, else the outcome, once: a give: ok (the target's
                       // monitor holds the copy for it: frame_take), connection_lost (it ended), busy
                       // (no room there), exists (that core already holds a capability to the memory);
                       // a revoke: ok, no other core holds a copy any more. not_found: not a ticket
                       // of the caller's
    frame_take = 29,   // (op) -> the oldest frame given to the caller moves into the reply slot: ok, w1 =
                       // the giver's core, w2 = the frame's physical base, w3 = its size in bytes;
                       // would_block while none is held for it
    frame_revoke = 30, // (op) + a frame cap sent with the call -> ok, w1 = ticket (frame_poll: ok once no
                       // other core holds a copy: each such copy was removed, its mappings with it);
                       // not_found: no copy of it was given; wrong_type, permission_denied as for give
    // Kept memory (docs/monitors.md, "Kept memory"): memory of a supervised server instance that
    // outlives its crashes, so a restarted instance finds what its predecessor wrote there.
    frame_move = 32,   // (op, core) + a frame cap sent with the call -> ok, w1 = ticket (frame_poll: ok once
                       // the domain holding the copy on `core` owns it: it may revoke every other copy
                       // but the giver's core's and pass its copy on without asking this core; when it
                       // ends, ownership goes back to the giver's core). not_found: never given, or no
                       // copy on that core (found when asked); permission_denied: the caller does not own
                       // it (a holder, or the giver after a move); invalid_argument, wrong_type, busy,
                       // connection_lost as for give
    // Endpoints and notifications across cores (docs/capabilities.md, "Endpoints and notifications
    // across cores"): a domain gives its capability to a domain on another core, which takes a far
    // capability: a call on it (user::far_send) carries four words to the object on its own core.
    far_give = 33,     // (op, core, domain) + an endpoint or notification cap with send right sent with the
                       // call -> ok, w1 = ticket (far_poll: ok once the far capability is held there for the
                       // domain; connection_lost: it ended; busy: no room there). invalid_argument: no cap
                       // came, this core, no such core, domain 0, or a far capability (it is not given on);
                       // wrong_type: not an endpoint or notification; permission_denied: no send right;
                       // busy: 4 far capabilities of the caller out, 8 of this core, or no slot
    far_poll = 34,     // (op, ticket) -> would_block, else the outcome of a give or revoke, once; not_found:
                       // not a ticket of the caller's
    far_take = 35,     // (op) -> the oldest far capability given to the caller moves into the reply slot:
                       // ok, w1 = the owner's core, w2 = the giver's domain there, w3 = 1 endpoint |
                       // 2 notification; would_block while none is held for it. A call on it (four words):
                       // ok once on its way, busy while 4 of its messages wait at the owner's core (call
                       // again), not_found once it was revoked (the capability is gone too)
    far_revoke = 36,   // (op) + a cap to the object -> ok, w1 = ticket (far_poll: ok once every far capability
                       // the caller gave of that object is gone on every core); not_found: none is out
    kept = 31,         // (op, size_bits) -> a channel_memory cap to the calling instance's kept block of
                       // 2^size_bits bytes (12..19) moves into the reply slot: map it whole (Sys::map, at an
                       // address aligned to its size). ok: w1 = its size, w2 = 1 when it was made now
                       // (zeroed; a first start, or the block was given back) else 0 (what the instance's
                       // predecessors on this core left in it). The first call of an instance fixes the
                       // size; its monitor keeps the block across the instance's restarts and frees it
                       // when the instance is down for good. permission_denied: the caller is not the
                       // running instance of a supervised [[server]] (restart policy or heartbeat) of
                       // this core; invalid_argument: size_bits out of range, or not the size held;
                       // no_memory: the core's kept area has no free block that large; busy: no slot
};
inline constexpr std::uint64_t spawn_any = ~0ull;  // MonitorOp::spawn: the monitor picks the core
// The badge of a far capability (MonitorOp::far_take) on the monitor's endpoint: far_badge | the
// record's id. Domain badges there are domain numbers, below 2^32.
inline constexpr std::uint64_t far_badge = std::uint64_t{1} << 62;
inline constexpr std::uint64_t server_info_exported = std::uint64_t{1} << 63;  // MonitorOp::server_info, w3
inline constexpr std::uint64_t accept_service = 1;      // MonitorOp::accept flag
inline constexpr std::uint32_t death_unknown = 0xff;    // MonitorOp::deaths: ended, how not known
// MonitorOp::deaths: a whole core stopped (removed from the membership): domain = all_domains
// stands for every domain of that core, and how = death_core_stopped.
inline constexpr std::uint32_t death_core_stopped = 0xfe;
inline constexpr std::uint32_t all_domains = 0xffffffff;
inline constexpr std::uint64_t bind_ring_bits = 12;  // each direction of a binding: one 4 KiB ring
// Each core's channel pool (TopologyInfo::chan_pool_bytes) holds the rings of bindings below
// kept_area_bytes from its top, and the kept memory of its supervised instances in that top part
// (MonitorOp::kept): 544 KiB, so one block of the largest size (kvstore's log) and small ones
// (nameserv's kept table) fit on one core. A pool without room for 256 KiB of rings below it (less
// than 800 KiB) has no kept area. In the 1 MiB pools of a boot: 120 rings of 4 KiB, then the area.
inline constexpr std::uint64_t kept_area_bytes = 544 * 1024;
inline constexpr std::uint64_t kept_min_bits = 12, kept_max_bits = 19;
constexpr bool has_kept_area(std::uint64_t pool) { return pool >= kept_area_bytes + 256 * 1024; }
// The ring part of a channel pool of `pool` bytes (the kept area follows it up to the end).
constexpr std::uint64_t ring_pool_bytes(std::uint64_t pool) { return has_kept_area(pool) ? pool - kept_area_bytes : pool; }

} // namespace myr::abi
