// Binding test server (`bindsrv`): exports the name "echo", accepts `arg` clients from any core
// through the monitors, and serves each over its own URPC channel: an echo of type 1 [seq, v]
// is answered with type 2 [seq, 3v + 1, our core]; type 3 says the client is done; type 4
// [rounds] starts a measured round (bindbench): echo `rounds` lines of type 5 without sleeping,
// then play a raw cache-line ping-pong in the rings' spare lines. Exits 0 once every client said
// it is done.
#include <myr/user/bind.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr std::uint64_t max_clients = 64;
constexpr std::uint64_t ring_base = 0x2000'0000;
Channel channels[max_clients];

void send_line(Channel& c, std::uint8_t type, std::uint64_t w0, std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
    const std::uint64_t words[urpc::payload_words] = {w0, w1, w2};
    while (c.tx.try_send(type, words) == Status::would_block) {}
}

void bench_echo(Channel& c, std::uint64_t rounds) {
    urpc::Message m{};
    for (std::uint64_t i = 0; i < rounds;) {
        if (c.rx.try_recv(m) != Status::ok || m.header.type != 5) continue;
        send_line(c, 5, m.words[0]);
        ++i;
    }
    auto* in = reinterpret_cast<volatile std::uint64_t*>(c.rx_ring + bind_spare_offset);
    auto* out = reinterpret_cast<volatile std::uint64_t*>(c.tx_ring + bind_spare_offset);
    for (std::uint64_t i = 1; i <= rounds; ++i) {
        while (__atomic_load_n(in, __ATOMIC_ACQUIRE) != i) {}
        __atomic_store_n(out, i, __ATOMIC_RELEASE);
    }
}

} // namespace

extern "C" int main(std::uint64_t clients) {
    const std::uint64_t core = syscall6(abi::Sys::domain_info).value >> 32;
    if (clients == 0 || clients > max_clients) {
        print("test-fail: bindsrv needs the number of clients (1..{}) as its argument, got {}", max_clients, clients);
        return 1;
    }
    if (const Status s = export_name("echo"); s != Status::ok) {
        print("test-fail: export echo: {}", to_string(s));
        return 1;
    }
    std::uint64_t accepted = 0, done = 0, messages = 0, idle = 0;
    bool open[max_clients] = {};
    while (done < clients) {
        bool progress = false;
        if (accepted < clients) {
            Binding b{};
            const Status s = try_accept(b);
            if (s == Status::ok) {
                // Two ring slots per client from slot 10 on, two pages of address space each.
                const Status o = open_channel(b, 10 + 2 * accepted, 11 + 2 * accepted, ring_base + accepted * 2 * bind_ring_bytes,
                                              channels[accepted]);
                if (o != Status::ok) {
                    print("test-fail: opening the channel of binding {} from core {}: {}", b.id, b.peer_core, to_string(o));
                    return 1;
                }
                open[accepted++] = true;
                progress = true;
            } else if (s != Status::would_block) {
                print("test-fail: accept: {}", to_string(s));
                return 1;
            }
        }
        for (std::uint64_t i = 0; i < accepted; ++i) {
            if (!open[i]) continue;
            urpc::Message m{};
            const Status s = channels[i].rx.try_recv(m);
            if (s == Status::would_block) continue;
            progress = true;
            if (s != Status::ok) {
                print("test-fail: undecodable line from client {}", i);
                return 1;
            }
            ++messages;
            if (m.header.type == 1) send_line(channels[i], 2, m.words[0], 3 * m.words[1] + 1, core);
            else if (m.header.type == 3) open[i] = false, ++done;
            else if (m.header.type == 4) bench_echo(channels[i], m.words[0]);
            else {
                print("test-fail: unexpected message type {} from client {}", m.header.type, i);
                return 1;
            }
        }
        // Spin a little (answers come back fast), then sleep until an IPI or the next tick.
        idle = progress ? 0 : idle + 1;
        if (idle > 200) wait_event();
    }
    print("test-pass: bindsrv on core {} served {} clients, {} messages", core, clients, messages);
    return 0;
}
