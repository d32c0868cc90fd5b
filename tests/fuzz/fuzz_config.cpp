// libFuzzer: arbitrary bytes as a config file. The loader must never crash, hang or leak, and
// whatever it accepts must be internally consistent (the invariants the rest of the tool relies
// on), so QEMU args and the log checker can run on it too.
#include <myr/config/boot_log.hpp>
#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const myr::config::LoadResult r = myr::config::load_config_string(text, "fuzz.toml");
    if (!r.ok()) {
        if (r.errors.empty()) std::abort();  // refusal must say why
        return 0;
    }
    const myr::config::Config& c = *r.config;
    std::uint64_t memory = 0;
    unsigned cpus = 0;
    for (const auto& n : c.nodes) {
        memory += n.memory_bytes;
        cpus += static_cast<unsigned>(n.cpus.size());
    }
    if (memory != c.memory_bytes || cpus != c.cpu_count() || c.distances.size() != c.nodes.size()) std::abort();
    for (unsigned i = 0; i < c.cpu_count(); ++i)
        if (c.memory_home(c.node_of(i)) >= c.nodes.size()) std::abort();
    myr::config::QemuOptions o;
    o.kernel = "k";
    (void)myr::config::qemu_args(c, o);
    (void)myr::config::check_boot_log(c, text);  // the same bytes as a log: another parser to exercise
    return 0;
}
