// The tutorial's counter server (docs/servers.md, "Write your own server"): the smallest complete
// server, built and tested like the others (qemu_tutorial_counter).
#include <myr/counter/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/server.hpp>

using namespace myr;

namespace {

struct Handler {
    std::uint64_t total = 0;
    Status handle(const rpc::Caller&, const counter::Add& r, counter::Total& out) {
        if (total + r.n < total) return Status::overflow;  // check every input
        out.total = total += r.n;
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const counter::Get&, counter::Total& out) {
        out.total = total;
        return Status::ok;
    }
};

Handler handler;
rpc::Server<counter::Interface, Handler> server(handler);

} // namespace

extern "C" int main(std::uint64_t) {
    if (nameserv::publish(server, "counter") != Status::ok) return 1;  // nameserv, or the monitors' table
    server.run([] { return false; });
    return 0;
}
