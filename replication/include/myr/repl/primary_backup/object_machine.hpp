#pragma once
// Any replicated object (object.hpp) as a primary-backup machine (machine.hpp), so every object in
// the catalogue runs under primary-backup with a log and joins at run time (docs/replication.md,
// "Primary-backup"). A write is one of the object's update ops (the primary applies it, gets its
// result, and forwards the op: objects are deterministic). The table sent to a joining replica is
// the object's bytes in chunks, in order; a table that came incomplete or out of order, or whose
// object fails valid_state(), is refused before anything is served from it. Kept answers: the last
// result of each client, up to `Clients` clients (client 0 keeps nothing). Messages are plain
// structs; log records are their bytes.
#include <myr/repl/object.hpp>
#include <myr/repl/primary_backup/machine.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::repl::pb {

// A count and up to N items (the shape of the pages the protocol reads: `count`, `items`).
template <typename T, std::size_t N>
struct Items {
    std::uint32_t count = 0;
    T items[N]{};
    bool push(const T& t) {
        if (count >= N) return false;
        items[count++] = t;
        return true;
    }
};

template <ReplicatedObject Obj, std::size_t Clients = 16>
struct ObjectMachine {
    static constexpr std::size_t chunk = 48;  // object bytes per table entry
    static constexpr std::size_t page_entries = 4;
    static constexpr std::size_t chunks = (sizeof(Obj) + chunk - 1) / chunk;

    using Write = typename Obj::Op;
    struct Answer {
        std::uint32_t client = 0, request = 0;  // client 0: nothing to keep
        typename Obj::Result result{};
    };
    struct Entry {
        std::uint32_t offset = 0, size = 0;
        std::uint8_t bytes[chunk]{};
    };

    struct DumpReply {
        std::uint64_t seq = 0, clock = 0;
        std::uint32_t next = 0;
        bool done = false;
        Items<Entry, page_entries> entries;
    };

    class State {
    public:
        Obj obj{};
        void clear() {
            obj = Obj{};
            m_filled = 0;
        }
        [[nodiscard]] std::size_t size() const { return chunks; }
        [[nodiscard]] std::uint64_t digest() const { return obj.digest(); }
        void dump(std::uint32_t from, DumpReply& out) const {
            out.entries.count = 0;
            std::uint32_t i = from;
            const auto* raw = reinterpret_cast<const std::uint8_t*>(&obj);
            for (; i < chunks && out.entries.count < page_entries; ++i) {
                Entry e{};
                e.offset = static_cast<std::uint32_t>(i * chunk);
                e.size = static_cast<std::uint32_t>(sizeof(Obj) - e.offset < chunk ? sizeof(Obj) - e.offset : chunk);
                __builtin_memcpy(e.bytes, raw + e.offset, e.size);
                (void)out.entries.push(e);
            }
            out.next = i;
            out.done = i >= chunks;
            out.clock = 0;
        }
        // The next chunk in order (after clear(): the first); anything else is refused.
        Status load(const Entry& e) {
            if (e.offset != m_filled || e.size == 0 || e.size > chunk || e.size > sizeof(Obj) - m_filled)
                return Status::invalid_argument;
            __builtin_memcpy(reinterpret_cast<std::uint8_t*>(&obj) + e.offset, e.bytes, e.size);
            m_filled += e.size;
            return Status::ok;
        }
        [[nodiscard]] bool complete() const { return m_filled == sizeof(Obj) && obj.valid_state(); }
        [[nodiscard]] std::uint64_t clock() const { return 0; }
        void set_clock(std::uint64_t) {}

    private:
        std::uint32_t m_filled = sizeof(Obj);  // bytes loaded in order since clear()
    };

    struct DumpAnswersReply {
        std::uint32_t next = 0;
        bool done = false;
        Items<Answer, 1> answers;
    };

    class Answers {
    public:
        static constexpr std::size_t capacity = Clients;
        // The client's slot (its old answer replaced), else the first free one, else the slot its
        // number picks: the same on every replica that keeps the same answers in the same order.
        void keep(const Answer& a) {
            if (a.client == 0) return;
            std::size_t at = capacity;
            for (std::size_t i = 0; i < capacity && at == capacity; ++i)
                if (m_used[i] && m_items[i].client == a.client) at = i;
            for (std::size_t i = 0; i < capacity && at == capacity; ++i)
                if (!m_used[i]) at = i;
            if (at == capacity) at = a.client % capacity;
            m_used[at] = true;
            m_items[at] = a;
        }
        // The kept answer of `client`, or null.
        [[nodiscard]] const Answer* find(std::uint32_t client) const {
            for (std::size_t i = 0; i < capacity; ++i)
                if (m_used[i] && m_items[i].client == client) return &m_items[i];
            return nullptr;
        }
        void clear() {
            for (bool& u : m_used) u = false;
        }
        [[nodiscard]] std::size_t size() const {
            std::size_t n = 0;
            for (bool u : m_used) n += u ? 1 : 0;
            return n;
        }
        [[nodiscard]] std::size_t next_from(std::size_t i) const {
            for (; i < capacity; ++i)
                if (m_used[i]) return i;
            return capacity;
        }
        [[nodiscard]] const Answer& at(std::size_t i) const { return m_items[i]; }
        void page(std::uint32_t from, DumpAnswersReply& out) const { answer_page(*this, from, out); }

    private:
        bool m_used[capacity]{};
        Answer m_items[capacity]{};
    };

    struct ApplyReply {
        std::uint64_t applied = 0;
    };
    struct Apply {
        std::uint64_t history = 0, seq = 0;
        Write write{};
        Answer answer{};
    };
    struct Stats {};
    struct StatsReply {
        std::uint64_t keys = 0, applied = 0, history = 0, digest = 0;
    };
    struct Dump {
        std::uint32_t from = 0;
    };
    struct Load {
        bool first = false, last = false;
        std::uint64_t seq = 0, clock = 0;
        Items<Entry, page_entries> entries;
    };
    struct DumpAnswers {
        std::uint32_t from = 0;
    };
    struct KeepAnswer {
        Answer answer{};
    };
    struct Rebase {
        std::uint64_t from_history = 0, from_seq = 0, history = 0;
    };
    struct Resume {
        std::uint64_t history = 0, seq = 0;
    };

    // Updates only: a read never reaches the log (the primary answers it from its state).
    static Status apply(State& s, const Write& w) {
        if (!Obj::valid(w) || Obj::is_read(w)) return Status::invalid_argument;
        (void)s.obj.apply(w);
        return Status::ok;
    }
    static Status loaded(const State& s) { return s.complete() ? Status::ok : Status::malformed; }
    template <typename T>
    static Status encode(const T& m, std::span<std::uint8_t> out, std::size_t& len) {
        if (out.size() < sizeof(T)) return Status::overflow;
        __builtin_memcpy(out.data(), &m, sizeof(T));
        len = sizeof(T);
        return Status::ok;
    }
    template <typename T>
    static Status decode(std::span<const std::uint8_t> in, T& m) {
        if (in.size() != sizeof(T)) return Status::malformed;
        __builtin_memcpy(&m, in.data(), sizeof(T));
        return Status::ok;
    }
};

} // namespace myr::repl::pb
