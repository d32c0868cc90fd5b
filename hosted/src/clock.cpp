#include <myr/hosted/clock.hpp>

#include <ctime>

namespace myr::hosted {

std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

Tsc Tsc::calibrate(std::uint32_t window_ms) {
    const std::uint64_t t0 = now_ns();
    const std::uint64_t c0 = read();
    const std::uint64_t window = std::uint64_t{window_ms} * 1'000'000ULL;
    std::uint64_t t1 = t0;
    while (t1 - t0 < window) t1 = now_ns();
    const std::uint64_t c1 = read();
    return Tsc(static_cast<double>(c1 - c0) / static_cast<double>(t1 - t0));
}

} // namespace myr::hosted
