// The runtime on this machine: topology, notes, placement, pinning.
#include <myr/hosted/clock.hpp>
#include <myr/hosted/runtime.hpp>
#include <myr/urpc/sender.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <sched.h>
#include <vector>

namespace myr::hosted {
namespace {

TEST(HostedRuntime, ReadsTopologyAndSaysWhatItCannotDo) {
    auto rt = Runtime::create();
    ASSERT_TRUE(rt.ok()) << to_string(rt.status());
    Runtime& r = **rt;
    ASSERT_GE(r.cores().size(), 1u);
    for (const Core& c : r.cores()) {
        EXPECT_EQ(r.distance(c.index, c.index), 10u);
        std::printf("core %u: cpu %u node %u\n", c.index, c.os_index, c.node);
    }
    for (const std::string& n : r.notes()) std::printf("note: %s\n", n.c_str());
    EXPECT_EQ(r.distance(0, 9999), 0u);
}

TEST(HostedRuntime, ChannelsArePlacedAndFormatted) {
    auto rt = Runtime::create();
    ASSERT_TRUE(rt.ok());
    Runtime& r = **rt;
    const std::uint32_t last = static_cast<std::uint32_t>(r.cores().size() - 1);
    auto mem = r.channel(0, last, urpc::ChannelConfig{64, urpc::Wake::poll});
    ASSERT_TRUE(mem.ok()) << to_string(mem.status());
    EXPECT_GE(mem->bytes().size(), urpc::channel_bytes(64));
    EXPECT_EQ(mem->node(), r.cores()[last].node);
    EXPECT_TRUE(urpc::Sender::attach(mem->bytes()).ok());
    auto sender_side = r.channel(0, last, urpc::ChannelConfig{64, urpc::Wake::poll}, Placement::sender);
    ASSERT_TRUE(sender_side.ok());
    EXPECT_EQ(sender_side->node(), r.cores()[0].node);

    EXPECT_EQ(r.channel(0, 9999, urpc::ChannelConfig{}).status(), Status::invalid_argument);
    EXPECT_EQ(r.channel(0, 0, urpc::ChannelConfig{3, urpc::Wake::poll}).status(),
              Status::invalid_argument);
}

TEST(HostedRuntime, RunPinsOneThreadPerCore) {
    auto rt = Runtime::create();
    ASSERT_TRUE(rt.ok());
    Runtime& r = **rt;
    std::vector<std::uint32_t> cores;
    for (const Core& c : r.cores()) cores.push_back(c.index);
    std::vector<std::atomic<int>> seen_cpu(cores.size());
    ASSERT_EQ(r.run(cores, [&](std::uint32_t core) { seen_cpu[core] = sched_getcpu(); }), Status::ok);
    bool pinned = true;
    for (const std::string& n : r.notes()) pinned = pinned && n.find("pin") == std::string::npos;
    if (pinned) {
        for (const Core& c : r.cores()) {
            EXPECT_EQ(seen_cpu[c.index].load(), static_cast<int>(c.os_index));
        }
    }
    const std::uint32_t twice[] = {0, 0};
    EXPECT_EQ(r.run(twice, [](std::uint32_t) {}), Status::invalid_argument);
}

TEST(HostedRuntime, TscIsCalibrated) {
    const Tsc tsc = Tsc::calibrate(20);
    EXPECT_GT(tsc.ghz(), 0.1);
    EXPECT_LT(tsc.ghz(), 10.0);
}

} // namespace
} // namespace myr::hosted
