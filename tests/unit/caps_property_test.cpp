// Property test of the CapTable: random operation sequences (retype, copy, mint, move, remove,
// revoke, lookup) from many seeds, every step checked by the shared harness (invariants, failed
// operations change nothing, freed reports exact, revoke/remove touch only what they must).
#include <myr/caps/harness.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using myr::caps::testing::Harness;

TEST(CapsProperty, RandomSequencesKeepInvariants) {
    std::size_t ok = 0;
    std::size_t failed = 0;
    std::size_t fast = 0;
    std::map<std::string, std::size_t> by_op;
    for (std::uint32_t seed = 1; seed <= 300; ++seed) {
        std::mt19937 rng(seed);
        std::vector<std::uint8_t> bytes(7 * 400);
        for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
        Harness h;
        ASSERT_TRUE(h.run(bytes.data(), bytes.size())) << "seed " << seed << ": " << h.error();
        ok += h.ops_ok();
        failed += h.ops_failed();
        fast += h.fast_compared();
        for (const auto& [name, n] : h.ok_by_op()) by_op[name] += n;
    }
    for (const auto& [name, n] : by_op) std::printf("  %-8s ok %zu\n", name.c_str(), n);
    std::printf("  inline copy_checked / remove_copy compared with copy / remove: %zu\n", fast);
    // The generator must reach both outcomes often, or the test proves little.
    EXPECT_GT(ok, 10000u);
    EXPECT_GT(failed, 10000u);
    EXPECT_GT(fast, 500u);  // the kernel's inline copy and delete met the general ones often
    for (const char* name : {"retype", "copy", "mint", "move", "remove", "revoke", "pin", "install"}) EXPECT_GT(by_op[name], 500u) << name;
}

// Biased towards a deep tree: retype from the RAM untyped into free slots, copy chains, then
// revoke from the top. Slot bytes 10..23 (the harness maps them to those slots).
TEST(CapsProperty, DeepCopyChainsRevokeCleanly) {
    for (std::uint32_t seed = 1; seed <= 100; ++seed) {
        std::mt19937 rng(seed);
        Harness h;
        std::vector<std::uint8_t> ops;
        auto op = [&](std::uint8_t o, std::uint8_t a, std::uint8_t c, std::uint8_t x, std::uint8_t y, std::uint8_t z) {
            ops.insert(ops.end(), {o, a, c, x, y, z, 0});
        };
        op(0, 1, 10, 5, 0, 4);  // 4 endpoints from slot 2 (ram_a) into slots 10..13
        for (int i = 0; i < 200; ++i) {
            const auto src = static_cast<std::uint8_t>(10 + rng() % 14);
            const auto dst = static_cast<std::uint8_t>(10 + rng() % 14);
            op(static_cast<std::uint8_t>(2 + rng() % 2), src, dst, static_cast<std::uint8_t>(rng()),
               static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()));
            if (rng() % 10 == 0) op(5, static_cast<std::uint8_t>(10 + rng() % 14), 0, 0, 0, 0);
            if (rng() % 25 == 0) op(6, static_cast<std::uint8_t>(10 + rng() % 14), 0, 0, 0, 0);
        }
        op(6, 2, 0, 0, 0, 0);  // revoke the untyped: everything goes
        ASSERT_TRUE(h.run(ops.data(), ops.size())) << "seed " << seed << ": " << h.error();
        EXPECT_FALSE(h.table().has_children(2));
        EXPECT_EQ(h.table().cap(2).watermark(), 0u);
    }
}

} // namespace
