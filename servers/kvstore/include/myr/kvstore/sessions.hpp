#pragma once
// The answers kvstore keeps for retried writes (docs/servers.md, "Retries"): the last answer of
// each client session, for a fixed number of sessions. Pure, host-tested (tests/unit/rpc_test.cpp)
// and fuzzed from the wire (tests/fuzz/fuzz_servers.cpp).
#include <myr/kvstore/interface.hpp>

namespace myr::kvstore {

class Sessions {
public:
    // Sessions remembered at once. A client whose session was pushed out (the least recently
    // answered of more than this many writing clients) has a retried write done again.
    static constexpr std::size_t capacity = 16;

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
        const Entry* e = find(core, domain, session);
        if (!e) return Seen::fresh;
        if (request == e->answer.request) {
            if (e->answer.op != op) return Seen::stale;  // the same id for another operation: not a retry
            kept = &e->answer;
            return Seen::answered;
        }
        return request < e->answer.request ? Seen::stale : Seen::fresh;
    }

    // Keeps `a` as its session's last answer (replacing the previous one); a new session takes a
    // free entry or the least recently answered session's.
    void keep(const Answer& a) {
        if (a.session == 0) return;
        Entry* e = find(a.core, a.domain, a.session);
        if (!e) {
            e = &m_entries[0];
            for (Entry& x : m_entries) {
                if (!x.used) {
                    e = &x;
                    break;
                }
                if (x.stamp < e->stamp) e = &x;
            }
        }
        e->used = true;
        e->stamp = ++m_clock;
        e->answer = a;
    }

    // The kept answer at index i or after it (for transfers): its index in `at`, or capacity.
    std::size_t next_from(std::size_t i) const {
        for (; i < capacity; ++i)
            if (m_entries[i].used) return i;
        return capacity;
    }
    const Answer& at(std::size_t i) const { return m_entries[i].answer; }

    // dump_answers: the kept answer at index `from` or after it, and where to ask next.
    void page(std::uint32_t from, DumpAnswersReply& out) const {
        out = DumpAnswersReply{};
        const std::size_t i = next_from(from);
        out.done = i >= capacity;
        if (out.done) return;
        (void)out.answers.push(at(i));
        out.next = static_cast<std::uint32_t>(i + 1);
        out.done = next_from(i + 1) >= capacity;
    }

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
    const Entry* find(std::uint32_t core, std::uint32_t domain, std::uint32_t session) const {
        for (const Entry& e : m_entries)
            if (e.used && e.answer.core == core && e.answer.domain == domain && e.answer.session == session) return &e;
        return nullptr;
    }
    Entry* find(std::uint32_t core, std::uint32_t domain, std::uint32_t session) {
        return const_cast<Entry*>(static_cast<const Sessions*>(this)->find(core, domain, session));
    }

    Entry m_entries[capacity];
    std::uint64_t m_clock = 0;
};

} // namespace myr::kvstore
