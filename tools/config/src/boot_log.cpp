#include <myr/config/boot_log.hpp>
#include <myr/config/units.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

namespace myr::config {
namespace {

struct Range {
    std::uint64_t start = 0;
    std::uint64_t end = 0;  // exclusive
};

// One machine-readable line: its kind (first word) and key=value fields.
struct Line {
    std::size_t number = 0;
    std::string kind;
    std::map<std::string, std::string, std::less<>> fields;
    std::string rest_after_msg;  // panic msg= takes the rest of the line, spaces included
};

bool parse_u64(std::string_view s, std::uint64_t& out) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc{} && p == s.data() + s.size();
}

bool parse_range(std::string_view s, Range& r) {
    const std::size_t dash = s.find('-');
    return dash != std::string_view::npos && parse_u64(s.substr(0, dash), r.start) &&
           parse_u64(s.substr(dash + 1), r.end) && r.start < r.end;
}

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}
std::string show(const Range& r) { return hex(r.start) + "-" + hex(r.end); }

bool inside(const Range& r, const std::vector<Range>& ranges) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const Range& m) { return r.start >= m.start && r.end <= m.end; });
}

// Where QEMU (q35) puts each node's RAM in guest-physical memory: nodes in order, RAM below
// `lowmem` at its own address and the rest from 4 GiB up (the PCI hole between; pc_q35.c splits
// at 2 GiB when there are at least 2.75 GiB, else at 2.75 GiB). The kernel's `node` lines must
// lie inside these ranges: the checker trusts the config, not the log, for where memory is.
std::vector<std::vector<Range>> expected_node_ranges(const Config& c) {
    constexpr std::uint64_t four_gib = 4096 * mib;
    const std::uint64_t lowmem = c.memory_bytes >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
    std::vector<std::vector<Range>> out(c.nodes.size());
    std::uint64_t linear = 0;
    for (std::size_t n = 0; n < c.nodes.size(); ++n) {
        const std::uint64_t start = linear, end = linear + c.nodes[n].memory_bytes;
        linear = end;
        if (start == end) continue;
        if (start < lowmem) out[n].push_back({start, std::min(end, lowmem)});
        if (end > lowmem) {
            const std::uint64_t hi = std::max(start, lowmem);
            out[n].push_back({hi - lowmem + four_gib, end - lowmem + four_gib});
        }
    }
    return out;
}

std::string show(const std::vector<Range>& ranges) {
    std::string s;
    for (const Range& r : ranges) s += (s.empty() ? "" : ",") + show(r);
    return s.empty() ? "none" : s;
}

constexpr std::string_view kinds[] = {"node", "core-up", "audit", "audit-summary", "boot-complete", "exception", "panic"};

std::vector<Line> machine_lines(std::string_view log) {
    std::vector<Line> out;
    std::size_t pos = 0;
    std::size_t number = 0;
    while (pos < log.size()) {
        std::size_t eol = log.find('\n', pos);
        if (eol == std::string_view::npos) eol = log.size();
        std::string_view text = log.substr(pos, eol - pos);
        pos = eol + 1;
        ++number;
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        const std::size_t sp = std::min(text.find(' '), text.size());
        const std::string_view kind = text.substr(0, sp);
        if (std::find(std::begin(kinds), std::end(kinds), kind) == std::end(kinds)) continue;
        Line line;
        line.number = number;
        line.kind = std::string(kind);
        std::string_view rest = text.substr(sp);
        while (!rest.empty()) {
            const std::size_t start = rest.find_first_not_of(' ');
            if (start == std::string_view::npos) break;
            rest.remove_prefix(start);
            if (line.kind == "panic" && rest.rfind("msg=", 0) == 0) {
                line.rest_after_msg = std::string(rest.substr(4));
                break;
            }
            const std::size_t end = std::min(rest.find(' '), rest.size());
            const std::string_view word = rest.substr(0, end);
            const std::size_t eq = word.find('=');
            if (eq != std::string_view::npos)
                line.fields.emplace(std::string(word.substr(0, eq)), std::string(word.substr(eq + 1)));
            rest.remove_prefix(end);
        }
        out.push_back(std::move(line));
    }
    return out;
}

class Checker {
public:
    Checker(const Config& c, const BootLogOptions& o, std::vector<std::string>& problems)
        : m_c(c), m_o(o), m_problems(problems), m_node_seen(c.nodes.size(), 0),
          m_core_up(c.cpu_count(), 0), m_audit(c.cpu_count(), 0), m_exceptions(c.cpu_count(), 0),
          m_expected_mem(expected_node_ranges(c)), m_up_kernel(c.cpu_count()), m_audit_kernel(c.cpu_count()) {
        for (unsigned f : expected_fault_cores(c, o.extra_kernel_words))
            if (f < c.cpu_count()) m_faulty.push_back(f);
    }

