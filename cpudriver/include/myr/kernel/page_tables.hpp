#pragma once
// x86-64 4-level page tables (SDM Vol. 3A §4.5), built and walked through an abstract view of
// physical memory so the same code builds each core's tables in the kernel and is host-tested
// against a fake arena.
#include <myr/result.hpp>

#include <cstdint>

namespace myr::kernel {

namespace pte {
inline constexpr std::uint64_t present = 1ull << 0;
inline constexpr std::uint64_t writable = 1ull << 1;
inline constexpr std::uint64_t user = 1ull << 2;
inline constexpr std::uint64_t write_through = 1ull << 3;
inline constexpr std::uint64_t cache_disable = 1ull << 4;
inline constexpr std::uint64_t large = 1ull << 7;       // 2 MiB in a PD entry, 1 GiB in a PDPT entry
inline constexpr std::uint64_t global = 1ull << 8;
inline constexpr std::uint64_t no_execute = 1ull << 63;
inline constexpr std::uint64_t addr_mask = 0x000ffffffffff000ull;
} // namespace pte

// What the builder needs from its environment: zeroed frames, and a pointer to a frame's 512
// entries given its physical address.
class FrameSource {
public:
    virtual Result<std::uint64_t> alloc_zeroed_frame() = 0;
    virtual std::uint64_t* table(std::uint64_t phys) = 0;

protected:
    ~FrameSource() = default;
};

struct Translation {
    std::uint64_t phys;
    std::uint64_t flags;      // flags of the leaf entry
    std::uint64_t page_size;  // 4 KiB, 2 MiB or 1 GiB
};

class PageTables {
public:
    PageTables(FrameSource& frames, std::uint64_t root) : m_frames(frames), m_root(root) {}
    static Result<PageTables> create(FrameSource& frames);

    [[nodiscard]] std::uint64_t root() const { return m_root; }

    // Maps [virt, virt+size) to [phys, phys+size) with 4 KiB pages (page_bytes = 4096) or
    // 2 MiB pages (2 << 20). Addresses and size must be aligned to the page size; an existing
    // mapping in the range is an error (exists), so overlapping plans are caught.
    Status map(std::uint64_t virt, std::uint64_t phys, std::uint64_t size, std::uint64_t flags,
               std::uint64_t page_bytes);
    // Removes the top-level entry covering virt (used to drop the boot identity map).
    void clear_top_level(std::uint64_t virt);
    // Removes one 4 KiB mapping; returns the physical page it mapped.
    Result<std::uint64_t> unmap(std::uint64_t virt);
    // Calls fn for every page-table frame below the top-level entries [first, last] (not the
    // root itself): how an address space's tables are freed.
    void for_each_table_frame(void (*fn)(void* ctx, std::uint64_t phys), void* ctx, unsigned first, unsigned last);
    [[nodiscard]] Result<Translation> translate(std::uint64_t virt) const;
    // The entry at `level` (0 = PT entry .. 3 = PML4 entry) on virt's path, through tables that
    // exist already: nothing is allocated. not_found when a table above it is missing, with
    // *missing set to that table's level in capability terms (3 = PDPT, 2 = PD, 1 = PT: the level
    // of the entry that would point to it); unsupported when a large page is on the way;
    // out_of_range for a non-canonical address or level > 3. The entry itself may be empty.
    [[nodiscard]] Result<std::uint64_t*> entry(std::uint64_t virt, unsigned level, unsigned* missing = nullptr) const;

private:
    Result<std::uint64_t*> next_level(std::uint64_t* table, unsigned index, std::uint64_t user);

    FrameSource& m_frames;
    std::uint64_t m_root;
};

} // namespace myr::kernel
