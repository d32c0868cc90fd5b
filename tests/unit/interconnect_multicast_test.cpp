// Multicast schedules from distance matrices: 2, 4 and 8 nodes, plus the sequential baseline.
#include <myr/urpc/multicast.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace myr::urpc {
namespace {

std::vector<std::uint16_t> cores_per_node(std::uint32_t nodes, std::uint32_t per_node) {
    std::vector<std::uint16_t> m;
    for (std::uint32_t n = 0; n < nodes; ++n)
        for (std::uint32_t c = 0; c < per_node; ++c) m.push_back(static_cast<std::uint16_t>(n));
    return m;
}

// Every core but the root has exactly one parent, reachable from the root.
void expect_spanning(const MulticastTree& t) {
    std::set<std::uint32_t> reached{t.root()};
    std::vector<std::uint32_t> todo{t.root()};
    while (!todo.empty()) {
        const std::uint32_t c = todo.back();
        todo.pop_back();
        for (std::uint16_t k : t.children(c)) {
            EXPECT_EQ(t.parent(k), c);
            EXPECT_TRUE(reached.insert(k).second) << "core " << k << " reached twice";
            todo.push_back(k);
        }
    }
    EXPECT_EQ(reached.size(), t.cores());
    EXPECT_EQ(t.parent(t.root()), no_parent);
}

TEST(UrpcMulticast, TwoNodes) {
    const std::vector<std::uint8_t> d = {10, 21, 21, 10};
    const auto map = cores_per_node(2, 4);
    MulticastTree t;
    ASSERT_EQ(build_multicast_tree(MulticastInput{d, 2, map, 1}, t), Status::ok);
    expect_spanning(t);
    // The root (core 1, node 0) sends first to node 1's representative (core 4), then locally.
    const auto root_children = t.children(1);
    ASSERT_EQ(root_children.size(), 4u);
    EXPECT_EQ(root_children[0], 4);
    EXPECT_EQ(t.children(4).size(), 3u);
    EXPECT_EQ(t.cross_node_messages(map), 1u);
    EXPECT_EQ(t.depth(), 2u);
    // Core 7 is the third send of core 4, which got its message in step 1.
    EXPECT_EQ(t.step(7), 4u);
    EXPECT_EQ(t.critical_path_sends(), 4u);
}

TEST(UrpcMulticast, FourNodesFarthestFirst) {
    // A ring-like machine: node 0 is 16 from 1 and 3, 22 from 2.
    const std::vector<std::uint8_t> d = {10, 16, 22, 16,  //
                                         16, 10, 16, 22,  //
                                         22, 16, 10, 16,  //
                                         16, 22, 16, 10};
    const auto map = cores_per_node(4, 2);
    MulticastTree t;
    ASSERT_EQ(build_multicast_tree(MulticastInput{d, 4, map, 0}, t), Status::ok);
    expect_spanning(t);
    const auto rc = t.children(0);
    ASSERT_EQ(rc.size(), 4u);
    EXPECT_EQ(rc[0], 4);  // node 2, the farthest
    EXPECT_EQ(rc[1], 2);  // node 1
    EXPECT_EQ(rc[2], 6);  // node 3
    EXPECT_EQ(rc[3], 1);  // local
    EXPECT_EQ(t.cross_node_messages(map), 3u);
}

TEST(UrpcMulticast, EightNodesBeatsSequential) {
    std::vector<std::uint8_t> d(64);
    for (std::uint32_t a = 0; a < 8; ++a)
        for (std::uint32_t b = 0; b < 8; ++b)
            d[a * 8 + b] = static_cast<std::uint8_t>(a == b ? 10 : (a / 4 == b / 4 ? 16 : 32));
    const auto map = cores_per_node(8, 8);
    MulticastTree tree;
    ASSERT_EQ(build_multicast_tree(MulticastInput{d, 8, map, 9}, tree), Status::ok);
    expect_spanning(tree);
    EXPECT_EQ(tree.cross_node_messages(map), 7u);
    EXPECT_EQ(tree.depth(), 2u);
    // The four nodes of the other socket come first.
    for (std::size_t i = 0; i < 4; ++i) EXPECT_GE(map[tree.children(9)[i]], 4);

    MulticastTree seq;
    ASSERT_EQ(build_sequential_unicast(64, 9, seq), Status::ok);
    expect_spanning(seq);
    EXPECT_EQ(seq.cross_node_messages(map), 56u);
    EXPECT_EQ(seq.depth(), 1u);
    EXPECT_EQ(seq.critical_path_sends(), 63u);
    // Root: 7 remote + 7 local sends; the last remote rep (step 7) then sends 7: 14.
    EXPECT_EQ(tree.critical_path_sends(), 14u);
}

TEST(UrpcMulticast, OneCoreAndUnevenNodes) {
    const std::vector<std::uint8_t> d = {10, 20, 20, 10};
    MulticastTree t;
    const std::vector<std::uint16_t> one = {0};
    ASSERT_EQ(build_multicast_tree(MulticastInput{std::span(d).first(1), 1, one, 0}, t), Status::ok);
    EXPECT_EQ(t.children(0).size(), 0u);
    EXPECT_EQ(t.critical_path_sends(), 0u);
    // Node 1 has no cores at all; node 0 has three.
    const std::vector<std::uint16_t> map = {0, 0, 0};
    ASSERT_EQ(build_multicast_tree(MulticastInput{d, 2, map, 2}, t), Status::ok);
    expect_spanning(t);
    EXPECT_EQ(t.children(2).size(), 2u);
}

TEST(UrpcMulticast, RejectsBadInput) {
    const std::vector<std::uint8_t> d = {10, 20, 20, 10};
    const std::vector<std::uint16_t> map = {0, 1, 2};
    MulticastTree t;
    EXPECT_EQ(build_multicast_tree(MulticastInput{d, 2, map, 0}, t), Status::invalid_argument);
    const std::vector<std::uint16_t> ok_map = {0, 1};
    EXPECT_EQ(build_multicast_tree(MulticastInput{d, 2, ok_map, 2}, t), Status::invalid_argument);
    EXPECT_EQ(build_multicast_tree(MulticastInput{std::span(d).first(3), 2, ok_map, 0}, t),
              Status::invalid_argument);
    EXPECT_EQ(build_multicast_tree(MulticastInput{d, 2, {}, 0}, t), Status::invalid_argument);
    EXPECT_EQ(build_sequential_unicast(0, 0, t), Status::invalid_argument);
    EXPECT_EQ(build_sequential_unicast(300, 0, t), Status::invalid_argument);
}

// A tree over a membership: cores left out of the live mask get no parent and no children; a
// node whose representative is out is reached through its next-lowest core.
TEST(UrpcMulticast, LiveMaskLeavesCoresOut) {
    const std::vector<std::uint8_t> d = {10, 21, 21, 10};
    const auto map = cores_per_node(2, 4);
    std::uint64_t live[1] = {0xff & ~(std::uint64_t{1} << 4) & ~(std::uint64_t{1} << 2)};
    MulticastTree t;
    ASSERT_EQ(build_multicast_tree(MulticastInput{d, 2, map, 0, live}, t), Status::ok);
    EXPECT_FALSE(t.reaches(4));
    EXPECT_FALSE(t.reaches(2));
    EXPECT_EQ(t.parent(4), no_parent);
    EXPECT_TRUE(t.children(4).empty());
    EXPECT_EQ(t.parent(5), 0);  // node 1's new representative
    EXPECT_EQ(t.children(5).size(), 2u);
    for (std::uint32_t c : {1u, 3u, 6u, 7u}) EXPECT_TRUE(t.reaches(c)) << c;
    std::uint32_t reached = 0;
    for (std::uint32_t c = 0; c < 8; ++c) reached += t.reaches(c) ? 1u : 0u;
    EXPECT_EQ(reached, 6u);
    // Reused for the full machine afterwards: nothing of the masked tree stays.
    ASSERT_EQ(build_multicast_tree(MulticastInput{d, 2, map, 0}, t), Status::ok);
    expect_spanning(t);
    // The root must be live; the mask must cover every core.
    std::uint64_t no_root[1] = {0xfe};
    EXPECT_EQ(build_multicast_tree(MulticastInput{d, 2, map, 0, no_root}, t), Status::invalid_argument);
    const std::vector<std::uint16_t> big(70, 0);
    const std::vector<std::uint8_t> d1 = {10};
    EXPECT_EQ(build_multicast_tree(MulticastInput{d1, 1, big, 0, no_root}, t), Status::invalid_argument);
}

} // namespace
} // namespace myr::urpc
