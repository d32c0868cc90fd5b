#pragma once
// x87/SSE register state of a user domain (SDM Vol. 1 §10.5, FXSAVE area). The kernel itself
// never uses these registers (it is built -mgeneral-regs-only -mno-sse -mno-80387), so a domain's
// state stays in the registers through every kernel entry and needs saving only when another
// domain is about to run on this core (domain.cpp).
#include <cstddef>
#include <cstdint>

namespace myr::arch {

// The 512-byte FXSAVE image. FXSAVE/FXRSTOR raise #GP unless it is 16-byte aligned.
struct alignas(16) FpuState {
    std::uint8_t bytes[512];
};
static_assert(sizeof(FpuState) == 512 && alignof(FpuState) == 16);

// Field offsets in the image (SDM Vol. 1, Table 10-2).
inline constexpr std::size_t fxsave_fcw = 0;     // x87 control word
inline constexpr std::size_t fxsave_mxcsr = 24;  // SSE control/status
// Values FNINIT and processor reset give (SDM Vol. 1 §8.1.5, §10.2.3.1): all x87 exceptions
// masked, 64-bit precision, round to nearest; all SIMD exceptions masked, round to nearest.
inline constexpr std::uint16_t fcw_default = 0x037f;
inline constexpr std::uint32_t mxcsr_default = 0x1f80;

// A clean image: what a new domain starts with (FSW 0, abridged tag word 0 = all registers
// empty, every data register zero).
inline void fpu_reset(FpuState& s) {
    for (std::uint8_t& b : s.bytes) b = 0;
    s.bytes[fxsave_fcw] = static_cast<std::uint8_t>(fcw_default);
    s.bytes[fxsave_fcw + 1] = static_cast<std::uint8_t>(fcw_default >> 8);
    for (unsigned i = 0; i < 4; ++i) s.bytes[fxsave_mxcsr + i] = static_cast<std::uint8_t>(mxcsr_default >> (8 * i));
}

// The 64-bit forms keep the full x87 instruction and operand pointers. Neither instruction
// checks for pending x87 exceptions (SDM Vol. 2A FXSAVE), so a domain preempted with one pending
// gets it back on its own next x87 instruction, not in the kernel.
inline void fpu_save(FpuState& s) { asm volatile("fxsave64 %0" : "=m"(s) :: "memory"); }
inline void fpu_restore(const FpuState& s) { asm volatile("fxrstor64 %0" :: "m"(s) : "memory"); }

// Per core, at start: x87 and SSE usable by ring 3; false when the CPU lacks FXSR or SSE2.
[[nodiscard]] bool enable_fpu();

} // namespace myr::arch
