#pragma once
// The shell's command table: what it dispatches on and what help lists, in this order. The guest
// (servers/shell/main.cpp), the host tests and the fuzzer all use this one table.
//
// EXTENSION POINT: a new command is one more entry here (see command.hpp, "Adding a command", and
// docs/shell.md). Planned, by the work on user-space servers: ps, services, channels, start, stop,
// kill, kv get|put|del, bench. Commands that need a server put what they need (a binding, a
// channel) into Context and fail with a message when it is missing.
#include <myr/shell/builtins.hpp>
#include <myr/shell/system.hpp>

namespace myr::shell {

inline constexpr Command commands[] = {
    cmd_help_entry,
    cmd_cores_entry,
    cmd_nodes_entry,
    cmd_echo_entry,
    cmd_ps_entry,
    cmd_services_entry,
    cmd_channels_entry,
    cmd_start_entry,
    cmd_stop_entry,
    cmd_kill_entry,
    cmd_kv_entry,
    cmd_bench_entry,
    cmd_shutdown_entry,
    // new commands here
};

} // namespace myr::shell
