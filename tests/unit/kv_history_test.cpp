// The fault campaign's key history check (tools/config/src/kv_history.cpp): kvhist lines from a
// boot log, checked key by key with the simulation's linearizability checker.
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
                                  // a client's next call cannot begin before its last one
                                  "kvhist core=1 op=put value=5 inv=2\nkvhist core=1 op=put value=6 inv=1\n",
                                  "kvhist core=1 key=a op=cas value=5 inv=1\n",  // a cas without expect
                                  "kvhist core=1 key=a op=cas expect=0 value=5 result=maybe inv=1 res=2\n",
                                  "kvhist core=1 op=get value=0 result=ok inv=1 res=3\n",  // found, but absent
                                  // the end of another call than the one open
                                  "kvhist core=1 key=a op=put value=5 inv=1\nkvhist core=1 key=b op=put value=5 "
                                  "result=ok inv=1 res=2\n"}) {
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

// ---- Every key: the clients' own keys, compare-and-swap and transactions ----

std::string kv(int core, const std::string& key, const std::string& rest) {
    return "[c" + std::to_string(core) + "/n0] kvload: kvhist core=" + std::to_string(core) + " key=" + key + " " + rest +
           "\r\n";
}
// A compare-and-swap's start and end.
std::string cas(int core, const std::string& key, int expect, int value, const char* result, int inv, int res) {
    const std::string what = "op=cas expect=" + std::to_string(expect) + " value=" + std::to_string(value);
    return kv(core, key, what + " inv=" + std::to_string(inv)) +
           kv(core, key, what + " result=" + result + " inv=" + std::to_string(inv) + " res=" + std::to_string(res));
}
std::string kget(int core, const std::string& key, int value, int inv, int res) {
    return kv(core, key, "op=get value=" + std::to_string(value) + " result=" + (value ? "ok" : "absent") +
                             " inv=" + std::to_string(inv) + " res=" + std::to_string(res));
}

TEST(KvHistoryKeys, EachKeyIsCheckedOnItsOwn) {
    // Two counters raised by compare-and-swap, interleaved, and the shared key: three histories.
    const std::string log = kget(1, "c1", 0, 0, 1) + kget(2, "c2", 0, 0, 1) + cas(1, "c1", 0, 1, "ok", 2, 5) +
                            cas(2, "c2", 0, 1, "ok", 3, 6) + kget(1, "c1", 1, 7, 8) + put(3, 11, "ok", 7, 9) +
                            cas(1, "c1", 1, 2, "ok", 9, 12) + kget(2, "c2", 1, 9, 10) + kget(1, "c1", 2, 13, 14) +
                            get(3, 11, "ok", 15, 16);
    const KvHistoryCheck c = check_kv_history(log);
    EXPECT_TRUE(c.problems.empty()) << c.problems.front();
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.keys, 3u);
    EXPECT_EQ(c.calls, 10u);
    EXPECT_EQ(c.clients, 3u);
}

TEST(KvHistoryKeys, AStaleReadOfOneKeyIsCaughtAndNamed) {
    // c1 was raised to 2, then read as 1: a replica served a table behind the acknowledged writes.
    const KvHistoryCheck c = check_kv_history(cas(1, "c1", 0, 1, "ok", 0, 5) + cas(1, "c1", 1, 2, "ok", 6, 9) +
                                              kget(1, "c1", 1, 10, 11) + kget(2, "c2", 0, 0, 1));
    EXPECT_FALSE(c.linearizable);
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("key c1 "), std::string::npos) << c.problems[0];
}

TEST(KvHistoryKeys, ACompareAndSwapMustMatchTheValue) {
    // Swapped although the key held 1, not 5: a write applied to the wrong state.
    EXPECT_FALSE(check_kv_history(cas(1, "k", 0, 1, "ok", 0, 5) + cas(1, "k", 5, 6, "ok", 6, 9)).linearizable);
    // Refused although the key held what it expected: the write was done before (a resend done twice).
    EXPECT_FALSE(check_kv_history(cas(1, "k", 0, 1, "ok", 0, 5) + cas(1, "k", 1, 2, "failed", 6, 9)).linearizable);
    // Refused because it did not hold it: fine.
    EXPECT_TRUE(check_kv_history(cas(1, "k", 0, 1, "ok", 0, 5) + cas(1, "k", 0, 2, "failed", 6, 9)).linearizable);
}

