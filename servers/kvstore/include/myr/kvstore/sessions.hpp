#pragma once
// The answers kvstore keeps for retried writes (docs/servers.md, "Retried writes"): the last
// answer of each client session, in a fixed table of slots. The primary chooses each answer's
// slot (place) and sends it with the answer, so every replica holds the same answer in the same
// slot. Pure, host-tested (tests/unit/rpc_test.cpp) and fuzzed from the wire
// (tests/fuzz/fuzz_servers.cpp).
#include <myr/kvstore/interface.hpp>
#include <myr/repl/primary_backup/machine.hpp>

namespace myr::kvstore {

class Sessions {
public:
    // Slots: sessions remembered at once, across all clients.
    static constexpr std::size_t capacity = 128;
    // Sessions of one client domain remembered at once: a domain writing through more sessions
    // than this pushes out its own least recently answered one (whose resent last write would
    // then be done again); it cannot push out other domains' sessions.
    static constexpr std::size_t per_domain = 4;
    // place(): no slot for this session, every slot holds a live domain's session.
    static constexpr std::size_t none = capacity;

    enum class Seen : std::uint8_t {
        fresh,     // a request after the last one answered (or a session not kept): do it
        answered,  // the last request answered: answer it again with the kept answer
        stale,     // older than the last one answered: a copy that came late; do nothing
    };

    // What to do with request `request` of op `op` from this caller's session; with answered,
    // `kept` points to the answer.
    Seen check(std::uint32_t core, std::uint32_t domain, std::uint32_t session, std::uint32_t request,
               std::uint16_t op, const Answer*& kept) const {
        kept = nullptr;
        if (session == 0) return Seen::fresh;
        const std::size_t i = find(core, domain, session);
        if (i == none) return Seen::fresh;
        const Answer& a = m_entries[i].answer;
        if (request == a.request) {
            if (a.op != op) return Seen::stale;  // the same id for another operation: not a retry
            kept = &a;
            return Seen::answered;
        }
        return request < a.request ? Seen::stale : Seen::fresh;
    }

    // The primary, before it does a write of session `session` (never 0): the slot its answer
    // will take. In order: the session's own slot; the least recently answered slot of the same
    // domain when that domain holds per_domain sessions already; a free slot; the least recently
    // answered slot of a domain that ended (`alive(core, domain)` false: it sends nothing again).
    // none when every slot holds a session of a live domain: the write must be refused, not done
    // (done without a kept answer, a resend of it would be done twice).
    template <typename Alive>
    std::size_t place(std::uint32_t core, std::uint32_t domain, std::uint32_t session, Alive&& alive) const {
        if (const std::size_t i = find(core, domain, session); i != none) return i;
        std::size_t own = 0, own_oldest = none, free = none;
        for (std::size_t i = 0; i < capacity; ++i) {
            const Entry& e = m_entries[i];
            if (!e.used) {
                if (free == none) free = i;
                continue;
            }
            if (e.answer.core == core && e.answer.domain == domain) {
                ++own;
                if (own_oldest == none || e.stamp < m_entries[own_oldest].stamp) own_oldest = i;
            }
        }
        if (own >= per_domain) return own_oldest;
        if (free != none) return free;
        // Ask about each domain once per call (alive may be a message to the monitor): the slots
        // from the least recently answered on, stopping at the first whose domain ended.
        std::size_t order[capacity];
        for (std::size_t i = 0; i < capacity; ++i) order[i] = i;
        for (std::size_t i = 1; i < capacity; ++i)  // insertion sort by stamp: 128 entries, rare
            for (std::size_t j = i; j > 0 && m_entries[order[j]].stamp < m_entries[order[j - 1]].stamp; --j) {
                const std::size_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (std::size_t k = 0; k < capacity; ++k) {
            const Answer& a = m_entries[order[k]].answer;
            bool asked = false;
            for (std::size_t p = 0; p < k && !asked; ++p) {
                const Answer& b = m_entries[order[p]].answer;
                asked = b.core == a.core && b.domain == a.domain;
            }
            if (!asked && !alive(a.core, a.domain)) return order[k];
        }
        return none;
    }

    // Keeps `a` in slot a.slot (replacing what was there, and any other slot of the same
    // session). false, keeping nothing: session 0 (nothing to keep) or a slot out of range.
    bool keep(const Answer& a) {
        if (a.session == 0 || a.slot >= capacity) return false;
        const std::size_t at = find(a.core, a.domain, a.session);
        if (at != none && at != a.slot) m_entries[at].used = false;
        Entry& e = m_entries[a.slot];
        e.used = true;
        e.stamp = ++m_clock;
        e.answer = a;
        return true;
    }

    // The kept answer at index i or after it (for transfers): its index in `at`, or capacity.
    std::size_t next_from(std::size_t i) const {
        for (; i < capacity; ++i)
            if (m_entries[i].used) return i;
        return capacity;
    }
    const Answer& at(std::size_t i) const { return m_entries[i].answer; }

    // dump_answers: the kept answer at index `from` or after it, and where to ask next.
    void page(std::uint32_t from, DumpAnswersReply& out) const { repl::pb::answer_page(*this, from, out); }

    std::size_t size() const {
        std::size_t n = 0;
        for (const Entry& e : m_entries) n += e.used ? 1 : 0;
        return n;
    }
    void clear() {
        for (Entry& e : m_entries) e.used = false;
        m_clock = 0;
    }

private:
    struct Entry {
        bool used = false;
        std::uint64_t stamp = 0;
        Answer answer{};
    };
    std::size_t find(std::uint32_t core, std::uint32_t domain, std::uint32_t session) const {
        for (std::size_t i = 0; i < capacity; ++i) {
            const Entry& e = m_entries[i];
            if (e.used && e.answer.core == core && e.answer.domain == domain && e.answer.session == session) return i;
        }
        return none;
    }

    Entry m_entries[capacity];
    std::uint64_t m_clock = 0;
};

} // namespace myr::kvstore
