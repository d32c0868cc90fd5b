#pragma once
// Restart policy of a supervised server (docs/monitors.md, "Supervision"): pure, shared by the
// config tool (which checks `[[server]] restart` and writes it into the server's kernel word) and
// the monitors (which read it back and decide, for each crash of an instance of their core,
// whether and when to start it again). Host-tested in tests/unit/supervise_test.cpp.
//
//   never            a crash leaves the instance down (the default)
//   always           every crash is followed by a restart
//   N/T              at most N restarts within any T milliseconds; the crash after that leaves
//                    the instance down for good (reported once)
//
// Restarts back off exponentially: the k-th restart within the window waits backoff * 2^k ms
// (k from 0, at most 2^max_backoff_shift). The kernel word spells a policy `never`,
// `always@B` or `N/T@B` with B the backoff base, all in milliseconds.
#include <cstddef>
#include <cstdint>

namespace myr::supervise {

enum class Kind : std::uint8_t { never, always, budget };

inline constexpr std::uint32_t max_restarts = 16;          // N of N/T
inline constexpr std::uint64_t max_window_ms = 3'600'000;  // T of N/T: an hour
inline constexpr std::uint64_t default_backoff_ms = 100;
inline constexpr std::uint64_t max_backoff_ms = 60'000;    // the base; doubling stops at 2^6
inline constexpr unsigned max_backoff_shift = 6;
inline constexpr std::uint64_t always_window_ms = 10'000;  // `always`: the window backoff counts in
inline constexpr std::uint64_t min_heartbeat_ms = 50;      // a server beats every quarter period
inline constexpr std::uint64_t max_heartbeat_ms = 600'000;

struct Policy {
    Kind kind = Kind::never;
    std::uint32_t max = 0;         // budget: restarts allowed within window_ms
    std::uint64_t window_ms = 0;
    std::uint64_t backoff_ms = 0;  // parse() sets default_backoff_ms when the word names none
    constexpr bool operator==(const Policy&) const = default;
};

namespace detail {
constexpr bool number(const char* s, std::size_t len, std::size_t& i, std::uint64_t limit, std::uint64_t& out) {
    const std::size_t start = i;
    out = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        out = out * 10 + static_cast<std::uint64_t>(s[i++] - '0');
        if (out > limit) return false;
    }
    return i > start;
}
constexpr bool word(const char* s, std::size_t len, std::size_t& i, const char* w) {
    std::size_t k = 0;
    while (w[k]) {
        if (i + k >= len || s[i + k] != w[k]) return false;
        ++k;
    }
    i += k;
    return true;
}
} // namespace detail

// The kernel-word form; false (and `out` untouched) for anything else. Empty means never.
[[nodiscard]] constexpr bool parse(const char* s, std::size_t len, Policy& out) {
    Policy p{};
    std::size_t i = 0;
    if (len == 0 || (detail::word(s, len, i, "never") && i == len)) {
        out = p;
        return true;
    }
    i = 0;
    p.backoff_ms = default_backoff_ms;
    if (detail::word(s, len, i, "always")) {
        p.kind = Kind::always;
    } else {
        std::uint64_t n = 0, t = 0;
        if (!detail::number(s, len, i, max_restarts, n) || n == 0 || i >= len || s[i++] != '/') return false;
        if (!detail::number(s, len, i, max_window_ms, t) || t == 0) return false;
        p.kind = Kind::budget;
        p.max = static_cast<std::uint32_t>(n);
        p.window_ms = t;
    }
    if (i < len) {
        std::uint64_t b = 0;
        if (s[i++] != '@' || !detail::number(s, len, i, max_backoff_ms, b) || i != len) return false;
        p.backoff_ms = b;
    }
    out = p;
    return true;
}

// What to do after a crash.
struct Decision {
    bool restart;            // false: stay down (never, or the budget is spent)
    std::uint64_t delay_ms;  // restart after this long
    std::uint32_t recent;    // restarts within the window before this one
};

// The restarts of one instance (its times, newest last), and the decision for its next crash.
class History {
public:
    [[nodiscard]] constexpr Decision on_crash(const Policy& p, std::uint64_t now_ms) {
        if (p.kind == Kind::never) return {false, 0, 0};
        const std::uint64_t window = p.kind == Kind::budget ? p.window_ms : always_window_ms;
        // Forget restarts older than the window.
        std::uint32_t keep = 0;
        for (std::uint32_t k = 0; k < m_count; ++k)
            if (now_ms - m_at[k] < window) m_at[keep++] = m_at[k];
        m_count = keep;
        const std::uint32_t recent = m_count;
        if (p.kind == Kind::budget && recent >= p.max) return {false, 0, recent};
        const unsigned shift = recent < max_backoff_shift ? recent : max_backoff_shift;
        if (m_count == max_restarts) {  // `always` after many: the oldest goes
            for (std::uint32_t k = 1; k < m_count; ++k) m_at[k - 1] = m_at[k];
            --m_count;
        }
        m_at[m_count++] = now_ms;
        return {true, p.backoff_ms << shift, recent};
    }

private:
    std::uint64_t m_at[max_restarts] = {};
    std::uint32_t m_count = 0;
};

} // namespace myr::supervise
