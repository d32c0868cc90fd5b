#pragma once
// A tiny freestanding formatter for logs: "{}" decimal, "{:x}" hex, "{:#x}" 0x-prefixed hex,
// "{:s}" string; bool prints yes/no. Writes into a fixed buffer (truncating, always terminated).
// The host tools use fmt; this exists because the CPU driver has no libc.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace myr {

class FixedBuffer {
public:
    FixedBuffer(char* data, std::size_t capacity) : m_data(data), m_capacity(capacity) {
        if (m_capacity) m_data[0] = '\0';
    }
    void put(char c) {
        if (m_len + 1 < m_capacity) {
            m_data[m_len++] = c;
            m_data[m_len] = '\0';
        } else {
            m_truncated = true;
        }
    }
    void put(const char* s) {
        while (s && *s) put(*s++);
    }
    [[nodiscard]] std::size_t size() const { return m_len; }
    [[nodiscard]] const char* c_str() const { return m_data; }
    [[nodiscard]] bool truncated() const { return m_truncated; }

private:
    char* m_data;
    std::size_t m_capacity;
    std::size_t m_len = 0;
    bool m_truncated = false;
};

namespace detail {

struct Spec { bool hex = false; bool prefix = false; unsigned width = 0; bool zero = false; };

inline void put_unsigned(FixedBuffer& out, std::uint64_t v, const Spec& spec) {
    char digits[24];
    unsigned n = 0;
    const unsigned base = spec.hex ? 16 : 10;
    do {
        const auto d = static_cast<unsigned>(v % base);
        digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + (d - 10));
        v /= base;
    } while (v);
    if (spec.prefix) out.put("0x");
    for (unsigned i = n; i < spec.width; ++i) out.put(spec.zero ? '0' : ' ');
    while (n) out.put(digits[--n]);
}

template <typename T>
void put_arg(FixedBuffer& out, const T& v, const Spec& spec) {
    if constexpr (std::is_same_v<T, bool>) {
        out.put(v ? "yes" : "no");
    } else if constexpr (std::is_same_v<T, char>) {
        out.put(v);
    } else if constexpr (std::is_integral_v<T>) {
        if constexpr (std::is_signed_v<T>) {
            if (v < 0 && !spec.hex) {
                out.put('-');
                put_unsigned(out, static_cast<std::uint64_t>(-(static_cast<std::int64_t>(v) + 1)) + 1, spec);
                return;
            }
        }
        put_unsigned(out, static_cast<std::uint64_t>(v), spec);
    } else if constexpr (std::is_enum_v<T>) {
        put_unsigned(out, static_cast<std::uint64_t>(v), spec);
    } else if constexpr (std::is_convertible_v<T, const char*>) {
        const char* s = v;
        out.put(s ? s : "(null)");
    } else if constexpr (std::is_pointer_v<T>) {
        put_unsigned(out, reinterpret_cast<std::uintptr_t>(v), Spec{true, true, 0, false});
    } else {
        static_assert(sizeof(T) == 0, "myr::format: unsupported argument type");
    }
}

// Parses "{...}" at fmt (pointing at '{'); returns the position after '}'.
inline const char* parse_spec(const char* fmt, Spec& spec) {
    ++fmt;
    if (*fmt == ':') {
        ++fmt;
        if (*fmt == '#') { spec.prefix = true; ++fmt; }
        if (*fmt == '0') { spec.zero = true; ++fmt; }
        while (*fmt >= '0' && *fmt <= '9') spec.width = spec.width * 10 + static_cast<unsigned>(*fmt++ - '0');
        if (*fmt == 'x') { spec.hex = true; ++fmt; }
        else if (*fmt == 's' || *fmt == 'd') ++fmt;
    }
    while (*fmt && *fmt != '}') ++fmt;
    return *fmt ? fmt + 1 : fmt;
}

inline void format_rest(FixedBuffer& out, const char* fmt) {
    while (*fmt) {
        if (fmt[0] == '{' && fmt[1] == '{') { out.put('{'); fmt += 2; continue; }
        if (fmt[0] == '}' && fmt[1] == '}') { out.put('}'); fmt += 2; continue; }
        out.put(*fmt++);
    }
}

template <typename T, typename... Rest>
void format_rest(FixedBuffer& out, const char* fmt, const T& first, const Rest&... rest) {
    while (*fmt) {
        if (fmt[0] == '{' && fmt[1] == '{') { out.put('{'); fmt += 2; continue; }
        if (fmt[0] == '}' && fmt[1] == '}') { out.put('}'); fmt += 2; continue; }
        if (fmt[0] == '{') {
            Spec spec;
            fmt = parse_spec(fmt, spec);
            put_arg(out, first, spec);
            format_rest(out, fmt, rest...);
            return;
        }
        out.put(*fmt++);
    }
}

} // namespace detail

template <typename... Args>
void format_to(FixedBuffer& out, const char* fmt, const Args&... args) {
    detail::format_rest(out, fmt, args...);
}

} // namespace myr
