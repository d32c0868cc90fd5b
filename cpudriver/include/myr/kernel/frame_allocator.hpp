#pragma once
// This core's RAM for user domains and their page tables: 4 KiB frames of one node-local
// region, each recorded with its owner (a domain id) so everything a domain holds returns to
// the pool when it dies. Pure, fixed capacity, host-tested.
#include <myr/result.hpp>

#include <cstdint>

namespace myr::kernel {

inline constexpr std::uint32_t max_pool_frames = 16384;  // 64 MiB per core
inline constexpr std::uint16_t frame_free = 0;

class FrameAllocator {
public:
    // Frames [base, base + count * 4096); count is capped at max_pool_frames.
    void init(std::uint64_t base, std::uint32_t count);

    Result<std::uint64_t> allocate(std::uint16_t owner);
    // `count` physically contiguous frames, the first aligned to `align_frames` frames.
    Result<std::uint64_t> allocate_run(std::uint16_t owner, std::uint32_t count, std::uint32_t align_frames = 1);
    Status free(std::uint64_t phys, std::uint16_t owner);
    std::uint32_t free_all(std::uint16_t owner);  // returns how many frames came back
    [[nodiscard]] std::uint16_t owner_of(std::uint64_t phys) const;
    [[nodiscard]] std::uint32_t free_count() const { return m_free; }
    [[nodiscard]] std::uint32_t owned_count(std::uint16_t owner) const;
    [[nodiscard]] std::uint32_t total() const { return m_count; }
    [[nodiscard]] bool contains(std::uint64_t phys) const {
        return phys >= m_base && phys < m_base + std::uint64_t{m_count} * 4096;
    }

private:
    std::uint64_t m_base;
    std::uint32_t m_count;
    std::uint32_t m_free;
    std::uint32_t m_hint;  // next index to look at: allocation is a rotating first fit
    std::uint16_t m_owner[max_pool_frames];
};

} // namespace myr::kernel