    void run(const std::vector<Line>& lines) {
        // Node lines first (their order in the log does not matter); core and audit lines are
        // checked against the ranges the config implies, not against these.
        for (const Line& l : lines)
            if (l.kind == "node") on_node(l);
        for (const Line& l : lines) {
            if (l.kind == "core-up") on_core_up(l);
            else if (l.kind == "audit") on_audit(l);
            else if (l.kind == "audit-summary") on_summary(l);
            else if (l.kind == "boot-complete") on_complete(l);
            else if (l.kind == "exception") on_exception(l);
            else if (l.kind == "panic")
                problem(l, "core " + field_text(l, "core") + " panicked: " + l.rest_after_msg);
        }
        finish();
    }

private:
    void problem(const Line& l, const std::string& what) {
        m_problems.push_back("line " + std::to_string(l.number) + ": " + what);
    }
    void problem(const std::string& what) { m_problems.push_back(what); }

    static std::string field_text(const Line& l, std::string_view key) {
        auto it = l.fields.find(key);
        return it == l.fields.end() ? "?" : it->second;
    }
    std::optional<std::uint64_t> number(const Line& l, std::string_view key) {
        auto it = l.fields.find(key);
        std::uint64_t v = 0;
        if (it == l.fields.end() || !parse_u64(it->second, v)) {
            problem(l, "malformed '" + l.kind + "' line: " + std::string(key) + "= missing or not a number");
            return std::nullopt;
        }
        return v;
    }
    bool faulty(unsigned core) const { return std::find(m_faulty.begin(), m_faulty.end(), core) != m_faulty.end(); }

    void on_node(const Line& l) {
        const auto id = number(l, "id");
        if (!id) return;
        if (*id >= m_c.nodes.size()) {
            problem(l, "node " + std::to_string(*id) + " is reported but the config has only " +
                           std::to_string(m_c.nodes.size()) + " nodes");
            return;
        }
        const auto n = static_cast<unsigned>(*id);
        if (++m_node_seen[n] > 1) {
            problem(l, "node " + std::to_string(n) + " is reported more than once");
            return;
        }
        const Node& want = m_c.nodes[n];
        const auto cpus = parse_cpu_list(field_text(l, "cpus"));
        if (!cpus.ok()) problem(l, "node " + std::to_string(n) + " has a malformed cpus= field: " + cpus.error());
        else if (cpus.value() != want.cpus)
            problem(l, "node " + std::to_string(n) + " has CPUs " + format_cpu_list(cpus.value()) + " but the config says " +
                           format_cpu_list(want.cpus));
        const std::string mem = field_text(l, "mem");
        if (mem == "none") {
            if (want.memory_bytes != 0)
                problem(l, "node " + std::to_string(n) + " reports no memory but the config gives it " +
                               format_memory_size(want.memory_bytes));
            return;
        }
        std::uint64_t total = 0;
        std::size_t pos = 0;
        while (pos <= mem.size()) {
            std::size_t comma = mem.find(',', pos);
            if (comma == std::string::npos) comma = mem.size();
            Range r;
            if (!parse_range(std::string_view(mem).substr(pos, comma - pos), r)) {
                problem(l, "node " + std::to_string(n) + " has a malformed mem= field '" + mem + "'");
                return;
            }
            if (!inside(r, m_expected_mem[n]))
                problem(l, "node " + std::to_string(n) + " reports memory " + show(r) +
                               " outside the range the config gives it (" + show(m_expected_mem[n]) + ")");
            total += r.end - r.start;
            pos = comma + 1;
        }
        if (want.memory_bytes == 0)
            problem(l, "node " + std::to_string(n) + " reports " + std::to_string(total / 1024) +
                           " KiB of memory but the config makes it memory-less");
        else if (total > want.memory_bytes || total + m_o.memory_tolerance < want.memory_bytes)
            problem(l, "node " + std::to_string(n) + " reports " + std::to_string(total / 1024) + " KiB of memory but the config gives it " +
                           format_memory_size(want.memory_bytes) + " (allowed: up to " +
                           std::to_string(m_o.memory_tolerance / 1024) + " KiB less)");
    }

