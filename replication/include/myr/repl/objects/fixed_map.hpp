#pragma once
// A fixed-capacity open-addressing map from nonzero 64-bit keys to a trivially copyable value,
// shared by the shipped objects. Deletion uses backward-shift (no tombstones), so the table never
// degrades and its content, not its history, decides lookups. Iteration order depends on the
// insertion order, so digests are order-independent sums.
#include <myr/repl/object.hpp>
#include <myr/status.hpp>

#include <cstddef>
#include <cstdint>

namespace myr::repl {

template <typename V, std::size_t Capacity>
class FixedMap {
    static_assert((Capacity & (Capacity - 1)) == 0, "capacity is a power of two");

public:
    static constexpr std::size_t capacity = Capacity;
    // Keep a quarter free: probe chains stay short and a full table is refused early.
    static constexpr std::size_t max_size = Capacity - Capacity / 4;

    [[nodiscard]] constexpr const V* find(std::uint64_t key) const {
        if (key == 0) return nullptr;
        for (std::size_t i = home(key), n = 0; n < Capacity; i = next(i), ++n) {
            if (m_keys[i] == 0) return nullptr;
            if (m_keys[i] == key) return &m_values[i];
        }
        return nullptr;
    }
    [[nodiscard]] constexpr V* find(std::uint64_t key) {
        return const_cast<V*>(static_cast<const FixedMap*>(this)->find(key));
    }
    // insert: nullptr when the key is 0 or the map is full; the existing value if present.
    constexpr V* insert(std::uint64_t key, const V& value) {
        if (key == 0) return nullptr;
        std::size_t i = home(key);
        for (; m_keys[i] != 0; i = next(i))
            if (m_keys[i] == key) return &m_values[i];
        if (m_size >= max_size) return nullptr;
        m_keys[i] = key;
        m_values[i] = value;
        ++m_size;
        return &m_values[i];
    }
    constexpr bool erase(std::uint64_t key) {
        if (key == 0) return false;
        std::size_t i = home(key);
        for (;; i = next(i)) {
            if (m_keys[i] == 0) return false;
            if (m_keys[i] == key) break;
        }
        // Backward shift: move later members of the cluster into the hole when their home
        // position does not lie cyclically in (hole, j].
        std::size_t hole = i;
        for (std::size_t j = next(i); m_keys[j] != 0; j = next(j)) {
            const std::size_t h = home(m_keys[j]);
            const bool stays = hole < j ? (h > hole && h <= j) : (h > hole || h <= j);
            if (stays) continue;
            m_keys[hole] = m_keys[j];
            m_values[hole] = m_values[j];
            hole = j;
        }
        m_keys[hole] = 0;
        m_values[hole] = V{};
        --m_size;
        return true;
    }
    [[nodiscard]] constexpr std::size_t size() const { return m_size; }
    template <typename F> constexpr void for_each(F&& f) const {
        for (std::size_t i = 0; i < Capacity; ++i)
            if (m_keys[i] != 0) f(m_keys[i], m_values[i]);
    }
    // Structural check for restored snapshots: size matches and every key is reachable.
    [[nodiscard]] constexpr bool valid() const {
        std::size_t n = 0;
        for (std::size_t i = 0; i < Capacity; ++i) {
            if (m_keys[i] == 0) continue;
            ++n;
            if (find(m_keys[i]) != &m_values[i]) return false;
        }
        return n == m_size && n <= max_size;
    }

private:
    static constexpr std::size_t home(std::uint64_t key) {
        return static_cast<std::size_t>(mix64(key)) & (Capacity - 1);
    }
    static constexpr std::size_t next(std::size_t i) { return (i + 1) & (Capacity - 1); }

    std::uint64_t m_keys[Capacity] = {};
    V m_values[Capacity] = {};
    std::size_t m_size = 0;
};

} // namespace myr::repl
