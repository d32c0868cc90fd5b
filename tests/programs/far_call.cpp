// Endpoints and notifications across cores (`farcall`, docs/capabilities.md, "Endpoints and
// notifications across cores").
//
// Started with a core number (the plan's argument) it is the server, on its own core: it makes an
// endpoint and a notification of its own, then
//   - tries what must be refused: a give to its own core, to domain 0 and to no such core
//     (invalid_argument), of a domain capability (wrong_type), with no capability sent
//     (invalid_argument), of a receive-only copy (permission_denied), of its monitor endpoint
//     (invalid_argument); a revoke of an endpoint never given (not_found); a poll of a ticket
//     that is not its own (not_found); a give to a domain that does not exist there
//     (connection_lost, answered by that core's monitor);
//   - spawns a `farcall client` on the target core and gives it three capabilities: a copy of the
//     endpoint badged 0xb1, the notification, and a second copy of the endpoint badged 0xb2;
//   - receives the client's messages on its endpoint: 20 on the 0xb1 copy, in order, and one on
//     the 0xb2 copy; then waits for the client's signal on the notification;
//   - revokes the far capabilities of the 0xb1 copy (far_revoke: ok once none is left; a second
//     revoke is not_found), and revokes its own notification locally (cap_revoke), which ends
//     the far notification too (the monitor's sweep);
//   - waits for the client to end and checks that it exited 0.
// Prints `test-pass: farcall core C target T checks=N`.
//
// As client: takes the three far capabilities, checks what each is (an endpoint with the send
// right only; the owner's core and the giver), tries what a hostile holder would (send a
// capability with a message, mint a new badge, receive, give the far capability on, revoke it:
// each refused), copies the 0xb1 one, sends one message on the 0xb2 one and 20 on the 0xb1 one,
// signals the notification, then sends on the copy until the revoke ends it (not_found; the
// original is gone too) and waits, sending nothing, until the notification's end reaches it (the
// owner's monitor sees its copy gone on its next sweep). It exits 0 still
// holding the 0xb2 far capability (its monitor drops it), or 1 after printing test-fail lines.
//
// With bit 16 of its argument set ("stay", qemu_far_lost_owner): gives a far endpoint to a
// `farcall holder` on core `target`, receives one message through it, exports the name
// `farcall.stay` (the plan waits for it, then stops this core), prints `farcall staying core C:
// its endpoint is held on core T` and stays. The holder waits, sending nothing, until its monitor
// has dropped the far capability of the lost core's object, checks that a send on it is refused,
// and prints `farcall holder core T: the far endpoint of lost core C is gone`.
#include <myr/user/args.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/far.hpp>

using namespace myr;
using namespace myr::user;

namespace {

std::uint32_t core, domain;
unsigned checks, failures;

constexpr std::uint64_t ep = 40, note = 41, ep_b1 = 42, note_copy = 43, ep_b2 = 44, recv_only = 45;
constexpr std::uint64_t far_b1 = 40, far_note = 41, far_b2 = 42, far_copy = 43, scratch = 44;
constexpr std::uint64_t magic = 0xfa2c'a110'0000'0000ull, messages = 20, after_revoke = 1000;

void expect(const char* what, Status got, Status want) {
    ++checks;
    if (got == want) return;
    ++failures;
    print("test-fail: farcall core {}: {}: got '{}', want '{}'", core, what, to_string(got), to_string(want));
}
void expect_true(const char* what, bool ok) { expect(what, ok ? Status::ok : Status::internal, Status::ok); }

// far_give, asked again while the monitor answers busy (MonitorOp::far_give says to call again).
Status give(std::uint64_t slot, std::uint64_t c, std::uint64_t d) {
    Status s = Status::busy;
    for (unsigned tries = 0; s == Status::busy && tries < 200; ++tries) {
        s = far_give(slot, c, d);
        if (s == Status::busy) wait_event();
    }
    return s;
}

Status raw_give(std::uint64_t send, std::uint64_t c, std::uint64_t d) {
    std::uint64_t ticket = 0;
    const Status s = user::monitor_call_with_cap(abi::MonitorOp::far_give, send, c, d, ticket);
    return s == Status::ok ? user::detail::far_wait(ticket, 3000) : s;
}

Status death_of(std::uint64_t c, std::uint64_t d, abi::DomainStatus& how, std::uint32_t& code) {
    std::uint64_t cursor = 0;
    for (Deadline limit(6000); !limit.passed();) {
        Death x{};
        const Status s = next_death(cursor, x);
        if (s == Status::ok || s == Status::overflow) {
            cursor = x.cursor;
            if (s == Status::ok && x.core == c && x.domain == d) {
                how = x.how;
                code = x.code;
                return Status::ok;
            }
            continue;
        }
        if (s != Status::would_block) return s;
        wait_event();
    }
    return Status::timeout;
}

int serve(std::uint64_t target) {
    expect("retype an endpoint", retype(cap::ram, captype::endpoint, 0, ep, 1), Status::ok);
    expect("retype a notification", retype(cap::ram, captype::notification, 0, note, 1), Status::ok);
    expect("mint the 0xb1 copy", cap_mint(ep, ep_b1, rights::send | rights::grant, 0xb1), Status::ok);
    expect("copy the notification", cap_copy(note, note_copy, rights::send), Status::ok);
    expect("mint the 0xb2 copy", cap_mint(ep, ep_b2, rights::send, 0xb2), Status::ok);
    expect("a receive-only copy", cap_copy(ep, recv_only, rights::receive), Status::ok);

    // Refused, each with its reason.
    expect("give to its own core", give(ep_b1, core, 1), Status::invalid_argument);
    expect("give to domain 0", give(ep_b1, target, 0), Status::invalid_argument);
    expect("give to no such core", give(ep_b1, 4096, 1), Status::invalid_argument);
    expect("give a domain capability", give(cap::self_domain, target, 1), Status::wrong_type);
    expect("give with no capability", raw_give(abi::ipc_no_send, target, 1), Status::invalid_argument);
    expect("give a receive-only copy", give(recv_only, target, 1), Status::permission_denied);
    expect("give the monitor's endpoint", give(cap::monitor, target, 1), Status::invalid_argument);
    expect("revoke what was never given", far_revoke(ep_b1), Status::not_found);
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::far_poll);
    m.w[1] = 0x7777;
    expect("poll a ticket not its own", monitor_call(m), Status::not_found);
    expect("give to a domain that does not exist there", give(ep_b1, target, 999), Status::connection_lost);

