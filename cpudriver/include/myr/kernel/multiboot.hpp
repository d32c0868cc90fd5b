#pragma once
// Multiboot 1 information (spec 0.6.96 §3.3), read through bounds-checked views of physical
// memory: a boot loader's info is input like any other.
#include <myr/boot_limits.hpp>
#include <myr/bytes.hpp>
#include <myr/result.hpp>

#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint32_t multiboot_boot_magic = 0x2BADB002;  // in EAX at entry
inline constexpr std::uint32_t max_memory_map = 64;
inline constexpr std::uint32_t max_modules = 32;

enum class MemoryType : std::uint32_t { available = 1, reserved = 2, acpi_reclaimable = 3, acpi_nvs = 4, bad = 5 };

struct MemoryMapEntry { std::uint64_t base; std::uint64_t length; std::uint32_t type; };
struct Module { std::uint64_t start; std::uint64_t end; char name[256]; };

struct BootInfo {
    char cmdline[kernel_cmdline_bytes];
    std::uint32_t num_memory;
    MemoryMapEntry memory[max_memory_map];
    std::uint32_t num_modules;
    Module modules[max_modules];
};

// phys: a view of physical memory starting at physical address 0 (the kernel passes its direct
// map of the low 4 GiB; host tests pass a buffer). info_phys: EBX at entry.
Status parse_multiboot(Bytes phys, std::uint32_t magic, std::uint64_t info_phys, BootInfo& out);

} // namespace myr::kernel
