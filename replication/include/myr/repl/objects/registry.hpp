#pragma once
// The service registry (DESIGN.md section 5): service name -> (core, endpoint). Names are up to
// 16 bytes. Registering a taken name fails with `exists` and only the registering core may
// unregister, so concurrent registrations conflict (per name): use 2pc or sequencer.
#include <myr/repl/objects/fixed_map.hpp>

#include <cstdint>
#include <string_view>

namespace myr::repl {

class Registry {
public:
    static constexpr std::string_view name = "registry";
    static constexpr bool commutes = false;  // add/remove of one name race: agreement only
    static constexpr Protocol default_protocol = Protocol::two_pc;
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
        const std::uint64_t k = key(op.name);
        switch (op.kind) {
        case Kind::lookup: return read(op);
        case Kind::add: {
            if (m_map.find(k) != nullptr) return {Status::exists, 0, 0};
            if (m_map.insert(k, Entry{op.core, op.endpoint, op.name}) == nullptr)
                return {Status::overflow, 0, 0};
            return {Status::ok, op.core, op.endpoint};
        }
        case Kind::remove: {
            const Entry* e = m_map.find(k);
            if (e == nullptr) return {Status::not_found, 0, 0};
            if (e->core != op.core) return {Status::permission_denied, e->core, e->endpoint};
            m_map.erase(k);
            return {Status::ok, 0, 0};
        }
        }
        return {Status::invalid_argument, 0, 0};
    }
    [[nodiscard]] constexpr Result read(const Op& op) const {
        const Entry* e = m_map.find(key(op.name));
        if (e == nullptr || !same(e->name, op.name)) return {Status::not_found, 0, 0};
        return {Status::ok, e->core, e->endpoint};
    }
    [[nodiscard]] constexpr std::uint64_t digest() const {
        std::uint64_t d = m_map.size();
        m_map.for_each([&](std::uint64_t k, const Entry& e) {
            d += mix64(k ^ mix64((std::uint64_t{e.core} << 32) | e.endpoint));
        });
        return d;
    }
    [[nodiscard]] constexpr bool valid_state() const { return m_map.valid(); }

private:
    // FNV-1a over the name, never 0 (0 marks an empty slot in the map).
    static constexpr std::uint64_t key(const Name& n) {
        std::uint64_t h = 0xcbf29ce484222325ULL;
        for (char c : n.bytes) {
            h ^= static_cast<std::uint8_t>(c);
            h *= 0x100000001b3ULL;
        }
        return h == 0 ? 1 : h;
    }
    static constexpr bool same(const Name& a, const Name& b) {
        for (std::size_t i = 0; i < name_bytes; ++i)
            if (a.bytes[i] != b.bytes[i]) return false;
        return true;
    }

    FixedMap<Entry, 128> m_map;
};

static_assert(ReplicatedObject<Registry>);

} // namespace myr::repl
