#pragma once
// Text forms used in configs and logs: memory sizes ("512M") and CPU lists ("0-3,8").
// Pure functions; errors are a sentence for the caller to prefix with the key.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace myr::config {

// A value or an error sentence (the config layer's messages carry text, not just a Status).
template <typename T>
struct Parsed {
    std::variant<T, std::string> v;
    [[nodiscard]] bool ok() const { return v.index() == 0; }
    [[nodiscard]] const T& value() const { return std::get<0>(v); }
    [[nodiscard]] const std::string& error() const { return std::get<1>(v); }
};

// "1G", "512M", "65536K", "0"; digits without a suffix mean MiB. Suffixes are binary (K = 1024).
[[nodiscard]] Parsed<std::uint64_t> parse_memory_size(std::string_view text);
// Inverse for messages and QEMU: the largest unit that divides exactly ("1G", "1536M", "0").
[[nodiscard]] std::string format_memory_size(std::uint64_t bytes);

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; ascending output; refuses duplicates and reversed ranges.
// "250ms", "10s", "2m" (a whole number and a unit) in milliseconds.
[[nodiscard]] Parsed<std::uint64_t> parse_duration_ms(std::string_view text);

[[nodiscard]] Parsed<std::vector<unsigned>> parse_cpu_list(std::string_view text);
// Ascending list -> ranges {{0,3},{8,8}}; and the "0-3,8" text form.
[[nodiscard]] std::vector<std::pair<unsigned, unsigned>> cpu_ranges(const std::vector<unsigned>& cpus);
[[nodiscard]] std::string format_cpu_list(const std::vector<unsigned>& cpus);

} // namespace myr::config
