#include <myr/config/units.hpp>

#include <myr/config/config.hpp>

#include <charconv>
#include <limits>

namespace myr::config {
namespace {

// Parses a whole decimal number (no sign, no spaces); false on anything else or overflow.
bool parse_decimal(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return false;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc{} && ptr == end;
}

} // namespace

Parsed<std::uint64_t> parse_memory_size(std::string_view text) {
    const std::string quoted = "'" + std::string(text) + "'";
    if (text.empty()) return {std::string("empty size (expected e.g. \"512M\" or \"1G\")")};
    std::uint64_t unit = mib;  // bare digits mean MiB, like an integer value
    std::string_view digits = text;
    switch (text.back()) {
    case 'K': case 'k': unit = 1024; digits.remove_suffix(1); break;
    case 'M': case 'm': unit = mib; digits.remove_suffix(1); break;
    case 'G': case 'g': unit = 1024 * mib; digits.remove_suffix(1); break;
    default: break;
    }
    std::uint64_t n = 0;
    if (!parse_decimal(digits, n))
        return {"not a size: " + quoted + " (expected digits with an optional K/M/G suffix, e.g. \"512M\")"};
    if (n > std::numeric_limits<std::uint64_t>::max() / unit) return {"size too large: " + quoted};
    return {n * unit};
}

std::string format_memory_size(std::uint64_t bytes) {
    constexpr std::uint64_t gib = 1024 * mib;
    if (bytes == 0) return "0";
    if (bytes % gib == 0) return std::to_string(bytes / gib) + "G";
    if (bytes % mib == 0) return std::to_string(bytes / mib) + "M";
    if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + "K";
    return std::to_string(bytes);
}

Parsed<std::vector<unsigned>> parse_cpu_list(std::string_view text) {
    constexpr std::uint64_t limit = 1u << 20;  // far above any CPU count; keeps ranges cheap
    std::vector<unsigned> out;
    std::vector<bool> seen;
    std::size_t pos = 0;
    if (text.empty()) return {out};
    while (pos <= text.size()) {
        std::size_t comma = text.find(',', pos);
        if (comma == std::string_view::npos) comma = text.size();
        const std::string_view item = text.substr(pos, comma - pos);
        const std::size_t dash = item.find('-');
        std::uint64_t lo = 0;
        std::uint64_t hi = 0;
        bool good = false;
        if (dash == std::string_view::npos) {
            good = parse_decimal(item, lo);
            hi = lo;
        } else {
            good = parse_decimal(item.substr(0, dash), lo) && parse_decimal(item.substr(dash + 1), hi);
        }
        if (!good)
            return {"bad CPU list item '" + std::string(item) + "' in '" + std::string(text) +
                    "' (expected e.g. \"0-3,8\")"};
        if (lo > hi) return {"reversed range '" + std::string(item) + "'"};
        if (hi >= limit) return {"CPU index " + std::to_string(hi) + " is absurdly large"};
        if (seen.size() <= hi) seen.resize(hi + 1, false);
        for (std::uint64_t c = lo; c <= hi; ++c) {
            if (seen[c]) return {"CPU " + std::to_string(c) + " listed twice in '" + std::string(text) + "'"};
            seen[c] = true;
        }
        pos = comma + 1;
    }
    for (std::size_t c = 0; c < seen.size(); ++c)
        if (seen[c]) out.push_back(static_cast<unsigned>(c));
    return {out};
}

std::vector<std::pair<unsigned, unsigned>> cpu_ranges(const std::vector<unsigned>& cpus) {
    std::vector<std::pair<unsigned, unsigned>> out;
    for (unsigned c : cpus) {
        if (!out.empty() && out.back().second + 1 == c) out.back().second = c;
        else out.emplace_back(c, c);
    }
    return out;
}

std::string format_cpu_list(const std::vector<unsigned>& cpus) {
    std::string s;
    for (auto [lo, hi] : cpu_ranges(cpus)) {
        if (!s.empty()) s += ',';
        s += std::to_string(lo);
        if (hi != lo) s += '-' + std::to_string(hi);
    }
    return s;
}

Parsed<std::uint64_t> parse_duration_ms(std::string_view text) {
    std::size_t i = 0;
    std::uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (n > 1'000'000'000) return {std::string("too large")};
        n = n * 10 + static_cast<std::uint64_t>(text[i++] - '0');
    }
    if (i == 0) return {std::string("expected a number and a unit (ms, s, m), e.g. \"500ms\"")};
    const std::string_view unit = text.substr(i);
    if (unit == "ms") return {n};
    if (unit == "s") return {n * 1000};
    if (unit == "m") return {n * 60'000};
    return {std::string("unknown unit '") + std::string(unit) + "' (ms, s, m)"};
}

} // namespace myr::config
