#pragma once
// The shell's built-in commands: help, cores, nodes, echo, shutdown. Pure: they use only the
// Context (command.hpp), so the host tests run them against a fake topology.
//
// Listing lines are indented: the log's machine-readable lines (`node id=...`, `core-up ...`,
// README.md) start at column 0 and tools parse them, so the shell's own answers must not look
// like one.
#include <myr/shell/command.hpp>

namespace myr::shell {

// "0-3,8,10-11": the cores of `node` in the topology, as compact ranges ("none" when it has none).
inline void put_core_list(FixedBuffer& b, const abi::TopologyInfo& t, std::uint32_t node) {
    bool any = false;
    for (std::uint32_t c = 0; c < t.cores;) {
        if (t.core_node[c] != node) {
            ++c;
            continue;
        }
        std::uint32_t end = c;
        while (end + 1 < t.cores && t.core_node[end + 1] == node) ++end;
        if (any) b.put(',');
        format_to(b, end == c ? "{}" : "{}-{}", c, end);
        any = true;
        c = end + 1;
    }
    if (!any) b.put("none");
}

// Fetches the topology into ctx.topo_buf; prints why not and returns null when it cannot.
inline const abi::TopologyInfo* fetch_topology(Context& ctx) {
    if (!ctx.topology || !ctx.topo_buf) {
        ctx.out.line("error: no topology here");
        return nullptr;
    }
    const Status s = ctx.topology(*ctx.topo_buf);
    const abi::TopologyInfo& t = *ctx.topo_buf;
    if (s != Status::ok) {
        ctx.out.line("error: topology: {}", to_string(s));
        return nullptr;
    }
    // The kernel fills it, but a shell must not index past its arrays on any answer.
    if (t.cores > abi::topo_max_cores || t.nodes == 0 || t.nodes > abi::topo_max_nodes) {
        ctx.out.line("error: topology: {} cores, {} nodes is out of range", t.cores, t.nodes);
        return nullptr;
    }
    return &t;
}

inline Outcome cmd_help(Context& ctx, const Args& a) {
    if (a.count == 2) {
        const Command* c = find_command(ctx.commands, a.v[1]);
        if (!c) {
            unknown_command(ctx.out, a.v[1]);
            return Outcome::failed;
        }
        ctx.out.line("usage: {}", c->usage);
        ctx.out.line("  {}", c->summary);
        return Outcome::ok;
    }
    std::size_t width = 0;
    for (const Command& c : ctx.commands) {
        std::size_t n = 0;
        while (c.usage[n]) ++n;
        if (n > width) width = n;
    }
    ctx.out.line("commands:");
    for (const Command& c : ctx.commands) {
        char buf[256];
        FixedBuffer b(buf, sizeof buf);
        b.put("  ");
        b.put(c.usage);
        for (std::size_t n = b.size(); n < width + 4; ++n) b.put(' ');
        b.put(c.summary);
        ctx.out.line("{}", b.c_str());
    }
    return Outcome::ok;
}

inline Outcome cmd_cores(Context& ctx, const Args&) {
    const abi::TopologyInfo* t = fetch_topology(ctx);
    if (!t) return Outcome::failed;
    ctx.out.line("{} cores, {} nodes", t->cores, t->nodes);
    for (std::uint32_t c = 0; c < t->cores; ++c) ctx.out.line("  core {} node {}", c, t->core_node[c]);
    return Outcome::ok;
}

inline Outcome cmd_nodes(Context& ctx, const Args&) {
    const abi::TopologyInfo* t = fetch_topology(ctx);
    if (!t) return Outcome::failed;
    ctx.out.line("{} nodes, distances in ACPI SLIT units (10 = local)", t->nodes);
    for (std::uint32_t n = 0; n < t->nodes; ++n) {
        char buf[480];
        FixedBuffer b(buf, sizeof buf);
        format_to(b, "  node {} cores ", n);
        put_core_list(b, *t, n);
        b.put(" distances");
        for (std::uint32_t m = 0; m < t->nodes; ++m) format_to(b, " {}", t->distance[n * t->nodes + m]);
        ctx.out.line("{}", b.c_str());
    }
    return Outcome::ok;
}

inline Outcome cmd_echo(Context& ctx, const Args& a) {
    char buf[256];
    FixedBuffer b(buf, sizeof buf);
    for (std::size_t i = 1; i < a.count; ++i) {
        if (i > 1) b.put(' ');
        b.put(a.v[i]);
    }
    ctx.out.line("{}", b.c_str());
    return Outcome::ok;
}

// The shell holds no kernel capability (only a monitor may end the run): it ends itself, and the
// run plan's next step (`wait,shutdown` in configs/shell.toml) ends the run.
inline Outcome cmd_shutdown(Context& ctx, const Args&) {
    ctx.out.line("shell: exiting (the run plan's shutdown step ends the run)");
    return Outcome::exit;
}

// The built-ins, in the order help lists them.
inline constexpr Command cmd_help_entry{"help", "help [COMMAND]", "list the commands, or one command's usage", 0, 1,
                                        cmd_help};
inline constexpr Command cmd_cores_entry{"cores", "cores", "every core and its NUMA node", 0, 0, cmd_cores};
inline constexpr Command cmd_nodes_entry{"nodes", "nodes", "every NUMA node: its cores and its SLIT distance row", 0,
                                         0, cmd_nodes};
inline constexpr Command cmd_echo_entry{"echo", "echo [WORD...]", "print the words", 0, max_words - 1, cmd_echo};
inline constexpr Command cmd_shutdown_entry{"shutdown", "shutdown", "end the shell (the run plan then ends the run)",
                                            0, 0, cmd_shutdown};

} // namespace myr::shell
