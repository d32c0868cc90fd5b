#include <myr/kernel/multiboot.hpp>

namespace myr::kernel {
namespace {

// Multiboot info flags (spec §3.3).
constexpr std::uint32_t flag_cmdline = 1u << 2;
constexpr std::uint32_t flag_mods = 1u << 3;
constexpr std::uint32_t flag_mmap = 1u << 6;

// Copies a NUL-terminated string at phys into dst; a missing terminator within the view is
// `truncated`, a string longer than dst is `overflow` (a silently cut command line would drop
// options).
Status copy_string(Bytes phys, std::uint64_t addr, char* dst, std::size_t cap) {
    if (addr >= phys.size()) return Status::out_of_range;
    std::size_t i = 0;
    for (std::size_t p = static_cast<std::size_t>(addr); p < phys.size(); ++p) {
        const char c = static_cast<char>(phys[p]);
        if (c == '\0') {
            dst[i] = '\0';
            return Status::ok;
        }
        if (i + 1 >= cap) return Status::overflow;
        dst[i++] = c;
        dst[i] = '\0';
    }
    return Status::truncated;
}

} // namespace

Status parse_multiboot(Bytes phys, std::uint32_t magic, std::uint64_t info_phys, BootInfo& out) {
    out.cmdline[0] = '\0';
    out.num_memory = 0;
    out.num_modules = 0;
    if (magic != multiboot_boot_magic) return Status::invalid_argument;
    const auto info = MYR_TRY(sub(phys, static_cast<std::size_t>(info_phys), 52));
    const auto flags = MYR_TRY(read_le<std::uint32_t>(info, 0));

    if (flags & flag_cmdline) {
        const auto addr = MYR_TRY(read_le<std::uint32_t>(info, 16));
        MYR_TRY(copy_string(phys, addr, out.cmdline, sizeof out.cmdline));
    }
    if (flags & flag_mods) {
        const auto count = MYR_TRY(read_le<std::uint32_t>(info, 20));
        const auto addr = MYR_TRY(read_le<std::uint32_t>(info, 24));
        if (count > max_modules) return Status::overflow;
        const auto mods = MYR_TRY(sub(phys, addr, std::size_t{count} * 16));
        for (std::uint32_t i = 0; i < count; ++i) {
            Module& m = out.modules[i];
            m.start = MYR_TRY(read_le<std::uint32_t>(mods, i * 16u));
            m.end = MYR_TRY(read_le<std::uint32_t>(mods, i * 16u + 4));
            if (m.end < m.start) return Status::malformed;
            const auto name = MYR_TRY(read_le<std::uint32_t>(mods, i * 16u + 8));
            m.name[0] = '\0';
            if (name) MYR_TRY(copy_string(phys, name, m.name, sizeof m.name));
            out.num_modules = i + 1;
        }
    }
    if (!(flags & flag_mmap)) return Status::not_found;  // we need the BIOS memory map
    const auto len = MYR_TRY(read_le<std::uint32_t>(info, 44));
    const auto addr = MYR_TRY(read_le<std::uint32_t>(info, 48));
    const auto mmap = MYR_TRY(sub(phys, addr, len));
    // Entries are {u32 size; u64 base; u64 length; u32 type}, `size` not counting itself.
    std::size_t off = 0;
    while (off < mmap.size()) {
        const auto size = MYR_TRY(read_le<std::uint32_t>(mmap, off));
        if (size < 20) return Status::malformed;
        if (out.num_memory == max_memory_map) return Status::overflow;
        MemoryMapEntry& e = out.memory[out.num_memory];
        e.base = MYR_TRY(read_le<std::uint64_t>(mmap, off + 4));
        e.length = MYR_TRY(read_le<std::uint64_t>(mmap, off + 12));
        e.type = MYR_TRY(read_le<std::uint32_t>(mmap, off + 20));
        ++out.num_memory;
        off += std::size_t{size} + 4;
    }
    return Status::ok;
}

} // namespace myr::kernel
