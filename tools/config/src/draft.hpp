#pragma once
// The config as written, between the TOML reader (load.cpp: syntax, types, unknown keys) and the
// validator (validate.cpp: meaning, defaults). Integers stay int64 so out-of-range values reach
// the validator intact and are reported with their real value instead of a wrapped one.
#include <myr/config/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace myr::config::detail {

// One problem: the dotted key ("machine.cores", "node[1].cpus") and a sentence.
struct Issue {
    std::string key;
    std::string problem;
};

struct DraftNode {
    std::optional<std::vector<unsigned>> cpus;   // indices not yet range-checked
    std::optional<std::uint64_t> memory;
};

// [replication] as written: every key with its value (strings and integers kept apart).
struct DraftReplication {
    std::vector<std::pair<std::string, std::string>> strings;
    std::vector<std::pair<std::string, std::int64_t>> integers;
};

// One [[server]] table as written (checked in system.cpp).
struct DraftServer {
    std::optional<std::string> name, program, cores, args, restart, restart_backoff, heartbeat;
    std::optional<std::int64_t> replicas;
};

struct Draft {
    std::optional<std::string> name;
    std::string description;
    std::int64_t sockets = 1;
    std::int64_t cores = 1;
    std::int64_t threads = 1;
    std::optional<std::uint64_t> memory;
    std::optional<std::vector<DraftNode>> nodes;
    std::optional<std::vector<std::vector<std::int64_t>>> matrix;
    std::int64_t timer_hz = 100;
    std::vector<std::string> options;
    std::optional<DraftReplication> replication;
    std::int64_t timeout = 120;
    std::string accel = "auto";
    std::string tcg_threads = "auto";
    bool has_system = false;
    std::string monitor;
    std::vector<std::string> programs, spawn;
    std::optional<std::string> plan;
    std::optional<std::string> core_heartbeat;
    std::vector<DraftServer> servers;
    bool has_servers = false;
};

// system.cpp: checks [system] against the machine (program names, spawn specs, plan steps).
void build_system(const Draft& d, Config& c, std::vector<Issue>& issues);

// validate.cpp: checks a draft and builds the Config (issues empty) or reports every problem.
[[nodiscard]] Config build_config(const Draft& draft, std::vector<Issue>& issues);
// replication.cpp: checks [replication] against the machine (c.cpu_count()) and fills c.replication.
void build_replication(const DraftReplication& draft, Config& c, std::vector<Issue>& issues);

} // namespace myr::config::detail
