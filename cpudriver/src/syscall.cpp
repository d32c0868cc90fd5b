// System-call dispatch (ABI: lib/include/myr/abi/syscall.hpp). Every argument is checked here
// before use; a bad argument returns a Status and changes nothing.
#include "cspace.hpp"
#include "domain.hpp"
#include "ipc.hpp"
#include "ipc_fast.hpp"

#include <arch/cpu.hpp>
#include <arch/platform.hpp>
#include <myr/abi/syscall.hpp>
#include <myr/exit_codes.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/options.hpp>
#include <myr/kernel/percore.hpp>

namespace myr::kernel {
namespace {

constexpr std::uint64_t print_max = 1024;

// Does d run the program kernel option `console=NAME` names (it owns the console's input)?
// Nobody does without the option.
bool owns_console(const Domain& d) {
    const char* owner = this_core.options.console;
    if (!owner[0]) return false;
    std::uint32_t j = 0;
    while (j < sizeof d.name && d.name[j] && d.name[j] == owner[j]) ++j;
    return j < sizeof d.name && d.name[j] == '\0' && owner[j] == '\0';
}

// flags 1: a machine-readable line (no prefix, column 0), for holders of a kernel cap only.
// flags 2 (console_text): the console owner's raw text (prompt, echo), no prefix, no newline.
// Never inlined: ./myriad bench kernel-profile cuts its instruction trace at this function's entry.
[[gnu::noinline]] Status sys_debug_print(Domain& d, std::uint64_t ptr, std::uint64_t len, std::uint64_t flags) {
    if (len > print_max || flags > abi::console_text) return Status::invalid_argument;
    if (flags == 1) MYR_TRY(cspace_cap(d, 5, caps::CapType::kernel, caps::Rights::none));
    if (flags == abi::console_text && !owns_console(d)) return Status::permission_denied;
    char text[print_max + 1];
    MYR_TRY(copy_from_user(d, ptr, text, len));
    // A program's text is data, not terminal control: keep the log one line per call. The
    // console's owner also edits its line in place (backspace, carriage return) and ends lines,
    // but sends no escape sequences either: those could rewrite what other lines showed.
    for (std::uint64_t i = 0; i < len; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const bool editing = flags == abi::console_text && (c == '\n' || c == '\r' || c == '\b' || c == '\t');
        if ((c < 0x20 || c >= 0x7f) && !editing) text[i] = '?';
    }
    text[len] = '\0';
    if (flags == 1) emit("{}", text);
    else if (flags == abi::console_text) console_raw(text);
    else log("{}: {}", d.name, text);
    return Status::ok;
}

// Bytes the serial port received, for the console owner. The buffer is checked before any byte
// is taken from the UART, so a bad buffer loses no input. Any core may serve it: the read is
// under the console lock (console_read), and there is one COM1.
Result<std::uint64_t> sys_console_read(Domain& d, std::uint64_t buf, std::uint64_t len) {
    if (!owns_console(d)) return Status::permission_denied;
    if (len > abi::console_read_max) return Status::invalid_argument;
    MYR_TRY(user_writable(d, buf, len));
    char bytes[abi::console_read_max];
    const std::size_t n = console_read(bytes, len);
    // Cannot fail: the range was checked above and no other system call of this core runs meanwhile.
    MYR_TRY(copy_to_user(d, buf, bytes, n));
    return n;
}

// dest: a slot for a domain cap to the child, or no_cap (0, the null cptr, also means none).
Result<std::uint64_t> sys_spawn(Domain& d, std::uint64_t kcap, std::uint64_t name_ptr, std::uint64_t len,
                                std::uint64_t arg, std::uint64_t dest) {
    MYR_TRY(cspace_cap(d, kcap, caps::CapType::kernel, caps::Rights::none));
    caps::SlotIdx dest_slot = caps::no_slot;
    if (dest != abi::no_cap && dest != 0) {
        dest_slot = MYR_TRY(cspace_slot(d, dest));
        if (!cap_table().cap(dest_slot).is_null()) return Status::exists;
    }
    char name[24];
    if (len == 0 || len >= sizeof name) return Status::invalid_argument;
    MYR_TRY(copy_from_user(d, name_ptr, name, len));
    name[len] = '\0';
    Domain* child = MYR_TRY(spawn_by_name(name, arg));
    // Cannot fail: the child's root cap was just installed and dest was checked empty above.
    if (dest_slot != caps::no_slot && cspace_give_domain_cap(*child, dest_slot) != Status::ok)
        panic("spawn: domain cap for {} could not be placed", child->serial);
    return child->serial;
}

// The domain a domain cap names; connection_lost when its slot has started another domain.
Result<Domain*> cap_domain(Domain& d, std::uint64_t cptr, caps::Rights need) {
    const caps::SlotIdx i = MYR_TRY(cspace_cap(d, cptr, caps::CapType::domain, need));
    Domain* t = domain_by_serial(static_cast<std::uint32_t>(cap_table().cap(i).base));
    if (!t) return Status::connection_lost;
    return t;
}

Result<std::uint64_t> sys_domain_status(Domain& d, std::uint64_t cptr) {
    const Domain* t = MYR_TRY(cap_domain(d, cptr, caps::Rights::read));
    if (t->state == DomainState::runnable) return static_cast<std::uint64_t>(abi::DomainStatus::runnable);
    if (t->state == DomainState::blocked) return static_cast<std::uint64_t>(abi::DomainStatus::blocked);
    return static_cast<std::uint64_t>(t->ended) | (std::uint64_t{t->end_code} << 32);
}

// Returns only when the target is another domain.
Status sys_domain_kill(Domain& d, std::uint64_t cptr) {
    Domain* t = MYR_TRY(cap_domain(d, cptr, caps::Rights::write));
    if (t->state != DomainState::runnable && t->state != DomainState::blocked) return Status::connection_lost;
    kill_domain(*t, d);
    if (t == &d) schedule();
    return Status::ok;
}

// The value of kernel option `key=` from this core's command line (its own copy, taken at boot);
// the last such word, so an appended word overrides the config's (find_option, options.cpp).
Result<std::uint64_t> sys_kernel_option(Domain& d, std::uint64_t kcap, std::uint64_t key_ptr, std::uint64_t key_len,
                                        std::uint64_t buf, std::uint64_t buf_len) {
    MYR_TRY(cspace_cap(d, kcap, caps::CapType::kernel, caps::Rights::none));
    char key[32];
    if (key_len == 0 || key_len >= sizeof key || buf_len > cmdline_max) return Status::invalid_argument;
    MYR_TRY(copy_from_user(d, key_ptr, key, key_len));
    const OptionValue v = find_option(this_core.info.cmdline, key, key_len);
    if (v.found) {
        if (v.len > buf_len) return Status::overflow;
        MYR_TRY(copy_to_user(d, buf, v.value, v.len));
        return v.len;
    }
    return Status::not_found;
}

// The topology in a fixed layout (abi::TopologyInfo), built in this core's bss (4.6 KB: too big
// for the kernel stack; system calls on one core never nest) and copied out.
Status sys_topology(Domain& d, std::uint64_t buf, std::uint64_t len) {
    if (len != sizeof(abi::TopologyInfo)) return Status::invalid_argument;
    const acpi::Topology& t = this_core.topology;
    if (t.num_cpus > abi::topo_max_cores || t.num_nodes > abi::topo_max_nodes) return Status::overflow;
    static abi::TopologyInfo info;
    info = {};
    info.cores = t.num_cpus;
    info.nodes = t.num_nodes ? t.num_nodes : 1;
    for (std::uint32_t c = 0; c < t.num_cpus; ++c) info.core_node[c] = t.num_nodes ? t.cpus[c].node : 0;
    for (std::uint32_t a = 0; a < info.nodes; ++a)
        for (std::uint32_t b = 0; b < info.nodes; ++b)
            info.distance[a * info.nodes + b] = t.num_nodes ? t.distance[a][b] : 10;
    info.tsc_per_ms = this_core.boot->tsc_per_ms;
    for (std::uint32_t n = 0; n < acpi::max_nodes && n < abi::topo_max_nodes; ++n) {
        info.ram_pool_base[n] = this_core.ram_pools[n].base;
        info.ram_pool_bytes[n] = this_core.ram_pools[n].size();
    }
    for (std::uint32_t c = 0; c < this_core.info.num_cores && c < abi::topo_max_cores; ++c)
        info.chan_pool_base[c] = this_core.peers[c].chan_pool_phys;
    info.chan_pool_bytes = this_core.peers[this_core.core].chan_pool_size;
    return copy_to_user(d, buf, &info, sizeof info);
}

// How this core's domains are doing (a monitor's `wait` plan step).
Result<std::uint64_t> sys_core_status(Domain& d, std::uint64_t kcap) {
    MYR_TRY(cspace_cap(d, kcap, caps::CapType::kernel, caps::Rights::none));
    std::uint64_t live = 0;
    const Domain* t = domain_table();
    for (std::uint32_t i = 0; i < max_domains; ++i)
        if (t[i].state != DomainState::free && &t[i] != &d) ++live;
    const DomainCounts& b = domain_counts();
    const auto f = [](std::uint64_t v) { return v > 0xffff ? std::uint64_t{0xffff} : v; };
    return f(live) | f(b.exited) << 16 | f(b.failed) << 32 | f(b.faulted) << 48;
}

Status sys_send_ipi(Domain& d, std::uint64_t ipi_cap, std::uint64_t core) {
    const caps::SlotIdx i = MYR_TRY(cspace_cap(d, ipi_cap, caps::CapType::ipi, caps::Rights::none));
    const caps::Cap& c = cap_table().cap(i);
    if (core < c.base || core - c.base >= c.size || core >= this_core.topology.num_cpus) return Status::out_of_range;
    if (c.badge() != 0 && core != c.badge() - 1) return Status::permission_denied;  // a doorbell rings one core
    arch::lapic_send_ipi(this_core.topology.cpus[core].apic_id, static_cast<std::uint8_t>(c.aux));
    return Status::ok;
}

// A call that answers a value: its status, and the value in rdx when it succeeded.
void take(Status& st, std::uint64_t& value, const Result<std::uint64_t>& r) {
    st = r.status();
    if (r.ok()) value = *r;
}

} // namespace

// Everything but the IPC fast paths. Out of line, so the fast paths pay for none of its
// registers and stack.
// Declared without [[noreturn]] although it never returns, like on_syscall: with the attribute on
// both, GCC 12 laid out on_syscall with 2 more instructions per system call (107 -> 109 for the
// null call, 397 -> 401 for an IPC round trip, ./myriad bench kernel). The call stays a call.
[[gnu::noinline]] static void syscall_slow(Domain* d) {
    arch::TrapFrame& r = d->regs;
    Status st = Status::ok;
    std::uint64_t value = 0;
    switch (static_cast<abi::Sys>(r.rax)) {
    case abi::Sys::debug_print: st = sys_debug_print(*d, r.rdi, r.rsi, r.rdx); break;
    case abi::Sys::yield:
        r.rax = static_cast<std::uint64_t>(Status::ok);
        r.rdx = 0;
        schedule();
    case abi::Sys::exit:
        exit_current(r.rdi);
        schedule();
    case abi::Sys::domain_info: value = (std::uint64_t{this_core.core} << 32) | d->serial; break;
    case abi::Sys::cap_identify: take(st, value, sys_cap_identify(*d, r.rdi)); break;
    case abi::Sys::cap_copy: st = sys_cap_copy(*d, r.rdi, r.rsi, r.rdx); break;
    case abi::Sys::cap_mint: st = sys_cap_mint(*d, r.rdi, r.rsi, r.rdx, r.r10); break;
    case abi::Sys::cap_delete: st = sys_cap_delete(*d, r.rdi); break;
    case abi::Sys::cap_revoke: st = sys_cap_revoke(*d, r.rdi); break;
    case abi::Sys::retype: st = sys_retype(*d, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case abi::Sys::map: {
        std::uint64_t missing = 0;  // a local: taking `value`'s address would cost every call
        st = sys_map(*d, r.rdi, r.rsi, r.rdx, missing);
        value = missing;
        break;
    }
    case abi::Sys::unmap: st = sys_unmap(*d, r.rdi); break;
    case abi::Sys::map_table: {
        std::uint64_t missing = 0;
        st = sys_map_table(*d, r.rdi, r.rsi, r.rdx, missing);
        value = missing;
        break;
    }
    case abi::Sys::unmap_table: st = sys_unmap_table(*d, r.rdi); break;
    case abi::Sys::spawn: take(st, value, sys_spawn(*d, r.rdi, r.rsi, r.rdx, r.r10, r.r8)); break;
    case abi::Sys::send_ipi: st = sys_send_ipi(*d, r.rdi, r.rsi); break;
    case abi::Sys::kernel_option: take(st, value, sys_kernel_option(*d, r.rdi, r.rsi, r.rdx, r.r10, r.r8)); break;
    case abi::Sys::domain_status: take(st, value, sys_domain_status(*d, r.rdi)); break;
    case abi::Sys::domain_kill: st = sys_domain_kill(*d, r.rdi); break;
    case abi::Sys::notify_signal: st = sys_notify_signal(*d, r.rdi, r.rsi); break;
    case abi::Sys::notify_wait: sys_notify_wait(*d, r.rdi);
    case abi::Sys::shutdown: {
        const auto k = cspace_cap(*d, r.rdi, caps::CapType::kernel, caps::Rights::none);
        if (!k.ok()) {
            st = k.status();
            break;
        }
        emit("shutdown core={} domain={} code={}", this_core.core, d->serial, r.rsi);
        arch::debug_exit(static_cast<std::uint8_t>(r.rsi == 0 ? GuestExit::success : GuestExit::check_failed));
    }
    case abi::Sys::wait_event:
        if (d->event_pending) {  // a wake-up came since its last wait: return at once
            d->event_pending = false;
            break;
        }
        d->wait = IpcWait::event;
        d->state = DomainState::blocked;
        schedule();
    case abi::Sys::ipc_send:
    case abi::Sys::ipc_recv:
    case abi::Sys::ipc_call:
    case abi::Sys::ipc_reply_recv:
    case abi::Sys::ipc_reply: sys_ipc(*d, static_cast<abi::Sys>(r.rax));
    case abi::Sys::cap_create_remote: st = sys_cap_create_remote(*d, r.rdi, r.rsi, r.rdx, r.r10); break;
    case abi::Sys::cap_reclaim_channel: take(st, value, sys_cap_reclaim_channel(*d, r.rdi, r.rsi, r.rdx)); break;
    case abi::Sys::unmap_at: {
        const Result<Domain*> t = cap_domain(*d, r.rdi, caps::Rights::write);
        st = t.ok() ? sys_unmap_at(**t, r.rsi) : t.status();
        break;
    }
    case abi::Sys::cap_create_ram: st = sys_cap_create_ram(*d, r.rdi, r.rsi, r.rdx, r.r10); break;
    case abi::Sys::cap_phys: take(st, value, sys_cap_phys(*d, r.rdi, r.rsi, r.rdx)); break;
    case abi::Sys::cap_create_frame: st = sys_cap_create_frame(*d, r.rdi, r.rsi, r.rdx, r.r10); break;
    case abi::Sys::cap_reclaim_frame: take(st, value, sys_cap_reclaim_frame(*d, r.rdi, r.rsi, r.rdx)); break;
    case abi::Sys::topology: st = sys_topology(*d, r.rdi, r.rsi); break;
    case abi::Sys::core_status: take(st, value, sys_core_status(*d, r.rdi)); break;
    case abi::Sys::ticks: value = this_core.ticks; break;
    case abi::Sys::core_stop: {
        const auto k = cspace_cap(*d, r.rdi, caps::CapType::kernel, caps::Rights::none);
        if (!k.ok()) {
            st = k.status();
            break;
        }
        emit("core-stopped core={} domain={}", this_core.core, d->serial);
        arch::halt_forever();
    }
    case abi::Sys::console_read: take(st, value, sys_console_read(*d, r.rdi, r.rsi)); break;
    default:
        st = r.rax < static_cast<std::uint64_t>(abi::Sys::count) ? Status::unsupported : Status::invalid_argument;
        break;
    }
    r.rax = static_cast<std::uint64_t>(static_cast<std::uint32_t>(st));
    r.rdx = value;
    arch::resume_user(r, true);
}

[[gnu::cold, gnu::noinline, noreturn]] static void bad_syscall_frame(const Domain* d) {
    if (!d) panic("system call with no current domain");
    panic("system call frame of domain {} saved in the wrong place", d->serial);
}

void on_syscall(arch::TrapFrame& frame) {
    Domain* d = current_domain();
    // syscall_entry pushed the registers into d->regs itself: switch_to_domain pointed it there.
    if (!d || &frame != &d->regs) [[unlikely]] bad_syscall_frame(d);
    d->in_syscall = true;
    ipc_detail::fastpath(*d);  // returns when the call is not one of the fast paths'
    syscall_slow(d);
}
} // namespace myr::kernel
