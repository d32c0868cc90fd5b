#pragma once
// Memory ownership: region (base address, page aligned) -> owner core. A transfer names the owner
// it expects, so two cores racing to move one region cannot both succeed: transfers need
// agreement (2pc or sequencer), never broadcast.
#include <myr/repl/objects/fixed_map.hpp>

#include <cstdint>

namespace myr::repl {

class MemoryOwnership {
public:
    static constexpr std::string_view name = "memory";
    static constexpr bool commutes = false;  // a transfer names the owner it expects
    static constexpr Protocol default_protocol = Protocol::two_pc;
    static constexpr std::uint64_t page = 4096;
    enum class Kind : std::uint8_t { owner = 1, claim = 2, transfer = 3, release = 4 };
    struct Op {
        Kind kind;
        std::uint16_t from;  // claim/release/transfer: the core that must own it (claim: none)
        std::uint16_t to;    // claim/transfer: the new owner
        std::uint64_t base;
    };
    struct Result {
        Status status;       // ok, not_found, exists, permission_denied, overflow
        std::uint16_t owner; // owner after the op (or the real owner on refusal)
        bool operator==(const Result&) const = default;
    };

    static constexpr Op owner(std::uint64_t b) { return {Kind::owner, 0, 0, b}; }
    static constexpr Op claim(std::uint64_t b, std::uint16_t core) { return {Kind::claim, 0, core, b}; }
    static constexpr Op transfer(std::uint64_t b, std::uint16_t f, std::uint16_t t) {
        return {Kind::transfer, f, t, b};
    }
    static constexpr Op release(std::uint64_t b, std::uint16_t f) { return {Kind::release, f, 0, b}; }

    // 16 pages: 25% owner, 30% claim, 25% transfer to a random core, 20% release.
    static constexpr Op sample(std::uint64_t x, const SampleContext& ctx) {
        const std::uint64_t b = (1 + (x >> 8) % 16) * page;
        const std::uint16_t other = static_cast<std::uint16_t>((x >> 24) % (ctx.cores ? ctx.cores : 1));
        const std::uint64_t k = x % 20;
        if (k < 5) return owner(b);
        if (k < 11) return claim(b, ctx.core);
        if (k < 16) return transfer(b, ctx.core, other);
        return release(b, ctx.core);
    }

    static constexpr bool is_read(const Op& op) { return op.kind == Kind::owner; }
    static constexpr bool valid(const Op& op) {
        return op.kind >= Kind::owner && op.kind <= Kind::release && op.base != 0 &&
               op.base % page == 0;
    }
    static constexpr std::uint64_t conflict_key(const Op& op) { return op.base; }

    constexpr Result apply(const Op& op) {
        std::uint16_t* o = m_map.find(op.base);
        switch (op.kind) {
        case Kind::owner: return read(op);
        case Kind::claim:
            if (o != nullptr) return {Status::exists, *o};
            if (m_map.insert(op.base, op.to) == nullptr) return {Status::overflow, 0};
            return {Status::ok, op.to};
        case Kind::transfer:
            if (o == nullptr) return {Status::not_found, 0};
            if (*o != op.from) return {Status::permission_denied, *o};
            *o = op.to;
            return {Status::ok, op.to};
        case Kind::release:
            if (o == nullptr) return {Status::not_found, 0};
            if (*o != op.from) return {Status::permission_denied, *o};
            m_map.erase(op.base);
            return {Status::ok, 0};
        }
        return {Status::invalid_argument, 0};
    }
    [[nodiscard]] constexpr Result read(const Op& op) const {
        const std::uint16_t* o = m_map.find(op.base);
        return o == nullptr ? Result{Status::not_found, 0} : Result{Status::ok, *o};
    }
    [[nodiscard]] constexpr std::uint64_t digest() const {
        std::uint64_t d = m_map.size();
        m_map.for_each([&](std::uint64_t k, std::uint16_t v) { d += mix64(k ^ mix64(v)); });
        return d;
    }
    [[nodiscard]] constexpr bool valid_state() const { return m_map.valid(); }

private:
    FixedMap<std::uint16_t, 256> m_map;
};

static_assert(ReplicatedObject<MemoryOwnership>);

} // namespace myr::repl