    // Core index from a line, range-checked against the config.
    std::optional<unsigned> core(const Line& l) {
        const auto v = number(l, "core");
        if (!v) return std::nullopt;
        if (*v >= m_c.cpu_count()) {
            problem(l, "core " + std::to_string(*v) + " is reported but the config has only " +
                           std::to_string(m_c.cpu_count()) + " CPUs");
            return std::nullopt;
        }
        return static_cast<unsigned>(*v);
    }

    void on_core_up(const Line& l) {
        const auto i = core(l);
        if (!i) return;
        if (++m_core_up[*i] > 1) {
            problem(l, "core " + std::to_string(*i) + " came up more than once");
            return;
        }
        const auto socket = number(l, "socket");
        const auto node = number(l, "node");
        const auto phys = number(l, "kernel");
        if (socket && *socket != m_c.socket_of(*i))
            problem(l, "core " + std::to_string(*i) + " reports socket " + std::to_string(*socket) +
                           " but the config puts it in socket " + std::to_string(m_c.socket_of(*i)));
        const unsigned want_node = m_c.node_of(*i);
        if (node && *node != want_node)
            problem(l, "core " + std::to_string(*i) + " reports node " + std::to_string(*node) +
                           " but the config puts it in node " + std::to_string(want_node));
        const unsigned home = m_c.memory_home(want_node);
        if (phys) m_up_kernel[*i] = *phys;
        if (phys && !inside(Range{*phys, *phys + 1}, m_expected_mem[home]))
            problem(l, "core " + std::to_string(*i) + " runs a kernel at " + hex(*phys) + ", outside the memory of node " +
                           std::to_string(home) + (home != want_node ? " (nearest node with memory to its node " + std::to_string(want_node) + ")" : ""));
    }

    void on_audit(const Line& l) {
        const auto i = core(l);
        if (!i) return;
        if (++m_audit[*i] > 1) {
            problem(l, "core " + std::to_string(*i) + " is audited more than once");
            return;
        }
        Range r;
        if (!parse_range(field_text(l, "kernel"), r)) {
            problem(l, "malformed 'audit' line: kernel= is not a range 0xSTART-0xEND");
            return;
        }
        if (field_text(l, "node-local") != "yes")
            problem(l, "core " + std::to_string(*i) + " audit: its kernel copy " + show(r) + " is not node-local");
        const unsigned home = m_c.memory_home(m_c.node_of(*i));
        if (!inside(r, m_expected_mem[home]))
            problem(l, "core " + std::to_string(*i) + " audit: its kernel copy " + show(r) +
                           " lies outside the memory of node " + std::to_string(home));
        m_audit_kernel[*i] = r.start;
        m_copies.push_back({*i, r});
        // Share nothing, enforced: no writable mapping of another core's kernel frames.
        if (const auto fw = number(l, "foreign-writable"); fw && *fw != 0)
            problem(l, "core " + std::to_string(*i) + " audit: " + std::to_string(*fw) +
                           " frames of other cores' kernels are writable in its page tables");
    }

    // The faulting core of a selftest may stop before it is counted.
    bool count_ok(std::uint64_t got) const {
        const std::uint64_t n = m_c.cpu_count();
        return got == n || (!m_faulty.empty() && got == n - m_faulty.size());
    }

    void on_summary(const Line& l) {
        if (++m_summaries > 1) return problem(l, "audit-summary is reported more than once");
        const auto cores = number(l, "cores");
        const auto overlaps = number(l, "overlaps");
        const auto nonlocal = number(l, "nonlocal");
        if (cores && !count_ok(*cores))
            problem(l, "audit-summary counts " + std::to_string(*cores) + " cores, expected " + std::to_string(m_c.cpu_count()));
        if (overlaps && *overlaps != 0)
            problem(l, "audit-summary reports " + std::to_string(*overlaps) + " overlapping kernel copies");
        if (nonlocal && *nonlocal != 0)
            problem(l, "audit-summary reports " + std::to_string(*nonlocal) + " kernel copies outside their node");
        if (const auto fw = number(l, "foreign-writable"); fw && *fw != 0)
            problem(l, "audit-summary reports " + std::to_string(*fw) + " writable frames of other cores' kernels");
    }

    void on_complete(const Line& l) {
        if (++m_completes > 1) return problem(l, "boot-complete is reported more than once");
        const auto cores = number(l, "cores");
        const auto nodes = number(l, "nodes");
        if (cores && !count_ok(*cores))
            problem(l, "boot-complete counts " + std::to_string(*cores) + " cores, expected " + std::to_string(m_c.cpu_count()));
        if (nodes && *nodes != m_c.nodes.size())
            problem(l, "boot-complete counts " + std::to_string(*nodes) + " nodes, expected " + std::to_string(m_c.nodes.size()));
    }

