#pragma once
// nameserv's state, pure and host-tested (tests/unit/nameserv_test.cpp): the name table, the
// orderer's log of numbered changes, and a replica that applies a log in order. Every replica
// applies the same changes in the same order through Table::apply, so their tables are equal at
// equal sequence numbers; the digest (a sum of one hash per entry, kept as entries come and go)
// lets a replica check that after every change it applies.
#include <myr/nameserv/interface.hpp>

namespace myr::nameserv {

constexpr std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

class Table {
public:
    static constexpr std::uint32_t capacity = 128;

    // add-if-absent: ok, exists (holder in `owner`), overflow, invalid_argument.
    constexpr Status add(const Name& name, Address who, Address& owner) {
        owner = Address{};
        if (!valid_name(name)) return Status::invalid_argument;
        if (const Entry* e = find(name)) {
            owner = e->owner;
            return Status::exists;
        }
        for (Entry& e : m_entries)
            if (!e.used) {
                e = Entry{true, name, who};
                m_digest += hash(e);
                ++m_count;
                owner = who;
                return Status::ok;
            }
        return Status::overflow;
    }

    constexpr Status lookup(const Name& name, Address& owner) const {
        owner = Address{};
        if (!valid_name(name)) return Status::invalid_argument;
        const Entry* e = find(name);
        if (!e) return Status::not_found;
        owner = e->owner;
        return Status::ok;
    }

    // Only the owner removes: permission_denied (holder in `owner`) for anyone else.
    constexpr Status remove(const Name& name, Address who, Address& owner) {
        owner = Address{};
        if (!valid_name(name)) return Status::invalid_argument;
        Entry* e = find(name);
        if (!e) return Status::not_found;
        owner = e->owner;
        if (!(e->owner == who)) return Status::permission_denied;
        erase(*e);
        return Status::ok;
    }

    // Every name of `who`; how many went.
    constexpr unsigned drop_owner(Address who) {
        unsigned n = 0;
        for (Entry& e : m_entries)
            if (e.used && e.owner == who) {
                erase(e);
                ++n;
            }
        return n;
    }

    [[nodiscard]] constexpr bool holds_names_of(Address who) const {
        for (const Entry& e : m_entries)
            if (e.used && e.owner == who) return true;
        return false;
    }

    // One change, as every replica applies it; its outcome (and the holder, see add/remove).
    constexpr Status apply(const Update& u, Address& owner) {
        switch (u.kind) {
        case Kind::add: return add(u.name_, u.owner, owner);
        case Kind::remove: return remove(u.name_, u.owner, owner);
        case Kind::drop_owner:
            owner = u.owner;
            return drop_owner(u.owner) > 0 ? Status::ok : Status::not_found;
        }
        return Status::invalid_argument;
    }

    constexpr void list(std::uint32_t from, ListReply& out) const {
        out = ListReply{};
        out.total = m_count;
        std::uint32_t i = from;
        for (; i < capacity && out.entries.count < list_page; ++i)
            if (m_entries[i].used) (void)out.entries.push(ListEntry{m_entries[i].name, m_entries[i].owner});
        out.next = i;
    }

    // The i-th used entry's owner (sweeps over owners); false past the end.
    constexpr bool owner_at(std::uint32_t slot, Address& owner) const {
        if (slot >= capacity || !m_entries[slot].used) return false;
        owner = m_entries[slot].owner;
        return true;
    }

    [[nodiscard]] constexpr std::uint32_t size() const { return m_count; }
    [[nodiscard]] constexpr std::uint64_t digest() const { return m_digest + m_count; }

private:
    struct Entry {
        bool used = false;
        Name name;
        Address owner{};
    };
    static constexpr std::uint64_t hash(const Entry& e) {
        std::uint64_t h = 0xcbf29ce484222325ULL;
        for (std::size_t i = 0; i < e.name.size && i < max_name; ++i) h = (h ^ e.name.data[i]) * 0x100000001b3ULL;
        return mix(h ^ mix((std::uint64_t{e.owner.core} << 32) | e.owner.domain));
    }
    constexpr Entry* find(const Name& n) {
        for (Entry& e : m_entries)
            if (e.used && e.name == n) return &e;
        return nullptr;
    }
    constexpr const Entry* find(const Name& n) const {
        for (const Entry& e : m_entries)
            if (e.used && e.name == n) return &e;
        return nullptr;
    }
    constexpr void erase(Entry& e) {
        m_digest -= hash(e);
        --m_count;
        e = Entry{};
    }

    Entry m_entries[capacity];
    std::uint32_t m_count = 0;
    std::uint64_t m_digest = 0;
};

// The orderer: applies a change to its table and, when it changed the table, logs it with the
// next sequence number and the digest after it. The log keeps the newest `log_capacity` changes;
// a replica further behind than that cannot catch up (Fetch answers out_of_range).
class Orderer {
public:
    static constexpr std::uint64_t log_capacity = 512;

    // The change's outcome; seq = its log position (0 when it changed nothing, e.g. exists).
    constexpr Status order(const Update& u, Address& owner, std::uint64_t& seq) {
        seq = 0;
        const Status s = m_table.apply(u, owner);
        if (s != Status::ok) return s;
        seq = ++m_last;
        m_log[seq % log_capacity] = LogEntry{u, m_table.digest()};
        return s;
    }

    constexpr Status fetch(std::uint64_t from, FetchReply& out) const {
        out = FetchReply{};
        out.last = m_last;
        if (from == 0 || from > m_last + 1) return Status::out_of_range;
        if (m_last >= log_capacity && from <= m_last - log_capacity) return Status::out_of_range;
        for (std::uint64_t s = from; s <= m_last && out.entries.count < fetch_page; ++s)
            (void)out.entries.push(m_log[s % log_capacity]);
        return Status::ok;
    }

    [[nodiscard]] constexpr const Table& table() const { return m_table; }
    [[nodiscard]] constexpr std::uint64_t last() const { return m_last; }

private:
    Table m_table;
    std::uint64_t m_last = 0;
    LogEntry m_log[log_capacity] = {};
};

// A replica that is not the orderer: applies a fetched page in order. Entries must start at
// applied() + 1 (a page for another position is refused whole); after each it compares its
// digest with the orderer's and counts a difference (which would be a bug: same changes, same
// order).
class Follower {
public:
    // ok, or out_of_range (the page does not continue our log: nothing applied).
    constexpr Status apply_page(std::uint64_t from, const FetchReply& page) {
        if (from != m_applied + 1) return Status::out_of_range;
        for (std::uint16_t i = 0; i < page.entries.count && i < fetch_page; ++i) {
            Address ignored{};
            (void)m_table.apply(page.entries.items[i].update, ignored);
            ++m_applied;
            if (m_table.digest() != page.entries.items[i].digest) ++m_diverged;
        }
        m_known_last = page.last;
        return Status::ok;
    }
    [[nodiscard]] constexpr bool caught_up() const { return m_applied >= m_known_last; }
    [[nodiscard]] constexpr const Table& table() const { return m_table; }
    [[nodiscard]] constexpr std::uint64_t applied() const { return m_applied; }
    [[nodiscard]] constexpr std::uint64_t diverged() const { return m_diverged; }

private:
    Table m_table;
    std::uint64_t m_applied = 0, m_known_last = 0, m_diverged = 0;
};

} // namespace myr::nameserv