TEST(KvHistoryKeys, ACompareAndSwapOfUnknownOutcomeAndTheRetryAfterIt) {
    // The client's swap 1 -> 2 failed after retries; it read 1 again and swapped 1 -> 2 again:
    // fine whether the first took effect (then the second... failed) or not.
    const std::string first = cas(1, "c", 0, 1, "ok", 0, 2) + cas(1, "c", 1, 2, "unknown", 3, 6);
    EXPECT_TRUE(check_kv_history(first + kget(1, "c", 1, 7, 8) + cas(1, "c", 1, 2, "ok", 9, 10)).linearizable);
    EXPECT_TRUE(check_kv_history(first + kget(1, "c", 2, 7, 8)).linearizable);
    // But a value read that nothing wrote is not.
    EXPECT_FALSE(check_kv_history(first + kget(1, "c", 3, 7, 8)).linearizable);
    // A swap whose client died mid-call (start only) is open too.
    const KvHistoryCheck c = check_kv_history(cas(1, "c", 0, 1, "ok", 0, 2) +
                                              kv(1, "c", "op=cas expect=1 value=2 inv=3") + kget(2, "c", 2, 9, 10));
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.unknown, 1u);
}

// A two-key transaction's writes as a client prints them: both starts, the call, both ends.
std::string txn2(int core, int a_expect, int a_value, const char* a_result, int b_expect, int b_value,
                 const char* b_result, int inv, int res) {
    const auto what = [](int e, int v) { return "op=cas expect=" + std::to_string(e) + " value=" + std::to_string(v); };
    const std::string a = what(a_expect, a_value), b = what(b_expect, b_value), c = std::to_string(core);
    const std::string times = " inv=" + std::to_string(inv) + " res=" + std::to_string(res);
    return kv(core, "ta" + c, a + " inv=" + std::to_string(inv)) + kv(core, "tb" + c, b + " inv=" + std::to_string(inv)) +
           kv(core, "ta" + c, a + " result=" + a_result + times) + kv(core, "tb" + c, b + " result=" + b_result + times);
}

TEST(KvHistoryKeys, ATransactionIsCheckedKeyByKeyAndVoidSaysNothing) {
    // A transaction read ta=999, tb=1 together, then moved one unit (both swaps committed).
    const std::string moved = kget(1, "ta1", 999, 0, 2) + kget(1, "tb1", 1, 0, 2) + txn2(1, 999, 998, "ok", 1, 2, "ok", 3, 6);
    const std::string before = cas(1, "ta1", 0, 999, "ok", 0, 0) + cas(1, "tb1", 0, 1, "ok", 0, 0);
    KvHistoryCheck c = check_kv_history(before + moved);
    EXPECT_TRUE(c.linearizable) << (c.problems.empty() ? "" : c.problems.front());
    EXPECT_EQ(c.keys, 2u);
    // One that failed on tb's check: failed for tb, void (left out) for ta.
    c = check_kv_history(before + txn2(1, 999, 998, "void", 5, 6, "failed", 3, 6) + kget(1, "ta1", 999, 7, 8));
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.calls, 4u);
    // Both committed, but ta read back unchanged: half a transaction.
    c = check_kv_history(before + txn2(1, 999, 998, "ok", 1, 2, "ok", 3, 6) + kget(1, "ta1", 999, 7, 8) +
                         kget(1, "tb1", 2, 7, 8));
    EXPECT_FALSE(c.linearizable);
    // A transaction whose client died before its end: both writes open.
    const std::string cut = kv(1, "ta1", "op=cas expect=999 value=998 inv=3") + kv(1, "tb1", "op=cas expect=1 value=2 inv=3");
    c = check_kv_history(before + cut + kget(2, "ta1", 998, 7, 8) + kget(2, "tb1", 2, 7, 8));
    EXPECT_TRUE(c.linearizable);
    EXPECT_EQ(c.unknown, 2u);
}

} // namespace
} // namespace myr::config
