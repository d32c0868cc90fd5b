#pragma once
// The tutorial's example object (docs/replication.md, "Tutorial"): 16 slots, each the largest
// value ever written to it. `raise` commutes with every other raise (max is commutative and
// idempotent), so it runs under broadcast as well as under 2pc and sequencer. It is in the
// catalogue (catalog.hpp), so CI runs it through the simulation, the hosted cluster and the guest
// exactly as a newcomer's object would be.
#include <myr/repl/object.hpp>

#include <cstdint>
#include <string_view>

namespace myr::repl {

class MaxRegister {
public:
    static constexpr std::string_view name = "max";
    static constexpr bool commutes = true;
    static constexpr Protocol default_protocol = Protocol::broadcast;
    static constexpr std::uint32_t slots = 16;

    enum class Kind : std::uint8_t { get = 1, raise = 2 };
    struct Op {
        Kind kind;
        std::uint8_t slot;
        std::uint64_t value;  // raise: the candidate
    };
    struct Result {
        std::uint64_t value;  // the slot's value after the op
        bool operator==(const Result&) const = default;
    };

    static constexpr Op get(std::uint8_t slot) { return {Kind::get, slot, 0}; }
    static constexpr Op raise(std::uint8_t slot, std::uint64_t v) { return {Kind::raise, slot, v}; }

    // 30% reads, 70% raises of a random slot to a random value below 10^6.
    static constexpr Op sample(std::uint64_t x, const SampleContext&) {
        const auto slot = static_cast<std::uint8_t>((x >> 8) % slots);
        return x % 10 < 3 ? get(slot) : raise(slot, (x >> 16) % 1000000);
    }

    static constexpr bool is_read(const Op& op) { return op.kind == Kind::get; }
    static constexpr bool valid(const Op& op) {
        return (op.kind == Kind::get || op.kind == Kind::raise) && op.slot < slots;
    }
    static constexpr std::uint64_t conflict_key(const Op& op) { return op.slot; }

    constexpr Result apply(const Op& op) {
        if (op.kind == Kind::raise && op.value > m_slot[op.slot]) m_slot[op.slot] = op.value;
        return {m_slot[op.slot]};
    }
    [[nodiscard]] constexpr Result read(const Op& op) const { return {m_slot[op.slot]}; }
    [[nodiscard]] constexpr std::uint64_t digest() const {
        std::uint64_t d = 0;
        for (std::uint32_t i = 0; i < slots; ++i) d += mix64(i ^ mix64(m_slot[i]));
        return d;
    }
    [[nodiscard]] constexpr bool valid_state() const { return true; }

private:
    std::uint64_t m_slot[slots] = {};
};

static_assert(Catalogued<MaxRegister>);

} // namespace myr::repl
