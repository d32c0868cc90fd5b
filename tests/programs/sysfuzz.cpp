// Two fuzzers of the system-call boundary, chosen by MYRIAD_SYSFUZZ_ROLE.
//
// Role 0 (sysfuzz): a million random system calls by one domain per core: random numbers,
// capability pointers, types, sizes, addresses and flags. Calls that could block forever (IPC on
// a live endpoint) get endpoint-free cptrs. The kernel must survive; the program checks it is
// intact afterwards and reports what it saw.
//
// Roles 1 and 2 (sysfuzz_srv, sysfuzz_cli): several domains per core that call each other with
// random capabilities, which one domain alone can never do: one server per core (the core's
// server, serve=sysfuzz_srv) and several clients. Clients call and send on the core endpoint
// offering random caps (their RAM, cnode and domain caps included), poll-receive (a steal
// attempt: refused unless the server handed them a receiving copy), answer what they receive
// with random caps, delete, revoke, copy, mint, retype, and kill domains whose caps reached
// them. The server receives, does the same to its own cspace, and replies moving a random cap
// (its lent RAM and cnode included). What the kernel must survive: caps crossing domains in
// both directions and their holders dying in any order. Blocking is confined so the run ends:
// clients block only calling or sending on the core endpoint, which the server (never killable:
// no cap to it leaves its slot 2) always comes back to receive on.
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

#ifndef MYRIAD_SYSFUZZ_ROLE
#define MYRIAD_SYSFUZZ_ROLE 0
#endif

#if MYRIAD_SYSFUZZ_ROLE == 0

namespace {

constexpr std::uint64_t calls = 1000000;
std::uint64_t counts[64];
std::uint64_t canary[64];
std::uint64_t maps_ok, tables_ok;

std::uint64_t pick_arg(Rng& r) {
    switch (r.next() % 8) {
    case 0: return r.next() % 70;                                   // near-valid cptrs, sizes
    case 1: return r.next();                                        // anything
    case 2: return 0xffffffff80000000ull + (r.next() % (1u << 24)); // kernel image
    case 3: return 0xffff800000000000ull + (r.next() % (1ull << 32)); // direct map
    case 4: return 0x10000000ull + (r.next() % 256) * 4096;         // a user window, page-aligned
    case 5: return 0x400000 + r.next() % 0x4000;                    // own text/data
    case 6: return r.next() % 4;                                    // flags
    default: return 1ull << (r.next() % 64);
    }
}

} // namespace

