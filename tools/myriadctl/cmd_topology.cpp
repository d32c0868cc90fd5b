// `myriadctl topology --acpi DIR [--write-config FILE]`: run the kernel's ACPI parser over tables
// dumped from a machine (laid out like /sys/firmware/acpi/tables) and print what the kernel would
// build, in the kernel's own boot-log lines; optionally write a QEMU config mirroring it.
#include "commands.hpp"

#include <myr/acpi/format.hpp>
#include <myr/acpi/topology.hpp>
#include <mirror_config.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace myr::tool {
namespace {

namespace fs = std::filesystem;

// nullopt when the file does not exist; an empty vector is a present, empty file.
std::optional<std::vector<std::uint8_t>> read_table(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in),
                                     std::istreambuf_iterator<char>());
}

void print_topology(const acpi::Topology& topo) {
    char line[8192];
    for (std::uint16_t n = 0; n < topo.num_nodes; ++n) {
        if (acpi::format_node_line(topo, n, line).ok()) fmt::print("{}\n", line);
    }
    for (std::uint32_t c = 0; c < topo.num_cpus; ++c) {
        if (acpi::format_cpu_line(topo, c, line).ok()) fmt::print("{}\n", line);
    }
    fmt::print("distances:{}\n", topo.has_slit ? "" : " (no SLIT: defaults)");
    fmt::print("{:>6}", "");
    for (std::uint32_t j = 0; j < topo.num_nodes; ++j) fmt::print("{:>4}", j);
    fmt::print("\n");
    for (std::uint32_t i = 0; i < topo.num_nodes; ++i) {
        fmt::print("{:>5}:", i);
        for (std::uint32_t j = 0; j < topo.num_nodes; ++j)
            fmt::print("{:>4}", topo.distance[i][j]);
        fmt::print("\n");
    }
    for (std::uint32_t w = 0; w < topo.num_warnings; ++w) {
        fmt::print("warning: {} (value {})\n", acpi::to_string(topo.warnings[w].code),
                   topo.warnings[w].value);
    }
    if (topo.warnings_dropped != 0)
        fmt::print("warning: {} more warnings not recorded\n", topo.warnings_dropped);
}

int run_topology(const std::string& dir, const std::string& config_path) {
    const fs::path base(dir);
    const auto madt = read_table(base / "APIC");
    if (!madt) {
        fmt::print(stderr, "error: {}: cannot read the MADT (file APIC), which is required\n",
                   (base / "APIC").string());
        return 1;
    }
    const auto srat = read_table(base / "SRAT");
    const auto slit = read_table(base / "SLIT");
    acpi::TableSet tables{*madt, srat ? Bytes(*srat) : Bytes(), slit ? Bytes(*slit) : Bytes()};

    auto topo = std::make_unique<acpi::Topology>();
    if (const Status st = acpi::parse_topology(tables, *topo); st != Status::ok) {
        fmt::print(stderr, "error: {}: ACPI tables rejected: {}\n", dir, to_string(st));
        return 1;
    }
    print_topology(*topo);

    if (!config_path.empty()) {
        const std::string machine = fs::absolute(base).lexically_normal().filename().string();
        const std::string name = "mirror-of-" + (machine.empty() ? std::string("machine") : machine);
        const std::string description =
            fmt::format("QEMU mirror of the ACPI tables in {}: {} CPUs, {} NUMA nodes, memory "
                        "scaled down (written by myriadctl topology)",
                        dir, topo->num_cpus, topo->num_nodes);
        auto text = acpi::mirror_config(*topo, name, description);
        if (!text.ok()) {
            fmt::print(stderr, "error: cannot mirror this machine in QEMU: {}\n",
                       to_string(text.status()));
            return 1;
        }
        std::ofstream out(config_path);
        out << *text;
        if (!out) {
            fmt::print(stderr, "error: {}: cannot write the config\n", config_path);
            return 1;
        }
        fmt::print("wrote {}\n", config_path);
    }
    return 0;
}

} // namespace

void register_topology(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand(
        "topology", "Parse ACPI tables (APIC, SRAT, SLIT files) and print the kernel's topology");
    auto dir = std::make_shared<std::string>();
    auto config = std::make_shared<std::string>();
    cmd->add_option("--acpi", *dir, "directory laid out like /sys/firmware/acpi/tables")
        ->required();
    cmd->add_option("--write-config", *config, "write a QEMU config (TOML) mirroring the machine");
    cmd->callback([&ctx, dir, config] { ctx.exit_code = run_topology(*dir, *config); });
}

} // namespace myr::tool
