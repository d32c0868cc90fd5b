#include <myr/kernel/elf.hpp>

namespace myr::kernel {
namespace {

// ELF64 header and program header offsets (gABI "ELF Header", "Program Header").
constexpr std::size_t ehdr_size = 64;
constexpr std::size_t phdr_size = 56;
constexpr std::uint16_t et_exec = 2;
constexpr std::uint16_t em_x86_64 = 62;
constexpr std::uint32_t pt_load = 1;
constexpr std::uint32_t pf_x = 1, pf_w = 2;
constexpr std::uint64_t page = 4096;

constexpr std::uint64_t page_down(std::uint64_t v) { return v & ~(page - 1); }

} // namespace

Status parse_elf(Bytes file, ElfImage& out) {
    out.num_segments = 0;
    out.entry = 0;
    if (file.size() < ehdr_size) return Status::truncated;
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT.
    if (file[0] != 0x7f || file[1] != 'E' || file[2] != 'L' || file[3] != 'F' || file[4] != 2 ||
        file[5] != 1 || file[6] != 1)
        return Status::malformed;
    const auto type = MYR_TRY(read_le<std::uint16_t>(file, 16));
    const auto machine = MYR_TRY(read_le<std::uint16_t>(file, 18));
    const auto entry = MYR_TRY(read_le<std::uint64_t>(file, 24));
    const auto phoff = MYR_TRY(read_le<std::uint64_t>(file, 32));
    const auto phentsize = MYR_TRY(read_le<std::uint16_t>(file, 54));
    const auto phnum = MYR_TRY(read_le<std::uint16_t>(file, 56));
    if (type != et_exec || machine != em_x86_64) return Status::unsupported;
    if (phentsize != phdr_size || phnum == 0) return Status::malformed;
    if (phoff > file.size() || (file.size() - phoff) / phdr_size < phnum) return Status::truncated;

    ElfImage img{};
    img.entry = entry;
    bool entry_ok = false;
    for (std::uint16_t i = 0; i < phnum; ++i) {
        const std::size_t ph = static_cast<std::size_t>(phoff) + std::size_t{i} * phdr_size;
        const auto p_type = MYR_TRY(read_le<std::uint32_t>(file, ph));
        if (p_type != pt_load) continue;
        const auto flags = MYR_TRY(read_le<std::uint32_t>(file, ph + 4));
        const auto offset = MYR_TRY(read_le<std::uint64_t>(file, ph + 8));
        const auto vaddr = MYR_TRY(read_le<std::uint64_t>(file, ph + 16));
        const auto filesz = MYR_TRY(read_le<std::uint64_t>(file, ph + 32));
        const auto memsz = MYR_TRY(read_le<std::uint64_t>(file, ph + 40));
        if (memsz == 0) continue;
        if (filesz > memsz) return Status::malformed;
        if (offset > file.size() || file.size() - offset < filesz) return Status::truncated;
        if (vaddr < user_space_start || vaddr >= user_space_end || user_space_end - vaddr < memsz)
            return Status::out_of_range;
        if ((vaddr % page) != (offset % page)) return Status::malformed;  // cannot be paged in
        if (img.num_segments == elf_max_segments) return Status::overflow;
        ElfSegment& s = img.segments[img.num_segments];
        s.vaddr = page_down(vaddr);
        s.memsz = page_down(vaddr + memsz + page - 1) - s.vaddr;
        s.file_vaddr = vaddr;
        s.file = file.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(filesz));
        s.writable = flags & pf_w;
        s.executable = flags & pf_x;
        for (std::uint32_t j = 0; j < img.num_segments; ++j) {
            const ElfSegment& o = img.segments[j];
            if (s.vaddr < o.vaddr + o.memsz && o.vaddr < s.vaddr + s.memsz) return Status::malformed;
        }
        if (s.executable && entry >= vaddr && entry < vaddr + memsz) entry_ok = true;
        ++img.num_segments;
    }
    if (img.num_segments == 0 || !entry_ok) return Status::malformed;
    out = img;
    return Status::ok;
}

} // namespace myr::kernel
