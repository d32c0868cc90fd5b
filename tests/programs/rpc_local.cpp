// Same-core RPC over local IPC (docs/servers.md, "Two transports"; docs/monitors.md, "Local
// calls"), from the hostile side. One program, three roles:
//   lcserver (0): an echo server ("lcecho"); exits after `arg` closed connections.
//   lcclient (1): on the server's core. A runtime Client goes local; then, on raw connections:
//     the cap it got sends only (no receive, no grant) and cannot be re-badged; a call with an
//     empty ring is answered bad_request, one with a frame of an unknown type or a truncated
//     request gets a bad_request reply frame, and the server keeps serving; a copy of the cap
//     kept after its connection closed (a stale badge) is refused with connection_lost and does
//     not serve the next connection's frame; local_take / local_offer on bindings that are not
//     its own are not_found.
//   lcremote (2): on another core: local_take on its cross-core binding is unsupported, and the
//     connection works over the rings.
#include "../../bench/servers/interface.hpp"
#include "expect.hpp"

#include <myr/rpc/guest.hpp>
#include <myr/rpc/server.hpp>

using namespace myr;
using namespace myr::rpcbench;
using test::expect;

namespace {

#if MYRIAD_RPCLOCAL_ROLE == 0
struct Handler {
    std::uint64_t closed_connections = 0;
    Status handle(const rpc::Caller&, const Echo& r, EchoReply& out) {
        out.v = r.v;
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const EchoBlob&, BlobReply&) { return Status::unsupported; }
    Status handle(const rpc::Caller&, const Raw&, Empty&) { return Status::unsupported; }
    void closed(const rpc::Caller&) { ++closed_connections; }
};
Handler handler;
rpc::Server<Interface, Handler, 4> server(handler);
#elif MYRIAD_RPCLOCAL_ROLE == 1
// One ipc_call on a local-call cap: the kernel's status, the server's answer in `answer`.
Status local_call(std::uint64_t slot, Status& answer) {
    user::Message m{};
    const Status s = user::ipc(abi::Sys::ipc_call, slot, m);
    answer = static_cast<Status>(static_cast<std::int32_t>(m.w[0]));
    return s;
}

// The status in the next reply frame on the connection (would_block: none there).
Status reply_status(rpc::Conn& c, std::uint32_t* id = nullptr) {
    const Status s = c.link.poll();
    if (s != Status::ok) return s;
    rpc::FrameHeader h{};
    std::span<const std::uint8_t> body;
    if (rpc::split_frame(c.link.frame(), h, body) != Status::ok) return Status::malformed;
    if (id) *id = h.id;
    return static_cast<Status>(h.status);
}

Status send_echo(rpc::Conn& c, std::uint32_t id, std::uint64_t v) {
    std::uint8_t buf[rpc::max_frame];
    std::size_t len = 0;
    const Echo e{v};
    if (const Status s = rpc::encode_frame(rpc::FrameHeader{id, Echo::op, 0}, &e, buf, len); s != Status::ok) return s;
    return rpc::send_frame(c, rpc::type_request, std::span<const std::uint8_t>(buf, len), 100, false);
}

Status open_raw(rpc::Conn& c) {
    user::Binding b{};
    if (const Status s = user::bind("lcecho", b); s != Status::ok) return s;
    return c.open_from(b, 2000);
}
#endif

} // namespace

