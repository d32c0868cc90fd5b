#pragma once
// A counter: the smallest replicated object, for experiments. `add` commutes (broadcast is
// correct for it); every op shares conflict key 0, so under 2pc all updates conflict.
#include <myr/repl/object.hpp>

#include <cstdint>

namespace myr::repl {

class Counter {
public:
    static constexpr std::string_view name = "counter";
    static constexpr bool commutes = true;  // add commutes
    static constexpr Protocol default_protocol = Protocol::sequencer;
    enum class Kind : std::uint8_t { get = 1, add = 2 };
    struct Op {
        Kind kind;
        std::int64_t delta;
    };
    struct Result {
        std::int64_t value;  // after the op
        bool operator==(const Result&) const = default;
    };

    static constexpr Op get() { return {Kind::get, 0}; }
    static constexpr Op add(std::int64_t d) { return {Kind::add, d}; }

    // 30% reads, adds of 1..10 (always commuting).
    static constexpr Op sample(std::uint64_t x, const SampleContext&) {
        return x % 10 < 3 ? get() : add(static_cast<std::int64_t>(1 + (x >> 8) % 10));
    }

    static constexpr bool is_read(const Op& op) { return op.kind == Kind::get; }
    static constexpr bool valid(const Op& op) { return op.kind == Kind::get || op.kind == Kind::add; }
    static constexpr std::uint64_t conflict_key(const Op&) { return 0; }

    constexpr Result apply(const Op& op) {
        // Wrapping add: deterministic for any delta (signed overflow would be UB).
        if (op.kind == Kind::add)
            m_value = static_cast<std::int64_t>(static_cast<std::uint64_t>(m_value) +
                                                static_cast<std::uint64_t>(op.delta));
        return {m_value};
    }
    [[nodiscard]] constexpr Result read(const Op&) const { return {m_value}; }
    [[nodiscard]] constexpr std::uint64_t digest() const {
        return mix64(static_cast<std::uint64_t>(m_value));
    }
    [[nodiscard]] constexpr bool valid_state() const { return true; }
    [[nodiscard]] constexpr std::int64_t value() const { return m_value; }

private:
    std::int64_t m_value = 0;
};

static_assert(ReplicatedObject<Counter>);

} // namespace myr::repl
