// The ACPI tables QEMU 7.2 builds for every shipped config (captured by
// tools/capture_acpi_fixtures.sh from a real boot) parse into the topology the config describes:
// the CPU driver and the config tools agree on CPUs, nodes, memory and distances.
#include <myr/acpi/topology.hpp>
#include <myr/config/load.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class QemuFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(QemuFixture, ParsesToTheConfiguredMachine) {
    const std::string name = GetParam();
    const fs::path dir = fs::path("tests/fixtures/acpi/qemu") / name;
    const auto loaded = myr::config::load_config_file(fs::path("configs") / (name + ".toml"));
    ASSERT_TRUE(loaded.ok()) << name;
    const myr::config::Config& cfg = *loaded.config;

    const auto madt = read_file(dir / "APIC");
    const auto srat = read_file(dir / "SRAT");
    const auto slit = read_file(dir / "SLIT");
    ASSERT_FALSE(madt.empty()) << "missing fixture " << (dir / "APIC");
    ASSERT_FALSE(srat.empty()) << "missing fixture " << (dir / "SRAT");
    // QEMU emits a SLIT only when distances are given; myriadctl gives them whenever nodes > 1.
    EXPECT_EQ(slit.empty(), cfg.nodes.size() == 1);

    auto topo = std::make_unique<myr::acpi::Topology>();
    const myr::acpi::TableSet tables{{madt.data(), madt.size()}, {srat.data(), srat.size()}, {slit.data(), slit.size()}};
    ASSERT_EQ(myr::acpi::parse_topology(tables, *topo), myr::Status::ok);
    EXPECT_EQ(topo->num_warnings, 0u);

    ASSERT_EQ(topo->num_cpus, cfg.cpu_count());
    ASSERT_EQ(topo->num_nodes, cfg.nodes.size());
    for (unsigned cpu = 0; cpu < cfg.cpu_count(); ++cpu)
        EXPECT_EQ(topo->cpus[cpu].node, cfg.node_of(cpu)) << "cpu " << cpu;
    for (unsigned a = 0; a < cfg.nodes.size(); ++a) {
        for (unsigned b = 0; b < cfg.nodes.size(); ++b)
            EXPECT_EQ(topo->distance[a][b], cfg.distance(a, b)) << "distance " << a << "," << b;
        // Node 0 loses the legacy hole [0xA0000, 0x100000) in the SRAT; the rest is exact.
        const std::uint64_t want = cfg.nodes[a].memory_bytes;
        const std::uint64_t got = topo->nodes[a].mem_bytes;
        EXPECT_LE(got, want) << "node " << a;
        EXPECT_GE(got + 0x60000, want) << "node " << a;
        EXPECT_EQ(topo->nodes[a].nearest_mem_node, cfg.memory_home(a)) << "node " << a;
    }
}

INSTANTIATE_TEST_SUITE_P(ShippedConfigs, QemuFixture,
                         ::testing::Values("1s1c", "1s4c", "2s4c", "4s4c", "8s8c", "smt", "uneven"));

} // namespace