extern "C" int main([[maybe_unused]] std::uint64_t arg) {
#if MYRIAD_RPCLOCAL_ROLE == 0
    if (server.start("lcecho") != Status::ok) return 1;
    server.run([&] { return handler.closed_connections >= arg; });
    user::print("lcserver: served={} bad={}", server.served(), server.bad_requests());
    return 0;
#elif MYRIAD_RPCLOCAL_ROLE == 1
    rpc::Client c;
    Status s = Status::not_found;
    for (user::Deadline limit(2000); s == Status::not_found && !limit.passed();) {
        s = c.connect("lcecho");
        if (s == Status::not_found) user::wait_event();
    }
    expect("connect", s, Status::ok);
    if (s != Status::ok) return 1;
    expect("the runtime client went local", c.local() ? Status::ok : Status::unsupported, Status::ok);
    EchoReply r{};
    expect("echo over local IPC", c.call(Echo{7}, r) == Status::ok && r.v == 7 ? Status::ok : Status::internal, Status::ok);

    rpc::Conn raw;
    expect("open a raw connection", open_raw(raw), Status::ok);
    const std::uint64_t cap = raw.local_slot;
    expect("the raw connection got a local-call cap", cap ? Status::ok : Status::not_found, Status::ok);
    const user::SysResult id = user::cap_identify(cap);
    expect("the cap is an endpoint that can only send",
           id.status == Status::ok && (id.value >> 32) == user::captype::endpoint && (id.value & 0xffff) == user::rights::send
               ? Status::ok
               : Status::permission_denied,
           Status::ok);
    const std::uint64_t spare = rpc::Slots::instance().alloc();
    expect("re-badging the cap (forging another connection's badge)", user::cap_mint(cap, spare, user::rights::send, 1),
           Status::invalid_argument);
    {
        user::Message m{};
        m.w[0] = abi::no_cap;
        m.w[1] = abi::recv_poll;
        expect("receiving the server's calls on the cap", user::ipc(abi::Sys::ipc_recv, cap, m), Status::permission_denied);
    }
    Status answer = Status::internal;
    expect("a call with an empty ring", local_call(cap, answer), Status::ok);
    expect("its answer", answer, Status::bad_request);
    expect("no reply frame for it", reply_status(raw), Status::would_block);

    const std::uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    expect("a frame of an unknown type", raw.link.send(0x77, junk), Status::ok);
    expect("its call", local_call(cap, answer), Status::ok);
    expect("its call's answer", answer, Status::ok);
    expect("its reply frame", reply_status(raw), Status::bad_request);
    expect("a truncated request", raw.link.send(rpc::type_request, std::span<const std::uint8_t>(junk, 3)), Status::ok);
    expect("its call", local_call(cap, answer), Status::ok);
    expect("its reply frame", reply_status(raw), Status::bad_request);
    expect("echo after the bad calls", c.call(Echo{8}, r) == Status::ok && r.v == 8 ? Status::ok : Status::internal, Status::ok);

    // A stale badge: close the connection but keep its cap (a copy would not do: deleting a cap
    // deletes its copies), then open another one.
    const std::uint64_t stale = cap;
    expect("close", rpc::send_frame(raw, rpc::type_close, {}, 100), Status::ok);
    raw.local_slot = 0;  // release() leaves the cap alone
    raw.release();
    for (int i = 0; i < 5; ++i) user::wait_event();  // the server drops the connection meanwhile
    rpc::Conn next;
    expect("open another raw connection", open_raw(next), Status::ok);
    expect("put a request in the new connection's ring", send_echo(next, 41, 41), Status::ok);
    expect("a call with the closed connection's cap", local_call(stale, answer), Status::ok);
    expect("its answer", answer, Status::connection_lost);
    // The server also polls every ring in its passes, so the frame may have been served already
    // (then this call finds the ring empty: bad_request); either way its reply is there now.
    expect("the new connection's own call", local_call(next.local_slot, answer), Status::ok);
    expect("its answer", answer == Status::ok || answer == Status::bad_request ? Status::ok : answer, Status::ok);
    std::uint32_t got = 0;
    expect("its reply", reply_status(next, &got), Status::ok);
    expect("the reply's id", got == 41 ? Status::ok : Status::internal, Status::ok);

    // Caps for bindings that are not ours: every binding id of the monitor's table.
    const std::uint64_t ep = rpc::Slots::instance().alloc();
    expect("an endpoint of our own",
           user::syscall6(abi::Sys::retype, user::cap::ram, user::captype::endpoint, 0, ep, 1).status, Status::ok);
    unsigned refused = 0;
    for (std::uint64_t b = 0; b < 32; ++b) {
        const std::uint64_t slot = rpc::Slots::instance().alloc();
        user::Binding fake{b, 0, 0};
        std::uint64_t badge = 0;
        const Status t = user::local_take(fake, slot, 1);
        const Status o = user::local_offer(fake, ep, badge);
        if (t == Status::not_found && o == Status::not_found) ++refused;
        else user::print("test-fail: lcclient: binding {}: local_take {}, local_offer {}", b, to_string(t), to_string(o));
        expect("nothing arrived", user::cap_identify(slot).status, Status::not_found);
        rpc::Slots::instance().free(slot);
    }
    expect("every binding id refused", refused == 32 ? Status::ok : Status::permission_denied, Status::ok);

    (void)rpc::send_frame(next, rpc::type_close, {}, 100);
    next.release();
    c.close();
    user::print("lcclient: test-pass: checks={} failures={}", test::checks, test::failures);
    return test::failures == 0 ? 0 : 1;
#else
    user::Binding b{};
    Status s = Status::not_found;
    for (user::Deadline limit(2000); s == Status::not_found && !limit.passed();) {
        s = user::bind("lcecho", b);
        if (s == Status::not_found) user::wait_event();
    }
    expect("bind from another core", s, Status::ok);
    if (s != Status::ok) return 1;
    const std::uint64_t slot = rpc::Slots::instance().alloc();
    expect("local_take on a cross-core binding", user::local_take(b, slot, 100), Status::unsupported);
    rpc::Conn conn;
    expect("open it over the rings", conn.open_from(b, 2000), Status::ok);
    expect("no local-call cap", conn.local_slot == 0 ? Status::ok : Status::exists, Status::ok);
    (void)rpc::send_frame(conn, rpc::type_close, {}, 100);
    conn.release();
    user::print("lcremote: test-pass: checks={} failures={}", test::checks, test::failures);
    return test::failures == 0 ? 0 : 1;
#endif
}
