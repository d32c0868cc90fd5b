// spanner: one dispatcher of an address space that spans cores (docs/unmap.md), started by its
// core's monitor for plan step unmap:N; its argument is the span. It takes a capability to the
// span's shared page, maps it at every address the monitor names (one copy of the capability
// each), writes its core's number into the page, and says it is ready. Then it waits while the
// monitors unmap those addresses one by one; the dispatcher on the span's last core unmaps the last
// address itself (MonitorOp::span_unmap) and checks it is gone when the call returns. When the
// span ends, none of the addresses may be reachable
// from this core: it asks the kernel about each (debug_print reads through the page tables the
// MMU walks), reports how many it could still reach, and touches the first address, which must
// fault (the qemu test counts the faults).
#include <myr/user/monitor_call.hpp>
#include <myr/user/syscall.hpp>
#include <myr/user/vspace.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr std::uint64_t first_page_slot = 8;  // pages: slots 8.., tables: 60..63
constexpr std::uint64_t max_pages = 52;

Status poll(std::uint64_t span, std::uint64_t report, std::uint64_t value) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::span_poll);
    m.w[1] = span;
    m.w[2] = report;
    m.w[3] = value;
    return monitor_call(m);
}

} // namespace

extern "C" int main(std::uint64_t span) {
    const std::uint64_t core = syscall6(abi::Sys::domain_info).value >> 32;
    Message m{};
    // Another span's number, even from a span's own dispatcher, is refused.
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::span_join);
    m.w[1] = span + 1;
    if (const Status s = monitor_call(m, first_page_slot); s != Status::not_found || m.cap_arrived != 0) {
        print("test-fail: spanner core {}: span_join of another span answered {}", core, to_string(s));
        return 1;
    }
    m = Message{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::span_join);
    m.w[1] = span;
    if (const Status s = monitor_call(m, first_page_slot); s != Status::ok || m.cap_arrived != 1) {
        print("test-fail: spanner core {}: span_join: {}", core, to_string(s));
        return 1;
    }
    const std::uint64_t base = m.w[1], pages = m.w[2], members = m.w[3];
    TableSlots tables{60, 64};
    std::uint64_t mapped = 0;
    for (std::uint64_t i = 0; i < pages && i < max_pages; ++i) {
        const std::uint64_t slot = first_page_slot + i;
        if (i > 0 && cap_copy(first_page_slot, slot, rights::read | rights::write | rights::map) != Status::ok) break;
        if (map_with_tables(slot, base + i * 4096, abi::map_write, cap::ram, tables) != Status::ok) break;
        ++mapped;
    }
    // The page is shared: what this core writes through one address, every member sees.
    auto* words = reinterpret_cast<volatile std::uint64_t*>(base + 4096 * (mapped ? mapped - 1 : 0));
    if (mapped) words[core % 512] = core + 1;
    (void)poll(span, 1, mapped);
    if (core + 1 == members && mapped == pages) {
        // Our own unmap of the last page, NUMA-aware multicast (3), this core the initiator: it may
        // start once every member mapped, and returns once no core reaches the page.
        const std::uint64_t last = base + (pages - 1) * 4096;
        Status st = Status::would_block;
        while (st == Status::would_block || st == Status::busy) {
            Message u{};
            u.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::span_unmap);
            u.w[1] = span;
            u.w[2] = last;
            u.w[3] = 3;
            st = monitor_call(u);
            if (st == Status::would_block || st == Status::busy) wait_event();
        }
        const bool gone = debug_print(reinterpret_cast<const char*>(last), 1) == Status::invalid_argument;
        print("spanner core {}: own unmap {}, page {}", core, to_string(st), gone ? "unreachable" : "STILL REACHABLE");
        (void)poll(span, 3, (st == Status::ok ? 1 : 0) | (gone ? 0 : 2));
    }
    while (poll(span, 0, 0) == Status::would_block) wait_event();
    std::uint64_t reachable = 0;
    for (std::uint64_t i = 0; i < mapped; ++i)
        reachable += debug_print(reinterpret_cast<const char*>(base + i * 4096), 1) == Status::ok;
    (void)poll(span, 2, reachable);
    print("spanner core {}: {} of {} pages reachable after the span's unmaps", core, reachable, mapped);
    return static_cast<int>(*reinterpret_cast<volatile std::uint64_t*>(base));  // must fault
}
