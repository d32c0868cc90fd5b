#pragma once
// The RPC benchmark's interface (./myriad bench servers): an echo of one word, an echo of a
// 512-byte payload (10 lines each way, fragmented), and a request that makes the server play a raw
// cache-line ping-pong on the connection's spare ring lines: the baseline in the same boot.
#include <myr/rpc/interface.hpp>

namespace myr::rpcbench {

struct EchoReply {
    std::uint64_t v;
    MYR_RPC_FIELDS(v)
};
struct Echo {
    static constexpr std::uint16_t op = 1;
    static constexpr const char* name = "echo";
    using Reply = EchoReply;
    std::uint64_t v;
    MYR_RPC_FIELDS(v)
};
struct BlobReply {
    rpc::Blob<512> data;
    MYR_RPC_FIELDS(data)
};
struct EchoBlob {
    static constexpr std::uint16_t op = 2;
    static constexpr const char* name = "echo_blob";
    using Reply = BlobReply;
    rpc::Blob<512> data;
    MYR_RPC_FIELDS(data)
};
struct Empty {
    MYR_RPC_FIELDS()
};
// After answering, the server echoes `rounds` raw ping-pong rounds on the spare lines.
struct Raw {
    static constexpr std::uint16_t op = 3;
    static constexpr const char* name = "raw";
    using Reply = Empty;
    std::uint64_t rounds;
    MYR_RPC_FIELDS(rounds)
};
using Interface = rpc::Interface<Echo, EchoBlob, Raw>;

} // namespace myr::rpcbench
