// Domain capabilities without a monitor. Every domain holds a cap to itself (slot 2); three
// subjects on one core send theirs to a controller over the core endpoint (a cap travels with
// the message; the controller is the core's server: serve=domcaps). The controller watches one
// exit and one fault (vector 6) through them, kills the third, and checks what the caps of ended
// domains answer. Role chosen at build time by MYRIAD_DOMCAPS_ROLE.
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr std::uint64_t role_spin = 1, role_exit = 2, role_fault = 3;

[[maybe_unused]] void send_self(std::uint64_t role) {
    Message m{};
    m.w[0] = role;
    if (const Status s = ipc(abi::Sys::ipc_send, cap::endpoint, m, cap::self_domain); s != Status::ok) {
        print("test-fail: sending own domain cap: {}", to_string(s));
        exit(1);
    }
}

[[maybe_unused]] std::uint32_t state(SysResult r) { return static_cast<std::uint32_t>(r.value); }
[[maybe_unused]] std::uint32_t code(SysResult r) { return static_cast<std::uint32_t>(r.value >> 32); }

} // namespace

#if MYRIAD_DOMCAPS_ROLE == 1  // spins (yielding) until killed; exits 3 if nobody does
extern "C" int main(std::uint64_t) {
    send_self(role_spin);
    for (int i = 0; i < 100000; ++i) yield();
    print("test-fail: domcaps_spin was not killed");
    return 3;
}
#elif MYRIAD_DOMCAPS_ROLE == 2  // exits (code 0: a non-zero code would fail the run) after sending
extern "C" int main(std::uint64_t) {
    send_self(role_exit);
    return 0;
}
#elif MYRIAD_DOMCAPS_ROLE == 3  // faults with #UD (vector 6) after sending
extern "C" int main(std::uint64_t) {
    send_self(role_fault);
    asm volatile("ud2");
    return 1;
}
#else  // the controller
int failures = 0;
void check(bool ok, const char* what, SysResult r) {
    if (ok) return;
    ++failures;
    print("test-fail: {}: status {} value {:#x}", what, to_string(r.status), r.value);
}

extern "C" int main(std::uint64_t) {
    const std::uint64_t me = syscall6(abi::Sys::domain_info).value & 0xffffffff;
    const SysResult self = domain_status(cap::self_domain);
    check(self.status == Status::ok && state(self) == 0, "own status is runnable", self);
    // Receive both subjects' caps, in either order.
    std::uint64_t spin = 0, ext = 0, flt = 0;
    for (std::uint64_t n = 0; n < 3; ++n) {
        Message m{};
        m.w[0] = 20 + n;  // ipc_recv: rsi = where a transferred capability may land
        const Status s = ipc(abi::Sys::ipc_recv, cap::endpoint, m, abi::no_cap);
        const SysResult id = cap_identify(20 + n);
        check(s == Status::ok && id.value == ((captype::domain << 32) | rights::read | rights::write),
              "received a read/write domain cap", id);
        if (m.w[0] == role_spin) spin = 20 + n;
        if (m.w[0] == role_exit) ext = 20 + n;
        if (m.w[0] == role_fault) flt = 20 + n;
    }
    if (!spin || !ext || !flt || failures) {
        print("test-fail: domcaps: did not get all three caps");
        return 1;
    }
    // Runnable or blocked until it runs, then ended: the cap outlives the domain.
    auto wait_end = [](std::uint64_t c) {
        SysResult r{};
        for (int i = 0; i < 1000; ++i) {
            r = domain_status(c);
            if (r.status != Status::ok || state(r) > 1) break;
            yield();
        }
        return r;
    };
    SysResult r = wait_end(ext);
    check(r.status == Status::ok && state(r) == static_cast<std::uint32_t>(abi::DomainStatus::exited) && code(r) == 0,
          "exiter reports exited with code 0", r);
    check(domain_kill(ext) == Status::connection_lost, "killing an exited domain: connection_lost", r);
    r = wait_end(flt);
    check(r.status == Status::ok && state(r) == static_cast<std::uint32_t>(abi::DomainStatus::faulted) && code(r) == 6,
          "faulter reports faulted with vector 6", r);
    // The spinner: alive; a read-only copy may ask but not kill.
    r = domain_status(spin);
    check(r.status == Status::ok && state(r) == 0, "spinner runnable", r);
    check(cap_copy(spin, 30, rights::read) == Status::ok, "read-only copy", r);
    check(domain_kill(30) == Status::permission_denied, "kill through a read-only copy refused", r);
    r = domain_status(spin);
    check(r.status == Status::ok && state(r) == 0, "spinner still runnable after the refused kill", r);
    check(domain_kill(spin) == Status::ok, "kill the spinner", r);
    r = domain_status(spin);
    check(r.status == Status::ok && state(r) == static_cast<std::uint32_t>(abi::DomainStatus::killed) && code(r) == me,
          "spinner reports killed by me", r);
    r = domain_status(30);
    check(r.status == Status::ok && state(r) == static_cast<std::uint32_t>(abi::DomainStatus::killed),
          "the read-only copy agrees", r);
    check(domain_kill(spin) == Status::connection_lost, "killing it twice: connection_lost", r);
    if (failures) return 1;
    print("test-pass: domcaps exit and fault seen, kill refused without write, killed, stale caps answer");
    return 0;
}
#endif