    Spawned client{};
    expect("spawn the client", spawn("farcall", target, "client", client), Status::ok);
    expect("give the 0xb1 endpoint", give(ep_b1, client.core, client.domain), Status::ok);
    expect("give the notification", give(note_copy, client.core, client.domain), Status::ok);
    expect("give the 0xb2 endpoint", give(ep_b2, client.core, client.domain), Status::ok);
    if (failures) return 1;

    // The client's messages: 20 on 0xb1 in order, one on 0xb2 (sends on the 0xb1 copy after the
    // 20, racing the revoke below, may come too).
    std::uint64_t next = 0, b2 = 0, stray = 0;
    for (Deadline limit(6000); (next < messages || b2 == 0) && !limit.passed();) {
        // A blocking receive that also ends on a timer tick (recv_events): far messages are handed
        // to a receiver that waits, never queued in the kernel (the monitor's send must not block).
        Message r{};
        r.w[0] = abi::no_cap;
        r.w[1] = abi::recv_events;
        const Status s = ipc(abi::Sys::ipc_recv, ep, r);
        if (s == Status::would_block) continue;
        if (s != Status::ok) {
            expect("receive", s, Status::ok);
            break;
        }
        if (r.badge == 0xb2 && r.w[0] == 999 && r.w[1] == magic) {
            ++b2;
        } else if (r.badge == 0xb1 && r.w[0] == next && r.w[1] == magic && r.w[2] == client.core) {
            ++next;
        } else if (!(r.badge == 0xb1 && r.w[0] == after_revoke)) {
            ++stray;
            print("test-fail: farcall core {}: message badge {:#x} words {} {:#x} {} (expected {})", core, r.badge,
                  r.w[0], r.w[1], r.w[2], next);
        }
    }
    expect_true("20 messages on the 0xb1 far capability, in order", next == messages);
    expect_true("one message on the 0xb2 far capability", b2 == 1);
    expect_true("no message nobody sent", stray == 0);
    const SysResult bits = syscall6(abi::Sys::notify_wait, note);
    expect_true("the client's signal", bits.status == Status::ok && (bits.value & 0x10) != 0);
    print("farcall server core {}: {} messages and a signal from core {}", core, next + b2, client.core);

    expect("revoke the 0xb1 far capability", far_revoke(ep_b1), Status::ok);
    expect("revoke it again", far_revoke(ep_b1), Status::not_found);
    // The notification ends locally: the copy that was given goes with it, and the monitor's sweep
    // ends the far notification.
    expect("revoke the notification locally", cap_revoke(note), Status::ok);
    abi::DomainStatus how{};
    std::uint32_t code = 99;
    expect("the client ended", death_of(client.core, client.domain, how, code), Status::ok);
    expect_true("the client exited 0", how == abi::DomainStatus::exited && code == 0);
    if (failures) return 1;
    print("test-pass: farcall core {} target {} checks={}", core, target, checks);
    return 0;
}

// Sends on `cap` until the far capability ends (not_found), or the time is up.
Status until_gone(std::uint64_t cap, std::uint64_t w0) {
    for (Deadline limit(6000); !limit.passed();) {
        const Status s = far_send(cap, w0, magic, core);
        if (s == Status::not_found) return s;
        if (s != Status::ok && s != Status::busy) return s;
        wait_event();
    }
    return Status::timeout;
}

