// RPC benchmark client (`rpcbench`, ./myriad bench servers): binds to "rpcbench" wherever the
// server runs and prints, as medians over batches of TSC ticks in one boot: a null system call,
// an RPC round trip of one word, one of a 512-byte payload, and (server on another core only: on
// one core the two sides cannot spin against each other) a raw cache-line ping-pong between the
// same two domains over the same connection's memory, the baseline. Argument: a label for the
// placement (0 same core, 1 same node, 2 cross node).
#include "interface.hpp"

#include <myr/rpc/guest.hpp>
#include <myr/user/measure.hpp>

using namespace myr;
using namespace myr::rpcbench;

extern "C" int main(std::uint64_t placement) {
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
    rpc::Client c;
    c.timeout_ticks = 100000;
    if (const Status s = c.connect("rpcbench"); s != Status::ok) {
        user::print("test-fail: rpcbench: connect: {}", to_string(s));
        return 1;
    }
    const bool same_core = c.peer_core() == core;
    constexpr unsigned batches = 15;
    const std::uint64_t per_batch = same_core ? 20 : 100;
    bool ok = true;
    const std::uint64_t null_call = user::median_ticks(batches, 200, [](std::uint64_t) { (void)user::syscall6(abi::Sys::domain_info); });
    const std::uint64_t rpc = user::median_ticks(batches, per_batch, [&](std::uint64_t i) {
        EchoReply r{};
        ok = ok && c.call(Echo{i}, r) == Status::ok && r.v == i;
    });
    EchoBlob big{};
    big.data.size = 512;
    for (unsigned i = 0; i < 512; ++i) big.data.data[i] = static_cast<std::uint8_t>(i);
    const std::uint64_t rpc512 = user::median_ticks(batches, per_batch, [&](std::uint64_t) {
        BlobReply r{};
        ok = ok && c.call(big, r) == Status::ok && r.data == big.data;
    });
    std::uint64_t line = 0;
    if (!same_core) {
        const std::uint64_t rounds = batches * per_batch;
        Empty e{};
        ok = ok && c.call(Raw{rounds}, e) == Status::ok;
        const rpc::Conn& conn = c.connection();
        auto* out = reinterpret_cast<volatile std::uint64_t*>(conn.channel.tx_ring + user::bind_spare_offset);
        auto* in = reinterpret_cast<volatile std::uint64_t*>(conn.channel.rx_ring + user::bind_spare_offset);
        line = user::median_ticks(batches, per_batch, [&](std::uint64_t i) { user::line_ping(out, in, i + 1); });
    }
    if (!ok) {
        user::print("test-fail: rpcbench: a call failed or came back wrong");
        return 1;
    }
    const std::uint64_t n = null_call ? null_call : 1, l = line ? line : 1;
    user::print("bench-servers placement={} client_core={} server_core={} null_ticks={} rpc_ticks={} rpc512_ticks={} "
                "line_ticks={} rpc_per_null={}.{:02} rpc_per_line={}.{:02} lines_per_rpc={} lines_per_rpc512={}",
                placement == 0 ? "same-core" : placement == 1 ? "same-node" : "cross-node", core, c.peer_core(), null_call,
                rpc, rpc512, line, rpc / n, rpc * 100 / n % 100, line ? rpc / l : 0, line ? rpc * 100 / l % 100 : 0, 2,
                2 * urpc::fragments_for(rpc::header_bytes + 2 + 512));
    c.close();
    return 0;
}
