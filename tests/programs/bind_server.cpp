// Binding test server (`bindsrv`): exports the name "echo", accepts `arg` clients from any core
// through the monitors, and serves each over its own URPC channel: an echo of type 1 [seq, v]
// is answered with type 2 [seq, 3v + 1, our core]; type 3 says the client is done; type 4
// [rounds] starts a measured round (bindbench): echo `rounds` lines of type 5 without sleeping,
// then play a raw cache-line ping-pong in the rings' spare lines. Exits 0 once every client said
// it is done.
#include <myr/user/bind.hpp>
#include <myr/user/measure.hpp>

using namespace myr;
using namespace myr::user;

namespace {

constexpr std::uint64_t max_open = 16;
constexpr std::uint64_t ring_base = 0x2000'0000;
Channel channels[max_open];
TableSlots tables{58, 64};  // after the ring slots 10..41 and doorbells 42..57: the page table over the rings

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
    line_echo(reinterpret_cast<volatile std::uint64_t*>(c.rx_ring + bind_spare_offset),
              reinterpret_cast<volatile std::uint64_t*>(c.tx_ring + bind_spare_offset), rounds);
}

} // namespace

extern "C" int main(std::uint64_t clients) {
    const std::uint64_t core = syscall6(abi::Sys::domain_info).value >> 32;
    if (clients == 0 || clients > 1000) {
        print("test-fail: bindsrv needs the number of clients (1..1000) as its argument, got {}", clients);
        return 1;
    }
    if (const Status s = export_name("echo"); s != Status::ok) {
        print("test-fail: export echo: {}", to_string(s));
        return 1;
    }
    // At most max_open clients at once (two ring slots and a doorbell each in our 64-slot cspace): a client
    // that said goodbye gives its slots, address range and rings back for the next.
    std::uint64_t accepted = 0, done = 0, messages = 0, idle = 0, peak = 0;
    bool open[max_open] = {};
    while (done < clients) {
        bool progress = false;
        std::uint64_t free_entry = max_open, now_open = 0;
        for (std::uint64_t i = 0; i < max_open; ++i) {
            if (open[i]) ++now_open;
            else if (free_entry == max_open) free_entry = i;
        }
        if (accepted < clients && free_entry < max_open) {
            Binding b{};
            const Status s = try_accept(b);
            if (s == Status::ok) {
                const std::uint64_t i = free_entry;
                channels[i] = Channel{};
                Status o = take_doorbell(b, 42 + i, channels[i]);
                if (o == Status::ok)
                    o = open_channel(b, 10 + 2 * i, 11 + 2 * i, ring_base + i * 2 * bind_ring_bytes, tables, channels[i]);
                if (o != Status::ok) {
                    print("test-fail: opening the channel of binding {} from core {}: {}", b.id, b.peer_core, to_string(o));
                    return 1;
                }
                open[i] = true;
                ++accepted;
                peak = now_open + 1 > peak ? now_open + 1 : peak;
                progress = true;
            } else if (s != Status::would_block) {
                print("test-fail: accept: {}", to_string(s));
                return 1;
            }
        }
        for (std::uint64_t i = 0; i < max_open; ++i) {
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
            if (m.header.type == 1) {
                send_line(channels[i], 2, m.words[0], 3 * m.words[1] + 1, core);
                ring(channels[i]);  // the client may be asleep in wait_event
            } else if (m.header.type == 3) {
                // Goodbye: deleting the ring caps unmaps them.
                open[i] = false;
                ++done;
                if (cap_delete(10 + 2 * i) != Status::ok || cap_delete(11 + 2 * i) != Status::ok ||
                    cap_delete(42 + i) != Status::ok) {
                    print("test-fail: deleting the rings of client {}", i);
                    return 1;
                }
            } else if (m.header.type == 4) {
                bench_echo(channels[i], m.words[0]);
            } else {
                print("test-fail: unexpected message type {} from client {}", m.header.type, i);
                return 1;
            }
        }
        // Spin a little (answers come back fast), then sleep until an IPI or the next tick.
        idle = progress ? 0 : idle + 1;
        if (idle > 200) wait_event();
    }
    print("test-pass: bindsrv on core {} served {} clients ({} at once at most), {} messages", core, clients, peak, messages);
    return 0;
}
