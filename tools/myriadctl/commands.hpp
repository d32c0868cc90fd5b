#pragma once
// Each subcommand registers itself on the CLI11 app and sets `exit_code` when it runs.
#include <CLI/CLI.hpp>

namespace myr::tool {

struct Context {
    int exit_code = 0;
};

void register_topology(CLI::App& app, Context& ctx);  // cmd_topology.cpp
void register_run(CLI::App& app, Context& ctx);       // cmd_run.cpp: run, check-log
void register_config(CLI::App& app, Context& ctx);    // cmd_config.cpp: config check / qemu-args

} // namespace myr::tool
