#pragma once
// What a replicated object is (docs/replication.md): a deterministic state machine in one class.
// The framework moves `Op`s between cores; the object never sees a channel.
//
//   struct MyObject {
//       struct Op { ... };       // trivially copyable, <= op_bytes: travels in one message line
//       struct Result { ... };   // trivially copyable, <= op_bytes, operator==
//       static bool is_read(const Op&);            // reads take the read path, never the log
//       static bool valid(const Op&);              // decoded ops from the wire are checked first
//       static std::uint64_t conflict_key(const Op&); // 2pc locks it; different keys must commute
//       Result apply(const Op&);                   // deterministic: same ops, same order, same state
//       Result read(const Op&) const;
//       std::uint64_t digest() const;              // order-independent fingerprint of the state
//       bool valid_state() const;                  // checks a restored snapshot
//   };
//
// Snapshots (joins, restarts) are the object's bytes behind a small header (snapshot.hpp): every
// shipped object is fixed-capacity and trivially copyable, so no serializer can drift from it.
#include <myr/repl/protocol.hpp>
#include <myr/status.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace myr::repl {

using myr::Status;

// Op and Result each take four payload words of a 56-byte message line (wire.hpp).
inline constexpr std::size_t op_words = 4;
inline constexpr std::size_t op_bytes = op_words * 8;

template <typename T>
concept ReplicatedObject =
    std::is_trivially_copyable_v<T> && std::is_trivially_copyable_v<typename T::Op> &&
    std::is_trivially_copyable_v<typename T::Result> && sizeof(typename T::Op) <= op_bytes &&
    sizeof(typename T::Result) <= op_bytes &&
    requires(T t, const T ct, const typename T::Op& op, const typename T::Result& r) {
        { T::is_read(op) } -> std::same_as<bool>;
        { T::valid(op) } -> std::same_as<bool>;
        { T::conflict_key(op) } -> std::same_as<std::uint64_t>;
        { t.apply(op) } -> std::same_as<typename T::Result>;
        { ct.read(op) } -> std::same_as<typename T::Result>;
        { ct.digest() } -> std::same_as<std::uint64_t>;
        { ct.valid_state() } -> std::same_as<bool>;
        { r == r } -> std::same_as<bool>;
    };

// What a workload generator knows about its client (Catalogued::sample).
struct SampleContext {
    std::uint16_t core;   // the client's core
    std::uint32_t cores;  // cores in the run
    bool commuting;       // only reads and updates that commute with each other (broadcast, `:add`)
};

// An object the tools know by name (objects/catalog.hpp lists them): a ReplicatedObject that also
// states, as static members,
//   static constexpr std::string_view name = "kv";   // config key, plan step, --object NAME
//   static constexpr bool commutes = true;           // the updates sample(.., commuting=true) makes
//                                                    // commute with each other: broadcast allowed
//   static constexpr Protocol default_protocol = ...; // the guest's protocol without a config entry
//   static Op sample(std::uint64_t random, const SampleContext&);  // one seeded random client op
// `sample` should make both reads and updates (the benchmarks pick their read/update mix from it)
// and, with commuting=true, only updates that commute when commutes is true.
template <typename T>
concept Catalogued = ReplicatedObject<T> && requires(std::uint64_t x, const SampleContext& ctx) {
    { T::name } -> std::convertible_to<std::string_view>;
    { T::commutes } -> std::convertible_to<bool>;
    { T::default_protocol } -> std::convertible_to<Protocol>;
    { T::sample(x, ctx) } -> std::same_as<typename T::Op>;
};

// Bytes of a trivially copyable value into payload words and back. Fixed-size builtin copies:
// inline moves, no libc call under the kernel flags.
template <typename T>
constexpr void to_words(const T& value, std::uint64_t (&words)[op_words]) {
    static_assert(sizeof(T) <= op_bytes);
    for (auto& w : words) w = 0;
    __builtin_memcpy(words, &value, sizeof(T));
}

template <typename T>
constexpr T from_words(const std::uint64_t (&words)[op_words]) {
    static_assert(sizeof(T) <= op_bytes);
    T value;
    __builtin_memcpy(&value, words, sizeof(T));
    return value;
}

// A 64-bit mixer for digests and hashing (splitmix64 finaliser).
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

} // namespace myr::repl
