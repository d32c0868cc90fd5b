#pragma once
// The service registry (docs/replication.md): service name -> (core, endpoint). Names are up to
// 16 bytes. Registering a taken name fails with `exists` and only the registering core may
// unregister, so concurrent registrations conflict (per name): use 2pc or sequencer.
//
// The map is keyed by a 64-bit hash of the name, and the name is stored beside its entry: two
// names with the same hash (a hostile program can craft FNV-1a collisions) each get their own
// entry, at the first free one of `probes` keys derived from the hash, and every operation
// compares names, never only hashes. So a collision is never answered `exists` (or found, or
// removed) for a name that is not there; `overflow` when all probe keys of a hash are taken.
// The probe keys derive from the name's hash only, so ops on different hashes still commute
// (2pc locks the name's hash: colliding names take turns).
#include <myr/repl/objects/fixed_map.hpp>

#include <cstdint>
#include <string_view>

namespace myr::repl {

// FNV-1a over the 16 name bytes.
struct Fnv1a {
    static constexpr std::uint64_t hash(const char (&bytes)[16]) {
        std::uint64_t h = 0xcbf29ce484222325ULL;
        for (char c : bytes) {
            h ^= static_cast<std::uint8_t>(c);
            h *= 0x100000001b3ULL;
        }
        return h;
    }
};

// `Hash` is a parameter only so tests can force collisions (tests/unit/repl_objects_test.cpp).
template <typename Hash>
class BasicRegistry {
public:
    static constexpr std::string_view name = "registry";
    static constexpr bool commutes = false;  // add/remove of one name race: agreement only
    static constexpr Protocol default_protocol = Protocol::two_pc;
    static constexpr std::size_t probes = 4;
    static constexpr std::size_t name_bytes = 16;
    enum class Kind : std::uint8_t { lookup = 1, add = 2, remove = 3 };
    struct Name {
        char bytes[name_bytes];
    };
    struct Op {
        Kind kind;
        std::uint16_t core;      // add: where the service runs; remove: who asks
        std::uint32_t endpoint;  // add: its endpoint
        Name name;
    };
    struct Entry {
        std::uint16_t core;
        std::uint32_t endpoint;
        Name name;  // kept so lookups can tell a hash collision from a hit
    };
    struct Result {
        Status status;  // ok, not_found, exists, permission_denied, overflow
        std::uint16_t core;
        std::uint32_t endpoint;
        bool operator==(const Result&) const = default;
    };

    static constexpr Name make_name(std::string_view s) {
        Name n{};
        for (std::size_t i = 0; i < s.size() && i < name_bytes; ++i) n.bytes[i] = s[i];
        return n;
    }
    static constexpr Op lookup(std::string_view s) { return {Kind::lookup, 0, 0, make_name(s)}; }
    static constexpr Op add(std::string_view s, std::uint16_t core, std::uint32_t ep) {
        return {Kind::add, core, ep, make_name(s)};
    }
    static constexpr Op remove(std::string_view s, std::uint16_t core) {
        return {Kind::remove, core, 0, make_name(s)};
    }

    // 16 names "svca".."svcp": 30% lookup, 40% add (this core), 30% remove (this core).
    static constexpr Op sample(std::uint64_t x, const SampleContext& ctx) {
        const char chars[4] = {'s', 'v', 'c', static_cast<char>('a' + (x >> 8) % 16)};
        const std::string_view n(chars, 4);  // explicit length: no strlen
        const std::uint64_t k = x % 10;
        if (k < 3) return lookup(n);
        if (k < 7) return add(n, ctx.core, static_cast<std::uint32_t>(x >> 32));
        return remove(n, ctx.core);
    }

    static constexpr bool is_read(const Op& op) { return op.kind == Kind::lookup; }
    static constexpr bool valid(const Op& op) {
        return op.kind >= Kind::lookup && op.kind <= Kind::remove && op.name.bytes[0] != 0;
    }
    static constexpr std::uint64_t conflict_key(const Op& op) { return key(op.name); }

    constexpr Result apply(const Op& op) {
        switch (op.kind) {
        case Kind::lookup: return read(op);
        case Kind::add: {
            if (find(op.name) != nullptr) return {Status::exists, 0, 0};
            const std::uint64_t h = hash(op.name);
            for (std::size_t i = 0; i < probes; ++i) {
                const std::uint64_t k = probe(h, i);
                if (m_map.find(k) != nullptr) continue;  // another name with this hash
                if (m_map.insert(k, Entry{op.core, op.endpoint, op.name}) == nullptr)
                    return {Status::overflow, 0, 0};
                return {Status::ok, op.core, op.endpoint};
            }
            return {Status::overflow, 0, 0};
        }
        case Kind::remove: {
            std::uint64_t k = 0;
            const Entry* e = find(op.name, &k);
            if (e == nullptr) return {Status::not_found, 0, 0};
            if (e->core != op.core) return {Status::permission_denied, e->core, e->endpoint};
            m_map.erase(k);
            return {Status::ok, 0, 0};
        }
        }
        return {Status::invalid_argument, 0, 0};
    }
    [[nodiscard]] constexpr Result read(const Op& op) const {
        const Entry* e = find(op.name);
        if (e == nullptr) return {Status::not_found, 0, 0};
        return {Status::ok, e->core, e->endpoint};
    }
    // Every entry: f(name, core, endpoint).
    template <typename F> constexpr void for_each(F&& f) const {
        m_map.for_each([&](std::uint64_t, const Entry& e) { f(e.name, e.core, e.endpoint); });
    }
    [[nodiscard]] constexpr std::size_t size() const { return m_map.size(); }
    [[nodiscard]] constexpr std::uint64_t digest() const {
        std::uint64_t d = m_map.size();
        m_map.for_each([&](std::uint64_t k, const Entry& e) {
            d += mix64(k ^ mix64((std::uint64_t{e.core} << 32) | e.endpoint));
        });
        return d;
    }
    [[nodiscard]] constexpr bool valid_state() const { return m_map.valid(); }

private:
    // Probe keys of a hash: the hash itself first, never 0 (0 marks an empty slot in the map).
    static constexpr std::uint64_t hash(const Name& n) { return Hash::hash(n.bytes); }
    static constexpr std::uint64_t probe(std::uint64_t h, std::size_t i) {
        const std::uint64_t k = i == 0 ? h : mix64(h + i);
        return k == 0 ? 1 : k;
    }
    static constexpr std::uint64_t key(const Name& n) { return probe(hash(n), 0); }
    // The entry holding exactly this name (its map key in *at).
    constexpr const Entry* find(const Name& n, std::uint64_t* at = nullptr) const {
        const std::uint64_t h = hash(n);
        for (std::size_t i = 0; i < probes; ++i) {
            const std::uint64_t k = probe(h, i);
            const Entry* e = m_map.find(k);
            if (e != nullptr && same(e->name, n)) {
                if (at) *at = k;
                return e;
            }
        }
        return nullptr;
    }
    static constexpr bool same(const Name& a, const Name& b) {
        for (std::size_t i = 0; i < name_bytes; ++i)
            if (a.bytes[i] != b.bytes[i]) return false;
        return true;
    }

    FixedMap<Entry, 128> m_map;
};

using Registry = BasicRegistry<Fnv1a>;
static_assert(ReplicatedObject<Registry>);

} // namespace myr::repl
