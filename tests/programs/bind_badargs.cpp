// The monitor's binding service with bad requests (`bindbad`): each must get the documented
// error and leave the service working; then the program binds to its own export (a binding on
// one core, both ends in one domain) and passes a line each way.
#include "expect.hpp"

#include <myr/user/bind.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::test;

namespace {

Status op(abi::MonitorOp o, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t reply_slot = 0) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(o);
    m.w[1] = a;
    m.w[2] = b;
    return monitor_call(m, reply_slot);
}

} // namespace

extern "C" int main(std::uint64_t) {
    expect("unknown operation", op(static_cast<abi::MonitorOp>(99)), Status::invalid_argument);
    expect("export an empty name", export_name(""), Status::invalid_argument);
    expect("bind to a name nobody exports", op(abi::MonitorOp::bind, 0x6863757374736f6eull), Status::not_found);
    expect("poll a ticket never issued", op(abi::MonitorOp::bind_poll, 99), Status::not_found);
    expect("poll ticket 0 (not ours)", op(abi::MonitorOp::bind_poll, 0), Status::not_found);
    expect("accept with no client", op(abi::MonitorOp::accept), Status::would_block);
    // Heartbeats from a domain no [[server]] table supervises: answered with no period and no
    // restarts, as often as it likes, and nothing else changes (the rest of this program).
    for (unsigned i = 0; i < 1000; ++i) {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::heartbeat);
        m.w[1] = m.w[2] = m.w[3] = ~0ull;
        const Status s = monitor_call(m);
        if (i == 0 || s != Status::ok || m.w[1] != 0 || m.w[3] != 0) {
            expect("heartbeat of an unsupervised domain", s, Status::ok);
            ++checks;
            if (m.w[1] != 0 || m.w[3] != 0) {
                ++failures;
                print("test-fail: heartbeat of an unsupervised domain: period {} restarts {}", m.w[1], m.w[3]);
            }
            if (s != Status::ok || m.w[1] != 0 || m.w[3] != 0) break;
        }
    }
    // Address spaces spanning cores: only a span's own dispatcher may join, poll or unmap in it.
    const std::uint64_t spans[] = {0, 1, 2, ~0ull};
    for (std::uint64_t span : spans) {
        expect("span_join of a span not ours", op(abi::MonitorOp::span_join, span, 0, 20), Status::not_found);
        expect("span_poll of a span not ours", op(abi::MonitorOp::span_poll, span, 1), Status::not_found);
        expect("span_unmap of a span not ours", op(abi::MonitorOp::span_unmap, span, 0x3000'0000'0000ull), Status::not_found);
    }
    expect("no capability came with a refused span_join", cap_identify(20).status, Status::not_found);
    // Kept memory belongs to supervised server instances only: this program is none.
    expect("kept memory of a domain that is no supervised instance", op(abi::MonitorOp::kept, 16, 0, 20),
           Status::permission_denied);
    expect("no capability came with a refused kept", cap_identify(20).status, Status::not_found);
    expect("server_info of 16 bytes of 0xff", op(abi::MonitorOp::server_info, ~0ull, ~0ull), Status::not_found);
    expect("server_info of a name nobody exports", op(abi::MonitorOp::server_info, 0x6863757374736f6eull), Status::not_found);
    expect("server_info of an empty name", op(abi::MonitorOp::server_info), Status::not_found);
    expect("take a ring of no binding", op(abi::MonitorOp::take_ring, 99, 0, 20), Status::not_found);
    expect("export selfie", export_name("selfie"), Status::ok);
    expect("export selfie twice", export_name("selfie"), Status::exists);
    // Binds given up on (poll_binding out of time withdraws the ticket, bind_cancel): each goes
    // here and at the server's side, so more than the two a domain may have in set-up neither
    // block its later binds nor reach the server's accept.
    expect("cancel a ticket never issued", op(abi::MonitorOp::bind_cancel, 99), Status::not_found);
    // Every ticket number of the monitor's table while we hold none: whatever other domains of
    // this core have in set-up is theirs, and a cancel from us must not touch it.
    for (std::uint64_t t = 0; t < 24; ++t)
        if (const Status s = op(abi::MonitorOp::bind_cancel, t); s != Status::not_found) {
            expect("cancel a ticket that is not ours", s, Status::not_found);
            break;
        }
    ++checks;
    for (unsigned i = 0; i < 3; ++i) {
        Binding given_up{};
        expect("bind given up on at once", bind("selfie", given_up, 0), Status::timeout);
    }
    {
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind);
        pack_name16("selfie", m.w[1], m.w[2]);
        expect("bind to cancel", monitor_call(m), Status::ok);
        const std::uint64_t ticket = m.w[1];
        expect("cancel it", op(abi::MonitorOp::bind_cancel, ticket), Status::ok);
        expect("cancel it twice", op(abi::MonitorOp::bind_cancel, ticket), Status::not_found);
        expect("poll a cancelled ticket", op(abi::MonitorOp::bind_poll, ticket), Status::not_found);
    }
    expect("no given-up bind reaches accept", op(abi::MonitorOp::accept), Status::would_block);

    Binding client{}, server{};
    expect("bind to our own export", bind("selfie", client), Status::ok);
    expect("accept it", accept(server), Status::ok);
    expect("take ring 2 (no such)", op(abi::MonitorOp::take_ring, server.id, 2, 20), Status::not_found);
    {
        // Taken without naming a reply slot: the ring stays with the monitor.
        Message m{};
        m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::take_ring);
        m.w[1] = client.id;
        m.w[2] = 0;
        expect("take without a slot answers", monitor_call(m), Status::ok);
        ++checks;
        if (m.cap_arrived != 0) { ++failures; print("test-fail: a cap arrived with no slot named"); }
    }
    Channel a{}, b{};
    TableSlots tables{40, 44};  // page tables over the rings
    // One domain holds both ends: the client end cannot attach before the server end formatted
    // its receive ring, so open both, then connect the client end.
    // A doorbell rings the peer's core only (here: our own core, the binding is to ourselves).
    expect("doorbell of no binding", op(abi::MonitorOp::doorbell, 99, 0, 30), Status::not_found);
    expect("doorbell", take_doorbell(client, 30, a), Status::ok);
    const std::uint64_t here = syscall6(abi::Sys::domain_info).value >> 32;
    expect("ring the peer's core", syscall6(abi::Sys::send_ipi, 30, here).status, Status::ok);
    expect("ring another core", syscall6(abi::Sys::send_ipi, 30, here == 0 ? 1 : 0).status, Status::permission_denied);
    expect("mint a doorbell again", cap_mint(30, 31, 0xffff, 1), Status::invalid_argument);
    expect("open the client end (peer not ready)", open_channel(client, 20, 21, 0x2000'0000, tables, a, 0), Status::timeout);
    expect("open the server end", open_channel(server, 22, 23, 0x2001'0000, tables, b, 10), Status::ok);
    expect("connect the client end", connect_channel(a, 10), Status::ok);
    if (failures) {
        print("test-fail: bindbad: no channel, stopping after {} checks", checks);
        return 1;
    }
    expect("take a ring twice", op(abi::MonitorOp::take_ring, client.id, 0, 30), Status::not_found);
    const std::uint64_t words[urpc::payload_words] = {0x1234};
    expect("client -> server", a.tx.try_send(1, words), Status::ok);
    urpc::Message m{};
    expect("server receives", b.rx.try_recv(m), Status::ok);
    ++checks;
    if (m.words[0] != 0x1234) { ++failures; print("test-fail: server got {:#x}", m.words[0]); }
    expect("server -> client", b.tx.try_send(2, words), Status::ok);
    expect("client receives", a.rx.try_recv(m), Status::ok);
    if (failures) {
        print("test-fail: bindbad {} of {} checks failed", failures, checks);
        return 1;
    }
    print("test-pass: bindbad {} checks", checks);
    return 0;
}
