// Program argument strings (lib/include/myr/args.hpp): the key=value parser every server uses.
#include <myr/args.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace myr::args {
namespace {

View find(const char* s, const char* key) { return value(s, std::strlen(s), key); }
std::string text(View v) { return v.found ? std::string(v.text, v.len) : std::string("<absent>"); }

TEST(Args, ValueOfKey) {
    EXPECT_EQ(text(find("node=3", "node")), "3");
    EXPECT_EQ(text(find("replicas=2 index=1", "index")), "1");
    EXPECT_EQ(text(find("  a=1   b=22  ", "b")), "22");
    EXPECT_EQ(text(find("mode=x tag=a:b=c", "tag")), "a:b=c");  // the first '=' splits
    EXPECT_EQ(text(find("a=1 a=2", "a")), "1");                 // the first word wins
    EXPECT_EQ(text(find("empty=", "empty")), "");
    EXPECT_TRUE(find("verbose", "verbose").found);              // a bare flag
}

TEST(Args, WholeWordsOnly) {
    EXPECT_EQ(text(find("replicas=2", "replica")), "<absent>");
    EXPECT_EQ(text(find("replicas=2 replica=1", "replica")), "1");
    EXPECT_EQ(text(find("xnode=1", "node")), "<absent>");
    EXPECT_EQ(text(find("", "node")), "<absent>");
    EXPECT_EQ(text(find("node=1", "")), "<absent>");
    // The length bounds the search: a key past it is not seen.
    EXPECT_FALSE(value("a=1 b=2", 3, "b").found);
    EXPECT_EQ(text(value("a=123", 4, "a")), "12");
}

TEST(Args, Numbers) {
    std::uint64_t n = 99;
    EXPECT_TRUE(number("replica=0 replicas=12", 21, "replicas", n));
    EXPECT_EQ(n, 12u);
    EXPECT_TRUE(number("replica=0 replicas=12", 21, "replica", n));
    EXPECT_EQ(n, 0u);
    n = 7;
    EXPECT_FALSE(number("a=", 2, "a", n));
    EXPECT_FALSE(number("a=1x", 4, "a", n));
    EXPECT_FALSE(number("a=-1", 4, "a", n));
    EXPECT_FALSE(number("a", 1, "a", n));
    EXPECT_FALSE(number("a=1234567890123456789", 21, "a", n));  // 19 digits: refused, not wrapped
    EXPECT_EQ(n, 7u);                                          // untouched on failure
}

TEST(Args, Decimal) {
    std::uint64_t v = 7;
    const char* p = "1234,5";
    EXPECT_TRUE(decimal(p, 10'000, v));
    EXPECT_EQ(v, 1234u);
    EXPECT_EQ(*p, ',');
    p = "10001";
    EXPECT_FALSE(decimal(p, 10'000, v));  // past the bound: refused, v untouched
    EXPECT_EQ(v, 1234u);
    p = "x1";
    EXPECT_FALSE(decimal(p, 10, v));
    EXPECT_TRUE(whole_decimal("60000", 60'000, v));
    EXPECT_EQ(v, 60'000u);
    EXPECT_FALSE(whole_decimal("60001", 60'000, v));
    EXPECT_FALSE(whole_decimal("12ms", 60'000, v));
    EXPECT_FALSE(whole_decimal("", 60'000, v));
    // Never wraps: 2^64 + 1 and longer are refused at the largest bound too.
    EXPECT_TRUE(whole_decimal("18446744073709551615", ~0ull, v));
    EXPECT_EQ(v, ~0ull);
    EXPECT_FALSE(whole_decimal("18446744073709551616", ~0ull, v));
    EXPECT_FALSE(whole_decimal("99999999999999999999999999", ~0ull, v));
    EXPECT_TRUE(whole_decimal("0", 0, v));
    EXPECT_EQ(v, 0u);
    EXPECT_FALSE(whole_decimal("1", 0, v));
}

TEST(Args, EqualsAndDecode) {
    EXPECT_TRUE(equals("spawn=any", 9, "spawn", "any"));
    EXPECT_FALSE(equals("spawn=anyx", 10, "spawn", "any"));
    EXPECT_FALSE(equals("spawn=an", 8, "spawn", "any"));
    EXPECT_FALSE(equals("x=any", 5, "spawn", "any"));
    char s[] = "role=kv,spawn=any";
    EXPECT_EQ(decode_commas(s, sizeof s - 1), sizeof s - 1);
    EXPECT_STREQ(s, "role=kv spawn=any");
}

} // namespace
} // namespace myr::args