    void on_exception(const Line& l) {
        const auto i = core(l);
        if (!i) return;
        ++m_exceptions[*i];
        const std::string what = "core " + std::to_string(*i) + " took exception vector " + field_text(l, "vector") +
                                 " (error " + field_text(l, "error") + ", rip " + field_text(l, "rip") + ", cr2 " +
                                 field_text(l, "cr2") + ")";
        if (!faulty(*i)) problem(l, what);
        else if (m_exceptions[*i] > 1) problem(l, what + ": more than the one selftest.fault asked for");
    }

    void finish() {
        for (unsigned n = 0; n < m_c.nodes.size(); ++n)
            if (m_node_seen[n] == 0) problem("node " + std::to_string(n) + " was never reported (no 'node id=" + std::to_string(n) + "' line)");
        std::vector<unsigned> missing;
        std::vector<unsigned> unaudited;
        for (unsigned i = 0; i < m_c.cpu_count(); ++i) {
            if (faulty(i)) continue;
            if (m_core_up[i] == 0) missing.push_back(i);
            if (m_audit[i] == 0) unaudited.push_back(i);
        }
        if (!missing.empty()) problem("cores " + format_cpu_list(missing) + " never came up (no 'core-up' line)");
        // The copy a core says it runs must be the one its own page-table audit found.
        for (unsigned i = 0; i < m_c.cpu_count(); ++i)
            if (m_up_kernel[i] && m_audit_kernel[i] && *m_up_kernel[i] != *m_audit_kernel[i])
                problem("core " + std::to_string(i) + " reports its kernel at " + hex(*m_up_kernel[i]) +
                        " (core-up) but its audit found the copy at " + hex(*m_audit_kernel[i]));
        if (!unaudited.empty()) problem("cores " + format_cpu_list(unaudited) + " were never audited (no 'audit' line)");
        for (unsigned f : m_faulty)
            if (m_exceptions[f] == 0)
                problem("kernel.options asks for selftest.fault=" + std::to_string(f) + " but core " + std::to_string(f) +
                        " reported no exception");
        std::sort(m_copies.begin(), m_copies.end(), [](const auto& a, const auto& b) { return a.second.start < b.second.start; });
        for (std::size_t k = 1; k < m_copies.size(); ++k) {
            // Sorted by start: comparing with the furthest-reaching earlier copy would catch more
            // chains, but one report per adjacent pair is enough to point at the bug.
            const auto& [pa, ra] = m_copies[k - 1];
            const auto& [pb, rb] = m_copies[k];
            if (rb.start < ra.end)
                problem("the kernel copies of cores " + std::to_string(pa) + " (" + show(ra) + ") and " + std::to_string(pb) +
                        " (" + show(rb) + ") overlap");
        }
        if (m_summaries == 0) problem("no 'audit-summary' line");
        if (m_completes == 0) problem("boot did not complete (no 'boot-complete' line)");
    }

    const Config& m_c;
    const BootLogOptions& m_o;
    std::vector<std::string>& m_problems;
    std::vector<unsigned> m_node_seen;
    std::vector<unsigned> m_core_up;
    std::vector<unsigned> m_audit;
    std::vector<unsigned> m_exceptions;
    std::vector<unsigned> m_faulty;
    std::vector<std::vector<Range>> m_expected_mem;       // per node, from the config
    std::vector<std::optional<std::uint64_t>> m_up_kernel;    // core-up kernel=, per core
    std::vector<std::optional<std::uint64_t>> m_audit_kernel; // audit kernel= start, per core
    std::vector<std::pair<unsigned, Range>> m_copies;
    unsigned m_summaries = 0;
    unsigned m_completes = 0;
};

} // namespace

std::vector<unsigned> expected_fault_cores(const Config& c, const std::vector<std::string>& extra) {
    std::vector<unsigned> out;
    auto scan = [&](const std::string& w) {
        constexpr std::string_view prefix = "selftest.fault=";
        if (w.rfind(prefix, 0) != 0) return;
        std::uint64_t v = 0;
        if (parse_u64(std::string_view(w).substr(prefix.size()), v) && v < max_cpus &&
            std::find(out.begin(), out.end(), v) == out.end())
            out.push_back(static_cast<unsigned>(v));
    };
    for (const auto& w : c.kernel_options) scan(w);
    for (const auto& w : extra) scan(w);
    return out;
}

std::vector<std::string> check_boot_log(const Config& c, std::string_view log, const BootLogOptions& options) {
    std::vector<std::string> problems;
    Checker checker(c, options, problems);
    checker.run(machine_lines(log));
    return problems;
}

} // namespace myr::config
