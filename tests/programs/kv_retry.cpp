// A retried write is done once (docs/servers.md, "Retries"; tests/qemu/configs/kvstore-retry.toml):
// a counter in kvstore raised ARG times by compare-and-swap (read it, swap in value + 1 if its
// version is still the one read). kvstore's primary is told to crash once after forwarding its
// third write to the backup and before answering it (crash_after=3). The runtime sees the
// connection lost, binds again to the restarted primary (which took the table and the kept
// answers from the backup) and sends the same request, which is answered as it was the first
// time. Done twice, the swap would fail (the version moved), we would read and swap again, and the
// counter would end one too high. Prints `kvretry: counter N after ARG increments, R retried, C
// conflicts`, with the primary's count of writes answered from kept answers.
#include "kv_numbers.hpp"

#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;
using kvtest::number_of;
using kvtest::value_of;

namespace {

kvstore::Key counter_key() {
    kvstore::Key k{};
    (void)k.assign_cstr("counter");
    return k;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t increments = arg == 0 ? 8 : arg;
    static rpc::Client kv;
    if (const Status s = nameserv::connect(kv, kvstore::service); s != Status::ok) {
        user::print("test-fail: kvretry: find kvstore: {}", to_string(s));
        return 1;
    }
    std::uint64_t conflicts = 0;
    for (std::uint64_t done = 0; done < increments;) {
        kvstore::GetReply g{};
        Status s = kv.call(kvstore::Get{counter_key()}, g);
        if (s != Status::ok && s != Status::not_found) {
            user::print("test-fail: kvretry: get: {}", to_string(s));
            return 1;
        }
        kvstore::Cas c{};
        c.key = counter_key();
        c.expected = g.found ? g.version : 0;
        c.value = value_of((g.found ? number_of(g.value) : 0) + 1);
        kvstore::CasReply r{};
        s = kv.call(c, r);
        if (s != Status::ok) {
            user::print("test-fail: kvretry: cas: {}", to_string(s));
            return 1;
        }
        if (r.swapped) ++done;
        else ++conflicts;  // nobody else writes the counter: a swap done twice looks like this
    }
    kvstore::GetReply g{};
    const Status s = kv.call(kvstore::Get{counter_key()}, g);
    const std::uint64_t final_value = s == Status::ok ? number_of(g.value) : 0;
    kvstore::StatsReply st{};
    (void)kv.call(kvstore::Stats{}, st);
    user::print("kvretry: counter {} after {} increments, {} retried, {} conflicts, {} answered again", final_value,
                increments, kv.retried(), conflicts, st.replayed);
    kv.close();
    if (final_value != increments || conflicts != 0) {
        user::print("test-fail: kvretry: the counter is {} (want {}), {} swaps failed", final_value, increments, conflicts);
        return 1;
    }
    return 0;
}
