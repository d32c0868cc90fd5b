// A program that registers a kvstore replica's name while that replica is down and answers as it
// (docs/servers.md, "kvstore", "Who is a replica"; tests/qemu/configs/kvstore-impostor.toml).
// Argument R:
// - R > 0: holds "kvstore.R" for about 4 s as a server of kvstore's interface, answering stats
//   with a lie (more writes than anyone has, a history of its own) and counting every request.
//   The primary must refuse it as a backup: it prints `kvimpostor: held kvstore.R: N requests`,
//   and the test wants N = 0.
// - R = 0: registers "kvstore" (the primary's name) and sends backup kvstore.1 the first page of
//   a table (load, which clears the backup's table) and a write (apply): each must be refused
//   permission_denied: `kvimpostor: as the primary: load S, apply S`.
#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/rpc/server.hpp>

using namespace myr;
using namespace myr::kvstore;

namespace {

struct Handler {
    std::uint64_t requests = 0;
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        ++requests;
        out = {};
        out.applied = 1'000'000;
        out.writes = 1'000'000;
        out.history = 0x1badc0de;
        return Status::ok;
    }
    template <class Op>
    Status handle(const rpc::Caller&, const Op&, typename Op::Reply&) {
        ++requests;
        return Status::ok;  // whatever it is asked, it says done
    }
};
Handler handler;
rpc::Server<Interface, Handler> server(handler);

int as_backup(std::uint64_t r) {
    char name[16];
    FixedBuffer b(name, sizeof name);
    format_to(b, "kvstore.{}", r);
    if (const Status s = nameserv::publish(server, name); s != Status::ok) {
        user::print("test-fail: kvimpostor: cannot register {}: {}", name, to_string(s));
        return 1;
    }
    user::print("kvimpostor: holding {}", name);
    const std::uint64_t end = user::ticks() + 400;
    server.run([&] { return user::ticks() >= end; });
    user::print("kvimpostor: held {}: {} requests", name, handler.requests);
    return 0;
}

int as_primary() {
    if (const Status s = nameserv::publish(server, service); s != Status::ok) {
        user::print("test-fail: kvimpostor: cannot register {}: {}", service, to_string(s));
        return 1;
    }
    rpc::Client backup;
    if (const Status s = nameserv::connect(backup, "kvstore.1"); s != Status::ok) {
        user::print("test-fail: kvimpostor: cannot reach kvstore.1: {}", to_string(s));
        return 1;
    }
    Load load{};
    load.first = true;
    ApplyReply lr{};
    const Status ls = backup.call(load, lr);
    Apply apply{};
    apply.seq = 1;
    ApplyReply ar{};
    const Status as = backup.call(apply, ar);
    user::print("kvimpostor: as the primary: load {}, apply {}", to_string(ls), to_string(as));
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t arg) { return arg == 0 ? as_primary() : as_backup(arg); }
