// Attack (issue 10, item 3): a thief on the server's core tries to receive the calls clients
// make to the core's server. It starts first and waits in receive on its own copy of the core
// endpoint (slot 4), so before the fix it stood first in the endpoint's receive queue and got
// the client's first call. Now only the domain the kernel was told serves the core (serve=NAME)
// may receive there: the thief's receive, and its attempts to derive a receiving copy, are
// refused; the client's calls all reach the server. Role chosen by MYRIAD_EPSTEAL_ROLE.
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr std::uint64_t calls = 50;
constexpr std::uint64_t server_mark = 0x5e7e;
constexpr std::uint64_t quit = ~0ull;

int failures = 0;

[[maybe_unused]] void check(bool ok, const char* what, std::uint64_t v) {
    if (ok) return;
    ++failures;
    print("test-fail: {} ({:#x})", what, v);
}

} // namespace

#if MYRIAD_EPSTEAL_ROLE == 1  // the thief
// One receive attempt; a call that arrives is answered (or the client would wait forever).
bool stole(abi::Sys op, std::uint64_t cptr) {
    Message m{};
    m.w[0] = abi::no_cap;
    const Status s = ipc(op, cptr, m, abi::no_cap);
    if (s == Status::ok) {
        print("test-fail: epthief received a call meant for the server (slot {}, badge {}, w0 {})", cptr, m.badge, m.w[0]);
        Message r{};
        r.w[1] = 0xbad;
        (void)ipc(abi::Sys::ipc_reply, 0, r);
        return true;
    }
    check(s == Status::permission_denied, "epthief: receive not refused", static_cast<std::uint64_t>(s));
    return false;
}

extern "C" int main(std::uint64_t) {
    // A copy asking for every right: derivation only keeps what the source has.
    check(cap_copy(cap::endpoint, 20, 0xffff) == Status::ok, "epthief: copy own endpoint cap", 0);
    check((cap_identify(20).value & rights::receive) == 0, "epthief: the copy carries receive", cap_identify(20).value);
    // Wait in receive on the core endpoint, as a server would. Before the fix this blocked
    // first in the queue and took the client's call.
    if (stole(abi::Sys::ipc_recv, cap::endpoint) || stole(abi::Sys::ipc_recv, 20) ||
        stole(abi::Sys::ipc_reply_recv, cap::endpoint))
        return 1;
    if (failures) return 1;
    print("test-pass: epthief was refused every receive");
    return 0;
}
#elif MYRIAD_EPSTEAL_ROLE == 2  // the client
extern "C" int main(std::uint64_t) {
    for (std::uint64_t i = 0; i < calls && !failures; ++i) {
        Message m{};
        m.w[0] = i;
        const Status s = ipc(abi::Sys::ipc_call, cap::endpoint, m);
        check(s == Status::ok && m.w[0] == i + 1 && m.w[1] == server_mark, "epclient: reply not from the server", m.w[1]);
    }
    Message q{};
    q.w[0] = quit;
    (void)ipc(abi::Sys::ipc_send, cap::endpoint, q);
    if (failures) return 1;
    print("test-pass: epclient {} calls answered by the server", calls);
    return 0;
}
#else  // the server (serve=epserver)
extern "C" int main(std::uint64_t) {
    Message m{};
    m.w[0] = abi::no_cap;
    Status s = ipc(abi::Sys::ipc_recv, cap::endpoint, m);
    std::uint64_t served = 0;
    while (s == Status::ok && m.w[0] != quit) {
        m.w[0] = m.w[0] + 1;
        m.w[1] = server_mark;
        ++served;
        s = ipc(abi::Sys::ipc_reply_recv, cap::endpoint, m, abi::no_cap);
    }
    check(s == Status::ok && served == calls, "epserver: served", served);
    if (failures) return 1;
    print("test-pass: epserver served {} calls", served);
    return 0;
}
#endif