extern "C" int main(std::uint64_t core) {
    Rng rng{0x9e3779b97f4a7c15ull ^ (core + 1) * 0x100000001b3ull};
    for (std::uint64_t i = 0; i < 64; ++i) canary[i] = i * 31 + core;
    for (std::uint64_t i = 0; i < calls; ++i) {
        auto n = static_cast<std::uint64_t>(rng.next() % (static_cast<std::uint64_t>(abi::Sys::count) + 2));
        std::uint64_t a[6];
        for (auto& x : a) x = pick_arg(rng);
        // exit would end the fuzzer and wait_event sleeps a timer tick: both become yield.
        if (n == static_cast<std::uint64_t>(abi::Sys::exit) || n == static_cast<std::uint64_t>(abi::Sys::wait_event))
            n = static_cast<std::uint64_t>(abi::Sys::yield);
        if (n == static_cast<std::uint64_t>(abi::Sys::debug_print)) a[1] = 2000;  // always too long: no log flood
        if ((n >= static_cast<std::uint64_t>(abi::Sys::ipc_send) && n <= static_cast<std::uint64_t>(abi::Sys::ipc_reply_recv)) ||
            n == static_cast<std::uint64_t>(abi::Sys::notify_wait))
            a[0] = (rng.next() % 2) ? cap::ram : 64 + rng.next() % 100;  // never a live endpoint or notification
        // Its only domain caps name itself (slot 2 and copies): a kill would end the fuzzer.
        if (n == static_cast<std::uint64_t>(abi::Sys::domain_kill))
            a[0] = (rng.next() % 2) ? cap::endpoint : 64 + rng.next() % 100;
        if ((n == static_cast<std::uint64_t>(abi::Sys::cap_copy) || n == static_cast<std::uint64_t>(abi::Sys::cap_mint)) &&
            rng.next() % 2)
            a[0] = cap::endpoint;
        // One call in three is well-formed enough to change state: objects are made, mapped,
        // copied, deleted and revoked, so later random calls meet a populated capability space.
        if (rng.next() % 3 == 0) {
            const std::uint64_t slot = cap::first_free + rng.next() % (cap::slots - cap::first_free);
            switch (rng.next() % 8) {
            case 0: {
                constexpr std::uint64_t types[] = {captype::untyped, captype::frame, captype::endpoint, captype::notification,
                                                   captype::page_table};
                const std::uint64_t t = types[rng.next() % 5];
                n = static_cast<std::uint64_t>(abi::Sys::retype);
                a[0] = rng.next() % 4 ? cap::ram : slot;
                a[1] = t;
                a[2] = t == captype::frame ? 12
                       : t == captype::untyped ? 12 + rng.next() % 6
                       : t == captype::page_table ? 1 + rng.next() % 3 : 0;
                a[3] = slot;
                a[4] = 1 + rng.next() % 3;
                break;
            }
            case 1: n = static_cast<std::uint64_t>(abi::Sys::map); a[0] = slot; a[1] = 0x10000000ull + (rng.next() % 64) * 4096; a[2] = rng.next() % 2; break;
            case 2: n = static_cast<std::uint64_t>(abi::Sys::unmap); a[0] = slot; break;
            case 3: n = static_cast<std::uint64_t>(abi::Sys::cap_delete); a[0] = slot; break;
            case 4: n = static_cast<std::uint64_t>(abi::Sys::cap_revoke); a[0] = rng.next() % 8 ? slot : cap::ram; break;
            case 6: {
                // Install a table where frames get mapped (a PT at 256 MiB) or somewhere nearby at
                // another level; sometimes take one out again, with whatever is mapped through it.
                n = static_cast<std::uint64_t>(abi::Sys::map_table);
                const std::uint64_t level = 1 + rng.next() % 3;
                a[0] = slot;
                a[1] = rng.next() % 2 ? 0x10000000ull : (rng.next() % 4) << (12 + 9 * level);
                a[2] = rng.next() % 8 ? level : rng.next() % 5;
                break;
            }
            case 7: n = static_cast<std::uint64_t>(abi::Sys::unmap_table); a[0] = slot; break;
            default: n = static_cast<std::uint64_t>(abi::Sys::cap_copy); a[0] = slot; a[1] = cap::first_free + rng.next() % 56; a[2] = 0xffff; break;
            }
        }
        const SysResult r = syscall6(static_cast<abi::Sys>(n), a[0], a[1], a[2], a[3], a[4], a[5]);
        ++counts[static_cast<std::uint32_t>(r.status) & 31];
        if (r.status == Status::ok && n == static_cast<std::uint64_t>(abi::Sys::map)) ++maps_ok;
        if (r.status == Status::ok && n == static_cast<std::uint64_t>(abi::Sys::map_table)) ++tables_ok;
    }
    // The state-changing calls must have reached the page-table paths, or this fuzzed nothing there.
    if (maps_ok == 0 || tables_ok == 0) {
        print("test-fail: sysfuzz never mapped a frame ({}) or installed a table ({})", maps_ok, tables_ok);
        return 1;
    }
    for (std::uint64_t i = 0; i < 64; ++i) {
        if (canary[i] != i * 31 + core) {
            print("test-fail: sysfuzz memory changed at {}", i);
            return 1;
        }
    }
    const auto id = cap_identify(cap::self_cnode);
    if (id.status != Status::ok) {
        print("test-fail: sysfuzz lost its own cnode");
        return 1;
    }
    print("test-pass: sysfuzz {} calls: ok {} invalid {} out_of_range {} not_found {} wrong_type {} exists {} other {}"
          " (maps {}, tables installed {})",
          calls, counts[0], counts[1], counts[2], counts[4], counts[16], counts[9],
          calls - counts[0] - counts[1] - counts[2] - counts[4] - counts[16] - counts[9], maps_ok, tables_ok);
    return 0;
}
#else  // the multi-domain mode

namespace {

[[maybe_unused]] constexpr std::uint64_t client_steps = 15000;

[[maybe_unused]] std::uint64_t stat_calls, stat_caps_in, stat_moved, stat_refused, stat_kills, stat_polled;

// A random slot: mostly the free range, sometimes one the kernel placed (1 cnode, 2 self domain,
// 3 RAM, 4 core endpoint), sometimes an invalid cptr.
std::uint64_t any_slot(Rng& r) {
    const std::uint64_t k = r.next() % 16;
    if (k < 3) return 1 + r.next() % 4;
    if (k == 3) return r.next() % 2 ? 0 : 64 + r.next() % 8;
    return cap::first_free + r.next() % (cap::slots - cap::first_free);
}
std::uint64_t free_slot(Rng& r) { return cap::first_free + r.next() % (cap::slots - cap::first_free); }

// Changes to the caller's own cspace. `server`: never a copy of slot 2 (no cap to the server may
// exist outside its slot 2, so nobody can kill it) and never slot 4 deleted (it must go on
// receiving); kills only through free slots (caps that arrived).
void own_op(Rng& r, bool server) {
    const std::uint64_t a = server ? free_slot(r) : any_slot(r);
    const std::uint64_t b = free_slot(r);
    switch (r.next() % 9) {
    case 0: (void)cap_delete(a != cap::endpoint || r.next() % 64 == 0 ? a : b); break;  // rarely its way to the server
    case 1: (void)cap_revoke(r.next() % 4 ? a : cap::ram); break;
    case 2:
    case 3: {
        const std::uint64_t src = r.next() % 3 ? a : 1 + r.next() % 4;
        if (server && src == cap::self_domain) break;
        const std::uint64_t mask = r.next() % 2 ? 0xffff : r.next() & 0xff;
        (void)(r.next() % 2 ? cap_copy(src, b, mask) : cap_mint(src, b, mask, r.next() % 3 ? 0 : r.next()));
        break;
    }
    case 4: {
        constexpr std::uint64_t types[] = {captype::frame, captype::endpoint, captype::notification, captype::untyped,
                                           captype::page_table};
        const std::uint64_t t = types[r.next() % 5];
        (void)retype(r.next() % 4 ? cap::ram : a, t,
                     t == captype::frame ? 12 : t == captype::untyped ? 12 + r.next() % 4 : t == captype::page_table ? 1 : 0,
                     b, 1 + r.next() % 2);
        break;
    }
    case 5: {
        const std::uint64_t victim = server || r.next() % 1024 ? free_slot(r) : cap::self_domain;  // rarely itself
        if (domain_kill(victim) == Status::ok) ++stat_kills;
        break;
    }
    case 6: (void)map(a, 0x10000000ull + (r.next() % 8) * 4096, r.next() % 2); break;
    case 7: (void)syscall6(abi::Sys::notify_signal, a, r.next() % 4); break;
    default: (void)unmap(a); break;
    }
}

// Answers the call just received (if it was a call) moving a random cap; refused: plain answer.
void answer(Rng& r, bool server) {
    std::uint64_t give = r.next() % 3 == 0 ? abi::no_cap : (r.next() % 4 == 0 ? 1 + r.next() % 4 : any_slot(r));
    if (server && (give == cap::self_domain || give == cap::endpoint)) give = cap::ram;
    Message m{};
    m.w[0] = stat_moved;
    const Status s = ipc(abi::Sys::ipc_reply, 0, m, give);
    if (s == Status::ok) {
        if (m.cap_arrived == 1) ++stat_moved;
        return;
    }
    if (s == Status::permission_denied) ++stat_refused;
    Message plain{};
    (void)ipc(abi::Sys::ipc_reply, 0, plain);  // not_found when it was a send: nobody waits
}

} // namespace

