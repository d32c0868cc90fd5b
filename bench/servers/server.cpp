// RPC benchmark server (`rpcecho`, ./myriad bench servers): registers "rpcbench" and answers
// echo requests; exits once `arg` clients have closed their connections.
#include "interface.hpp"

#include <myr/rpc/server.hpp>
#include <myr/user/measure.hpp>

using namespace myr;
using namespace myr::rpcbench;

namespace {

struct Handler {
    std::uint64_t closed_connections = 0;
    unsigned raw_conn = ~0u;
    std::uint64_t raw_rounds = 0;
    Status handle(const rpc::Caller&, const Echo& r, EchoReply& out) {
        out.v = r.v;
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const EchoBlob& r, BlobReply& out) {
        out.data = r.data;
        return Status::ok;
    }
    Status handle(const rpc::Caller& c, const Raw& r, Empty&) {
        raw_conn = c.connection;
        raw_rounds = r.rounds;
        return Status::ok;
    }
    void closed(const rpc::Caller&) { ++closed_connections; }
};

Handler handler;
rpc::Server<Interface, Handler, 4> server(handler);

} // namespace

extern "C" int main(std::uint64_t clients) {
    if (const Status s = server.start("rpcbench"); s != Status::ok) {
        user::print("test-fail: rpcecho: register: {}", to_string(s));
        return 1;
    }
    for (std::uint64_t idle = 0; handler.closed_connections < (clients ? clients : 1);) {
        idle = server.poll() ? 0 : idle + 1;
        if (handler.raw_rounds) {
            rpc::Conn& c = server.connection(handler.raw_conn);
            user::line_echo(reinterpret_cast<volatile std::uint64_t*>(c.channel.rx_ring + user::bind_spare_offset),
                            reinterpret_cast<volatile std::uint64_t*>(c.channel.tx_ring + user::bind_spare_offset),
                            handler.raw_rounds);
            handler.raw_rounds = 0;
        }
        server.idle_step(idle);
    }
    return 0;
}
