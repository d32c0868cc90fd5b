// check_kv_history (myr/config/kv_history.hpp): kvhist lines -> the simulation's checker, key by key.
#include <myr/args.hpp>
#include <myr/config/kv_history.hpp>
#include <myr/repl/object.hpp>
#include <myr/repl/sim/linearizability.hpp>

#include <charconv>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace myr::config {
namespace {

// One key as the clients see it: a sequential register of numbers, 0 meaning absent.
struct Register {
    enum class Kind : std::uint8_t { get = 1, put = 2, cas = 3 };
    struct Op {
        Kind kind;
        std::uint64_t value, expect;
    };
    struct Result {
        bool ok;              // get: found; put: always; cas: swapped
        std::uint64_t value;  // get: the value (0 absent); put, cas that swapped: the value written
        bool any = false;     // a write of unknown outcome: whatever it answered, nobody heard it
        bool operator==(const Result& o) const { return any || o.any || (ok == o.ok && value == o.value); }
    };
    static bool is_read(const Op& op) { return op.kind == Kind::get; }
    static bool valid(const Op&) { return true; }
    static std::uint64_t conflict_key(const Op&) { return 0; }
    Result apply(const Op& op) {
        if (op.kind == Kind::put || (op.kind == Kind::cas && value == op.expect)) {
            value = op.value;
            return {true, value};
        }
        return op.kind == Kind::cas ? Result{false, 0} : read(op);
    }
    [[nodiscard]] Result read(const Op&) const { return {value != 0, value}; }
    [[nodiscard]] std::uint64_t digest() const { return repl::mix64(value); }
    [[nodiscard]] bool valid_state() const { return true; }
    std::uint64_t value = 0;
};
static_assert(repl::ReplicatedObject<Register>);
using Event = repl::sim::Event<Register>;

constexpr std::string_view shared_key = "hist0";  // lines without key=
constexpr std::uint64_t open_end = std::numeric_limits<std::uint64_t>::max();

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

// A write that started and has not ended yet.
struct Open {
    std::string key;
    Register::Op op;
    std::uint64_t inv;
};

} // namespace

KvHistoryCheck check_kv_history(std::string_view log) {
    KvHistoryCheck out;
    std::map<std::string, std::vector<Event>> keys;
    std::set<std::uint64_t> cores;
    std::map<std::uint64_t, std::vector<Open>> open;  // core -> its writes in progress (a transaction: several)
    // An open write whose end never came: open to the end of the history (took effect or not).
    const auto leave_open = [&](const Open& o) {
        Event e{};
        e.op = o.op;
        e.result = {true, o.op.value, true};
        e.invoke = o.inv;
        e.response = open_end;
        keys[o.key].push_back(e);
        ++out.unknown;
    };
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
        const auto problem = [&](const char* what) {
            out.problems.push_back("line " + std::to_string(line_no) + ": " + what + ": " + std::string(l));
        };
        std::uint64_t core = 0, value = 0, expect = 0, inv = 0, res = 0;
        const std::string_view op = field(l, "op"), result = field(l, "result"), key_field = field(l, "key");
        const std::string key(key_field.empty() ? shared_key : key_field);
        const bool put = op == "put", get = op == "get", cas = op == "cas";
        const bool head = number(field(l, "core"), core) && number(field(l, "value"), value) &&
                          number(field(l, "inv"), inv) && (!cas || number(field(l, "expect"), expect));
        if ((put || cas) && result.empty() && field(l, "res").empty()) {  // a write's start
            if (!head || value == 0) {
                problem("malformed kvhist start");
                continue;
            }
            std::vector<Open>& mine = open[core];
            if (!mine.empty() && mine.back().inv > inv) {
                problem("kvhist start before the same client's last one");
                continue;
            }
            if (!mine.empty() && mine.back().inv != inv) {  // its last call never ended: refused, or cut short
                for (const Open& o : mine) leave_open(o);
                mine.clear();
            }
            // Starts with one time are one transaction's writes (a key each).
            mine.push_back(Open{key, {cas ? Register::Kind::cas : Register::Kind::put, value, expect}, inv});
            cores.insert(core);
            continue;
        }
        const bool known = put   ? (result == "ok" || result == "unknown")
                           : cas ? (result == "ok" || result == "failed" || result == "unknown" || result == "void")
                                 : (result == "ok" || result == "absent");
        if (!head || !number(field(l, "res"), res) || !(put || get || cas) || !known || res < inv ||
            ((put || cas) && value == 0)) {
            problem("malformed kvhist line");
            continue;
        }
        Event e{};
        e.invoke = inv;
        e.response = res;
        if (put || cas) {
            std::vector<Open>& mine = open[core];
            auto it = mine.begin();
            while (it != mine.end() && !(it->inv == inv && it->key == key && it->op.value == value &&
                                         it->op.expect == expect && (it->op.kind == Register::Kind::cas) == cas))
                ++it;
            if (it == mine.end()) {
                problem(put ? "kvhist put that never started" : "kvhist cas that never started");
                continue;
            }
            e.op = it->op;
            mine.erase(it);
            if (result == "void") continue;  // did nothing to this key
            e.result = result == "failed" ? Register::Result{false, 0} : Register::Result{true, value, result == "unknown"};
            if (result == "unknown") {
                e.response = open_end;
                ++out.unknown;
            }
        } else {
            e.op = {Register::Kind::get, 0, 0};
            e.result = result == "ok" ? Register::Result{true, value} : Register::Result{false, 0};
            if (result == "ok" && value == 0) {
                problem("malformed kvhist line");
                continue;
            }
        }
        keys[key].push_back(e);
        cores.insert(core);
    }
    for (const auto& [core, mine] : open)
        for (const Open& o : mine) leave_open(o);
    out.clients = cores.size();
    out.keys = keys.size();
    for (const auto& [key, events] : keys) out.calls += events.size();
    if (!out.problems.empty()) return out;
    out.linearizable = true;
    for (auto& [key, events] : keys) {
        repl::sim::LinearizabilityChecker<Register> checker(std::move(events));
        const bool ok = checker.check();
        out.explored += checker.explored();
        if (!ok) {
            out.linearizable = false;
            out.problems.push_back("the history of key " + key + " is not linearizable: no order of its calls within "
                                   "their intervals explains every answer");
        }
    }
    return out;
}

} // namespace myr::config
