// The fault campaign's shared-key history check (tools/config/src/kv_history.cpp): kvhist lines
// from a boot log, checked with the simulation's linearizability checker.
#include <myr/config/kv_history.hpp>

#include <gtest/gtest.h>

#include <string>

namespace myr::config {
namespace {

std::string started(int core, int value, int inv) {
    return "[c" + std::to_string(core) + "/n0] kvload: kvhist core=" + std::to_string(core) + " op=put value=" +
           std::to_string(value) + " inv=" + std::to_string(inv) + "\r\n";
}
// A put's start and end lines (the serial log's CR LF on the first).
std::string put(int core, int value, const char* result, int inv, int res) {
    return started(core, value, inv) + "[c" + std::to_string(core) + "/n0] kvload: kvhist core=" + std::to_string(core) +
           " op=put value=" + std::to_string(value) + " result=" + result + " inv=" + std::to_string(inv) +
           " res=" + std::to_string(res) + "\n";
}
std::string get(int core, int value, const char* result, int inv, int res) {
    return "kvhist core=" + std::to_string(core) + " op=get value=" + std::to_string(value) + " result=" + result +
           " inv=" + std::to_string(inv) + " res=" + std::to_string(res) + "\n";
}

TEST(KvHistory, ConcurrentCallsInSomeOrder) {
    // 1 and 2 overlap: a read after both may see either, and one read in between sees 1.
    const std::string log = "boot noise\n" + put(1, 11, "ok", 0, 10) + put(2, 22, "ok", 5, 15) + get(3, 11, "ok", 12, 14) +
                            get(3, 22, "ok", 20, 21) + get(1, 22, "ok", 30, 31);
    const KvHistoryCheck c = check_kv_history(log);
    EXPECT_TRUE(c.problems.empty()) << c.problems.front();
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.calls, 5u);
    EXPECT_EQ(c.clients, 3u);
}

TEST(KvHistory, AStaleReadAfterACompletedPutIsCaught) {
    // 22 completed after 11 did; a read that begins after both ended cannot see 11.
    const std::string log = put(1, 11, "ok", 0, 10) + put(2, 22, "ok", 11, 15) + get(3, 11, "ok", 20, 25);
    const KvHistoryCheck c = check_kv_history(log);
    EXPECT_FALSE(c.linearizable);
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("not linearizable"), std::string::npos);
}

TEST(KvHistory, ALostAcknowledgedPutIsCaught) {
    // A put acknowledged, then the key read as absent: the write was lost (a replica restarted empty).
    const KvHistoryCheck c = check_kv_history(put(1, 11, "ok", 0, 10) + get(2, 0, "absent", 20, 30));
    EXPECT_FALSE(c.linearizable);
}

TEST(KvHistory, APutOfUnknownOutcomeMayHaveHappenedOrNot) {
    // Seen by a later read: it took effect.
    KvHistoryCheck c = check_kv_history(put(1, 11, "unknown", 0, 10) + get(2, 11, "ok", 50, 60));
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.unknown, 1u);
    // Never seen: it did not (or took effect after everything).
    c = check_kv_history(put(1, 11, "unknown", 0, 10) + get(2, 0, "absent", 50, 60));
    EXPECT_TRUE(c.linearizable);
    // But not before it began.
    c = check_kv_history(get(2, 11, "ok", 0, 5) + put(1, 11, "unknown", 10, 20));
    EXPECT_FALSE(c.linearizable);
}

TEST(KvHistory, APutWhoseClientDiedMidCallIsOpen) {
    // Started, never ended (its client was killed): seen, so it took effect, or never seen.
    KvHistoryCheck c = check_kv_history(started(3, 33, 0) + get(2, 33, "ok", 50, 60) + put(1, 11, "ok", 70, 80) +
                                        get(2, 11, "ok", 90, 95));
    EXPECT_TRUE(c.problems.empty());
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.unknown, 1u);
    EXPECT_EQ(c.calls, 4u);
    // But once 11 was read after 33, 33 cannot come back.
    c = check_kv_history(started(3, 33, 0) + get(2, 33, "ok", 50, 60) + put(1, 11, "ok", 70, 80) + get(2, 11, "ok", 90, 95) +
                         get(2, 33, "ok", 100, 110));
    EXPECT_FALSE(c.linearizable);
}

TEST(KvHistory, AnEndWithoutItsStartIsAProblem) {
    const KvHistoryCheck c = check_kv_history("kvhist core=1 op=put value=5 result=ok inv=1 res=3\n");
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("never started"), std::string::npos);
}

TEST(KvHistory, AValueNobodyPutIsCaught) {
    const KvHistoryCheck c = check_kv_history(put(1, 11, "ok", 0, 10) + get(2, 99, "ok", 20, 30));
    EXPECT_FALSE(c.linearizable);
}

TEST(KvHistory, MalformedLinesAreProblemsNotSkipped) {
    for (const std::string bad : {"kvhist core=1 op=get value=5 result=ok inv=9 res=3\n",     // ends before it began
                                  "kvhist core=1 op=del value=5 result=ok inv=1 res=3\n",     // no such op
                                  "kvhist core=1 op=get value=5 result=unknown inv=1 res=3\n",  // reads are known or absent
                                  "kvhist core=1 op=put value=0 inv=1\n",                     // 0 is never put
                                  "kvhist core=x op=get value=5 result=ok inv=1 res=3\n",
                                  "kvhist core=1 op=get value=5 result=ok inv=1\n",
                                  "kvhist core=1 op=put value=5 inv=1\nkvhist core=1 op=put value=5 inv=2\n"}) {
        const KvHistoryCheck c = check_kv_history(bad);
        EXPECT_EQ(c.problems.size(), 1u) << bad;
        EXPECT_FALSE(c.linearizable) << bad;
    }
}

TEST(KvHistory, ManyClientsInterleavedStayFast) {
    // 8 clients, 30 calls each, overlapping in pairs: linearizable, and checked without blowing up.
    std::string log;
    int last = 0;
    for (int round = 0; round < 30; ++round)
        for (int core = 1; core <= 8; ++core) {
            const int t = round * 100 + core * 10;
            if (round % 2 == 0) {
                const int v = core * 10'000 + round + 1;
                log += put(core, v, "ok", t, t + 15);
                if (core == 8) last = v;
            } else {
                log += get(core, last, "ok", t + 2, t + 4);
            }
        }
    const KvHistoryCheck c = check_kv_history(log);
    EXPECT_TRUE(c.problems.empty());
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.calls, 240u);
}

} // namespace
} // namespace myr::config
