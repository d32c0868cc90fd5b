#pragma once
// A linearizability checker for histories of one replicated object (host only): Wing & Gong's
// search with Lowe's memoisation. An operation may be linearized next if it was invoked before
// every other open operation responded; the object itself is the sequential specification.
// Memo keys are a 64-bit hash of (linearized set, state digest): a collision could only prune a
// branch and report a false violation, never hide one.
#include <myr/repl/object.hpp>

#include <algorithm>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace myr::repl::sim {

template <ReplicatedObject Obj>
struct Event {
    typename Obj::Op op;
    typename Obj::Result result;
    std::uint64_t invoke;    // logical step or ns: before the op started
    std::uint64_t response;  // after it completed
};

template <ReplicatedObject Obj>
class LinearizabilityChecker {
public:
    explicit LinearizabilityChecker(std::vector<Event<Obj>> history) : m_h(std::move(history)) {
        std::sort(m_h.begin(), m_h.end(),
                  [](const Event<Obj>& a, const Event<Obj>& b) { return a.invoke < b.invoke; });
        m_done.assign((m_h.size() + 63) / 64, 0);
    }
    [[nodiscard]] bool check(const Obj& initial = Obj{}) {
        Obj s = initial;
        return dfs(s, m_h.size());
    }
    [[nodiscard]] std::size_t explored() const { return m_memo.size(); }

private:
    bool is_done(std::size_t i) const { return (m_done[i / 64] >> (i % 64)) & 1; }
    void flip(std::size_t i) { m_done[i / 64] ^= std::uint64_t{1} << (i % 64); }
    std::uint64_t key(std::uint64_t digest) const {
        std::uint64_t k = mix64(digest);
        for (std::uint64_t w : m_done) k = mix64(k ^ w);
        return k;
    }
    bool dfs(const Obj& s, std::size_t left) {
        if (left == 0) return true;
        std::uint64_t min_resp = ~std::uint64_t{0};
        std::size_t first = 0;
        while (first < m_h.size() && is_done(first)) ++first;
        for (std::size_t i = first; i < m_h.size(); ++i)
            if (!is_done(i)) min_resp = std::min(min_resp, m_h[i].response);
        for (std::size_t i = first; i < m_h.size() && m_h[i].invoke <= min_resp; ++i) {
            if (is_done(i)) continue;
            Obj next = s;
            const auto& e = m_h[i];
            const typename Obj::Result r = Obj::is_read(e.op) ? next.read(e.op) : next.apply(e.op);
            if (!(r == e.result)) continue;
            flip(i);
            if (m_memo.insert(key(next.digest())).second && dfs(next, left - 1)) return true;
            flip(i);
        }
        return false;
    }

    std::vector<Event<Obj>> m_h;
    std::vector<std::uint64_t> m_done;
    std::unordered_set<std::uint64_t> m_memo;
};

template <ReplicatedObject Obj>
[[nodiscard]] bool linearizable(std::vector<Event<Obj>> history, const Obj& initial = Obj{}) {
    LinearizabilityChecker<Obj> c(std::move(history));
    return c.check(initial);
}

} // namespace myr::repl::sim
