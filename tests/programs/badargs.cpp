// Every system call with bad arguments: each must return the documented error and change
// nothing (the capability space is compared slot by slot before and after). Then a correct
// retype/map/write/unmap sequence proves the calls still work.
#include "expect.hpp"

#include <myr/user/syscall.hpp>
#include <myr/user/vspace.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::test;

namespace {

struct Snapshot {
    std::uint64_t v[cap::slots];
};

void snapshot(Snapshot& s) {
    for (std::uint64_t i = 1; i < cap::slots; ++i) {
        const auto r = cap_identify(i);
        s.v[i] = r.status == Status::ok ? r.value : 0xee00 + static_cast<std::uint64_t>(r.status);
    }
}

constexpr std::uint64_t kernel_addr = 0xffffffff80100000ull;
constexpr std::uint64_t direct_map = 0xffff800000100000ull;
constexpr std::uint64_t unmapped = 0x10000000ull;

} // namespace

extern "C" int main(std::uint64_t) {
    Snapshot before{}, after{};
    snapshot(before);

    // Unknown calls.
    expect("syscall 999", syscall6(static_cast<abi::Sys>(999)).status, Status::invalid_argument);
    expect("syscall count", syscall6(abi::Sys::count).status, Status::invalid_argument);
    expect("syscall ~0", syscall6(static_cast<abi::Sys>(~0ull)).status, Status::invalid_argument);
    expect("notify_wait on an endpoint", syscall6(abi::Sys::notify_wait, cap::endpoint).status, Status::wrong_type);
    expect("notify_signal on RAM", syscall6(abi::Sys::notify_signal, cap::ram, 1).status, Status::wrong_type);
    expect("notify_wait on empty", syscall6(abi::Sys::notify_wait, 20).status, Status::not_found);

    // debug_print: pointers into the kernel, unmapped memory, huge and wrapping lengths.
    expect("print kernel ptr", debug_print(reinterpret_cast<const char*>(kernel_addr), 8), Status::invalid_argument);
    expect("print direct map", debug_print(reinterpret_cast<const char*>(direct_map), 8), Status::invalid_argument);
    expect("print unmapped", debug_print(reinterpret_cast<const char*>(unmapped), 8), Status::invalid_argument);
    expect("print null", debug_print(nullptr, 5), Status::invalid_argument);
    expect("print huge", debug_print("x", 1ull << 40), Status::invalid_argument);
    expect("print wraps", debug_print(reinterpret_cast<const char*>(0x7ffffffff000ull), 0x10000), Status::invalid_argument);
    expect("print past user space", debug_print(reinterpret_cast<const char*>(0x7fffffffffffull), 2), Status::invalid_argument);

    // ticks takes no arguments: garbage in every register changes nothing, and the clock never runs
    // backwards; the system-call number just past the table is refused.
    {
        const SysResult a = syscall6(abi::Sys::ticks, kernel_addr, ~0ull, 1, 2, 3, 4);
        const SysResult b = syscall6(abi::Sys::ticks);
        expect("ticks with garbage arguments", a.status, Status::ok);
        expect("ticks is monotonic", b.value >= a.value ? Status::ok : Status::internal, Status::ok);
        expect("the call after the last", syscall6(abi::Sys::count).status, Status::invalid_argument);
    }

    // The console: nobody owns it here (no console= option), so nobody may read it or write raw text.
    {
        char buf[8];
        expect("console_read, no owner", console_read(buf, sizeof buf).status, Status::permission_denied);
        expect("console_read into the kernel, no owner",
               syscall6(abi::Sys::console_read, kernel_addr, 8).status, Status::permission_denied);
        expect("raw console text, no owner", console_write("x", 1), Status::permission_denied);
        expect("debug_print flags 3", syscall6(abi::Sys::debug_print, reinterpret_cast<std::uint64_t>("x"), 1, 3).status,
               Status::invalid_argument);
    }

    // Capability lookups.
    expect("identify cptr 0", cap_identify(0).status, Status::invalid_argument);
    expect("identify cptr 64", cap_identify(64).status, Status::invalid_argument);
    expect("identify cptr ~0", cap_identify(~0ull).status, Status::invalid_argument);
    expect("identify empty", cap_identify(20).status, Status::not_found);

    // copy / mint.
    expect("copy empty src", cap_copy(20, 21, ~0ull & 0xffff), Status::not_found);
    expect("copy to occupied", cap_copy(cap::endpoint, cap::ram, 0xffff), Status::exists);
    expect("copy to 64", cap_copy(cap::endpoint, 64, 0xffff), Status::invalid_argument);
    expect("copy untyped", cap_copy(cap::ram, 20, 0xffff), Status::invalid_argument);
    expect("copy rights > 16 bits", cap_copy(cap::endpoint, 20, 1ull << 20), Status::invalid_argument);
    expect("mint a badged endpoint", cap_mint(cap::endpoint, 20, 0xffff, 99), Status::invalid_argument);
    expect("mint a cnode", cap_mint(cap::self_cnode, 20, 0xffff, 1), Status::invalid_argument);

    // delete / revoke.
    expect("delete own cnode", cap_delete(cap::self_cnode), Status::permission_denied);
    expect("delete own RAM", cap_delete(cap::ram), Status::permission_denied);
    expect("delete empty", cap_delete(20), Status::not_found);
    expect("revoke empty", cap_revoke(20), Status::not_found);
    expect("delete cptr 0", cap_delete(0), Status::invalid_argument);

    // retype.
    expect("retype from endpoint", retype(cap::endpoint, captype::frame, 12, 20, 1), Status::wrong_type);
    expect("retype from empty", retype(20, captype::frame, 12, 21, 1), Status::not_found);
    expect("retype type 99", retype(cap::ram, 99, 12, 20, 1), Status::invalid_argument);
    expect("retype a cnode", retype(cap::ram, 4, 6, 20, 1), Status::invalid_argument);
    expect("retype a domain", retype(cap::ram, 7, 0, 20, 1), Status::invalid_argument);
    expect("retype size 200", retype(cap::ram, captype::frame, 200, 20, 1), Status::invalid_argument);
    expect("retype frame 13 bits", retype(cap::ram, captype::frame, 13, 20, 1), Status::invalid_argument);
    expect("retype count 0", retype(cap::ram, captype::frame, 12, 20, 0), Status::invalid_argument);
    expect("retype dest 0", retype(cap::ram, captype::frame, 12, 0, 1), Status::out_of_range);
    expect("retype past cnode", retype(cap::ram, captype::frame, 12, 60, 10), Status::out_of_range);
    expect("retype too large", retype(cap::ram, captype::frame, 30, 20, 1), Status::no_memory);
    expect("retype onto occupied", retype(cap::ram, captype::frame, 12, cap::endpoint, 1), Status::exists);

    // map / unmap.
    expect("map an endpoint", map(cap::endpoint, unmapped, 0), Status::wrong_type);
    expect("map empty", map(20, unmapped, 0), Status::not_found);
    expect("unmap an endpoint", unmap(cap::endpoint), Status::wrong_type);

    // IPC with bad capabilities.
    Message m{};
    expect("send on cptr 0", ipc(abi::Sys::ipc_send, 0, m), Status::invalid_argument);
    expect("send on RAM", ipc(abi::Sys::ipc_send, cap::ram, m), Status::wrong_type);
    expect("send on empty", ipc(abi::Sys::ipc_send, 20, m), Status::not_found);
    expect("call offering an empty cap", ipc(abi::Sys::ipc_call, cap::endpoint, m, 20), Status::not_found);
    expect("call offering cptr 99", ipc(abi::Sys::ipc_call, cap::endpoint, m, 99), Status::invalid_argument);
    expect("recv on empty", ipc(abi::Sys::ipc_recv, 20, m), Status::not_found);
    // Binding support: replies, polling receives, monitor-only calls, the monitor endpoint.
    expect("reply with no caller", syscall6(abi::Sys::ipc_reply, 0, 1, 2, 3, 4, abi::no_cap).status, Status::not_found);
    // Only the core's server (serve= option) receives on the core endpoint; badargs is a client.
    expect("recv on the core endpoint", syscall6(abi::Sys::ipc_recv, cap::endpoint, abi::no_cap, abi::recv_poll).status,
           Status::permission_denied);
    expect("reply_recv on the core endpoint", ipc(abi::Sys::ipc_reply_recv, cap::endpoint, m, abi::no_cap),
           Status::permission_denied);
    expect("send naming a reply slot", ipc(abi::Sys::ipc_send, cap::endpoint, m, abi::ipc_cap(abi::ipc_no_send, 20)),
           Status::invalid_argument);
    expect("call with reply slot 99", ipc(abi::Sys::ipc_call, cap::endpoint, m, abi::ipc_cap(abi::ipc_no_send, 99)),
           Status::invalid_argument);
    expect("recv on the monitor endpoint", syscall6(abi::Sys::ipc_recv, cap::monitor, abi::no_cap, abi::recv_poll).status,
           Status::permission_denied);
    expect("remote cap without kernel cap", syscall6(abi::Sys::cap_create_remote, cap::ram, 0x100000, 12, 20).status,
           Status::wrong_type);
    expect("remote cap with the endpoint", syscall6(abi::Sys::cap_create_remote, cap::monitor, 0x100000, 12, 20).status,
           Status::wrong_type);
    // The channel pool's first ring: a real ring address, so only the missing kernel cap refuses it.
    static abi::TopologyInfo topo;
    const bool topo_ok = syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo).status == Status::ok;
    expect("topology names channel pools", topo_ok && topo.chan_pool_base[0] && topo.chan_pool_bytes ? Status::ok : Status::not_found,
           Status::ok);
    expect("reclaim without kernel cap", syscall6(abi::Sys::cap_reclaim_channel, cap::ram, topo.chan_pool_base[0], 12).status,
           Status::wrong_type);
    expect("reclaim with the endpoint", syscall6(abi::Sys::cap_reclaim_channel, cap::monitor, topo.chan_pool_base[0], 12).status,
           Status::wrong_type);
    expect("reclaim with an empty slot", syscall6(abi::Sys::cap_reclaim_channel, 20, topo.chan_pool_base[0], 12).status,
           Status::not_found);
    expect("cap_phys without kernel cap", syscall6(abi::Sys::cap_phys, cap::endpoint, cap::ram).status, Status::wrong_type);
    // Frames for other cores' memory: a monitor's privilege (the kernel cap), whatever the block.
    expect("cap_create_frame without kernel cap", syscall6(abi::Sys::cap_create_frame, cap::ram, 0, 12, 20).status,
           Status::wrong_type);
    expect("cap_create_frame with an empty slot", syscall6(abi::Sys::cap_create_frame, 20, 0, 12, 21).status, Status::not_found);
    expect("cap_reclaim_frame without kernel cap", syscall6(abi::Sys::cap_reclaim_frame, cap::endpoint, 0, 12).status,
           Status::wrong_type);
    expect("cap_reclaim_frame with an empty slot", syscall6(abi::Sys::cap_reclaim_frame, 20, 0, 12).status, Status::not_found);
    expect("core_status without kernel cap", syscall6(abi::Sys::core_status, cap::ram).status, Status::wrong_type);
    expect("core_status on empty", syscall6(abi::Sys::core_status, 20).status, Status::not_found);
    expect("retype channel memory too big", retype(cap::ram, captype::channel_memory, 30, 20, 1), Status::no_memory);

    // Domain capabilities: every domain has one to itself in slot 2 (read, write).
    ++checks;
    if (cap_identify(cap::self_domain).value != ((captype::domain << 32) | rights::read | rights::write)) {
        ++failures;
        print("test-fail: slot 2 is not a read/write domain cap: {:#x}", cap_identify(cap::self_domain).value);
    }
    {
        const SysResult st = domain_status(cap::self_domain);
        expect("status of itself", st.status, Status::ok);
        ++checks;
        if (st.value != static_cast<std::uint64_t>(abi::DomainStatus::runnable)) {
            ++failures;
            print("test-fail: own status {:#x}, not runnable", st.value);
        }
    }
    expect("status cptr 0", domain_status(0).status, Status::invalid_argument);
    expect("status cptr 64", domain_status(64).status, Status::invalid_argument);
    expect("status cptr ~0", domain_status(~0ull).status, Status::invalid_argument);
    expect("status of empty", domain_status(20).status, Status::not_found);
    expect("status of an endpoint", domain_status(cap::endpoint).status, Status::wrong_type);
    expect("status of RAM", domain_status(cap::ram).status, Status::wrong_type);
    expect("kill cptr 0", domain_kill(0), Status::invalid_argument);
    expect("kill cptr 64", domain_kill(64), Status::invalid_argument);
    expect("kill empty", domain_kill(20), Status::not_found);
    expect("kill an endpoint", domain_kill(cap::endpoint), Status::wrong_type);
    expect("kill a cnode", domain_kill(cap::self_cnode), Status::wrong_type);
    // spawn needs a kernel cap before anything else: a dest slot changes nothing without one.
    expect("spawn without kernel cap, with dest", syscall6(abi::Sys::spawn, 5, 0, 5, 0, 20).status, Status::not_found);
    expect("spawn with a domain cap as kernel cap", syscall6(abi::Sys::spawn, cap::self_domain, 0, 5, 0, 20).status,
           Status::wrong_type);
    // core_stop halts the whole core: only a holder of the kernel cap (a monitor) may.
    expect("core_stop without kernel cap", syscall6(abi::Sys::core_stop, 5).status, Status::not_found);
    expect("core_stop with a domain cap", syscall6(abi::Sys::core_stop, cap::self_domain).status, Status::wrong_type);
    expect("core_stop cptr 0", syscall6(abi::Sys::core_stop, 0).status, Status::invalid_argument);
    expect("core_stop cptr out of range", syscall6(abi::Sys::core_stop, ~0ull).status, Status::invalid_argument);

    snapshot(after);
    for (std::uint64_t i = 1; i < cap::slots; ++i) {
        ++checks;
        if (before.v[i] != after.v[i]) {
            ++failures;
            print("test-fail: slot {} changed: {:#x} -> {:#x}", i, before.v[i], after.v[i]);
        }
    }

    // Issue 10: the core endpoint is send + grant only (receiving is its server's), and caps
    // travel over a call only where the caller's cap has grant.
    ++checks;
    if (cap_identify(cap::endpoint).value != ((captype::endpoint << 32) | rights::send | rights::grant)) {
        ++failures;
        print("test-fail: slot 4 is not a send+grant endpoint: {:#x}", cap_identify(cap::endpoint).value);
    }
    expect("retype an endpoint of its own", retype(cap::ram, captype::endpoint, 0, 40, 1), Status::ok);
    expect("recv with unknown flags", syscall6(abi::Sys::ipc_recv, 40, abi::no_cap, 4).status, Status::invalid_argument);
    expect("polling recv, nobody sends", syscall6(abi::Sys::ipc_recv, 40, abi::no_cap, abi::recv_poll).status,
           Status::would_block);
    expect("mint a send-only copy", cap_mint(40, 41, rights::send, 5), Status::ok);
    // ipc_send's flags (rdi bits 32-63): send_poll only; a polling send with nobody receiving
    // queues nothing (a blocking send now would wait for good: nobody receives on 40).
    expect("send with unknown flags", syscall6(abi::Sys::ipc_send, 41 | std::uint64_t{2} << 32, 0, 0, 0, 0, abi::no_cap).status,
           Status::invalid_argument);
    expect("polling send, nobody receives", syscall6(abi::Sys::ipc_send, 41 | abi::send_poll << 32, 0, 0, 0, 0, abi::no_cap).status,
           Status::would_block);
    expect("polling recv after it: nothing was queued",
           syscall6(abi::Sys::ipc_recv, 40, abi::no_cap, abi::recv_poll).status, Status::would_block);
    expect("recv through a send-only copy", syscall6(abi::Sys::ipc_recv, 41, abi::no_cap, abi::recv_poll).status,
           Status::permission_denied);
    expect("call offering a cap without grant", ipc(abi::Sys::ipc_call, 41, m, abi::ipc_cap(cap::self_domain, 0)),
           Status::permission_denied);
    expect("call naming a reply slot without grant", ipc(abi::Sys::ipc_call, 41, m, abi::ipc_cap(abi::ipc_no_send, 42)),
           Status::permission_denied);
    expect("delete the send-only copy", cap_delete(41), Status::ok);
    expect("delete its endpoint", cap_delete(40), Status::ok);

    // Page-table capabilities: bad arguments first (nothing may change: the capability space and
    // the address space are compared afterwards), then tables made and installed.
    expect("retype frame", retype(cap::ram, captype::frame, 12, 20, 1), Status::ok);
    expect("retype page table level 0", retype(cap::ram, captype::page_table, 0, 30, 1), Status::invalid_argument);
    expect("retype page table level 4 (a root)", retype(cap::ram, captype::page_table, 4, 30, 1), Status::invalid_argument);
    expect("retype page table level 12", retype(cap::ram, captype::page_table, 12, 30, 1), Status::invalid_argument);
    expect("retype PT", retype(cap::ram, captype::page_table, 1, 30, 1), Status::ok);
    ++checks;
    if (cap_identify(30).value != ((captype::page_table << 32) | rights::read | rights::write | rights::map)) {
        ++failures;
        print("test-fail: slot 30 is not a page table: {:#x}", cap_identify(30).value);
    }
    {
        const SysResult r = syscall6(abi::Sys::map, 20, unmapped, abi::map_write);
        expect("map without a page table", r.status, Status::not_found);
        ++checks;
        if (r.value != 1) { ++failures; print("test-fail: map without a PT names level {}, not 1", r.value); }
        const SysResult e = syscall6(abi::Sys::map, 21, unmapped, abi::map_write);
        ++checks;
        if (e.status != Status::not_found || e.value != 0) { ++failures; print("test-fail: map of an empty slot names a level"); }
    }
    Snapshot pt_before{}, pt_after{};
    snapshot(pt_before);
    expect("map_table a frame", map_table(20, unmapped, 1).status, Status::wrong_type);
    expect("map_table an endpoint", map_table(cap::endpoint, unmapped, 1).status, Status::wrong_type);
    expect("map_table empty", map_table(21, unmapped, 1).status, Status::not_found);
    expect("map_table cptr 0", map_table(0, unmapped, 1).status, Status::invalid_argument);
    expect("map_table cptr 64", map_table(64, unmapped, 1).status, Status::invalid_argument);
    expect("map_table wrong level 2", map_table(30, unmapped, 2).status, Status::invalid_argument);
    expect("map_table level 0", map_table(30, unmapped, 0).status, Status::invalid_argument);
    expect("map_table level 4", map_table(30, unmapped, 4).status, Status::invalid_argument);
    expect("map_table level ~0", map_table(30, unmapped, ~0ull).status, Status::invalid_argument);
    expect("map_table misaligned (4 KiB)", map_table(30, unmapped + 0x1000, 1).status, Status::invalid_argument);
    expect("map_table misaligned (1 MiB)", map_table(30, unmapped + 0x100000, 1).status, Status::invalid_argument);
    expect("map_table into the kernel", map_table(30, 0xffffffff80000000ull, 1).status, Status::out_of_range);
    expect("map_table into the direct map", map_table(30, 0xffff800000000000ull, 1).status, Status::out_of_range);
    expect("map_table non-canonical", map_table(30, 0x0000800000000000ull, 1).status, Status::out_of_range);
    expect("map_table at the end of user space", map_table(30, 0x00007fff00000000ull, 1).status, Status::out_of_range);
    expect("map_table over the program's own PT", map_table(30, 0x400000, 1).status, Status::exists);
    {
        const SysResult r = map_table(30, 0x0000008000000000ull, 1);  // 512 GiB: no PDPT there
        expect("map_table below a missing level", r.status, Status::not_found);
        ++checks;
        if (r.value != 3) { ++failures; print("test-fail: missing level reported {}, not 3 (PDPT)", r.value); }
    }
    expect("unmap_table not installed", unmap_table(30), Status::not_found);
    expect("unmap_table a frame", unmap_table(20), Status::wrong_type);
    expect("unmap_table empty", unmap_table(21), Status::not_found);
    expect("unmap a page table", unmap(30), Status::wrong_type);
    expect("copy a page table", cap_copy(30, 31, 0xffff), Status::invalid_argument);
    expect("mint a page table", cap_mint(30, 31, rights::map, 0), Status::invalid_argument);
    snapshot(pt_after);
    for (std::uint64_t i = 1; i < cap::slots; ++i) {
        ++checks;
        if (pt_before.v[i] != pt_after.v[i]) {
            ++failures;
            print("test-fail: slot {} changed by a refused page-table call: {:#x} -> {:#x}", i, pt_before.v[i], pt_after.v[i]);
        }
    }
    {
        const SysResult r = syscall6(abi::Sys::map, 20, unmapped, abi::map_write);
        ++checks;
        if (r.status != Status::not_found || r.value != 1) { ++failures; print("test-fail: a refused map_table installed a table"); }
    }
    expect("map_table", map_table(30, unmapped, 1).status, Status::ok);
    expect("map_table the same cap twice", map_table(30, unmapped, 1).status, Status::exists);
    expect("map_table the same cap elsewhere", map_table(30, unmapped + 0x200000, 1).status, Status::exists);
    expect("retype a second PT", retype(cap::ram, captype::page_table, 1, 31, 1), Status::ok);
    expect("map_table over an installed table", map_table(31, unmapped, 1).status, Status::exists);

    // Bad mappings of a real frame, then a good one.
    expect("map misaligned", map(20, unmapped + 8, abi::map_write), Status::invalid_argument);
    expect("map at 0", map(20, 0, abi::map_write), Status::out_of_range);
    expect("map into the kernel", map(20, kernel_addr, abi::map_write), Status::out_of_range);
    expect("map non-canonical", map(20, 0x0000800000000000ull, abi::map_write), Status::out_of_range);
    expect("map bad flags", map(20, unmapped, 0x100), Status::invalid_argument);
    expect("map over own text", map(20, 0x400000, abi::map_write), Status::exists);
    expect("unmap unmapped", unmap(20), Status::not_found);
    // Channel memory (what bindings hand out) maps like a frame.
    expect("retype channel memory", retype(cap::ram, captype::channel_memory, 12, 24, 1), Status::ok);
    expect("map channel memory", map(24, unmapped + 0x10000, abi::map_write), Status::ok);
    *reinterpret_cast<volatile std::uint64_t*>(unmapped + 0x10000) = 7;
    expect("unmap channel memory", unmap(24), Status::ok);
    expect("delete channel memory", cap_delete(24), Status::ok);
    // A block of channel memory larger than a page maps whole, at an address aligned to its size,
    // and goes whole with its unmap.
    expect("retype 16 KiB of channel memory", retype(cap::ram, captype::channel_memory, 14, 24, 1), Status::ok);
    expect("map it misaligned", map(24, unmapped + 0x11000, abi::map_write), Status::invalid_argument);
    expect("map it aligned", map(24, unmapped + 0x4000, abi::map_write), Status::ok);
    expect("map it twice", map(24, unmapped + 0x8000, abi::map_write), Status::exists);
    for (std::uint64_t page = 0; page < 4; ++page) *reinterpret_cast<volatile std::uint64_t*>(unmapped + 0x4000 + page * 4096) = page + 1;
    expect("its last page is the block's", debug_print(reinterpret_cast<const char*>(unmapped + 0x7000), 1), Status::ok);
    expect("unmap the block", unmap(24), Status::ok);
    expect("its first page is gone", debug_print(reinterpret_cast<const char*>(unmapped + 0x4000), 1), Status::invalid_argument);
    expect("its last page is gone", debug_print(reinterpret_cast<const char*>(unmapped + 0x7000), 1), Status::invalid_argument);
    expect("delete the block", cap_delete(24), Status::ok);
    // Less than a page of channel memory cannot be made (sys_map refuses one too, should it exist).
    expect("retype 64 bytes of channel memory", retype(cap::ram, captype::channel_memory, 6, 24, 1), Status::invalid_argument);
    expect("map", map(20, unmapped, abi::map_write), Status::ok);
    expect("map twice", map(20, unmapped + 0x1000, abi::map_write), Status::exists);
    auto* p = reinterpret_cast<volatile std::uint64_t*>(unmapped);
    ++checks;
    if (*p != 0) { ++failures; print("test-fail: a new frame is not zeroed"); }
    *p = 0x1234;
    ++checks;
    if (*p != 0x1234) { ++failures; print("test-fail: mapped frame does not hold a write"); }
    expect("print from mapped frame", debug_print(reinterpret_cast<const char*>(unmapped), 0), Status::ok);
    expect("unmap", unmap(20), Status::ok);
    // A read-only copy of the frame: it maps read-only and refuses a writable mapping.
    expect("read-only copy", cap_copy(20, 23, rights::read), Status::ok);
    ++checks;
    if (cap_identify(23).value != ((captype::frame << 32) | rights::read)) { ++failures; print("test-fail: copy kept its rights"); }
    expect("map read-only copy writable", map(23, unmapped + 0x2000, abi::map_write), Status::permission_denied);
    expect("map read-only copy", map(23, unmapped + 0x2000, 0), Status::ok);
    ++checks;
    if (*reinterpret_cast<volatile std::uint64_t*>(unmapped + 0x2000) != 0x1234) { ++failures; print("test-fail: read-only view differs"); }
    expect("delete the copy (unmaps it)", cap_delete(23), Status::ok);
    expect("print from the deleted copy's page", debug_print(reinterpret_cast<const char*>(unmapped + 0x2000), 8),
           Status::invalid_argument);
    expect("map again", map(20, unmapped, 0), Status::ok);
    ++checks;
    if (*p != 0x1234) { ++failures; print("test-fail: frame lost its contents across unmap/map"); }
    // unmap_at: the page at an address goes, whichever cap mapped it; the cap stays, unmapped.
    expect("unmap_at with an endpoint", syscall6(abi::Sys::unmap_at, cap::endpoint, unmapped).status, Status::wrong_type);
    expect("unmap_at with an empty slot", syscall6(abi::Sys::unmap_at, 45, unmapped).status, Status::not_found);
    expect("read-only domain cap for unmap_at", cap_copy(cap::self_domain, 25, rights::read), Status::ok);
    expect("unmap_at with a read-only domain cap", syscall6(abi::Sys::unmap_at, 25, unmapped).status,
           Status::permission_denied);
    expect("delete it again", cap_delete(25), Status::ok);
    expect("unmap_at misaligned", syscall6(abi::Sys::unmap_at, cap::self_domain, unmapped + 8).status, Status::invalid_argument);
    expect("unmap_at in the kernel", syscall6(abi::Sys::unmap_at, cap::self_domain, kernel_addr).status, Status::out_of_range);
    expect("unmap_at where nothing is", syscall6(abi::Sys::unmap_at, cap::self_domain, unmapped + 0x5000).status,
           Status::not_found);
    expect("unmap_at", syscall6(abi::Sys::unmap_at, cap::self_domain, unmapped).status, Status::ok);
    expect("print from the page unmap_at removed", debug_print(reinterpret_cast<const char*>(unmapped), 8),
           Status::invalid_argument);
    expect("unmap_at twice", syscall6(abi::Sys::unmap_at, cap::self_domain, unmapped).status, Status::not_found);
    expect("unmap after unmap_at", unmap(20), Status::not_found);
    expect("map after unmap_at", map(20, unmapped, 0), Status::ok);
    ++checks;
    if (*p != 0x1234) { ++failures; print("test-fail: frame lost its contents across unmap_at/map"); }
    // Notifications: signals accumulate until a wait collects (and clears) them.
    expect("retype notification", retype(cap::ram, captype::notification, 0, 21, 1), Status::ok);
    expect("signal 1", syscall6(abi::Sys::notify_signal, 21, 1).status, Status::ok);
    expect("signal 4", syscall6(abi::Sys::notify_signal, 21, 4).status, Status::ok);
    {
        const SysResult w = syscall6(abi::Sys::notify_wait, 21);
        expect("wait collects", w.status, Status::ok);
        ++checks;
        if (w.value != 5) { ++failures; print("test-fail: notification bits {} instead of 5", w.value); }
    }
    expect("mint a badged notification", cap_mint(21, 22, rights::send, 0x40), Status::ok);
    expect("signal with the badge", syscall6(abi::Sys::notify_signal, 22, 0).status, Status::ok);
    {
        const SysResult w = syscall6(abi::Sys::notify_wait, 21);
        ++checks;
        if (w.status != Status::ok || w.value != 0x40) { ++failures; print("test-fail: badge signal gave {}", w.value); }
    }
    expect("wait needs the receive right", syscall6(abi::Sys::notify_wait, 22).status, Status::permission_denied);
    // Rights on domain caps: status needs read, kill needs write.
    expect("read-only domain cap", cap_copy(cap::self_domain, 24, rights::read), Status::ok);
    expect("write-only domain cap", cap_copy(cap::self_domain, 25, rights::write), Status::ok);
    expect("kill with a read-only cap", domain_kill(24), Status::permission_denied);
    expect("status with a read-only cap", domain_status(24).status, Status::ok);
    expect("status with a write-only cap", domain_status(25).status, Status::permission_denied);
    expect("mint a domain cap with a badge", cap_mint(cap::self_domain, 26, rights::read, 5), Status::invalid_argument);
    expect("delete read-only domain cap", cap_delete(24), Status::ok);
    expect("delete write-only domain cap", cap_delete(25), Status::ok);

    // Deleting a page table's capability takes the table out of the address space: the frame
    // mapped through it is no longer reachable (the kernel's own walk says so here; the
    // fault_table_deleted programs show the MMU agrees). Its mapping record stays until unmap.
    expect("unmap before the table tests", unmap(20), Status::ok);
    expect("map through the PT", map(20, unmapped, abi::map_write), Status::ok);
    expect("print through the PT", debug_print(reinterpret_cast<const char*>(unmapped), 1), Status::ok);
    expect("delete the PT (the frame goes with it)", cap_delete(30), Status::ok);
    expect("print after the PT is gone", debug_print(reinterpret_cast<const char*>(unmapped), 8), Status::invalid_argument);
    expect("the frame is still recorded as mapped", map(20, unmapped, 0), Status::exists);
    expect("unmap clears the stale record", unmap(20), Status::ok);
    {
        const SysResult r = syscall6(abi::Sys::map, 20, unmapped, 0);
        expect("map after the PT is gone", r.status, Status::not_found);
        ++checks;
        if (r.value != 1) { ++failures; print("test-fail: missing level {} after delete, not 1", r.value); }
    }
    // The second PT takes its place; unmapping a table takes everything below it out and zeroes
    // it, so installing it again does not bring the old mapping back.
    expect("install the second PT", map_table(31, unmapped, 1).status, Status::ok);
    expect("map through the second PT", map(20, unmapped, abi::map_write), Status::ok);
    ++checks;
    if (*p != 0x1234) { ++failures; print("test-fail: frame lost its contents across a table change"); }
    expect("unmap_table with a frame below", unmap_table(31), Status::ok);
    expect("print after unmap_table", debug_print(reinterpret_cast<const char*>(unmapped), 8), Status::invalid_argument);
    expect("unmap_table twice", unmap_table(31), Status::not_found);
    expect("install it again", map_table(31, unmapped, 1).status, Status::ok);
    expect("print: no mapping came back", debug_print(reinterpret_cast<const char*>(unmapped), 8), Status::invalid_argument);
    expect("unmap the stale record", unmap(20), Status::ok);
    expect("map again", map(20, unmapped, abi::map_write), Status::ok);
    ++checks;
    if (*p != 0x1234) { ++failures; print("test-fail: frame lost its contents across unmap_table"); }

    // Three levels made by the helper at 1 TiB (no PDPT there), then the PDPT deleted: the PD
    // and PT below it are cut off with it and stay recorded until unmap_table.
    {
        constexpr std::uint64_t far = 0x0000010000000000ull;
        expect("retype a frame for 1 TiB", retype(cap::ram, captype::frame, 12, 32, 1), Status::ok);
        TableSlots none{40, 40};
        expect("map_with_tables without slots", map_with_tables(32, far, abi::map_write, cap::ram, none), Status::overflow);
        TableSlots ts{40, 44};
        expect("map_with_tables at 1 TiB", map_with_tables(32, far, abi::map_write, cap::ram, ts), Status::ok);
        ++checks;
        if (ts.next != 43) { ++failures; print("test-fail: map_with_tables made {} tables, not 3", ts.next - 40); }
        const std::uint64_t levels[3] = {3, 2, 1};
        for (std::uint64_t k = 0; k < 3; ++k) {
            ++checks;
            if (cap_identify(40 + k).value >> 32 != captype::page_table) { ++failures; print("test-fail: slot {} holds no table", 40 + k); }
            expect("each helper table is installed", map_table(40 + k, far, levels[k]).status, Status::exists);
        }
        *reinterpret_cast<volatile std::uint64_t*>(far) = 99;
        expect("print at 1 TiB", debug_print(reinterpret_cast<const char*>(far), 1), Status::ok);
        expect("delete the PDPT", cap_delete(40), Status::ok);
        expect("print at 1 TiB after the PDPT is gone", debug_print(reinterpret_cast<const char*>(far), 8),
               Status::invalid_argument);
        expect("the PD below is still recorded", map_table(41, far, 2).status, Status::exists);
        expect("unmap_table the cut-off PD", unmap_table(41), Status::ok);
        expect("unmap_table the cut-off PT", unmap_table(42), Status::ok);
        {
            const SysResult r = map_table(41, far, 2);
            expect("map_table the PD with its PDPT gone", r.status, Status::not_found);
            ++checks;
            if (r.value != 3) { ++failures; print("test-fail: missing level {} with the PDPT gone, not 3", r.value); }
        }
        expect("retype a new PDPT", retype(cap::ram, captype::page_table, 3, 40, 1), Status::ok);
        expect("install the new PDPT", map_table(40, far, 3).status, Status::ok);
        expect("install the old PD again", map_table(41, far, 2).status, Status::ok);
        expect("install the old PT again", map_table(42, far, 1).status, Status::ok);
        expect("print at 1 TiB: the zeroed PT maps nothing", debug_print(reinterpret_cast<const char*>(far), 8),
               Status::invalid_argument);
        expect("unmap the stale frame record", unmap(32), Status::ok);
        expect("map at 1 TiB again", map(32, far, 0), Status::ok);
        ++checks;
        if (*reinterpret_cast<volatile std::uint64_t*>(far) != 99) { ++failures; print("test-fail: 1 TiB frame lost its contents"); }
    }
    expect("revoke RAM (deletes the frame, unmapping it)", cap_revoke(cap::ram), Status::ok);
    expect("frame gone", cap_identify(20).status, Status::not_found);
    expect("tables gone", cap_identify(31).status, Status::not_found);
    expect("print from unmapped page", debug_print(reinterpret_cast<const char*>(unmapped), 8), Status::invalid_argument);

    if (failures) {
        print("test-fail: badargs {} of {} checks failed", failures, checks);
        return 1;
    }
    print("test-pass: badargs {} checks", checks);
    return 0;
}
