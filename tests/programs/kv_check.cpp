// kvstore keeps what it acknowledged across crashes of its replicas (docs/servers.md, "kvstore",
// "Restart"; tests/qemu/configs/kvstore-restart.toml). Argument (the plan's spawn:kvcheck@C=ARG):
// ARG = 1..99: write keys k0..k19 with the value "r<ARG>-<i>" and print `kvcheck: wrote 20 keys
// round ARG` once every put was acknowledged; ARG = 100 + R: read every key and check it holds
// round R's value: `kvcheck: verified 20 of 20 keys round R` (test-fail lines name each miss);
// ARG = 200 + R: the same read from the backup kvstore.1 (`... round R on kvstore.1`), which
// answers busy until it caught up with the primary (asked again for up to 10 s). ARG + 1000 * N
// (N = 1..6): the same with keys k0..k(20N-1) (a larger table).
#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/user/heartbeat.hpp>

using namespace myr;

namespace {


void make(unsigned i, std::uint64_t round, kvstore::Key& k, kvstore::Value& v) {
    char kb[8], vb[24];
    FixedBuffer kf(kb, sizeof kb), vf(vb, sizeof vb);
    format_to(kf, "k{}", i);
    format_to(vf, "r{}-{}", round, i);
    k = {};
    v = {};
    (void)k.assign_cstr(kf.c_str());
    for (std::size_t n = 0; n < vf.size(); ++n) v.data[n] = static_cast<std::uint8_t>(vf.c_str()[n]);
    v.size = static_cast<std::uint16_t>(vf.size());
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    static rpc::Client kv;
    const unsigned keys = arg >= 1000 && arg < 7000 ? static_cast<unsigned>(arg / 1000) * 20 : 20;
    arg %= 1000;
    const bool backup = arg >= 200;
    const char* name = backup ? "kvstore.1" : kvstore::service;
    if (const Status s = nameserv::connect(kv, name); s != Status::ok) {
        user::print("test-fail: kvcheck: find {}: {}", name, to_string(s));
        return 1;
    }
    const bool verify = arg >= 100;
    const std::uint64_t round = backup ? arg - 200 : verify ? arg - 100 : arg;
    unsigned good = 0;
    for (unsigned i = 0; i < keys; ++i) {
        kvstore::Key k{};
        kvstore::Value v{};
        make(i, round, k, v);
        if (!verify) {
            kvstore::PutReply p{};
            if (const Status s = kv.call(kvstore::Put{k, v}, p); s != Status::ok) {
                user::print("test-fail: kvcheck: put k{}: {}", i, to_string(s));
                return 1;
            }
            ++good;
            continue;
        }
        kvstore::GetReply g{};
        Status s = kv.call(kvstore::Get{k}, g);
        user::Backoff pause;
        for (user::Deadline limit(1000); s == Status::busy && !limit.passed(); s = kv.call(kvstore::Get{k}, g))
            pause.wait();
        if (s == Status::ok && g.found && g.value == v) ++good;
        else user::print("test-fail: kvcheck: k{} lost or wrong after the crashes ({})", i, to_string(s));
    }
    if (verify) user::print("kvcheck: verified {} of {} keys round {}{}", good, keys, round, backup ? " on kvstore.1" : "");
    else user::print("kvcheck: wrote {} keys round {}", good, round);
    kv.close();
    return good == keys ? 0 : 1;
}
