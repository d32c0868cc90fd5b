#pragma once
// nameserv's table (docs/servers.md, "nameserv"; docs/replication.md): name -> owner (core,
// domain). Names are 1..24 bytes of printable ASCII without spaces, so one operation (kind,
// length, owner core and domain, the name) is exactly 32 bytes and travels in one replication
// line. Operations:
//   add(name, owner)     add-if-absent: ok, exists (+ holder), overflow (table full)
//   remove(name, owner)  only the owner: ok, not_found, permission_denied (+ holder)
//   drop_owner(owner)    every name of a domain that died: ok (some went) or not_found
//   lookup(name)         a read: ok (+ owner) or not_found
// Add-if-absent does not commute with itself (two adds of one name: the first wins), nor does
// drop_owner with an add by the same owner, so updates need an agreement protocol (sequencer or
// 2pc). drop_owner touches every name of an owner, which no single per-name key can lock, so
// every op has the same 2pc conflict key: under 2pc the table's updates are serialised (names
// change rarely; nameserv itself runs the sequencer).
//
// Entries are a fixed array searched linearly by the whole name (no hashing, so no collision can
// make two names meet); a new name takes the first free slot, which is deterministic, so equal
// logs give equal slot layouts on every replica (nameserv's `list` pages by slot).
#include <myr/repl/object.hpp>

#include <cstdint>
#include <string_view>

namespace myr::repl {

class NameTable {
public:
    static constexpr std::string_view name = "nametable";
    static constexpr bool commutes = false;  // add-if-absent: agreement only
    static constexpr Protocol default_protocol = Protocol::sequencer;
    static constexpr std::size_t name_bytes = 24;
    static constexpr std::uint32_t capacity = 128;

    enum class Kind : std::uint8_t { lookup = 1, add = 2, remove = 3, drop_owner = 4 };
    struct Owner {
        std::uint32_t core;
        std::uint32_t domain;
        constexpr bool operator==(const Owner&) const = default;
    };
    struct Op {
        Kind kind;
        std::uint8_t length;   // name bytes used; 0 for drop_owner
        std::uint16_t core;    // add: the owner; remove: who asks; drop_owner: the dead domain
        std::uint32_t domain;
        char name[name_bytes];  // bytes past `length` are zero (valid() checks)
    };
    struct Result {
        Status status;
        Owner owner;  // add: the holder (new or old); remove: the holder; lookup: the owner
        constexpr bool operator==(const Result&) const = default;
    };

    // invalid_argument-free builders: a name longer than name_bytes or an owner core above
    // 0xffff gives an op valid() refuses (length 0).
    static constexpr Op make(Kind k, std::string_view n, Owner who) {
        Op op{};
        op.kind = k;
        if (who.core > 0xffff) return op;
        op.core = static_cast<std::uint16_t>(who.core);
        op.domain = who.domain;
        if (n.size() > name_bytes) return op;
        op.length = static_cast<std::uint8_t>(n.size());
        for (std::size_t i = 0; i < n.size(); ++i) op.name[i] = n[i];
        return op;
    }
    static constexpr Op lookup(std::string_view n) { return make(Kind::lookup, n, Owner{}); }
    static constexpr Op add(std::string_view n, Owner who) { return make(Kind::add, n, who); }
    static constexpr Op remove(std::string_view n, Owner who) { return make(Kind::remove, n, who); }
    static constexpr Op drop_owner(Owner who) { return make(Kind::drop_owner, {}, who); }

    // 6 names "n0".."n5", two domains per core: 30% lookup, 35% add, 25% remove, 10% drop_owner
    // (the client's own domains: a client only speaks for itself, as nameserv's callers do).
    static constexpr Op sample(std::uint64_t x, const SampleContext& ctx) {
        const char chars[2] = {'n', static_cast<char>('0' + (x >> 8) % 6)};
        const std::string_view n(chars, 2);
        const Owner me{ctx.core, static_cast<std::uint32_t>(1 + (x >> 16) % 2)};
        const std::uint64_t k = x % 20;
        if (k < 6) return lookup(n);
        if (k < 13) return add(n, me);
        if (k < 18) return remove(n, me);
        return drop_owner(me);
    }

    static constexpr bool valid_name(const char (&bytes)[name_bytes], std::size_t length) {
        if (length == 0 || length > name_bytes) return false;
        for (std::size_t i = 0; i < name_bytes; ++i) {
            const auto c = static_cast<std::uint8_t>(bytes[i]);
            if (i < length ? (c < 0x21 || c > 0x7e) : c != 0) return false;
        }
        return true;
    }
    static constexpr bool is_read(const Op& op) { return op.kind == Kind::lookup; }
    static constexpr bool valid(const Op& op) {
        switch (op.kind) {
        case Kind::lookup: return valid_name(op.name, op.length) && op.core == 0 && op.domain == 0;
        case Kind::add:
        case Kind::remove: return valid_name(op.name, op.length);
        case Kind::drop_owner:
            for (char c : op.name)
                if (c != 0) return false;
            return op.length == 0;
        }
        return false;
    }
    static constexpr std::uint64_t conflict_key(const Op&) { return 1; }

