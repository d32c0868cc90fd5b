#pragma once
// Page-table frames for the kernel: bump-allocated from one core's node-local pool, reached
// through the direct map.
#include <arch/platform.hpp>
#include <myr/kernel/page_tables.hpp>

namespace myr::kernel {

class PoolFrames final : public FrameSource {
public:
    PoolFrames(std::uint64_t base, std::uint64_t end) : m_next(base), m_end(end) {}
    Result<std::uint64_t> alloc_zeroed_frame() override {
        if (m_end - m_next < 4096 || m_next >= m_end) return Status::no_memory;
        const std::uint64_t f = m_next;
        m_next += 4096;
        auto* p = arch::phys_to_virt<std::uint64_t>(f);
        for (unsigned i = 0; i < 512; ++i) p[i] = 0;
        return f;
    }
    std::uint64_t* table(std::uint64_t phys) override { return arch::phys_to_virt<std::uint64_t>(phys); }
    [[nodiscard]] std::uint64_t used_end() const { return m_next; }

private:
    std::uint64_t m_next;
    std::uint64_t m_end;
};

// Read-only walks of live tables (no allocation).
class DirectMapFrames final : public FrameSource {
public:
    Result<std::uint64_t> alloc_zeroed_frame() override { return Status::no_memory; }
    std::uint64_t* table(std::uint64_t phys) override { return arch::phys_to_virt<std::uint64_t>(phys); }
};

} // namespace myr::kernel
