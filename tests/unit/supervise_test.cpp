// Restart policies (myr/supervise.hpp): the kernel-word form both the config tool and the
// monitors read, and the decision after each crash (budget, window, backoff).
#include <myr/supervise.hpp>

#include <gtest/gtest.h>

#include <cstring>

using namespace myr::supervise;

namespace {
Policy parsed(const char* s) {
    Policy p{};
    p.max = 99;  // parse must overwrite everything on success
    EXPECT_TRUE(parse(s, std::strlen(s), p)) << s;
    return p;
}
bool refused(const char* s) {
    Policy p{Kind::always, 7, 7, 7};
    const bool ok = parse(s, std::strlen(s), p);
    EXPECT_EQ(p, (Policy{Kind::always, 7, 7, 7})) << "a refused policy must leave the output alone: " << s;
    return !ok;
}
} // namespace

TEST(Supervise, Parse) {
    EXPECT_EQ(parsed(""), Policy{});
    EXPECT_EQ(parsed("never"), Policy{});
    EXPECT_EQ(parsed("always"), (Policy{Kind::always, 0, 0, default_backoff_ms}));
    EXPECT_EQ(parsed("always@250"), (Policy{Kind::always, 0, 0, 250}));
    EXPECT_EQ(parsed("3/10000@50"), (Policy{Kind::budget, 3, 10000, 50}));
    EXPECT_EQ(parsed("16/3600000"), (Policy{Kind::budget, 16, 3600000, default_backoff_ms}));
    for (const char* bad : {"nev", "never@5", "alwaysx", "always@", "always@60001", "0/100", "17/100", "3/", "3/0", "/100",
                            "3/3600001", "3-100", "3/100@", "3/100@x", "3/100@5x", "99999999999999999999/1"})
        EXPECT_TRUE(refused(bad)) << bad;
}

TEST(Supervise, NeverRestarts) {
    History h;
    EXPECT_FALSE(h.on_crash(Policy{}, 0).restart);
}

TEST(Supervise, BudgetWithinWindowThenDown) {
    const Policy p{Kind::budget, 2, 10000, 50};
    History h;
    Decision d = h.on_crash(p, 1000);
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay_ms, 50u);  // first restart: the base
    d = h.on_crash(p, 1200);
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay_ms, 100u);  // then doubling
    d = h.on_crash(p, 1400);
    EXPECT_FALSE(d.restart);  // a third within 10 s: the budget is spent
    EXPECT_EQ(d.recent, 2u);
}

TEST(Supervise, BudgetRefillsAsTheWindowSlides) {
    const Policy p{Kind::budget, 2, 10000, 50};
    History h;
    EXPECT_TRUE(h.on_crash(p, 0).restart);
    EXPECT_TRUE(h.on_crash(p, 5000).restart);
    EXPECT_FALSE(h.on_crash(p, 9999).restart);   // both still inside the window
    const Decision d = h.on_crash(p, 10001);     // the first one left it
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.recent, 1u);
    EXPECT_EQ(d.delay_ms, 100u);
}

TEST(Supervise, AlwaysBacksOffAndCaps) {
    const Policy p{Kind::always, 0, 0, 10};
    History h;
    std::uint64_t last = 0;
    for (unsigned i = 0; i < 40; ++i) {
        const Decision d = h.on_crash(p, i);  // 40 crashes within a millisecond each
        ASSERT_TRUE(d.restart);
        last = d.delay_ms;
        EXPECT_LE(d.delay_ms, 10u << max_backoff_shift);
    }
    EXPECT_EQ(last, 10u << max_backoff_shift);
    // Quiet for longer than the window: back to the base delay.
    EXPECT_EQ(h.on_crash(p, 40 + always_window_ms).delay_ms, 10u);
}
