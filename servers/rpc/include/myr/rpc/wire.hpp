#pragma once
// The RPC wire codec (docs/servers.md, "The runtime"). A request or reply is a C++ struct whose
// fields are listed once with MYR_RPC_FIELDS; the same list encodes (client stub, server reply)
// and decodes (server dispatch, client stub), so no server packs words by hand.
//
// Encoding: little-endian integers of their own width, bool as one byte (0 or 1), Str<N> / Blob<N>
// as a u16 length then the bytes, Array<T, N> as a u16 count then the elements. Decoding trusts
// nothing: a length or count above the field's limit, a bool that is not 0 or 1, bytes missing,
// or bytes left over once every field is read all make the message bad (Status::bad_request), and
// the Reader never reads outside its input. Pure and freestanding: the guest, the host tests and
// the fuzzers use this one implementation.
#include <myr/status.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace myr::rpc {

// Bounded byte string: at most N bytes, length kept alongside.
template <std::size_t N>
struct Blob {
    static_assert(N > 0 && N <= 0xffff);
    static constexpr std::size_t capacity = N;
    std::uint16_t size = 0;
    std::uint8_t data[N] = {};

    // Sets the contents; false (and unchanged) when longer than N.
    constexpr bool assign(const void* p, std::size_t n) {
        if (n > N) return false;
        const auto* b = static_cast<const std::uint8_t*>(p);
        for (std::size_t i = 0; i < n && i < N; ++i) data[i] = b[i];
        size = static_cast<std::uint16_t>(n);
        return true;
    }
    constexpr bool equals(const void* p, std::size_t n) const {
        if (n != size) return false;
        const auto* b = static_cast<const std::uint8_t*>(p);
        for (std::size_t i = 0; i < n; ++i)
            if (data[i] != b[i]) return false;
        return true;
    }
    template <std::size_t M>
    constexpr bool operator==(const Blob<M>& o) const { return o.equals(data, size); }
};

// A text string: a Blob with helpers for C strings (no terminator on the wire).
template <std::size_t N>
struct Str : Blob<N> {
    constexpr bool assign_cstr(const char* s) {
        std::size_t n = 0;
        while (s[n] != '\0') {
            if (n == N) return false;
            ++n;
        }
        return this->assign(s, n);
    }
    constexpr bool equals_cstr(const char* s) const {
        std::size_t n = 0;
        while (s[n] != '\0') ++n;
        return this->equals(s, n);
    }
    // Copies into out (always terminated, truncated to cap - 1).
    constexpr void copy_cstr(char* out, std::size_t cap) const {
        std::size_t n = this->size < cap - 1 ? this->size : cap - 1;
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(this->data[i]);
        out[n] = '\0';
    }
};

// Up to N elements of T.
template <typename T, std::size_t N>
struct Array {
    static_assert(N > 0 && N <= 0xffff);
    static constexpr std::size_t capacity = N;
    std::uint16_t count = 0;
    T items[N] = {};
    constexpr bool push(const T& v) {
        if (count == N) return false;
        items[count++] = v;
        return true;
    }
};

template <typename T> struct is_blob : std::false_type {};
template <std::size_t N> struct is_blob<Blob<N>> : std::true_type {};
template <std::size_t N> struct is_blob<Str<N>> : std::true_type {};
template <typename T> struct is_array : std::false_type {};
template <typename T, std::size_t N> struct is_array<Array<T, N>> : std::true_type {};

// The unsigned integer of an integer's or enum's width (std::conditional_t would instantiate
// underlying_type of a non-enum).
template <typename T, bool = std::is_enum_v<T>> struct unsigned_of_t { using type = std::make_unsigned_t<T>; };
template <typename T> struct unsigned_of_t<T, true> { using type = std::make_unsigned_t<std::underlying_type_t<T>>; };
template <typename T> using unsigned_of = typename unsigned_of_t<T>::type;

// Lists a message's fields once, for both directions.
#define MYR_RPC_FIELDS(...)                                           \
    template <typename V> constexpr void visit(V&& myr_rpc_visitor) { myr_rpc_visitor(__VA_ARGS__); }      \
    template <typename V> constexpr void visit(V&& myr_rpc_visitor) const { myr_rpc_visitor(__VA_ARGS__); }

class Writer {
public:
    constexpr explicit Writer(std::span<std::uint8_t> out) : m_out(out) {}

