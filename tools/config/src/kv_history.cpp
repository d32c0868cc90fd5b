// check_kv_history (myr/config/kv_history.hpp): kvhist lines -> the simulation's checker.
#include <myr/args.hpp>
#include <myr/config/kv_history.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/sim/linearizability.hpp>

#include <charconv>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace myr::config {
namespace {

constexpr std::uint64_t shared_key = 1;  // the one key the clients share, as the map's key

// The value of the word `name=...` in `line` (args::value: whole words only), or empty.
std::string_view field(std::string_view line, const char* name) {
    const args::View v = args::value(line.data(), line.size(), name);
    return v.found ? std::string_view(v.text, v.len) : std::string_view{};
}

bool number(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

} // namespace

KvHistoryCheck check_kv_history(std::string_view log) {
    using Map = repl::KvMap;
    KvHistoryCheck out;
    std::vector<repl::sim::Event<Map>> events;
    std::set<std::uint64_t> cores;
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> started;  // (core, value) -> inv of a put not ended
    std::size_t line_no = 0;
    for (std::size_t at = 0; at < log.size();) {
        std::size_t end = log.find('\n', at);
        if (end == std::string_view::npos) end = log.size();
        std::string_view line = log.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a serial log's CR LF
        at = end + 1;
        ++line_no;
        const std::size_t mark = line.find("kvhist ");
        if (mark == std::string_view::npos) continue;
        const std::string_view l = line.substr(mark);
        std::uint64_t core = 0, value = 0, inv = 0, res = 0;
        const std::string_view op = field(l, "op"), result = field(l, "result");
        const bool put = op == "put", get = op == "get";
        if (put && result.empty() && field(l, "res").empty()) {  // a put's start
            if (number(field(l, "core"), core) && number(field(l, "value"), value) && number(field(l, "inv"), inv) && value != 0 &&
                started.emplace(std::pair{core, value}, inv).second)
                continue;
            out.problems.push_back("line " + std::to_string(line_no) + ": malformed or repeated kvhist start: " + std::string(l));
            continue;
        }
        const bool nums = number(field(l, "core"), core) && number(field(l, "value"), value) &&
                          number(field(l, "inv"), inv) && number(field(l, "res"), res);
        const bool known = put ? (result == "ok" || result == "unknown") : (result == "ok" || result == "absent");
        if (!nums || !(put || get) || !known || res < inv || (put && value == 0)) {
            out.problems.push_back("line " + std::to_string(line_no) + ": malformed kvhist line: " + std::string(l));
            continue;
        }
        if (put) {
            const auto it = started.find({core, value});
            if (it == started.end() || it->second != inv) {
                out.problems.push_back("line " + std::to_string(line_no) + ": kvhist put that never started: " + std::string(l));
                continue;
            }
            started.erase(it);
        }
        repl::sim::Event<Map> e{};
        e.invoke = inv;
        e.response = res;
        if (put) {
            e.op = Map::put(shared_key, value);
            e.result = {Status::ok, value};
            if (result == "unknown") {
                e.response = std::numeric_limits<std::uint64_t>::max();  // open to the end
                ++out.unknown;
            }
        } else {
            e.op = Map::get(shared_key);
            e.result = result == "ok" ? Map::Result{Status::ok, value} : Map::Result{Status::not_found, 0};
        }
        events.push_back(e);
        cores.insert(core);
    }
    // Puts that started and never ended: their client died during the call (killed, or its core
    // stopped). Open to the end, like a put of unknown outcome.
    for (const auto& [who, inv] : started) {
        repl::sim::Event<Map> e{};
        e.op = Map::put(shared_key, who.second);
        e.result = {Status::ok, who.second};
        e.invoke = inv;
        e.response = std::numeric_limits<std::uint64_t>::max();
        events.push_back(e);
        cores.insert(who.first);
        ++out.unknown;
    }
    out.calls = events.size();
    out.clients = cores.size();
    if (!out.problems.empty()) return out;
    repl::sim::LinearizabilityChecker<Map> checker(std::move(events));
    out.linearizable = checker.check();
    out.explored = checker.explored();
    if (!out.linearizable)
        out.problems.push_back("the shared key's history is not linearizable: no order of the calls within their "
                               "intervals explains every answer");
    return out;
}

} // namespace myr::config
