// Hostile memserv client (`memforge`, docs/servers.md, "memserv" "From a grant to a capability"): an
// ordinary domain that tries to get memory it was not granted through the monitor ops.
//   - grant_ram (15) for itself, for another core, and its reclaim form: permission_denied (only a
//     program kernel option monitor.memserv names may carry grants);
//   - spawning "memserv" itself (it would then hold the privilege): permission_denied;
//   - take_ram / return_ram of tickets never granted (0, all ones, node 0's first 64): not_found,
//     no capability arrives;
//   - another domain's ticket on this very core (found through memserv's lookup while that
//     domain, a memclient started with its hold bit, holds it): take_ram and return_ram
//     not_found, and memserv still records the grant as the other domain's;
//   - spamming: grants without taking them until its monitor answers busy (4 held per domain),
//     a second take of one grant, then 40 rounds of alloc_untyped + free: every one served (no
//     slot of the monitor leaks).
// Prints `test-pass: memforge core C checks=N foreign=F` (F: foreign tickets tried).
#include <myr/memserv/client.hpp>

using namespace myr;
using namespace myr::memserv;

namespace {

std::uint32_t core, domain;
unsigned checks, failures;
Allocator mem;

void expect(const char* what, Status got, Status want) {
    ++checks;
    if (got == want) return;
    ++failures;
    user::print("test-fail: memforge core {}: {}: got '{}', want '{}'", core, what, to_string(got), to_string(want));
}

bool slot_empty(std::uint64_t slot) {
    const auto r = user::cap_identify(slot);
    return r.status != Status::ok || r.value == 0;
}

Status op(abi::MonitorOp o, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0, std::uint64_t slot = 0) {
    user::Message m{};
    m.w[0] = static_cast<std::uint64_t>(o);
    m.w[1] = a;
    m.w[2] = b;
    m.w[3] = c;
    return user::monitor_call(m, slot);  // all answered at once: refused before anything is sent
}

} // namespace

extern "C" int main(std::uint64_t) {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    core = static_cast<std::uint32_t>(info >> 32);
    domain = static_cast<std::uint32_t>(info);
    static abi::TopologyInfo topo;
    (void)user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo);
    const std::uint64_t pool = topo.ram_pool_base[0];
    const std::uint64_t me = std::uint64_t{core} << 32 | domain;
    expect("grant_ram for itself", op(abi::MonitorOp::grant_ram, me, 77, pool | 12), Status::permission_denied);
    expect("grant_ram of the whole pool", op(abi::MonitorOp::grant_ram, me, 78, pool | 21), Status::permission_denied);
    expect("grant_ram for another core", op(abi::MonitorOp::grant_ram, std::uint64_t{core ^ 4} << 32 | 1, 79, pool | 12),
           Status::permission_denied);
    expect("grant_ram's reclaim form", op(abi::MonitorOp::grant_ram, me, 77, 0), Status::permission_denied);
    expect("take_ram after the refused grant", op(abi::MonitorOp::take_ram, 77, 0, 0, 50), Status::not_found);
    user::Message sp{};
    sp.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::spawn);
    user::pack_name16("memserv", sp.w[1], sp.w[2]);
    sp.w[3] = core;
    expect("spawn memserv (its privilege)", user::monitor_call(sp), Status::permission_denied);

    const std::uint64_t made_up[] = {0, ~0ull, 1, std::uint64_t{1} << 56};
    for (std::uint64_t t : made_up) {
        expect("take_ram of a made-up ticket", op(abi::MonitorOp::take_ram, t, 0, 0, 50), Status::not_found);
        expect("return_ram of a made-up ticket", op(abi::MonitorOp::return_ram, t), Status::not_found);
    }
    ++checks;
    if (!slot_empty(50)) {
        ++failures;
        user::print("test-fail: memforge core {}: a capability arrived for a made-up ticket", core);
    }
    if (const Status s = mem.init(); s != Status::ok) {
        user::print("test-fail: memforge core {}: init: {}", core, to_string(s));
        return 1;
    }
    Status why = Status::ok;
    rpc::Client* srv = mem.connection(0, why);
    if (!srv) {
        user::print("test-fail: memforge core {}: no memserv.0: {}", core, to_string(why));
        return 1;
    }
    // Another domain of this core holding a grant (the victim holds its grants for a while).
    unsigned foreign = 0;
    for (unsigned round = 0; round < 4000 && foreign == 0; ++round) {
        for (std::uint64_t k = 1; k <= 64; ++k) {
            LookupReply l{};
            if (srv->call(Lookup{k}, l) != Status::ok || l.core != core || l.domain == domain) continue;
            ++foreign;
            expect("take_ram of another domain's ticket", op(abi::MonitorOp::take_ram, k, 0, 0, 51), Status::not_found);
            expect("return_ram of another domain's ticket", op(abi::MonitorOp::return_ram, k), Status::not_found);
            LookupReply again{};
            expect("the other domain's grant stays", srv->call(Lookup{k}, again), Status::ok);
            ++checks;
            if (again.domain != l.domain || !slot_empty(51)) {
                ++failures;
                user::print("test-fail: memforge core {}: another domain's grant moved", core);
            }
        }
        if (foreign == 0) user::wait_event();
    }
    ++checks;
    if (foreign == 0) {
        ++failures;
        user::print("test-fail: memforge core {}: never saw another domain's grant on this core", core);
    }

    // Spam: grants not taken pile up at our monitor until it answers busy.
    AllocReply g[6] = {};
    unsigned held = 0;
    Status s = Status::ok;
    for (; held < 6; ++held)
        if ((s = mem.alloc(page, g[held])) != Status::ok) break;
    expect("the fifth grant held for one domain", s, Status::busy);
    ++checks;
    if (held != 4) {
        ++failures;
        user::print("test-fail: memforge core {}: {} grants held before busy, want 4", core, held);
    }
    for (unsigned i = 0; i < held; ++i) {
        expect("take_ram of our grant", Allocator::take(g[i], 52 + i), Status::ok);
        expect("a second take_ram", Allocator::take(g[i], 58), Status::not_found);
    }
    FreeReply f{};
    for (unsigned i = 0; i < held; ++i) expect("free", mem.free(g[i], f), Status::ok);
    unsigned served = 0;
    for (unsigned i = 0; i < 40; ++i) {
        AllocReply x{};
        if (mem.alloc_untyped(2 * page, 52, x) != Status::ok) break;
        if (mem.free(x, f) != Status::ok || !slot_empty(52)) break;
        ++served;
    }
    expect("40 rounds of alloc_untyped and free all served", served == 40 ? Status::ok : Status::busy, Status::ok);
    mem.close();
    if (failures) return 1;
    user::print("test-pass: memforge core {} checks={} foreign={}", core, checks, foreign);
    return 0;
}
