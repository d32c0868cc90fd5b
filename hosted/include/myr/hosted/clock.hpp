#pragma once
// Hosted clocks. now_ns() is CLOCK_MONOTONIC (~22 ns a call here); Tsc reads the time-stamp
// counter (~10 ns, invariant on this machine: constant_tsc, nonstop_tsc) and converts with a
// frequency calibrated against CLOCK_MONOTONIC, for per-message timing.
#include <cstdint>

namespace myr::hosted {

[[nodiscard]] std::uint64_t now_ns();

class Tsc {
public:
    // Calibrate over `window_ms` of CLOCK_MONOTONIC (50 ms gives < 0.1% error here).
    [[nodiscard]] static Tsc calibrate(std::uint32_t window_ms = 50);
    [[nodiscard]] static std::uint64_t read() { return __builtin_ia32_rdtsc(); }
    [[nodiscard]] double ghz() const { return m_ghz; }
    [[nodiscard]] double to_ns(std::uint64_t cycles) const {
        return static_cast<double>(cycles) / m_ghz;
    }

private:
    explicit Tsc(double ghz) : m_ghz(ghz) {}
    double m_ghz;
};

} // namespace myr::hosted
