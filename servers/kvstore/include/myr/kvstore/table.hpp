#pragma once
// kvstore's table: pure, fixed capacity, host-tested (tests/unit/kvstore_test.cpp) and fuzzed with
// the decoder (tests/fuzz/fuzz_servers.cpp). Versions come from one clock per table, raised by
// every write, so replicas that apply the same writes in the same order end with the same
// versions, and a key deleted and written again never gets an old version back.
#include <myr/kvstore/interface.hpp>

namespace myr::kvstore {

class Table {
public:
    static constexpr std::size_t capacity = 128;

    Status get(const Key& key, GetReply& out) const {
        out = GetReply{};
        if (key.size == 0) return Status::invalid_argument;
        const Entry* e = find(key);
        if (!e) return Status::not_found;
        out.found = true;
        out.version = e->version;
        out.value = e->value;
        return Status::ok;
    }

    Status put(const Key& key, const Value& value, std::uint64_t& version) {
        if (key.size == 0) return Status::invalid_argument;
        Entry* e = find(key);
        if (!e) e = slot_for_new();
        if (!e) return Status::overflow;
        write(*e, key, value);
        version = e->version;
        return Status::ok;
    }

    Status del(const Key& key, bool& existed) {
        existed = false;
        if (key.size == 0) return Status::invalid_argument;
        Entry* e = find(key);
        if (!e) return Status::ok;
        e->used = false;
        ++m_clock;
        --m_keys;
        existed = true;
        return Status::ok;
    }

    Status cas(const Key& key, std::uint64_t expected, const Value& value, CasReply& out) {
        out = CasReply{};
        if (key.size == 0) return Status::invalid_argument;
        Entry* e = find(key);
        const std::uint64_t current = e ? e->version : 0;
        if (current != expected) {
            out.version = current;
            if (e) out.value = e->value;
            return Status::ok;
        }
        if (!e) e = slot_for_new();
        if (!e) return Status::overflow;
        write(*e, key, value);
        out.swapped = true;
        out.version = e->version;
        out.value = e->value;
        return Status::ok;
    }

    // All or nothing: checks, then room for every new key, then the writes in order.
    Status txn(const Txn& t, TxnReply& out) {
        out = TxnReply{};
        if (t.ops.count == 0) return Status::invalid_argument;
        std::size_t new_keys = 0;
        for (std::uint16_t i = 0; i < t.ops.count; ++i) {
            const TxnOp& op = t.ops.items[i];
            if (op.key.size == 0) return Status::invalid_argument;
            if (op.kind < TxnKind::check || op.kind > TxnKind::del) return Status::invalid_argument;
            const Entry* e = find(op.key);
            if (op.kind == TxnKind::check && (e ? e->version : 0) != op.version) {
                out.failed = static_cast<std::uint8_t>(i);
                out.results.count = 0;
                return Status::ok;
            }
            // A put of a key that does not exist yet needs a slot (count each key once).
            if (op.kind == TxnKind::put && !e) {
                bool earlier = false;
                for (std::uint16_t j = 0; j < i; ++j)
                    earlier = earlier || (t.ops.items[j].kind == TxnKind::put && t.ops.items[j].key == op.key);
                if (!earlier) ++new_keys;
            }
        }
        if (new_keys > capacity - m_keys) return Status::overflow;
        for (std::uint16_t i = 0; i < t.ops.count; ++i) {
            const TxnOp& op = t.ops.items[i];
            TxnResult r{};
            Entry* e = find(op.key);
            switch (op.kind) {
            case TxnKind::check: r.version = e ? e->version : 0; break;
            case TxnKind::get:
                if (e) {
                    r.version = e->version;
                    r.value = e->value;
                }
                break;
            case TxnKind::put: (void)put(op.key, op.value, r.version); break;
            case TxnKind::del: {
                bool existed = false;
                (void)del(op.key, existed);
                break;
            }
            }
            (void)out.results.push(r);
        }
        out.committed = true;
        return Status::ok;
    }

    // Whether a transaction only reads (no put or delete).
    static bool read_only(const Txn& t) {
        for (std::uint16_t i = 0; i < t.ops.count && i < max_txn_ops; ++i)
            if (t.ops.items[i].kind == TxnKind::put || t.ops.items[i].kind == TxnKind::del) return false;
        return true;
    }

    // An order-independent digest of (key, version, value) over the table.
    [[nodiscard]] std::uint64_t digest() const {
        std::uint64_t d = 0;
        for (const Entry& e : m_entries) {
            if (!e.used) continue;
            std::uint64_t h = 0xcbf29ce484222325ull ^ e.version;
            for (std::uint16_t i = 0; i < e.key.size; ++i) h = (h ^ e.key.data[i]) * 0x100000001b3ull;
            h = (h ^ 0xff) * 0x100000001b3ull;
            for (std::uint16_t i = 0; i < e.value.size; ++i) h = (h ^ e.value.data[i]) * 0x100000001b3ull;
            d += h ^ (h >> 29);
        }
        return d;
    }

    [[nodiscard]] std::size_t size() const { return m_keys; }
    [[nodiscard]] std::uint64_t clock() const { return m_clock; }

    // State transfer (a restarted replica rejoins): up to snap_page used slots from `from` into
    // out (next: where to go on; done: nothing after).
    void dump(std::uint32_t from, DumpReply& out) const {
        out.entries.count = 0;
        std::uint32_t i = from;
        for (; i < capacity && out.entries.count < snap_page; ++i)
            if (m_entries[i].used) (void)out.entries.push(SnapEntry{m_entries[i].key, m_entries[i].version, m_entries[i].value});
        out.next = i;
        out.done = true;
        for (std::uint32_t k = i; k < capacity; ++k) out.done = out.done && !m_entries[k].used;
        out.clock = m_clock;
    }
    void clear() {
        for (Entry& e : m_entries) e.used = false;
        m_keys = 0;
        m_clock = 0;
    }
    // An entry as another replica holds it (its version kept); invalid_argument for an empty key
    // or one already here, overflow when full.
    Status load(const SnapEntry& s) {
        if (s.key.size == 0 || find(s.key)) return Status::invalid_argument;
        Entry* e = slot_for_new();
        if (!e) return Status::overflow;
        *e = Entry{true, s.key, s.version, s.value};
        ++m_keys;
        if (s.version > m_clock) m_clock = s.version;
        return Status::ok;
    }
    // The version clock as the other replica had it (never below the versions loaded).
    void set_clock(std::uint64_t c) {
        if (c > m_clock) m_clock = c;
    }

private:
    struct Entry {
        bool used;
        Key key;
        std::uint64_t version;
        Value value;
    };

    Entry* find(const Key& key) {
        for (Entry& e : m_entries)
            if (e.used && e.key == key) return &e;
        return nullptr;
    }
    const Entry* find(const Key& key) const {
        for (const Entry& e : m_entries)
            if (e.used && e.key == key) return &e;
        return nullptr;
    }
    Entry* slot_for_new() {
        for (Entry& e : m_entries)
            if (!e.used) return &e;
        return nullptr;
    }
    void write(Entry& e, const Key& key, const Value& value) {
        if (!e.used) ++m_keys;
        e.used = true;
        e.key = key;
        e.value = value;
        e.version = ++m_clock;
    }

    Entry m_entries[capacity] = {};
    std::size_t m_keys = 0;
    std::uint64_t m_clock = 0;
};

} // namespace myr::kvstore