    constexpr Result apply(const Op& op) {
        if (!valid(op)) return {Status::invalid_argument, {}};
        const Owner who{op.core, op.domain};
        switch (op.kind) {
        case Kind::lookup: return read(op);
        case Kind::add: {
            if (const Entry* e = find(op)) return {Status::exists, e->owner()};
            for (Entry& e : m_entries)
                if (!e.used) {
                    e = Entry{true, op.length, op.core, op.domain, {}};
                    for (std::size_t i = 0; i < name_bytes; ++i) e.name[i] = op.name[i];
                    m_sum += hash(e);
                    ++m_count;
                    return {Status::ok, who};
                }
            return {Status::overflow, {}};
        }
        case Kind::remove: {
            Entry* e = find(op);
            if (e == nullptr) return {Status::not_found, {}};
            const Owner holder = e->owner();
            if (!(holder == who)) return {Status::permission_denied, holder};
            erase(*e);
            return {Status::ok, holder};
        }
        case Kind::drop_owner: {
            unsigned n = 0;
            for (Entry& e : m_entries)
                if (e.used && e.owner() == who) {
                    erase(e);
                    ++n;
                }
            return {n > 0 ? Status::ok : Status::not_found, who};
        }
        }
        return {Status::invalid_argument, {}};
    }
    [[nodiscard]] constexpr Result read(const Op& op) const {
        if (op.kind != Kind::lookup || !valid(op)) return {Status::invalid_argument, {}};
        const Entry* e = find(op);
        if (e == nullptr) return {Status::not_found, {}};
        return {Status::ok, e->owner()};
    }

    // Slot `slot`'s name and owner (paging, sweeps); false when out of range or free.
    constexpr bool at(std::uint32_t slot, const char*& name_out, std::size_t& length, Owner& owner) const {
        if (slot >= capacity || !m_entries[slot].used) return false;
        name_out = m_entries[slot].name;
        length = m_entries[slot].length;
        owner = m_entries[slot].owner();
        return true;
    }
    [[nodiscard]] constexpr bool holds_names_of(Owner who) const {
        for (const Entry& e : m_entries)
            if (e.used && e.owner() == who) return true;
        return false;
    }
    [[nodiscard]] constexpr std::uint32_t size() const { return m_count; }
    // Sum of one hash per entry (kept as entries come and go) plus the count: independent of
    // slot order and history.
    [[nodiscard]] constexpr std::uint64_t digest() const { return m_sum + m_count; }
    // A restored snapshot: names valid and distinct, free slots zero, count and sum right.
    [[nodiscard]] constexpr bool valid_state() const {
        std::uint32_t n = 0;
        std::uint64_t sum = 0;
        for (std::uint32_t i = 0; i < capacity; ++i) {
            const Entry& e = m_entries[i];
            if (!e.used) {
                if (e.length != 0 || e.core != 0 || e.domain != 0) return false;
                for (char c : e.name)
                    if (c != 0) return false;
                continue;
            }
            if (!valid_name(e.name, e.length)) return false;
            for (std::uint32_t j = 0; j < i; ++j)
                if (m_entries[j].used && same(m_entries[j], e)) return false;
            ++n;
            sum += hash(e);
        }
        return n == m_count && sum == m_sum;
    }

private:
    struct Entry {
        bool used;
        std::uint8_t length;
        std::uint16_t core;
        std::uint32_t domain;
        char name[name_bytes];
        constexpr Owner owner() const { return Owner{core, domain}; }
    };
    static constexpr std::uint64_t hash(const Entry& e) {
        std::uint64_t h = 0xcbf29ce484222325ULL;
        for (std::size_t i = 0; i < e.length && i < name_bytes; ++i)
            h = (h ^ static_cast<std::uint8_t>(e.name[i])) * 0x100000001b3ULL;
        return mix64(h ^ mix64((std::uint64_t{e.core} << 32) | e.domain));
    }
    template <typename A, typename B>
    static constexpr bool same(const A& a, const B& b) {
        if (a.length != b.length) return false;
        for (std::size_t i = 0; i < name_bytes; ++i)
            if (a.name[i] != b.name[i]) return false;
        return true;
    }
    constexpr Entry* find(const Op& op) {
        for (Entry& e : m_entries)
            if (e.used && same(e, op)) return &e;
        return nullptr;
    }
    constexpr const Entry* find(const Op& op) const {
        for (const Entry& e : m_entries)
            if (e.used && same(e, op)) return &e;
        return nullptr;
    }
    constexpr void erase(Entry& e) {
        m_sum -= hash(e);
        --m_count;
        e = Entry{};
    }

    Entry m_entries[capacity] = {};
    std::uint32_t m_count = 0;
    std::uint64_t m_sum = 0;
};

static_assert(sizeof(NameTable::Op) == op_bytes);
static_assert(ReplicatedObject<NameTable>);

} // namespace myr::repl
