#pragma once
// ELF64 executables for user programs (System V gABI, x86-64 psABI). Every header field the
// loader uses is validated here, so a malformed program is refused before anything is mapped.
#include <myr/bytes.hpp>
#include <myr/result.hpp>

#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint32_t elf_max_segments = 8;
inline constexpr std::uint64_t user_space_start = 0x1000;             // page 0 stays unmapped
inline constexpr std::uint64_t user_space_end = 0x0000'7fff'0000'0000; // exclusive

struct ElfSegment {
    std::uint64_t vaddr;   // page-aligned start of the mapping
    std::uint64_t memsz;   // page-rounded size of the mapping
    std::uint64_t file_vaddr;  // where the file bytes go (>= vaddr)
    Bytes file;            // bytes copied from the file (the rest is zero)
    bool writable;
    bool executable;
};

struct ElfImage {
    std::uint64_t entry;
    std::uint32_t num_segments;
    ElfSegment segments[elf_max_segments];
};

// Status::malformed (with no partial output) for anything but a well-formed static x86-64
// executable whose loadable segments lie in user space, do not overlap, and contain the entry.
Status parse_elf(Bytes file, ElfImage& out);

} // namespace myr::kernel
