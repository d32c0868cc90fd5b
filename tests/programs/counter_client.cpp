// The tutorial's client (docs/servers.md, "Write your own server"): adds its core number + 1 to
// the counter and checks the answers only grow; an add that would overflow is refused.
#include <myr/counter/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;

extern "C" int main(std::uint64_t core) {
    rpc::Client c;
    if (nameserv::connect(c, "counter") != Status::ok) return 1;  // nameserv, or the monitors' table
    counter::Total t{}, before{};
    if (c.call(counter::Get{}, before) != Status::ok) return 1;
    const Status s = c.call(counter::Add{core + 1}, t);
    if (s != Status::ok || t.total < before.total + core + 1) {
        user::print("test-fail: counter_client core {}: add: {} total {}", core, to_string(s), t.total);
        return 1;
    }
    const std::uint64_t total = t.total;
    if (c.call(counter::Add{~0ull}, t) != Status::overflow) {
        user::print("test-fail: counter_client core {}: an overflowing add was not refused", core);
        return 1;
    }
    c.close();
    user::print("test-pass: counter_client core {} total {}", core, total);
    return 0;
}
