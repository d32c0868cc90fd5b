#pragma once
// Loading a config: TOML text -> validated Config, or every problem found, each naming the key.
// Never throws (toml++ parse errors and anything else are caught and reported as messages).
#include <myr/config/config.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace myr::config {

struct LoadResult {
    std::optional<Config> config;      // set when valid
    std::vector<std::string> errors;   // "SOURCE: key: problem", non-empty when !config
    [[nodiscard]] bool ok() const { return config.has_value(); }
};

// `source` names the text in messages (usually the file path).
[[nodiscard]] LoadResult load_config_string(std::string_view toml_text, std::string_view source);
[[nodiscard]] LoadResult load_config_file(const std::filesystem::path& path);

} // namespace myr::config
