#pragma once
// A loaded, validated machine config (configs/*.toml): a plain value. Every field is already
// checked and defaulted, so code that receives a Config never re-validates; nodes and distances
// are always present in their effective form (derived when the file left them out).
#include <cstdint>
#include <string>
#include <vector>

namespace myr::config {

inline constexpr std::uint64_t mib = 1024ull * 1024ull;
inline constexpr unsigned max_cpus = 255;         // xAPIC ids stop at 254; beyond needs x2APIC
inline constexpr unsigned supported_cpus = 64;    // above this the config loads with a warning
inline constexpr unsigned max_nodes = 64;         // myr::acpi::max_nodes
inline constexpr std::uint64_t min_memory = 64 * mib;
inline constexpr std::uint64_t max_memory = 64 * 1024 * mib;
inline constexpr std::uint64_t min_node_memory = 32 * mib;
inline constexpr unsigned local_distance = 10;    // ACPI SLIT: 10 means "local"
inline constexpr unsigned default_remote_distance = 20;
inline constexpr unsigned max_distance = 254;     // 255 means "unreachable" in a SLIT; QEMU refuses it

enum class Accel { automatic, tcg, kvm };

// [replication]: the protocol per replicated object (docs/replication.md), passed to the monitors
// as the kernel option `repl=` (replication_kernel_option). Objects: replication_objects().
struct Config;
struct ReplicationObject {
    std::string object;          // a name from replication_objects()
    std::string protocol;        // broadcast | 2pc | sequencer (nr, shared: refused, see validate)
    int sequencer = -1;          // sequencer: the ordering core (-1: default core 0)
    std::string coordinator;     // 2pc: "origin" (default) or "owner"
    int owner = -1;              // 2pc with coordinator "owner": the coordinating core
    std::string reads;           // sequencer: "local" (default) or "linearizable"
    std::string replicas;        // "core" or "node" ("": the table's `replicas`, else per core)
};
struct Replication {
    std::vector<ReplicationObject> objects;  // in the catalogue's order (replication_objects())
    std::string fanout;                      // "tree" (default) or "unicast"
    std::string replicas;                    // "core" (default: one replica per core) or "node"
    [[nodiscard]] bool empty() const { return objects.empty() && fanout.empty() && replicas.empty(); }
};
// The objects the monitors replicate, by name: the framework's catalogue
// (replication/include/myr/repl/objects/catalog.hpp), in its order.
[[nodiscard]] const std::vector<std::string>& replication_objects();
// What is wrong with one plan step `replicate:SPEC` (SPEC: the text after "replicate:") on this
// machine with its [replication] table, as the monitors would refuse it; "" when it is fine.
[[nodiscard]] std::string check_replicate_step(const std::string& spec, const Config& c);
inline constexpr unsigned replication_max_cpus = 64;  // myr::repl::max_cores
enum class TcgThreads { automatic, single, multi };

struct Node {
    std::vector<unsigned> cpus;       // logical CPU indices, ascending (QEMU cpu-index order)
    std::uint64_t memory_bytes = 0;   // 0: memory-less node
};

// A [[server]] table (docs/configs.md, "Servers"): a program the boot core's monitor starts on
// its cores after membership and before the plan, each instance with the argument string `args`
// plus `replica=I replicas=K`. Passed to the monitors as the kernel word `server.I=`.
struct Server {
    std::string name;              // the server's name (plan steps start:/stop:), default: the program
    std::string program;           // a boot module (added to system.programs when not listed)
    std::string args;              // words separated by single spaces ("" for none)
    std::vector<unsigned> cores;   // where its instances run, in order: the first `replicas` placed cores
    std::string restart;           // restart policy, kernel form (myr/supervise.hpp): "" never, "always@B", "N/T@B"
    std::uint64_t heartbeat_ms = 0;  // 0: no heartbeats asked
    // server.I=NAME:PROGRAM:C1.C2...:ARGS with every space of ARGS as a comma (kernel words hold
    // no spaces; the monitor turns the commas back).
    [[nodiscard]] std::string kernel_word(std::size_t index) const;
    // server.I.restart=POLICY (when not never) and server.I.heartbeat=MS (when asked).
    [[nodiscard]] std::vector<std::string> supervision_words(std::size_t index) const;
};
inline constexpr std::size_t max_servers = 16;           // the monitor reads server.0 .. server.15
inline constexpr std::size_t max_server_args = 64;       // + " replica=I replicas=K" fits the monitor's 96
inline constexpr std::size_t max_server_name = 16;       // a service name: two words
inline constexpr std::size_t max_server_words = 512;     // of the kernel command line (myr/boot_limits.hpp)
inline constexpr std::size_t max_plan = 900;             // a plan: the monitor reads it into 1024 bytes
inline constexpr std::size_t max_repl = 511;             // repl= settings: the monitor reads them into 512 bytes

// What runs on the machine ([system]): programs are boot modules (build/user/NAME); the monitor
// starts first on every core; spawn specs start programs from the kernel (`spawn=`); the plan is
// what the boot core's monitor does (`plan=`, docs/monitors.md).
struct System {
    std::string monitor;                  // "" = no monitor (bare CPU drivers)
    std::vector<std::string> programs;    // besides the monitor
    std::vector<std::string> spawn;       // NAME@CORES[*K]
    std::string plan;                     // "" = the monitor's default self-check
    std::uint64_t core_heartbeat_ms = 0;  // monitors' heartbeats between cores (0: off): monitor.heartbeat=
    std::vector<Server> servers;          // [[server]] tables, in file order
    bool present = false;                 // the file had a [system] table
    // The kernel command-line words these add: monitor=, spawn=..., server.I=..., plan=.
    [[nodiscard]] std::vector<std::string> kernel_words() const;
    // Every boot module: the monitor first, then the programs.
    [[nodiscard]] std::vector<std::string> modules() const;
};

struct Config {
    std::string source;               // file path (or a label) used in messages
    std::string name;
    std::string description;

