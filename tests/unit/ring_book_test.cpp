// RingBook (monitor/include/myr/monitor/ring_book.hpp): when a binding's ring may be used again.
// The fixed cases walk each way a binding ends; the random one plays two cores' books against each
// other through every interleaving a seed picks and checks that a ring is freed exactly when no
// reference to it is left on either core, never before.
#include <myr/monitor/ring_book.hpp>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

using myr::monitor::RingBook;

namespace {

constexpr std::uint64_t base0 = 0x100000, base1 = 0x200000, pool = 16 * 4096;

struct Books {
    RingBook a, b;  // core 0 and core 1
    Books() {
        a.init(0, base0, pool, 12);
        b.init(1, base1, pool, 12);
    }
};

TEST(RingBook, CrossCoreBindingFreedOnlyWhenBothCoresAreDone) {
    Books k;
    const std::uint64_t r = k.a.allocate(1, {0, 7, true});
    ASSERT_EQ(r, base0);
    EXPECT_EQ(k.a.in_use(), 1u);
    ASSERT_TRUE(k.b.ref(r, 0));  // core 1 keeps the address (tx_phys)
    const std::uint64_t h = k.a.hold(7, r);  // the client took its ring
    ASSERT_NE(h, 0u);
    EXPECT_EQ(k.a.release(8, h), 0u) << "another domain's handle";
    EXPECT_EQ(k.a.release(7, h ^ (std::uint64_t{1} << 16)), 0u) << "another serial";
    ASSERT_EQ(k.a.release(7, h), r);
    EXPECT_EQ(k.a.release(7, h), 0u) << "given back twice";
    RingBook::Done d = k.a.unref(r);
    EXPECT_TRUE(d.reclaim);
    EXPECT_FALSE(d.freed) << "core 1 may still write into it";
    EXPECT_EQ(k.a.in_use(), 1u);
    d = k.b.unref(r);
    EXPECT_TRUE(d.reclaim);
    EXPECT_EQ(d.notify, 0u);
    EXPECT_EQ(k.b.foreign(), 0u);
    bool bad = true;
    d = k.a.peer_done(1, r, bad);
    EXPECT_FALSE(bad);
    EXPECT_TRUE(d.freed);
    EXPECT_EQ(d.charge.domain, 7u);
    EXPECT_TRUE(d.charge.own_record);
    EXPECT_EQ(k.a.in_use(), 0u);
    k.a.peer_done(1, r, bad);
    EXPECT_TRUE(bad) << "a second ring_gone";
}

TEST(RingBook, PeerDoneFirstThenLocal) {
    Books k;
    const std::uint64_t r = k.a.allocate(1, {});
    bool bad = true;
    EXPECT_FALSE(k.a.peer_done(1, r, bad).freed);
    EXPECT_FALSE(bad);
    const RingBook::Done d = k.a.unref(r);
    EXPECT_TRUE(d.reclaim);
    EXPECT_TRUE(d.freed);
}

TEST(RingBook, RingGoneFromTheWrongCoreOrForNoRingIsRefused) {
    Books k;
    const std::uint64_t r = k.a.allocate(1, {});
    bool bad = false;
    k.a.peer_done(2, r, bad);
    EXPECT_TRUE(bad);
    k.a.peer_done(1, r + 4096, bad);
    EXPECT_TRUE(bad) << "a ring not in use";
    k.a.peer_done(1, r + 1, bad);
    EXPECT_TRUE(bad) << "not a ring's address";
    k.a.peer_done(1, base1, bad);
    EXPECT_TRUE(bad) << "not our pool";
    EXPECT_EQ(k.a.refs(r), 1u);
}

TEST(RingBook, RefusedBindFreesAtOnce) {
    Books k;
    const std::uint64_t r = k.a.allocate(1, {});
    EXPECT_FALSE(k.a.peer_never(r).freed);  // our slot still holds it
    const RingBook::Done d = k.a.unref(r);
    EXPECT_TRUE(d.freed);
    EXPECT_EQ(d.notify, RingBook::none);
}

TEST(RingBook, SameCoreBindingNeedsNoLine) {
    Books k;
    const std::uint64_t r = k.a.allocate(0, {});  // the kept original
    ASSERT_TRUE(k.a.ref(r, 0));                   // the copy for the other end
    EXPECT_FALSE(k.a.unref(r).reclaim);
    const RingBook::Done d = k.a.unref(r);
    EXPECT_TRUE(d.reclaim);
    EXPECT_TRUE(d.freed);
    EXPECT_EQ(d.notify, RingBook::none);
}

TEST(RingBook, CoreLostFreesWhatItHeld) {
    Books k;
    const std::uint64_t r1 = k.a.allocate(1, {}), r2 = k.a.allocate(1, {}), r3 = k.a.allocate(2, {});
    k.a.unref(r1);  // ours gone, core 1 still holds it
    ASSERT_TRUE(k.a.ref(base1, 1));  // a ring of core 1's pool referenced here
    std::vector<std::uint64_t> freed;
    k.a.core_lost(1, [&](const RingBook::Done& d) { freed.push_back(d.phys); });
    EXPECT_EQ(freed, std::vector<std::uint64_t>{r1});
    EXPECT_TRUE(k.a.unref(r2).freed);
    EXPECT_FALSE(k.a.unref(r3).freed) << "core 2 still holds it";
    const RingBook::Done d = k.a.unref(base1);
    EXPECT_TRUE(d.reclaim);
    EXPECT_EQ(d.notify, RingBook::none) << "no line to a removed core";
}

TEST(RingBook, PoolExhaustsAndNextFitReusesLast) {
    Books k;
    std::vector<std::uint64_t> got;
    for (unsigned i = 0; i < 16; ++i) got.push_back(k.a.allocate(1, {}));
    EXPECT_EQ(k.a.allocate(1, {}), 0u);
    bool bad = false;
    k.a.unref(got[3]);
    EXPECT_TRUE(k.a.peer_done(1, got[3], bad).freed);
    EXPECT_EQ(k.a.allocate(1, {}), got[3]);
    k.a.unref(got[1]);
    k.a.peer_never(got[1]);
    k.a.unref(got[5]);
    k.a.peer_never(got[5]);
    EXPECT_EQ(k.a.allocate(1, {}), got[5]) << "next fit: after the last one handed out";
    EXPECT_EQ(k.a.allocate(1, {}), got[1]);
}

TEST(RingBook, ForeignOwnerMustMatchAndTableIsBounded) {
    Books k;
    ASSERT_TRUE(k.b.ref(base0, 0));
    EXPECT_FALSE(k.b.ref(base0, 2)) << "the same address from another owner";
    EXPECT_FALSE(k.b.ref(base1, 1)) << "our own ring, not in use";
    EXPECT_FALSE(k.b.ref(0, 0));
    for (unsigned i = 1; i < RingBook::max_foreign; ++i) ASSERT_TRUE(k.b.ref(base0 + i * 4096ull, 0));
    EXPECT_FALSE(k.b.ref(0x900000, 0)) << "full";
    EXPECT_EQ(k.b.unref(0x900000).reclaim, false) << "never counted";
}

TEST(RingBook, DomainEndReleasesEveryHold) {
    Books k;
    const std::uint64_t r1 = k.a.allocate(1, {}), r2 = k.a.allocate(1, {});
    k.a.hold(7, r1);
    k.a.hold(7, r2);
    const std::uint64_t other = k.a.hold(9, r1);
    std::vector<std::uint64_t> back;
    k.a.release_domain(7, [&](std::uint64_t p) { back.push_back(p); });
    EXPECT_EQ(back, (std::vector<std::uint64_t>{r1, r2}));
    EXPECT_EQ(k.a.release(9, other), r1) << "another domain's hold stays";
    EXPECT_EQ(k.a.holds_free(), RingBook::max_holds);
}

TEST(RingBook, HoldTableFullAnswersZero) {
    Books k;
    const std::uint64_t r = k.a.allocate(1, {});
    for (unsigned i = 0; i < RingBook::max_holds; ++i) ASSERT_NE(k.a.hold(1, r), 0u);
    EXPECT_EQ(k.a.hold(1, r), 0u);
    EXPECT_EQ(k.a.holds_free(), 0u);
}

// Two cores, bindings between them set up and torn down in random orders: each core's references
// and the lines between them are played one step at a time. A ring is freed at most once, never
// while any reference to it remains on either core, and every ring is free at the end.
TEST(RingBook, RandomInterleavingsFreeExactlyWhenNothingIsLeft) {
    for (unsigned seed = 1; seed <= 200; ++seed) {
        std::mt19937 rng(seed);
        Books k;
        RingBook* book[2] = {&k.a, &k.b};
        std::map<std::uint64_t, int> refs[2];  // the model: references per core per ring
        std::map<std::uint64_t, bool> live;    // rings allocated and not yet freed (owner's view)
        std::vector<std::pair<unsigned, std::uint64_t>> lines;  // ring_gone in flight: (to, phys)
        std::uint64_t frees = 0, allocs = 0;
        const auto owner = [](std::uint64_t p) { return p >= base1 ? 1u : 0u; };
        const auto apply = [&](unsigned c, const RingBook::Done& d) {
            if (d.notify != RingBook::none) lines.push_back({d.notify, d.phys});
            if (d.freed) {
                ASSERT_TRUE(live[d.phys]) << "seed " << seed;
                ASSERT_EQ(refs[0][d.phys] + refs[1][d.phys], 0) << "freed while held, seed " << seed;
                for (const auto& l : lines) ASSERT_FALSE(l.first == c && l.second == d.phys) << "line still in flight";
                live[d.phys] = false;
                ++frees;
            }
        };
        for (unsigned step = 0; step < 2000; ++step) {
            const unsigned c = rng() % 2, what = rng() % 4;
            if (what == 0) {  // a binding: our ring, one reference here and one at the peer
                const std::uint64_t p = book[c]->allocate(1 - c, {});
                if (!p) continue;
                ++allocs;
                live[p] = true;
                refs[c][p] = 1;
                if (rng() % 4 == 0) {  // refused: the peer never hears of it
                    apply(c, book[c]->peer_never(p));
                } else {
                    ASSERT_TRUE(book[1 - c]->ref(p, c));
                    refs[1 - c][p] = 1;
                }
            } else if (what == 1) {  // another reference on some core (a copy, a hold)
                std::vector<std::uint64_t> held;
                for (const auto& [p, n] : refs[c])
                    if (n > 0) held.push_back(p);
                if (held.empty()) continue;
                const std::uint64_t p = held[rng() % held.size()];
                ASSERT_TRUE(book[c]->ref(p, owner(p)));
                ++refs[c][p];
            } else if (what == 2) {  // a reference goes
                std::vector<std::uint64_t> held;
                for (const auto& [p, n] : refs[c])
                    if (n > 0) held.push_back(p);
                if (held.empty()) continue;
                const std::uint64_t p = held[rng() % held.size()];
                --refs[c][p];
                const RingBook::Done d = book[c]->unref(p);
                ASSERT_EQ(d.reclaim, refs[c][p] == 0);
                apply(c, d);
            } else if (!lines.empty()) {  // a line arrives (any order: lines of distinct rings commute)
                const std::size_t i = rng() % lines.size();
                const auto [to, p] = lines[i];
                lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
                bool bad = true;
                const RingBook::Done d = book[to]->peer_done(1 - to, p, bad);
                ASSERT_FALSE(bad) << "seed " << seed;
                apply(to, d);
            }
        }
        // Everything left goes, then the lines arrive.
        for (unsigned c = 0; c < 2; ++c)
            for (auto& [p, n] : refs[c])
                while (n > 0) {
                    --n;
                    apply(c, book[c]->unref(p));
                }
        while (!lines.empty()) {
            const auto [to, p] = lines.back();
            lines.pop_back();
            bool bad = true;
            apply(to, book[to]->peer_done(1 - to, p, bad));
            ASSERT_FALSE(bad);
        }
        EXPECT_EQ(frees, allocs) << "seed " << seed;
        EXPECT_EQ(k.a.in_use() + k.b.in_use(), 0u) << "seed " << seed;
        EXPECT_EQ(k.a.foreign() + k.b.foreign(), 0u);
    }
}

} // namespace
