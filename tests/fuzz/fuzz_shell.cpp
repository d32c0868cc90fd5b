// libFuzzer: the shell's line editor and command dispatch (servers/shell) on arbitrary terminal
// bytes. The first bytes choose a topology (counts may be out of range: the commands must refuse
// them, not index past the arrays); every finished line runs against the real command table.
#include <myr/shell/line_editor.hpp>
#include <myr/shell/table.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace myr;
using namespace myr::shell;

namespace {
myr::abi::TopologyInfo fake, scratch;
std::size_t written;

void sink(void*, const char* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (s[i] == '\0') std::abort();  // commands write text, never a NUL
    written += n;
}
Status topology(myr::abi::TopologyInfo& t) {
    t = fake;
    return Status::ok;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    fake = {};
    fake.cores = data[0] | (data[1] & 1u) << 8;  // 0..511: above topo_max_cores too
    fake.nodes = data[2] & 0x7f;                 // 0..127: above topo_max_nodes too
    for (std::uint32_t c = 0; c < myr::abi::topo_max_cores; ++c) fake.core_node[c] = static_cast<std::uint16_t>(c % (data[3] | 1u));
    for (std::size_t i = 0; i < sizeof fake.distance; ++i) fake.distance[i] = static_cast<std::uint8_t>(i * 7);
    data += 4;
    size -= 4;

    static LineEditor ed;
    ed = LineEditor{};
    Context ctx{{sink, nullptr}, commands, topology, &scratch};
    for (std::size_t i = 0; i < size; ++i) {
        char buf[LineEditor::echo_max];
        FixedBuffer echo(buf, sizeof buf);
        const auto ev = ed.feed(static_cast<char>(data[i]), echo);
        if (echo.truncated() || ed.length() >= LineEditor::line_max) std::abort();
        if (ev != LineEditor::Event::line) continue;
        const char* line = ed.line();
        const std::size_t n = std::strlen(line);
        if (n >= LineEditor::line_max) std::abort();
        for (std::size_t k = 0; k < n; ++k)
            if (line[k] < 0x20 || line[k] > 0x7e) std::abort();  // only printable bytes reach a command
        (void)run_line(ctx, line);
    }
    // The dispatcher on raw text too (later callers may pass lines from elsewhere).
    static char raw[1024];
    const std::size_t m = size < sizeof raw - 1 ? size : sizeof raw - 1;
    std::memcpy(raw, data, m);
    raw[m] = '\0';
    (void)run_line(ctx, raw);
    return 0;
}