    unsigned sockets = 1;
    unsigned cores = 1;               // per socket
    unsigned threads = 1;             // per core
    std::uint64_t memory_bytes = 0;   // total guest RAM == sum of node memories

    std::vector<Node> nodes;          // effective: one per socket, split evenly, when the file has none
    bool nodes_explicit = false;      // the file had [[node]] tables
    std::vector<std::vector<unsigned>> distances;  // effective node x node matrix
    bool distances_explicit = false;

    unsigned timer_hz = 100;
    std::vector<std::string> kernel_options;       // extra kernel command-line words
    System system;
    Replication replication;                       // [replication]; empty when the file has none

    unsigned timeout_s = 120;
    Accel accel = Accel::automatic;
    TcgThreads tcg_threads = TcgThreads::automatic;

    std::vector<std::string> warnings;             // accepted, but worth telling the user

    [[nodiscard]] unsigned cpu_count() const { return sockets * cores * threads; }
    [[nodiscard]] unsigned cpus_per_socket() const { return cores * threads; }
    [[nodiscard]] unsigned socket_of(unsigned cpu) const { return cpu / cpus_per_socket(); }
    [[nodiscard]] unsigned node_of(unsigned cpu) const;            // node index holding `cpu`
    [[nodiscard]] unsigned distance(unsigned from, unsigned to) const { return distances[from][to]; }
    // The node whose memory serves `node`: itself when it has memory, otherwise the nearest node
    // with memory by the distance matrix (ties: lowest index). The CPU driver places a memory-less
    // node's kernel copies there, so the log checker expects them there.
    [[nodiscard]] unsigned memory_home(unsigned node) const;
};

// `repl=registry:2pc,kv:sequencer:seq=0:reads=lin,fanout:unicast` for the monitors, or "" when the
// config has no [replication] table.
[[nodiscard]] std::string replication_kernel_option(const Replication& r);

[[nodiscard]] const char* to_string(Accel a);
[[nodiscard]] const char* to_string(TcgThreads t);

} // namespace myr::config
