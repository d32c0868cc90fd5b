// Attack (issue 10, item 2): two cooperating domains on one core try to move capabilities the
// kernel placed and relies on out of their slots. The lender (the core's server, serve=ramlend)
// answers the taker's calls: the first reply offers its lent RAM (slot 3), the second its own
// cnode (slot 1); both must be refused with permission_denied and stay where they are. The third
// offers a frame it made, which must move (so the refusals are not a reply path that moves
// nothing); a last call lets the lender end only after the taker has looked (the frame is carved
// from the lender's RAM and goes when the lender ends). Before the fix the RAM moved, and when
// the taker exited the kernel tried to return two lent RAM caps into one kernel slot and
// panicked. Role chosen by MYRIAD_RAMSTEAL_ROLE.
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

namespace {

int failures = 0;

[[maybe_unused]] void check(bool ok, const char* what, std::uint64_t v) {
    if (ok) return;
    ++failures;
    print("test-fail: {} ({:#x})", what, v);
}

} // namespace

#if MYRIAD_RAMSTEAL_ROLE == 1  // the taker: three calls, each naming an empty slot for a cap
extern "C" int main(std::uint64_t) {
    for (std::uint64_t k = 0; k < 3; ++k) {
        Message m{};
        m.w[0] = k;
        const Status s = ipc(abi::Sys::ipc_call, cap::endpoint, m, abi::ipc_cap(abi::ipc_no_send, 20 + k));
        check(s == Status::ok, "ramtake: call", static_cast<std::uint64_t>(s));
        const SysResult id = cap_identify(20 + k);
        if (k < 2) {
            check(m.cap_arrived == 0 && id.status == Status::not_found, "ramtake: a kernel-placed cap arrived",
                  id.value);
        } else {
            check(m.cap_arrived == 1 && (id.value >> 32) == captype::frame, "ramtake: the frame did not arrive",
                  id.value);
        }
    }
    // Its own RAM cannot be deleted either (the slot would come back empty to the next domain).
    check(cap_delete(cap::ram) == Status::permission_denied, "ramtake: deleted its own RAM", 0);
    // Done: the lender may end now (the frame, carved from its RAM, goes with it).
    Message done{};
    done.w[0] = 3;
    check(ipc(abi::Sys::ipc_call, cap::endpoint, done) == Status::ok, "ramtake: last call", 0);
    if (failures) return 1;
    print("test-pass: ramtake got only the frame");
    return 0;  // before the fix: the kernel panicked here, returning two RAM caps to one slot
}
#else  // the lender: serves the core endpoint (serve=ramlend)
extern "C" int main(std::uint64_t) {
    if (retype(cap::ram, captype::frame, 12, 30, 1) != Status::ok) {
        print("test-fail: ramlend: retype frame");
        return 1;
    }
    const std::uint64_t offer[3] = {cap::ram, cap::self_cnode, 30};
    for (std::uint64_t k = 0; k < 3; ++k) {
        Message m{};
        m.w[0] = abi::no_cap;
        const Status r = ipc(abi::Sys::ipc_recv, cap::endpoint, m);
        check(r == Status::ok && m.w[0] == k, "ramlend: receive", static_cast<std::uint64_t>(r));
        const SysResult before = cap_identify(offer[k]);
        Message a{};
        const Status s = ipc(abi::Sys::ipc_reply, 0, a, offer[k]);
        if (k < 2) {
            check(s == Status::permission_denied, "ramlend: reply moving a kernel-placed cap was not refused",
                  static_cast<std::uint64_t>(s));
            const SysResult after = cap_identify(offer[k]);
            check(after.status == Status::ok && after.value == before.value, "ramlend: the kernel-placed cap left its slot",
                  after.value);
            if (s != Status::ok) {
                Message plain{};
                check(ipc(abi::Sys::ipc_reply, 0, plain) == Status::ok, "ramlend: plain reply", 0);
            }
        } else {
            check(s == Status::ok && a.cap_arrived == 1, "ramlend: the frame did not move", static_cast<std::uint64_t>(s));
        }
    }
    Message done{};
    done.w[0] = abi::no_cap;
    check(ipc(abi::Sys::ipc_recv, cap::endpoint, done) == Status::ok && done.w[0] == 3, "ramlend: last call", done.w[0]);
    Message plain{};
    check(ipc(abi::Sys::ipc_reply, 0, plain) == Status::ok, "ramlend: last reply", 0);
    // The RAM is still ours and still retypes.
    check(retype(cap::ram, captype::endpoint, 0, 31, 1) == Status::ok, "ramlend: RAM unusable after the attack", 0);
    if (failures) return 1;
    print("test-pass: ramlend kept its RAM and cnode");
    return 0;
}
#endif
