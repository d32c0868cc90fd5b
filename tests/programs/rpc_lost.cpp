// A server that dies in the middle of a call (`rpcdier`) and its client (`rpclost`): the client's
// call must end with connection_lost (its monitor's death feed reports the server's end), not wait
// for the runtime's timeout, and a later call on that connection is connection_lost at once.
#include "../../bench/servers/interface.hpp"

#include <myr/rpc/guest.hpp>
#include <myr/rpc/server.hpp>

using namespace myr;
using namespace myr::rpcbench;

namespace {

#if MYRIAD_RPCLOST_ROLE == 0
struct Handler {
    Status handle(const rpc::Caller&, const Echo& r, EchoReply& out) {
        if (r.v == 666) user::exit(0);  // dies with the request unanswered
        out.v = r.v;
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const EchoBlob&, BlobReply&) { return Status::unsupported; }
    Status handle(const rpc::Caller&, const Raw&, Empty&) { return Status::unsupported; }
};
Handler handler;
rpc::Server<Interface, Handler, 2> server(handler);
#endif

} // namespace

extern "C" int main(std::uint64_t) {
#if MYRIAD_RPCLOST_ROLE == 0
    if (server.start("dier") != Status::ok) return 1;
    server.run([] { return false; });
    return 0;
#else
    rpc::Client c;
    if (const Status s = c.connect("dier"); s != Status::ok) {
        user::print("test-fail: rpclost: connect: {}", to_string(s));
        return 1;
    }
    EchoReply r{};
    if (const Status s = c.call(Echo{1}, r); s != Status::ok || r.v != 1) {
        user::print("test-fail: rpclost: first echo: {}", to_string(s));
        return 1;
    }
    c.timeout_ticks = 100000;  // about 1000 s: only the death feed can end this call in time
    const std::uint64_t t0 = user::rdtsc();
    const Status s = c.call(Echo{666}, r);
    const std::uint64_t ticks = user::rdtsc() - t0;
    const Status again = c.call(Echo{2}, r);
    if (s != Status::connection_lost || again != Status::connection_lost) {
        user::print("test-fail: rpclost: the call to a dead server ended {} then {}", to_string(s), to_string(again));
        return 1;
    }
    user::print("test-pass: rpclost: connection_lost after {} ticks, then at once", ticks);
    return 0;
#endif
}
