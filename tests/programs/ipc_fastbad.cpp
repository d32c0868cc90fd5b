// Hostile calls into the IPC fast path: ipc_pong waits on the core endpoint (kernel option
// serve=ipc_pong) before every call here, so each call meets a waiting receiver, which is when
// the kernel's fast path (cpudriver/src/ipc_fast.hpp) decides. Every bad call must get the error
// the general path gives and deliver nothing: ipc_pong counts what it serves, and the qemu test
// checks that count is exactly the good calls made here (each also checked for its reply).
#include "expect.hpp"

#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;
using test::expect;

namespace {

constexpr std::uint64_t ep_slot = 12;      // an endpoint of our own, to send along
constexpr std::uint64_t sendonly = 13;     // the core endpoint without grant
constexpr std::uint64_t empty = 20;        // never filled
constexpr std::uint64_t reply_slot = 21;   // where a reply's capability may land (pong sends none)
unsigned good = 0;                         // calls that must have reached ipc_pong
std::uint64_t my_badge = 0;

Status call(std::uint64_t ep, std::uint64_t cap, Message& m) { return ipc(abi::Sys::ipc_call, ep, m, cap); }

// A call that must be delivered: ipc_pong answers (w0 + 1, w1 * 2, badge, type of the cap that
// arrived when w3 = 1, else 0).
void good_call(const char* what, std::uint64_t ep, std::uint64_t cap, bool sends_cap, std::uint64_t want_type) {
    Message m{};
    m.w[0] = 100 + good;
    m.w[1] = 7;
    m.w[3] = sends_cap ? 1 : 0;
    expect(what, call(ep, cap, m), Status::ok);
    ++good;
    ++test::checks;
    if (m.w[0] != 101 + good - 1 || m.w[1] != 14 || m.w[2] != my_badge || m.w[3] != want_type) {
        ++test::failures;
        print("test-fail: {}: reply ({}, {}, {}, {}), want ({}, 14, {}, {})", what, m.w[0], m.w[1], m.w[2], m.w[3],
              101 + good - 1, my_badge, want_type);
    }
}

void bad_call(const char* what, std::uint64_t ep, std::uint64_t cap, Status want) {
    Message m{};
    m.w[0] = 0xbad;
    expect(what, call(ep, cap, m), want);
}

} // namespace

extern "C" int main(std::uint64_t) {
    my_badge = syscall6(abi::Sys::domain_info).value & 0xffff'ffff;  // the core endpoint's badge: our serial
    if (retype(cap::ram, captype::endpoint, 0, ep_slot, 1) != Status::ok ||
        cap_mint(cap::endpoint, sendonly, rights::send, 0) != Status::ok) {
        print("test-fail: ipc_fastbad: set-up");
        return 1;
    }
    good_call("plain call", cap::endpoint, abi::no_cap, false, 0);  // ipc_pong now waits for each call below

    bad_call("endpoint cptr 0", 0, abi::no_cap, Status::invalid_argument);
    bad_call("endpoint cptr 64", 64, abi::no_cap, Status::invalid_argument);
    bad_call("endpoint cptr 2^40", 1ull << 40, abi::no_cap, Status::invalid_argument);
    bad_call("endpoint cptr of untyped RAM", cap::ram, abi::no_cap, Status::wrong_type);
    bad_call("endpoint cptr of an empty slot", empty, abi::no_cap, Status::not_found);
    bad_call("send cap cptr 0", cap::endpoint, abi::ipc_cap(0, 0), Status::invalid_argument);
    bad_call("send cap cptr 64", cap::endpoint, abi::ipc_cap(64, 0), Status::invalid_argument);
    bad_call("send cap from an empty slot", cap::endpoint, abi::ipc_cap(empty, 0), Status::not_found);
    bad_call("reply slot 64", cap::endpoint, abi::ipc_cap(abi::ipc_no_send, 64), Status::invalid_argument);
    bad_call("reply slot 64 with a cap", cap::endpoint, abi::ipc_cap(ep_slot, 64), Status::invalid_argument);
    bad_call("cap over an endpoint without grant", sendonly, abi::ipc_cap(ep_slot, 0), Status::permission_denied);
    bad_call("reply slot over an endpoint without grant", sendonly, abi::ipc_cap(abi::ipc_no_send, reply_slot),
             Status::permission_denied);
    // (Every bit of r9 set is no_cap: a plain call.)
    bad_call("reply slot 2^32 - 2", cap::endpoint, abi::ipc_cap(abi::ipc_no_send, 0xffff'fffe), Status::invalid_argument);

    // Calls that go through, with what arrives at ipc_pong.
    good_call("call without grant, no cap", sendonly, abi::no_cap, false, 0);
    good_call("call with an endpoint cap", cap::endpoint, abi::ipc_cap(ep_slot, 0), true, captype::endpoint);
    good_call("call with an endpoint cap and a reply slot", cap::endpoint, abi::ipc_cap(ep_slot, reply_slot), true,
              captype::endpoint);
    // Untyped RAM is never copied: the message arrives, the capability does not (ipc_pong finds
    // its slot empty: 0xdead), and our RAM cap is still ours alone.
    good_call("call offering untyped RAM", cap::endpoint, abi::ipc_cap(cap::ram, 0), true, 0xdead);
    expect("our RAM cap is still there", cap_identify(cap::ram).status, Status::ok);
    good_call("call with no cap but a reply slot", cap::endpoint, abi::ipc_cap(abi::ipc_no_send, reply_slot), false, 0);

    // The server side of the fast path, from a domain that is no server: it has no receive right
    // on the core endpoint, and nothing to reply to.
    Message m{};
    expect("reply_recv without receive right", ipc(abi::Sys::ipc_reply_recv, cap::endpoint, m, abi::no_cap),
           Status::permission_denied);
    expect("reply_recv with unknown flags", ipc(abi::Sys::ipc_reply_recv, cap::endpoint | (std::uint64_t{4} << 32), m, abi::no_cap),
           Status::invalid_argument);
    expect("reply with nobody to reply to", ipc(abi::Sys::ipc_reply, 0, m, abi::no_cap), Status::not_found);
    good_call("a plain call at the end", cap::endpoint, abi::no_cap, false, 0);

    Message q{};
    q.w[0] = ~0ull;
    (void)ipc(abi::Sys::ipc_send, cap::endpoint, q);
    print("ipc_fastbad: {} good calls, {} checks, {} failed", good, test::checks, test::failures);
    if (test::failures == 0) print("test-pass: ipc_fastbad");
    return test::failures == 0 ? 0 : 1;
}
