#pragma once
// A key-value map for experiments: get/put/erase conflict per key (2pc, sequencer); `add`
// commutes with other adds, so a workload of get+add is correct under broadcast too.
// Capacity is part of the state: an insert into a full map fails the same way on every replica,
// but inserts of different keys then no longer commute -- size the map above the key space.
#include <myr/repl/objects/fixed_map.hpp>

#include <cstdint>

namespace myr::repl {

class KvMap {
public:
    static constexpr std::string_view name = "kv";
    static constexpr bool commutes = true;  // get + add (the commuting workload) commute
    static constexpr Protocol default_protocol = Protocol::sequencer;
    static constexpr std::uint64_t sample_keys = 16;  // a small key space, so clients conflict
    enum class Kind : std::uint8_t { get = 1, put = 2, add = 3, erase = 4 };
    struct Op {
        Kind kind;
        std::uint64_t key;
        std::uint64_t value;
    };
    struct Result {
        Status status;       // ok, not_found, overflow (map full), invalid_argument (key 0)
        std::uint64_t value; // get: the value; put/add/erase: the value after the op
        bool operator==(const Result&) const = default;
    };

    static constexpr Op get(std::uint64_t k) { return {Kind::get, k, 0}; }
    static constexpr Op put(std::uint64_t k, std::uint64_t v) { return {Kind::put, k, v}; }
    static constexpr Op add(std::uint64_t k, std::uint64_t d) { return {Kind::add, k, d}; }
    static constexpr Op erase(std::uint64_t k) { return {Kind::erase, k, 0}; }

    // Commuting: 30% get, 70% add. Otherwise 25% get, 25% put, 30% add, 20% erase.
    static constexpr Op sample(std::uint64_t x, const SampleContext& ctx) {
        const std::uint64_t key = 1 + (x >> 8) % sample_keys, value = (x >> 16) % 1000;
        const std::uint64_t k = x % 20;
        if (ctx.commuting) return k < 6 ? get(key) : add(key, value);
        if (k < 5) return get(key);
        if (k < 10) return put(key, value);
        if (k < 16) return add(key, value);
        return erase(key);
    }

    static constexpr bool is_read(const Op& op) { return op.kind == Kind::get; }
    static constexpr bool valid(const Op& op) {
        return op.kind >= Kind::get && op.kind <= Kind::erase && op.key != 0;
    }
    static constexpr std::uint64_t conflict_key(const Op& op) { return op.key; }

    constexpr Result apply(const Op& op) {
        switch (op.kind) {
        case Kind::get: return read(op);
        case Kind::put: {
            std::uint64_t* v = m_map.insert(op.key, 0);
            if (v == nullptr) return {Status::overflow, 0};
            *v = op.value;
            return {Status::ok, *v};
        }
        case Kind::add: {
            std::uint64_t* v = m_map.insert(op.key, 0);
            if (v == nullptr) return {Status::overflow, 0};
            *v += op.value;
            return {Status::ok, *v};
        }
        case Kind::erase:
            return m_map.erase(op.key) ? Result{Status::ok, 0} : Result{Status::not_found, 0};
        }
        return {Status::invalid_argument, 0};
    }
    [[nodiscard]] constexpr Result read(const Op& op) const {
        const std::uint64_t* v = m_map.find(op.key);
        return v == nullptr ? Result{Status::not_found, 0} : Result{Status::ok, *v};
    }
    [[nodiscard]] constexpr std::uint64_t digest() const {
        std::uint64_t d = m_map.size();
        m_map.for_each([&](std::uint64_t k, std::uint64_t v) { d += mix64(k ^ mix64(v)); });
        return d;
    }
    [[nodiscard]] constexpr bool valid_state() const { return m_map.valid(); }
    [[nodiscard]] constexpr std::size_t size() const { return m_map.size(); }

private:
    FixedMap<std::uint64_t, 256> m_map;
};

static_assert(ReplicatedObject<KvMap>);

} // namespace myr::repl
