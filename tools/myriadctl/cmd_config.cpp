// `myriadctl config check FILE...` and `myriadctl config qemu-args FILE --kernel K`.
#include "commands.hpp"

#include <myr/config/accel.hpp>
#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>
#include <myr/exit_codes.hpp>

#include <fmt/core.h>

#include <memory>

namespace myr::tool {
namespace {

struct QemuArgsOptions {
    std::string file;
    std::string kernel;
    std::string accel = "auto";
};

int config_check(const std::vector<std::string>& files) {
    int rc = 0;
    for (const std::string& f : files) {
        const auto loaded = config::load_config_file(f);
        if (!loaded.ok()) {
            for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
            rc = static_cast<int>(RunExit::bad_config);
            continue;
        }
        for (const std::string& w : loaded.config->warnings) fmt::print(stderr, "{}: warning: {}\n", f, w);
        fmt::print("ok {}\n", f);
    }
    return rc;
}

int config_qemu_args(const QemuArgsOptions& o) {
    const auto loaded = config::load_config_file(o.file);
    if (!loaded.ok()) {
        for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
        return static_cast<int>(RunExit::bad_config);
    }
    const config::Config& c = *loaded.config;
    config::Accel requested = c.accel;
    if (o.accel == "tcg") requested = config::Accel::tcg;
    else if (o.accel == "kvm") requested = config::Accel::kvm;
    const config::HostFacts host = config::probe_host();
    config::QemuOptions q;
    q.kernel = o.kernel;
    q.accel = config::resolve_accel(requested, host.kvm_usable, host.cpuinfo);
    q.tcg_multi = config::resolve_tcg_threads(c.tcg_threads, c.cpu_count(), host.host_cores) == config::TcgThreads::multi;
    fmt::print("{}\n", config::shell_join(config::qemu_args(c, q)));
    return 0;
}

} // namespace

void register_config(CLI::App& app, Context& ctx) {
    CLI::App* cfg = app.add_subcommand("config", "Validate machine configs and show their QEMU command lines");
    cfg->require_subcommand(1);

    auto files = std::make_shared<std::vector<std::string>>();
    CLI::App* check = cfg->add_subcommand("check", "Validate config files: prints 'ok FILE' or every problem (exit 5)");
    check->add_option("files", *files, "config files (TOML)")->required();
    check->callback([files, &ctx] { ctx.exit_code = config_check(*files); });

    auto qa = std::make_shared<QemuArgsOptions>();
    CLI::App* args = cfg->add_subcommand("qemu-args", "Print the QEMU command line a config runs with");
    args->add_option("file", qa->file, "config file (TOML)")->required();
    args->add_option("--kernel", qa->kernel, "kernel image for -kernel")->required();
    args->add_option("--accel", qa->accel, "auto | tcg | kvm (default: the config's run.accel)")
        ->check(CLI::IsMember({"auto", "tcg", "kvm"}));
    args->callback([qa, &ctx] { ctx.exit_code = config_qemu_args(*qa); });
}

} // namespace myr::tool
