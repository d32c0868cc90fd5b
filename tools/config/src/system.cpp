// The [system] table: which programs a run loads and starts, and the monitor's run plan. Checked
// here against the machine so a typo is a config error with its key, not a run that fails late.
#include "draft.hpp"

#include <myr/config/units.hpp>
#include <myr/supervise.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

namespace myr::config {

std::vector<std::string> System::kernel_words() const {
    std::vector<std::string> w;
    if (!monitor.empty()) w.push_back("monitor=" + monitor);
    for (const std::string& s : spawn) w.push_back("spawn=" + s);
    for (std::size_t i = 0; i < servers.size(); ++i) {
        w.push_back(servers[i].kernel_word(i));
        for (std::string& s : servers[i].supervision_words(i)) w.push_back(std::move(s));
    }
    if (core_heartbeat_ms) w.push_back("monitor.heartbeat=" + std::to_string(core_heartbeat_ms));
    if (!plan.empty()) w.push_back("plan=" + plan);
    return w;
}

std::string Server::kernel_word(std::size_t index) const {
    std::string w = "server." + std::to_string(index) + "=" + name + ":" + program + ":";
    for (std::size_t i = 0; i < cores.size(); ++i) w += (i ? "." : "") + std::to_string(cores[i]);
    w += ":";
    for (const char ch : args) w += ch == ' ' ? ',' : ch;
    return w;
}

std::vector<std::string> Server::supervision_words(std::size_t index) const {
    std::vector<std::string> w;
    const std::string key = "server." + std::to_string(index);
    if (!restart.empty()) w.push_back(key + ".restart=" + restart);
    if (heartbeat_ms) w.push_back(key + ".heartbeat=" + std::to_string(heartbeat_ms));
    return w;
}

std::vector<std::string> System::modules() const {
    std::vector<std::string> m;
    if (!monitor.empty()) m.push_back(monitor);
    for (const std::string& p : programs)
        if (p != monitor) m.push_back(p);
    return m;
}

namespace detail {
namespace {

constexpr std::size_t max_program_name = 23;  // the CPU driver's module names: 24 bytes with the NUL

bool valid_program(const std::string& n) {
    return !n.empty() && n.size() <= max_program_name &&
           std::all_of(n.begin(), n.end(), [](char ch) {
               return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                      ch == '-' || ch == '.';
           });
}

bool all_digits(const std::string& s) {
    return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// "all" or a CPU list "0-3,6" within the machine.
bool valid_cores(const std::string& s, unsigned cpus) {
    if (s == "all") return true;
    std::size_t i = 0;
    while (i <= s.size()) {
        const std::size_t comma = std::min(s.find(',', i), s.size());
        const std::string part = s.substr(i, comma - i);
        const std::size_t dash = part.find('-');
        const std::string a = part.substr(0, dash), b = dash == std::string::npos ? a : part.substr(dash + 1);
        if (!all_digits(a) || !all_digits(b) || std::stoul(a) > std::stoul(b) || std::stoul(b) >= cpus) return false;
        i = comma + 1;
    }
    return true;
}

// The [[server]] tables: names, programs (added to s.programs when not listed), placement,
// arguments and replicas. `known` gets the server programs; `server_names` the servers' names.
void build_servers(const Draft& d, Config& c, std::set<std::string>& known, std::set<std::string>& server_names,
                   std::vector<Issue>& issues) {
    System& s = c.system;
    const unsigned cpus = c.cpu_count();
    if (d.servers.size() > max_servers)
        issues.push_back({"server", "at most " + std::to_string(max_servers) + " [[server]] tables (got " +
                                        std::to_string(d.servers.size()) + ")"});
    std::size_t word_bytes = 0;
    for (std::size_t i = 0; i < d.servers.size() && i < max_servers; ++i) {
        const DraftServer& ds = d.servers[i];
        const std::string key = "server[" + std::to_string(i) + "]";
        const std::size_t before = issues.size();
        Server sv;
        if (!ds.program) {
            issues.push_back({key + ".program", "is required: the boot module this server runs"});
        } else if (!valid_program(*ds.program)) {
            issues.push_back({key + ".program", "must be a program name of 1-23 characters A-Z a-z 0-9 _ - . (got '" + *ds.program + "')"});
        } else if (*ds.program == s.monitor) {
            issues.push_back({key + ".program", "'" + *ds.program + "' is the monitor, which every core runs already"});
        } else {
            sv.program = *ds.program;
        }
        sv.name = ds.name ? *ds.name : sv.program;
        if (ds.name && (!valid_program(*ds.name) || ds.name->size() > max_server_name))
            issues.push_back({key + ".name", "must be 1-16 characters A-Z a-z 0-9 _ - . (got '" + *ds.name + "')"});
        else if (!sv.name.empty() && !server_names.insert(sv.name).second)
            issues.push_back({key + ".name", "'" + sv.name + "' names another [[server]] already (give each a distinct name)"});
        else if (!ds.name && sv.name.size() > max_server_name)
            issues.push_back({key + ".name", "is needed: the program name '" + sv.name + "' is longer than 16 characters"});
        // Placement: "all", "per-node" (the lowest core of each node that has cores) or a CPU list.
        std::vector<unsigned> placed;
        if (!ds.cores) {
            issues.push_back({key + ".cores", "is required: \"all\", \"per-node\" or a CPU list like \"0-3,6\""});
        } else if (*ds.cores == "all") {
            for (unsigned cpu = 0; cpu < cpus; ++cpu) placed.push_back(cpu);
        } else if (*ds.cores == "per-node") {
            for (const Node& n : c.nodes)
                if (!n.cpus.empty()) placed.push_back(n.cpus.front());
            std::sort(placed.begin(), placed.end());
        } else {
            const auto parsed = parse_cpu_list(*ds.cores);
            if (!parsed.ok()) {
                issues.push_back({key + ".cores", "must be \"all\", \"per-node\" or a CPU list like \"0-3,6\": " + parsed.error()});
            } else if (parsed.value().empty()) {
                issues.push_back({key + ".cores", "places the server on no core"});
            } else if (parsed.value().back() >= cpus) {
                issues.push_back({key + ".cores", "core " + std::to_string(parsed.value().back()) + " is not below " +
                                                      std::to_string(cpus) + " (this machine's CPUs)"});
            } else {
                placed = parsed.value();
            }
        }
        if (ds.cores && placed.empty() && issues.size() == before)
            issues.push_back({key + ".cores", "places the server on no core"});
        std::int64_t replicas = static_cast<std::int64_t>(placed.size());
        if (ds.replicas) {
            replicas = *ds.replicas;
            if (replicas < 1)
                issues.push_back({key + ".replicas", "must be at least 1 (got " + std::to_string(replicas) + ")"});
            else if (!placed.empty() && static_cast<std::size_t>(replicas) > placed.size())
                issues.push_back({key + ".replicas", std::to_string(replicas) + " is more than the " + std::to_string(placed.size()) +
                                                         " cores its `cores` place it on"});
        }
        // Arguments: words of printable characters, no commas (they encode spaces on the kernel
        // command line) or quotes; spaces between words are normalised to one.
        if (ds.args) {
            std::string words;
            bool bad_char = false;
            std::size_t i2 = 0;
            const std::string& a = *ds.args;
            while (i2 < a.size()) {
                while (i2 < a.size() && a[i2] == ' ') ++i2;
                const std::size_t start = i2;
                while (i2 < a.size() && a[i2] != ' ') {
                    const char ch = a[i2++];
                    bad_char = bad_char || ch < 0x21 || ch > 0x7e || ch == ',' || ch == '"' || ch == '\'' || ch == '\\';
                }
                if (i2 > start) words += (words.empty() ? "" : " ") + a.substr(start, i2 - start);
            }
            if (bad_char)
                issues.push_back({key + ".args", "must be words of printable characters without commas, quotes or backslashes "
                                                 "separated by spaces (got '" + a + "')"});
            else if (words.size() > max_server_args)
                issues.push_back({key + ".args", "is " + std::to_string(words.size()) + " characters, at most " +
                                                     std::to_string(max_server_args) + " (each instance gets 'replica=I replicas=K' "
                                                     "appended, and a program's argument string holds 96)"});
            else
                sv.args = words;
        }
        // Restart policy (docs/configs.md, "Servers"; myr/supervise.hpp): "never", "always" or
        // "N/T" (at most N restarts within T, a duration like "10s" or "500ms"), with
        // restart_backoff (default 100ms) the first restart's delay, doubling after each.
        if (ds.restart || ds.restart_backoff) {
            const std::string r = ds.restart.value_or("never");
            std::string form;
            if (r == "always") {
                form = "always";
            } else if (r != "never") {
                const std::size_t slash = r.find('/');
                const std::string n = slash == std::string::npos ? r : r.substr(0, slash);
                const auto t = slash == std::string::npos ? Parsed<std::uint64_t>{std::string("no '/'")}
                                                          : parse_duration_ms(r.substr(slash + 1));
                if (!all_digits(n) || std::stoul(n) < 1 || std::stoul(n) > supervise::max_restarts || !t.ok() ||
                    t.value() == 0 || t.value() > supervise::max_window_ms)
                    issues.push_back({key + ".restart", "must be \"never\", \"always\" or \"N/T\": at most N restarts (1-" +
                                                            std::to_string(supervise::max_restarts) + ") within T (e.g. \"3/10s\", up to 1h; got '" + r + "')"});
                else
                    form = n + "/" + std::to_string(t.value());
            }
            std::uint64_t backoff = supervise::default_backoff_ms;
            if (ds.restart_backoff) {
                const auto b = parse_duration_ms(*ds.restart_backoff);
                if (!b.ok() || b.value() > supervise::max_backoff_ms)
                    issues.push_back({key + ".restart_backoff", "must be a duration up to 60s like \"100ms\" or \"2s\" (got '" +
                                                                    *ds.restart_backoff + "')"});
                else
                    backoff = b.value();
                if (r == "never")
                    issues.push_back({key + ".restart_backoff", "is set but restart is \"never\""});
            }
            if (!form.empty()) sv.restart = form + "@" + std::to_string(backoff);
            supervise::Policy check{};
            if (!sv.restart.empty() && !supervise::parse(sv.restart.data(), sv.restart.size(), check))
                issues.push_back({key + ".restart", "cannot be written for the monitor: '" + sv.restart + "'"});
        }
        if (ds.heartbeat) {
            const auto hb = parse_duration_ms(*ds.heartbeat);
            if (!hb.ok() || hb.value() < supervise::min_heartbeat_ms || hb.value() > supervise::max_heartbeat_ms)
                issues.push_back({key + ".heartbeat", "must be a duration from 50ms to 10m like \"500ms\" (got '" + *ds.heartbeat + "')"});
            else
                sv.heartbeat_ms = hb.value();
        }
        if (issues.size() != before) continue;
        sv.cores.assign(placed.begin(), placed.begin() + replicas);
        if (std::find(s.programs.begin(), s.programs.end(), sv.program) == s.programs.end()) s.programs.push_back(sv.program);
        known.insert(sv.program);
        word_bytes += sv.kernel_word(s.servers.size()).size() + 1;
        for (const std::string& sw : sv.supervision_words(s.servers.size())) word_bytes += sw.size() + 1;
        s.servers.push_back(sv);
    }
    if (word_bytes > max_server_words)
        issues.push_back({"server", "the [[server]] tables take " + std::to_string(word_bytes) + " bytes of the kernel command line, at most " +
                                        std::to_string(max_server_words) + " (fewer cores per server, or shorter args)"});
}

} // namespace

void build_system(const Draft& d, Config& c, std::vector<Issue>& issues) {
    System& s = c.system;
    s.present = d.has_system;
    if (!d.has_system) {
        if (d.has_servers) issues.push_back({"server", "needs a [system] table with a monitor: the monitors start servers"});
        return;
    }
    const unsigned cpus = c.cpu_count();
    std::set<std::string> known;
    if (!d.monitor.empty()) {
        if (!valid_program(d.monitor))
            issues.push_back({"system.monitor", "must be a program name of 1-23 characters A-Z a-z 0-9 _ - . (got '" + d.monitor + "')"});
        s.monitor = d.monitor;
        known.insert(d.monitor);
    }
    for (std::size_t i = 0; i < d.programs.size(); ++i) {
        const std::string& p = d.programs[i];
        const std::string key = "system.programs[" + std::to_string(i) + "]";
        if (!valid_program(p)) issues.push_back({key, "must be a program name of 1-23 characters A-Z a-z 0-9 _ - . (got '" + p + "')"});
        else if (!known.insert(p).second) issues.push_back({key, "'" + p + "' is listed twice (or is the monitor)"});
        else s.programs.push_back(p);
    }
    std::set<std::string> server_names;
    if (d.has_servers) {
        if (s.monitor.empty()) issues.push_back({"server", "needs system.monitor: the monitors start servers"});
        build_servers(d, c, known, server_names, issues);
    }
    for (std::size_t i = 0; i < d.spawn.size(); ++i) {
        const std::string& sp = d.spawn[i];
        const std::string key = "system.spawn[" + std::to_string(i) + "]";
        const std::size_t at = sp.find('@');
        const std::size_t star = sp.find('*');
        const std::string name = sp.substr(0, at);
        const std::string cores = at == std::string::npos ? "" : sp.substr(at + 1, star == std::string::npos ? std::string::npos : star - at - 1);
        const std::string gens = star == std::string::npos ? "1" : sp.substr(star + 1);
        if (at == std::string::npos || !valid_program(name) || !valid_cores(cores, cpus) || !all_digits(gens) ||
            std::stoul(gens) == 0 || std::stoul(gens) > 1000)
            issues.push_back({key, "must be NAME@CORES[*K]: CORES 'all' or a list like '0-3,6' below " + std::to_string(cpus) +
                                       ", K 1..1000 (got '" + sp + "')"});
        else if (!known.count(name)) issues.push_back({key, "starts '" + name + "', which is not in system.programs"});
        else s.spawn.push_back(sp);
    }
    if (d.core_heartbeat) {
        // Heartbeats between the monitors (docs/monitors.md, "Membership and core failure").
        const auto hb = parse_duration_ms(*d.core_heartbeat);
        if (s.monitor.empty()) issues.push_back({"system.core_heartbeat", "needs system.monitor: the monitors beat"});
        else if (!hb.ok() || hb.value() < 10 || hb.value() > 60'000)
            issues.push_back({"system.core_heartbeat", "must be a duration from 10ms to 60s like \"100ms\" (got '" + *d.core_heartbeat + "')"});
        else s.core_heartbeat_ms = hb.value();
    }
    bool heartbeats = s.core_heartbeat_ms != 0;
    for (const std::string& o : c.kernel_options) heartbeats = heartbeats || o.rfind("monitor.heartbeat=", 0) == 0;
    if (d.plan) {
        const std::string& p = *d.plan;
        if (s.monitor.empty()) issues.push_back({"system.plan", "needs system.monitor: the boot core's monitor runs the plan"});
        // Its length is checked with every other plan word (kernel_word_problems, load.cpp).
        if (p.empty() || p.find_first_of(" \t\r\n\"'\\") != std::string::npos) {
            issues.push_back({"system.plan", "must be one word: not empty, without spaces or quotes (got '" + p + "')"});
            return;
        }
        std::size_t i = 0, n = 0;
        std::set<unsigned long> killed;  // kill-core steps so far
        while (i <= p.size()) {
            const std::size_t comma = std::min(p.find(',', i), p.size());
            const std::string step = p.substr(i, comma - i);
            const std::string key = "system.plan step " + std::to_string(++n);
            // After kill-core:0 the elected coordinator runs the plan (docs/monitors.md, "The plan
            // outlives its core"); these steps run on core 0's monitor only.
            if (killed.count(0) && (step.rfind("bench", 0) == 0 || step.rfind("unmap:", 0) == 0 ||
                                    step.rfind("replicate:", 0) == 0))
                issues.push_back({key, "'" + step + "' runs on core 0's monitor only, and an earlier step stops core 0"});
            static const std::set<std::string> simple = {"ping-all", "ping-sample", "probe", "status", "shutdown", "wait", "bench", "bench:matrix", "bench:matrix:forge", "broadcast"};
            if (simple.count(step)) {
                if (step.rfind("bench", 0) == 0 && cpus < 2) issues.push_back({key, "'" + step + "' needs at least 2 CPUs"});
            } else if (step.rfind("spawn:", 0) == 0) {
                std::string rest = step.substr(6), arg, core;
                if (const std::size_t eq = rest.find('='); eq != std::string::npos) arg = rest.substr(eq + 1), rest.resize(eq);
                if (const std::size_t at = rest.find('@'); at != std::string::npos) core = rest.substr(at + 1), rest.resize(at);
                if (!known.count(rest)) issues.push_back({key, "spawns '" + rest + "', which is not in system.programs"});
                if (!core.empty() && (!all_digits(core) || std::stoul(core) >= cpus))
                    issues.push_back({key, "core '" + core + "' is not below " + std::to_string(cpus)});
                if (step.find('=') != std::string::npos && !all_digits(arg))
                    issues.push_back({key, "argument '" + arg + "' must be a number"});
            } else if (step.rfind("sleep:", 0) == 0) {
                if (!all_digits(step.substr(6))) issues.push_back({key, "'" + step + "' must be sleep:MS with MS a number of milliseconds"});
            } else if (step.rfind("names:", 0) == 0) {
                if (!all_digits(step.substr(6))) issues.push_back({key, "'" + step + "' must be names:K with K a number of names"});
            } else if (step.rfind("start:", 0) == 0 || step.rfind("stop:", 0) == 0 || step.rfind("crash:", 0) == 0) {
                // start:NAME[@CORE] | stop:NAME[@CORE] | crash:NAME[@CORE]: NAME a server's name or a program.
                std::string rest = step.substr(step.find(':') + 1), core;
                if (const std::size_t at = rest.find('@'); at != std::string::npos) core = rest.substr(at + 1), rest.resize(at);
                if (!server_names.count(rest) && !known.count(rest))
                    issues.push_back({key, "names '" + rest + "', which is neither a [[server]] name nor in system.programs"});
                if (step.find('@') != std::string::npos && (!all_digits(core) || std::stoul(core) >= cpus))
                    issues.push_back({key, "core '" + core + "' is not below " + std::to_string(cpus)});
            } else if (step.rfind("kill-core:", 0) == 0) {
                // kill-core:N: stop core N; the monitors' membership must notice (monitor/liveness.cpp).
                const std::string n_text = step.substr(10);
                if (!all_digits(n_text) || n_text.size() > 6 || std::stoul(n_text) >= cpus)
                    issues.push_back({key, "'" + step + "' must be kill-core:N with N a core below " + std::to_string(cpus)});
                else if (std::stoul(n_text) == 0 && cpus < 3)
                    issues.push_back({key, "kill-core:0 needs 3 CPUs or more: the cores left must be a majority to elect a coordinator"});
                else if (!killed.insert(std::stoul(n_text)).second)
                    issues.push_back({key, "'" + step + "': an earlier step stops that core already"});
                if (!heartbeats)
                    issues.push_back({key, "kill-core needs heartbeats between the monitors: set system.core_heartbeat (e.g. \"100ms\")"});
            } else if (step.rfind("unmap:", 0) == 0) {
                // unmap:N[:R]: an address space over cores 0..N-1, R unmaps per protocol (monitor/span.cpp).
                // unmap:N:R:forge also sends each member forged lines first, unmap:N:R:refuse makes the
                // last member refuse to join (the qemu_unmap tests).
                std::string n_text = step.substr(6), r_text = "10";
                if (const std::size_t colon = n_text.find(':'); colon != std::string::npos)
                    r_text = n_text.substr(colon + 1), n_text.resize(colon);
                for (const std::string_view flag : {std::string_view(":forge"), std::string_view(":refuse")})
                    if (r_text.size() > flag.size() && std::string_view(r_text).substr(r_text.size() - flag.size()) == flag)
                        r_text.resize(r_text.size() - flag.size());
                if (!all_digits(n_text) || n_text.size() > 6 || std::stoul(n_text) < 2 || std::stoul(n_text) > cpus)
                    issues.push_back({key, "'" + step + "' must be unmap:N[:R[:forge|:refuse]] with 2 <= N <= " + std::to_string(cpus) + " cores"});
                else if (!all_digits(r_text) || r_text.size() > 3 || std::stoul(r_text) < 1 || std::stoul(r_text) > 10)
                    issues.push_back({key, "'" + step + "': R, the unmaps per protocol, must be 1-10"});
                if (!known.count("spanner"))
                    issues.push_back({key, "unmap needs program 'spanner' (the span's dispatcher) in system.programs"});
            } else if (step.rfind("replicate:", 0) == 0) {
                // The monitors check it too (a plan from --append reaches them unchecked).
                if (const std::string e = check_replicate_step(step.substr(10), c); !e.empty()) issues.push_back({key, e});
            } else {
                issues.push_back({key, "'" + step + "' is not a plan step (ping-all, ping-sample, probe, status, wait, bench, bench:matrix, broadcast, "
                                       "names:K, sleep:MS, spawn:NAME[@CORE][=ARG], start:NAME[@CORE], stop:NAME[@CORE], crash:NAME[@CORE], kill-core:N, replicate:..., unmap:N[:R[:forge|:refuse]], shutdown)"});
            }
            i = comma + 1;
        }
        s.plan = p;
    }
}

} // namespace detail
} // namespace myr::config
