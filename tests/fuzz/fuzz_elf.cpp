// libFuzzer: the ELF loader's parser and the multiboot parser on arbitrary bytes. Every accepted
// image must satisfy what the loader relies on.
#include <myr/kernel/elf.hpp>
#include <myr/kernel/multiboot.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace myr::kernel;
    static ElfImage img;
    if (parse_elf({data, size}, img) == myr::Status::ok) {
        for (std::uint32_t i = 0; i < img.num_segments; ++i) {
            const ElfSegment& s = img.segments[i];
            if (s.vaddr < user_space_start || s.vaddr + s.memsz > user_space_end) std::abort();
            if (s.file.data() < data || s.file.data() + s.file.size() > data + size) std::abort();
            if (s.file_vaddr + s.file.size() > s.vaddr + s.memsz) std::abort();
        }
    }
    // The same bytes as low memory holding a multiboot information block at offset 0.
    static BootInfo info;
    if (size >= 8) {
        std::uint32_t at = 0;
        for (int i = 0; i < 2; ++i) at = at << 8 | data[i];
        (void)parse_multiboot({data, size}, multiboot_boot_magic, at % size, info);
        if (info.num_memory > max_memory_map || info.num_modules > max_modules) std::abort();
    }
    return 0;
}
