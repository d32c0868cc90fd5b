// The [system] table: which programs a run loads and starts, and the monitor's run plan. Checked
// here against the machine so a typo is a config error with its key, not a run that fails late.
#include "draft.hpp"

#include <algorithm>
#include <set>

namespace myr::config {

std::vector<std::string> System::kernel_words() const {
    std::vector<std::string> w;
    if (!monitor.empty()) w.push_back("monitor=" + monitor);
    for (const std::string& s : spawn) w.push_back("spawn=" + s);
    if (!plan.empty()) w.push_back("plan=" + plan);
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
constexpr std::size_t max_plan = 900;         // the monitor reads up to 1023 bytes; the command line holds 1024 in all

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

} // namespace

void build_system(const Draft& d, Config& c, std::vector<Issue>& issues) {
    System& s = c.system;
    s.present = d.has_system;
    if (!d.has_system) return;
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
    if (d.plan) {
        const std::string& p = *d.plan;
        if (s.monitor.empty()) issues.push_back({"system.plan", "needs system.monitor: the boot core's monitor runs the plan"});
        if (p.empty() || p.size() > max_plan || p.find_first_of(" \t\r\n\"'\\") != std::string::npos) {
            issues.push_back({"system.plan", "must be 1-900 characters without spaces or quotes (got '" + p + "')"});
            return;
        }
        std::size_t i = 0, n = 0;
        while (i <= p.size()) {
            const std::size_t comma = std::min(p.find(',', i), p.size());
            const std::string step = p.substr(i, comma - i);
            const std::string key = "system.plan step " + std::to_string(++n);
            static const std::set<std::string> simple = {"ping-all", "ping-sample", "probe", "status", "shutdown", "wait", "bench", "broadcast"};
            if (simple.count(step)) {
                if (step == "bench" && cpus < 2) issues.push_back({key, "'bench' needs at least 2 CPUs"});
            } else if (step.rfind("spawn:", 0) == 0) {
                std::string rest = step.substr(6), arg, core;
                if (const std::size_t eq = rest.find('='); eq != std::string::npos) arg = rest.substr(eq + 1), rest.resize(eq);
                if (const std::size_t at = rest.find('@'); at != std::string::npos) core = rest.substr(at + 1), rest.resize(at);
                if (!known.count(rest)) issues.push_back({key, "spawns '" + rest + "', which is not in system.programs"});
                if (!core.empty() && (!all_digits(core) || std::stoul(core) >= cpus))
                    issues.push_back({key, "core '" + core + "' is not below " + std::to_string(cpus)});
                if (step.find('=') != std::string::npos && !all_digits(arg))
                    issues.push_back({key, "argument '" + arg + "' must be a number"});
            } else if (step.rfind("replicate:", 0) == 0) {
                // The monitors check it too (a plan from --append reaches them unchecked).
                if (const std::string e = check_replicate_step(step.substr(10), c); !e.empty()) issues.push_back({key, e});
            } else {
                issues.push_back({key, "'" + step + "' is not a plan step (ping-all, ping-sample, probe, status, wait, bench, broadcast, "
                                       "spawn:NAME[@CORE][=ARG], replicate:..., shutdown)"});
            }
            i = comma + 1;
        }
        s.plan = p;
    }
}

} // namespace detail
} // namespace myr::config
