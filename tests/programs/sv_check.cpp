// Every server answers from every core (`svcheck`, one per core but 0; docs/servers.md, "Tests"):
// through nameserv (this node's replica) it finds kvstore and binds to it by address, writes and
// reads back its own key; asks procserv for its counters;
// asks memserv for memory (its own node's instance first, then the nearest by the SLIT), maps a
// frame of it, writes and reads it, and gives it back. Each connection is closed once used (a domain's ring budget is 8 rings: 4
// connections). Prints one line with the serving core of each.
#include <myr/kvstore/interface.hpp>
#include <myr/memserv/client.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/procserv/client.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/user/vspace.hpp>

using namespace myr;

namespace {

std::uint64_t core;

int fail(const char* what, Status s) {
    user::print("test-fail: svcheck core {}: {}: {}", core, what, to_string(s));
    return 1;
}

// With nameserv in the config, a server's name lives there only: a bind by name in the monitors'
// table is refused at once (not_found), while nameserv finds it.
bool only_in_nameserv(const char* name) {
    user::Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind);
    user::pack_name16(name, m.w[1], m.w[2]);
    if (const Status s = user::monitor_call(m); s != Status::not_found) return fail(name, s), false;
    nameserv::Address a{};
    if (const Status s = nameserv::session().wait_for(name, a, 3000); s != Status::ok) return fail(name, s), false;
    return true;
}

} // namespace

extern "C" int main(std::uint64_t) {
    core = user::syscall6(abi::Sys::domain_info).value >> 32;
    for (std::uint64_t slot = 61; slot < 64; ++slot) rpc::Slots::instance().reserve(slot);  // page tables for the frame
    // What the config runs, as the monitor answers it (MonitorOp::server_info).
    std::uint64_t instances = 0;
    if (const Status s = user::server_configured("nameserv", instances); s != Status::ok || instances == 0)
        return fail("server_info nameserv", s);
    if (const Status s = user::server_configured("nosuchserver", instances); s != Status::not_found)
        return fail("server_info of a server the config lacks", s);
    if (const Status s = user::server_configured("", instances); s != Status::not_found)
        return fail("server_info of an empty name", s);
    if (!nameserv::present()) return fail("nameserv::present", Status::not_found);
    if (!only_in_nameserv("kvstore") || !only_in_nameserv("procserv") || !only_in_nameserv("memserv.0")) return 1;
    // nameserv and kvstore.
    static rpc::Client kv;  // clients hold 1 KiB frame buffers: not on the 32 KiB stack
    if (const Status s = nameserv::connect(kv, kvstore::service); s != Status::ok) return fail("find kvstore through nameserv", s);
    const std::uint32_t ns_core = nameserv::session().rpc().peer_core();
    kvstore::Key key{};
    char name[16] = "svcheck.";
    name[8] = static_cast<char>('0' + core / 10);
    name[9] = static_cast<char>('0' + core % 10);
    (void)key.assign_cstr(name);
    kvstore::Value v{};
    (void)v.assign(&core, sizeof core);
    kvstore::PutReply p{};
    if (const Status s = kv.call(kvstore::Put{key, v}, p); s != Status::ok) return fail("kvstore put", s);
    kvstore::GetReply g{};
    if (const Status s = kv.call(kvstore::Get{key}, g); s != Status::ok || !(g.value == v)) return fail("kvstore get", s);
    const std::uint32_t kv_core = kv.peer_core();
    kv.close();
    // Sessions with nameserv are closed once a lookup is done: node 0's replica is also the one
    // every other replica links to, and its connections are few (a client that kept its session
    // for its whole run took a connection those links needed).
    nameserv::session().close();
    // procserv: its counters (a full process list walks every core's monitor: 63 clients doing
    // that on 8s8c took minutes; qemu_procserv_* test list itself).
    static procserv::Client ps;
    if (const Status s = ps.connect(); s != Status::ok) return fail("connect procserv", s);
    nameserv::session().close();
    procserv::StatsReply pst{};
    if (const Status s = ps.stats(pst); s != Status::ok) return fail("procserv stats", s);
    ps.close();
    // memserv: a grant from the nearest node with memory as an untyped capability; a 4 KiB frame
    // retyped from it, mapped, written and read back; then everything given back.
    static memserv::Allocator mem;  // a connection per node: far too big for the stack
    if (const Status s = mem.init(); s != Status::ok) return fail("memserv init", s);
    const std::uint64_t untyped = rpc::Slots::instance().alloc(), frame = rpc::Slots::instance().alloc();
    static user::TableSlots tables{61, 64};  // reserved at the start (three consecutive slots)
    memserv::AllocReply a{};
    if (const Status s = mem.alloc_untyped(4096, untyped, a); s != Status::ok) return fail("memserv alloc_untyped", s);
    nameserv::session().close();
    if (const Status s = user::retype(untyped, user::captype::frame, 12, frame, 1); s != Status::ok)
        return fail("retype a frame from the grant", s);
    constexpr std::uint64_t va = 0x5000'0000;
    if (const Status s = user::map_with_tables(frame, va, abi::map_write, user::cap::ram, tables); s != Status::ok)
        return fail("map the frame", s);
    auto* word = reinterpret_cast<volatile std::uint64_t*>(va);
    *word = 0x5eedull ^ core;
    if (*word != (0x5eedull ^ core)) return fail("the granted memory reads back", Status::internal);
    memserv::FreeReply f{};
    if (const Status s = mem.free(a, f); s != Status::ok) return fail("memserv free", s);
    mem.close();
    user::print("test-pass: svcheck core {}: nameserv on core {}, kvstore on core {}, procserv ok, memserv node {}", core,
                ns_core, kv_core, a.node);
    return 0;
}
