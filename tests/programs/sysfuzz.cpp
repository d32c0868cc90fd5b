// A million random system calls: random numbers, capability pointers, types, sizes, addresses
// and flags. Calls that could block forever (IPC on a live endpoint) get endpoint-free cptrs.
// The kernel must survive; the program checks it is intact afterwards and reports what it saw.
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

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