    template <typename... F>
    constexpr void operator()(const F&... fields) { (put(fields), ...); }

    template <typename T>
    constexpr void put(const T& v) {
        if constexpr (std::is_same_v<T, bool>) {
            byte(v ? 1 : 0);
        } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
            using U = unsigned_of<T>;
            const U u = static_cast<U>(v);
            for (std::size_t i = 0; i < sizeof(U); ++i) byte(static_cast<std::uint8_t>(u >> (8 * i)));
        } else if constexpr (is_blob<T>::value) {
            const std::uint16_t n = v.size <= T::capacity ? v.size : static_cast<std::uint16_t>(T::capacity);
            if (v.size > T::capacity) m_ok = false;  // a corrupted struct: refuse, never over-read
            put(n);
            for (std::size_t i = 0; i < n; ++i) byte(v.data[i]);
        } else if constexpr (is_array<T>::value) {
            if (v.count > T::capacity) {
                m_ok = false;
                return;
            }
            put(v.count);
            for (std::size_t i = 0; i < v.count; ++i) put(v.items[i]);
        } else {
            v.visit(*this);  // a nested message struct
        }
    }

    [[nodiscard]] constexpr bool ok() const { return m_ok; }
    [[nodiscard]] constexpr std::size_t size() const { return m_pos; }
    [[nodiscard]] constexpr bool overflowed() const { return m_overflow; }

private:
    constexpr void byte(std::uint8_t b) {
        if (m_pos >= m_out.size()) {
            m_ok = false;
            m_overflow = true;
            return;
        }
        m_out[m_pos++] = b;
    }
    std::span<std::uint8_t> m_out;
    std::size_t m_pos = 0;
    bool m_ok = true;
    bool m_overflow = false;
};

class Reader {
public:
    constexpr explicit Reader(std::span<const std::uint8_t> in) : m_in(in) {}

    template <typename... F>
    constexpr void operator()(F&... fields) { (get(fields), ...); }

    template <typename T>
    constexpr void get(T& v) {
        if (!m_ok) return;
        if constexpr (std::is_same_v<T, bool>) {
            const std::uint8_t b = byte();
            if (b > 1) m_ok = false;
            v = b == 1;
        } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
            using U = unsigned_of<T>;
            U u = 0;
            for (std::size_t i = 0; i < sizeof(U); ++i) u = static_cast<U>(u | static_cast<U>(static_cast<U>(byte()) << (8 * i)));
            v = static_cast<T>(u);
        } else if constexpr (is_blob<T>::value) {
            std::uint16_t n = 0;
            get(n);
            if (!m_ok || n > T::capacity || m_in.size() - m_pos < n) {
                m_ok = false;
                return;
            }
            for (std::size_t i = 0; i < n; ++i) v.data[i] = m_in[m_pos++];
            v.size = n;
        } else if constexpr (is_array<T>::value) {
            std::uint16_t n = 0;
            get(n);
            if (!m_ok || n > T::capacity) {
                m_ok = false;
                return;
            }
            for (std::size_t i = 0; i < n && m_ok; ++i) get(v.items[i]);
            v.count = n;
        } else {
            v.visit(*this);
        }
    }

    // Everything read, nothing left over, no error.
    [[nodiscard]] constexpr bool done() const { return m_ok && m_pos == m_in.size(); }
    [[nodiscard]] constexpr bool ok() const { return m_ok; }

private:
    constexpr std::uint8_t byte() {
        if (m_pos >= m_in.size()) {
            m_ok = false;
            return 0;
        }
        return m_in[m_pos++];
    }
    std::span<const std::uint8_t> m_in;
    std::size_t m_pos = 0;
    bool m_ok = true;
};

// encode: the message's bytes into out; the length, or overflow (does not fit) / invalid_argument
// (a field holds more than its limit).
template <typename M>
constexpr Status encode(const M& m, std::span<std::uint8_t> out, std::size_t& length) {
    Writer w(out);
    m.visit(w);
    if (!w.ok()) return w.overflowed() ? Status::overflow : Status::invalid_argument;
    length = w.size();
    return Status::ok;
}

// decode: exactly one message from in; bad_request when it is not one.
template <typename M>
constexpr Status decode(std::span<const std::uint8_t> in, M& m) {
    Reader r(in);
    m.visit(r);
    return r.done() ? Status::ok : Status::bad_request;
}

} // namespace myr::rpc