int client() {
    FarCap b1{}, n{}, b2{};
    expect("take the 0xb1 endpoint", far_take(far_b1, b1, 6000), Status::ok);
    expect("take the notification", far_take(far_note, n, 6000), Status::ok);
    expect("take the 0xb2 endpoint", far_take(far_b2, b2, 6000), Status::ok);
    if (failures) return 1;
    expect_true("kinds: endpoint, notification, endpoint", b1.kind == 1 && n.kind == 2 && b2.kind == 1);
    expect_true("the owner is another core", b1.owner_core != core && b1.owner_core == n.owner_core);
    const SysResult id = cap_identify(far_b1);
    expect_true("a far capability is an endpoint with the send right only",
                id.status == Status::ok && id.value == ((captype::endpoint << 32) | rights::send));

    // A hostile holder.
    Message m{};
    m.w[0] = 1;
    expect("send a capability with a far message", ipc(abi::Sys::ipc_call, far_b1, m, abi::ipc_cap(far_b2, 0)),
           Status::permission_denied);
    expect("mint the far capability with a badge of its own", cap_mint(far_b1, scratch, rights::send, 0x99),
           Status::invalid_argument);
    Message r{};
    r.w[0] = abi::no_cap;
    r.w[1] = abi::recv_poll;
    expect("receive on a far capability", ipc(abi::Sys::ipc_recv, far_b1, r), Status::permission_denied);
    expect("give a far capability on", give(far_b1, b1.owner_core, b1.giver), Status::invalid_argument);
    expect("revoke a far capability", far_revoke(far_b1), Status::invalid_argument);
    m = {};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::far_take);
    expect("take when nothing is offered", monitor_call(m, scratch), Status::would_block);

    expect("copy the 0xb1 far capability", cap_copy(far_b1, far_copy, rights::send), Status::ok);
    expect("send on the 0xb2 one", far_send_wait(far_b2, 999, magic, core, 0, 6000), Status::ok);
    for (std::uint64_t i = 0; i < messages; ++i) {
        const Status s = far_send_wait(far_b1, i, magic, core, 0, 6000);
        if (s != Status::ok) {
            expect("send on the 0xb1 one", s, Status::ok);
            break;
        }
    }
    expect("signal the far notification", far_send_wait(far_note, 0x10, 0, 0, 0, 6000), Status::ok);
    // The server revokes: the copy this domain made goes too, and so does the original.
    expect("send on the copy until the revoke", until_gone(far_copy, after_revoke), Status::not_found);
    expect("the original is gone too", cap_identify(far_b1).status, Status::not_found);
    // The notification's end reaches it with no send on it (the owner's sweep).
    Status note_left = Status::ok;
    for (Deadline limit(6000); note_left == Status::ok && !limit.passed();) {
        note_left = cap_identify(far_note).status;
        if (note_left == Status::ok) wait_event();
    }
    expect("the far notification is gone without a send", note_left, Status::not_found);
    if (failures) return 1;
    print("farcall client core {}: {} messages sent, both far capabilities ended", core, messages + 1);
    return 0;  // still holding the 0xb2 far capability: its monitor drops it
}

int stay(std::uint64_t target) {
    expect("retype an endpoint", retype(cap::ram, captype::endpoint, 0, ep, 1), Status::ok);
    expect("mint the 0xb3 copy", cap_mint(ep, ep_b1, rights::send, 0xb3), Status::ok);
    Spawned holder{};
    expect("spawn the holder", spawn("farcall", target, "holder", holder), Status::ok);
    expect("give the endpoint", give(ep_b1, holder.core, holder.domain), Status::ok);
    bool got = false;
    for (Deadline limit(6000); !got && !limit.passed();) {
        Message r{};
        r.w[0] = abi::no_cap;
        r.w[1] = abi::recv_events;
        const Status s = ipc(abi::Sys::ipc_recv, ep, r);
        got = s == Status::ok && r.badge == 0xb3 && r.w[1] == magic;
    }
    expect_true("the holder's message", got);
    expect("export a name for the plan", export_name("farcall.stay"), Status::ok);
    if (failures) return 1;
    print("farcall staying core {}: its endpoint is held on core {}", core, holder.core);
    for (;;) wait_event();  // until the plan stops this core
}

int hold() {
    FarCap f{};
    expect("take the far endpoint", far_take(far_b1, f, 6000), Status::ok);
    expect("send on it", far_send_wait(far_b1, 1, magic, core, 0, 6000), Status::ok);
    if (failures) return 1;
    Status left = Status::ok;
    for (Deadline limit(12000); left == Status::ok && !limit.passed();) {
        left = cap_identify(far_b1).status;
        if (left == Status::ok) wait_event();
    }
    expect("the far endpoint of the lost core is gone", left, Status::not_found);
    expect("a send on it is refused", far_send(far_b1, 2, magic), Status::not_found);
    if (failures) return 1;
    print("farcall holder core {}: the far endpoint of lost core {} is gone", core, f.owner_core);
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t info = syscall6(abi::Sys::domain_info).value;
    core = static_cast<std::uint32_t>(info >> 32);
    domain = static_cast<std::uint32_t>(info);
    char role[16] = {};
    (void)read_args(role, sizeof role);
    if (role[0] == 'c') return client();
    if (role[0] == 'h') return hold();
    if (arg >> 16 & 1) return stay(arg & 0xffff);
    return serve(arg);
}
