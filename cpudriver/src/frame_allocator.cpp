#include <myr/kernel/frame_allocator.hpp>

namespace myr::kernel {

void FrameAllocator::init(std::uint64_t base, std::uint32_t count) {
    m_base = base;
    m_count = count > max_pool_frames ? max_pool_frames : count;
    m_free = m_count;
    m_hint = 0;
    for (std::uint32_t i = 0; i < m_count; ++i) m_owner[i] = frame_free;
}

Result<std::uint64_t> FrameAllocator::allocate(std::uint16_t owner) {
    if (owner == frame_free) return Status::invalid_argument;
    if (m_free == 0) return Status::no_memory;
    for (std::uint32_t n = 0; n < m_count; ++n) {
        const std::uint32_t i = (m_hint + n) % m_count;
        if (m_owner[i] != frame_free) continue;
        m_owner[i] = owner;
        --m_free;
        m_hint = i + 1;
        return m_base + std::uint64_t{i} * 4096;
    }
    return Status::internal;  // m_free said there was one
}

Result<std::uint64_t> FrameAllocator::allocate_run(std::uint16_t owner, std::uint32_t count,
                                                  std::uint32_t align_frames) {
    if (owner == frame_free || count == 0 || align_frames == 0) return Status::invalid_argument;
    if (count > m_free) return Status::no_memory;
    const std::uint64_t base_frame = m_base / 4096;
    for (std::uint32_t i = 0; i + count <= m_count; ++i) {
        if ((base_frame + i) % align_frames) continue;
        std::uint32_t n = 0;
        while (n < count && m_owner[i + n] == frame_free) ++n;
        if (n < count) {
            i += n;  // the run breaks at i + n: continue after it
            continue;
        }
        for (std::uint32_t k = 0; k < count; ++k) m_owner[i + k] = owner;
        m_free -= count;
        return m_base + std::uint64_t{i} * 4096;
    }
    return Status::no_memory;
}

Status FrameAllocator::free(std::uint64_t phys, std::uint16_t owner) {
    if (!contains(phys) || (phys & 0xfff)) return Status::out_of_range;
    const auto i = static_cast<std::uint32_t>((phys - m_base) / 4096);
    if (m_owner[i] != owner || owner == frame_free) return Status::permission_denied;
    m_owner[i] = frame_free;
    ++m_free;
    return Status::ok;
}

std::uint32_t FrameAllocator::free_all(std::uint16_t owner) {
    std::uint32_t n = 0;
    if (owner == frame_free) return 0;
    for (std::uint32_t i = 0; i < m_count; ++i) {
        if (m_owner[i] != owner) continue;
        m_owner[i] = frame_free;
        ++n;
    }
    m_free += n;
    return n;
}

std::uint32_t FrameAllocator::owned_count(std::uint16_t owner) const {
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < m_count; ++i) n += m_owner[i] == owner;
    return n;
}

std::uint16_t FrameAllocator::owner_of(std::uint64_t phys) const {
    if (!contains(phys)) return frame_free;
    return m_owner[(phys - m_base) / 4096];
}

} // namespace myr::kernel
