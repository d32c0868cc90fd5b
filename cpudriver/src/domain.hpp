#pragma once
// User domains of this core: an address space (own page tables; the kernel half points to this
// core's CPU-driver copy) and one dispatcher that runs only here (no migration).
// All state is this core's: the table is a global of its own image copy.
#include <arch/fpu.hpp>
#include <arch/trap_frame.hpp>
#include <myr/abi/syscall.hpp>
#include <myr/kernel/frame_allocator.hpp>
#include <myr/kernel/multiboot.hpp>
#include <myr/kernel/options.hpp>
#include <myr/result.hpp>

#include "report.hpp"

#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint32_t max_domains = 32;
inline constexpr std::uint64_t user_stack_top = 0x0000'7ffe'0000'0000;
inline constexpr std::uint64_t user_stack_pages = 8;

enum class DomainState : std::uint8_t { free, runnable, blocked, dead };

// Why a blocked domain waits (local IPC, ipc.cpp).
enum class IpcWait : std::uint8_t { none, send, call, recv, reply, event, notify };

struct Domain {
    DomainState state;
    std::uint16_t owner;          // frame owner id: slot index + 1
    std::uint32_t serial;         // number printed in the log (unique on this core; kept after it ends)
    std::uint32_t spawn_index;    // which spawn spec made it
    std::uint32_t module;         // boot module it runs
    std::uint64_t pml4;
    char name[24];
    arch::TrapFrame regs;         // user registers while not running
    arch::FpuState fpu;           // x87/SSE registers while another domain owns them (16-aligned)
    arch::UserSegments segs;      // ds/es/fs/gs selectors, kept like fpu
    bool in_syscall;              // its last kernel entry was `syscall`: it may return by sysret
    // Capability space: a cnode of this core's CapTable (cspace.cpp).
    std::uint32_t cnode_slot;     // kernel slot holding the cnode cap
    std::uint32_t cnode_first;    // table index of the cnode's slot 0
    // Local IPC state (ipc.cpp). The message itself travels in regs (rsi, rdx, r10, r8).
    IpcWait wait;
    std::uint64_t wait_ep;        // endpoint object (physical base) it is blocked on
    std::uint32_t ipc_next;       // next in the object's wait queue: domain-table index + 1, 0 = last
    std::uint64_t send_badge;     // badge of the endpoint cap it sends with
    std::uint32_t send_cap_slot;  // table index of a capability to transfer, or no_slot
    std::uint32_t recv_slot;      // table index where it accepts a capability, or no_slot
    Domain* reply_to;             // the caller waiting for this domain's reply
    bool event_pending;           // a wake-up (IPI, a sender queueing) came while it was not in
                                  // wait_event: its next wait_event returns at once (no lost wake-up)
    bool recv_events;             // blocked in ipc_recv with abi::recv_events: a wake-up that would end
                                  // wait_event ends this receive too (would_block)
    // How it ended (kept in the free slot until the slot starts another domain: domain_status).
    abi::DomainStatus ended;      // runnable while it has not ended
    std::uint32_t end_code;       // exit code, fault vector or killer's serial
};

// The core's domain table, frame pool and scheduler.
void domains_init(std::uint64_t pool_phys, std::uint64_t pool_size, std::uint64_t kernel_pml4);
Result<Domain*> spawn_module(std::uint32_t module, std::uint32_t spawn_index, std::uint64_t arg);
void start_spawn_plan();              // starts the monitor (`monitor=`), then the `spawn=` programs
// Starts boot module `name` on this core (a monitor's spawn request); rdx-style result.
Result<Domain*> spawn_by_name(const char* name, std::uint64_t arg);
// An IPI or a timer tick: wake domains in wait_event. `remember` (IPIs and local senders, not
// ticks): domains not waiting now find the wake-up pending at their next wait_event.
void wake_event_waiters(bool remember = true);
// The same for one domain (a local sender queueing on the endpoint d receives on).
void wake_event_waiter(Domain& d, bool remember = true);
namespace domain_detail {
extern Domain* running;  // domain.cpp's; read it through current_domain()
extern Domain table[max_domains];// domain.cpp's; domain_table()
}
// The domain this core runs (its registers are in the CPU or it is in the kernel); null while idle.
inline Domain* current_domain() { return domain_detail::running; }
FrameAllocator& user_frames();

// Leave the kernel: run the next runnable domain, or idle. Never returns.
[[noreturn]] void schedule();
[[noreturn]] void idle();             // no domain to run: halt until an interrupt brings work
void exit_current(std::uint64_t code);
// Ends `d` on the request of `by` (domain_kill): a domain-killed line, its frames back to the pool.
// When d is `by` itself, the caller must schedule() afterwards.
void kill_domain(Domain& d, const Domain& by);
// The table slot that holds, or last held, the domain with this serial; null when the slot has
// started another domain since.
Domain* domain_by_serial(std::uint32_t serial);
// Ends `d` (exit or kill); frees every frame it owned; reports the count.
std::uint32_t destroy_domain(Domain& d);
inline Domain* domain_table() { return domain_detail::table; }
// How this core's domains ended so far; and whether all of them have (reported once).
const DomainCounts& domain_counts();
bool domains_all_gone();
// Maps one 4 KiB page into d's address space while it is set up (spawn: the monitor mesh); missing
// page tables come from d's frames. After spawn the kernel allocates no tables (sys_map_table).
Status map_user_page(Domain& d, std::uint64_t vaddr, std::uint64_t phys, std::uint64_t flags);
[[noreturn]] void switch_to_domain(Domain& d);

// Copies `len` bytes from the current domain's address space; invalid_argument when any page is
// not mapped user-readable or the range leaves user space.
Status copy_from_user(Domain& d, std::uint64_t uaddr, void* dst, std::uint64_t len);
// Copies into d's address space; invalid_argument unless every page is mapped user-writable.
Status copy_to_user(Domain& d, std::uint64_t uaddr, const void* src, std::uint64_t len);
// The check copy_to_user makes first: ok when [uaddr, uaddr + len) is mapped user-writable.
Status user_writable(Domain& d, std::uint64_t uaddr, std::uint64_t len);

} // namespace myr::kernel
