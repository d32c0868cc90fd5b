#pragma once
// Result<T>: a value or a non-ok Status. Errors are values; no exceptions.
#include <myr/status.hpp>

#include <new>
#include <type_traits>
#include <utility>

namespace myr {

template <typename T>
class [[nodiscard]] Result {
    static_assert(!std::is_reference_v<T>, "Result<T&> is not supported; use a pointer");

public:
    // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, like std::expected.
    Result(T value) : m_status(Status::ok) { new (&m_storage) T(std::move(value)); }
    // NOLINTNEXTLINE(google-explicit-constructor)
    Result(Status status) : m_status(status == Status::ok ? Status::internal : status) {}

    Result(const Result& other) : m_status(other.m_status) {
        if (ok()) new (&m_storage) T(other.value());
    }
    Result(Result&& other) noexcept : m_status(other.m_status) {
        if (ok()) new (&m_storage) T(std::move(other).value());
    }
    Result& operator=(const Result&) = delete;
    Result& operator=(Result&&) = delete;
    ~Result() {
        if (ok()) ptr()->~T();
    }

    [[nodiscard]] bool ok() const { return m_status == Status::ok; }
    [[nodiscard]] Status status() const { return m_status; }

    T& value() & { return *ptr(); }
    const T& value() const& { return *ptr(); }
    T&& value() && { return std::move(*ptr()); }
    T* operator->() { return ptr(); }
    const T* operator->() const { return ptr(); }
    T& operator*() { return *ptr(); }
    const T& operator*() const { return *ptr(); }

private:
    T* ptr() { return std::launder(reinterpret_cast<T*>(&m_storage)); }
    const T* ptr() const { return std::launder(reinterpret_cast<const T*>(&m_storage)); }

    Status m_status;
    alignas(T) unsigned char m_storage[sizeof(T)];
};

namespace detail {
inline Status try_status(Status s) { return s; }
template <typename T> Status try_status(const Result<T>& r) { return r.status(); }
inline void try_value(Status) {}
template <typename T> T try_value(Result<T>&& r) { return std::move(r).value(); }
} // namespace detail

} // namespace myr

// MYR_TRY(expr): evaluate a Status or Result<T>; on error return the Status from the enclosing
// function (which must return Status or Result<U>); otherwise yield the value (or void).
// Uses the GNU statement-expression extension (g++ and clang).
#define MYR_TRY(expr)                                                                        \
    __extension__({                                                                          \
        auto&& myr_try_r_ = (expr);                                                          \
        if (::myr::detail::try_status(myr_try_r_) != ::myr::Status::ok)                      \
            return ::myr::detail::try_status(myr_try_r_);                                    \
        ::myr::detail::try_value(std::move(myr_try_r_));                                     \
    })
