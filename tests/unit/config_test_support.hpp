#pragma once
// Shared by the config tests: a small valid machine and the check that a config is refused with
// an error naming a key.
#include <myr/config/load.hpp>

#include <gtest/gtest.h>

#include <string>

namespace myr::config::testing {

inline const std::string base = R"(
name = "t"
[machine]
sockets = 2
cores = 2
memory = "256M"
)";

inline LoadResult load(const std::string& text) { return load_config_string(text, "x.toml"); }

// `text` is refused and some error names `key` and contains `what`.
inline void expect_refused(const std::string& text, const std::string& key, const std::string& what = "") {
    const LoadResult r = load(text);
    ASSERT_FALSE(r.ok()) << "accepted:\n" << text;
    std::string all;
    for (const auto& e : r.errors) {
        all += e + "\n";
        if (e.find("x.toml: " + key + ":") != std::string::npos && e.find(what) != std::string::npos) return;
    }
    ADD_FAILURE() << "no error naming '" << key << "' with '" << what << "'; got:\n" << all << "for:\n" << text;
}

} // namespace myr::config::testing
