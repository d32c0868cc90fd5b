// A client that ends without closing its connection (qemu_rpc_dead_clients): binds to the
// tutorial's counter, adds 1 and exits, leaving the server's end of the connection open. Enough
// of them once filled a server for good (its connections are few, 12 for the counter) and every
// later client waited at its monitor for ever; the runtime now drops the connections of clients
// that ended when it is full (rpc::Server::reap_dead).
#include <myr/counter/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;

namespace {
rpc::Client c;  // never closed: a static is not destroyed when the domain exits
}

extern "C" int main(std::uint64_t core) {
    if (const Status s = nameserv::connect(c, "counter"); s != Status::ok) {
        user::print("test-fail: rpc_leaver core {}: connect: {}", core, to_string(s));
        return 1;
    }
    counter::Total t{};
    if (const Status s = c.call(counter::Add{1}, t); s != Status::ok) {
        user::print("test-fail: rpc_leaver core {}: add: {}", core, to_string(s));
        return 1;
    }
    user::print("test-pass: rpc_leaver core {}", core);
    user::syscall6(abi::Sys::exit, 0);  // no close, no destructors
    return 0;
}