#if MYRIAD_SYSFUZZ_ROLE == 1  // the server: runs until its core has nothing else to do
extern "C" int main(std::uint64_t core) {
    Rng rng{0xa0761d6478bd642full ^ (core + 1) * 0x100000001b3ull};
    for (;;) {
        Message m{};
        m.w[0] = rng.next() % 4 ? free_slot(rng) : abi::no_cap;  // where an offered cap may land
        if (ipc(abi::Sys::ipc_recv, cap::endpoint, m) != Status::ok) {
            print("test-fail: sysfuzz_srv cannot receive on its endpoint");
            return 1;
        }
        ++stat_calls;
        if (m.cap_arrived == 1) ++stat_caps_in;
        for (std::uint64_t k = rng.next() % 4; k > 0; --k) own_op(rng, true);
        answer(rng, true);
        if (stat_calls % 4096 == 0)
            print("sysfuzz_srv core {}: {} messages, {} caps in, {} moved out, {} refused, {} kills", core, stat_calls,
                  stat_caps_in, stat_moved, stat_refused, stat_kills);
    }
}
#else  // a client
extern "C" int main(std::uint64_t core) {
    const std::uint64_t me = syscall6(abi::Sys::domain_info).value & 0xffffffff;
    Rng rng{0xe7037ed1a0b428dbull ^ (core + 1) * 0x100000001b3ull ^ me * 0x9e3779b97f4a7c15ull};
    std::uint64_t server_moved = 0;  // the largest count of moved caps a replier reported
    for (std::uint64_t i = 0; i < client_steps; ++i) {
        switch (rng.next() % 6) {
        case 0:
        case 1: {  // call the server offering a random cap, naming a random slot for the answer's
            Message m{};
            m.w[0] = i;
            const std::uint64_t send = rng.next() % 2 ? any_slot(rng) : abi::ipc_no_send;
            const std::uint64_t reply = rng.next() % 4 ? free_slot(rng) : 0;
            if (ipc(abi::Sys::ipc_call, cap::endpoint, m, abi::ipc_cap(send, reply)) == Status::ok) {
                ++stat_calls;
                if (m.cap_arrived == 1) ++stat_caps_in;
                if (m.w[0] > server_moved) server_moved = m.w[0];
            }
            break;
        }
        case 2: {  // send (the server receives it like a call; its answer finds nobody waiting)
            Message m{};
            (void)ipc(abi::Sys::ipc_send, cap::endpoint, m, rng.next() % 2 ? any_slot(rng) : abi::no_cap);
            break;
        }
        case 3: {  // try to receive: the core endpoint, or a cap that arrived
            Message m{};
            m.w[0] = rng.next() % 2 ? free_slot(rng) : abi::no_cap;
            m.w[1] = abi::recv_poll;
            if (ipc(abi::Sys::ipc_recv, rng.next() % 2 ? cap::endpoint : free_slot(rng), m) == Status::ok) {
                ++stat_polled;
                answer(rng, false);
            }
            break;
        }
        default: own_op(rng, false); break;
        }
    }
    print("test-pass: sysfuzz_cli core {} domain {}: {} calls answered, {} caps in, {} calls polled, {} kills, "
          "replier moved {}",
          core, me, stat_calls, stat_caps_in, stat_polled, stat_kills, server_moved);
    return 0;
}
#endif
#endif
