// x87/SSE state belongs to each domain. Several instances run on one core at once; each sets its
// own rounding modes and computes with scalar SSE, SSE vectors and the x87 stack in long loops,
// yielding every 1024 steps and preempted by the timer in between, with the sums live in
// registers across both. The sums hold integers below 2^53 (2^24 for floats), so the exact
// expected value comes from the same steps in integer registers, and every instance's values
// derive from its own domain number: state leaking between domains changes some sum, and a
// rounding mode that leaks changes the 1/3 checks.
#include <myr/user/syscall.hpp>

using namespace myr;

namespace {

using v2d = double __attribute__((vector_size(16)));
using v4f = float __attribute__((vector_size(16)));

std::uint32_t get_mxcsr() {
    std::uint32_t v;
    asm volatile("stmxcsr %0" : "=m"(v));
    return v;
}
void set_mxcsr(std::uint32_t v) { asm volatile("ldmxcsr %0" ::"m"(v)); }
std::uint16_t get_fcw() {
    std::uint16_t v;
    asm volatile("fnstcw %0" : "=m"(v));
    return v;
}
void set_fcw(std::uint16_t v) { asm volatile("fldcw %0" ::"m"(v)); }

template <typename T>
std::uint64_t bits64(T v) {
    std::uint64_t b;
    __builtin_memcpy(&b, &v, 8);  // a long double's first 8 bytes: its 64-bit significand
    return b;
}

volatile double one_d = 1.0, three_d = 3.0;
volatile long double one_ld = 1.0L, three_ld = 3.0L;

// 1/3 correctly rounded in each rounding mode (RC 0 nearest, 1 down, 2 up, 3 toward zero).
// double: 0x3fd5555555555555 except up; x87 64-bit significand 0xaaaa...aaa[ab].
constexpr std::uint64_t third_d[4] = {0x3fd5555555555555ull, 0x3fd5555555555555ull, 0x3fd5555555555556ull,
                                      0x3fd5555555555555ull};
constexpr std::uint64_t third_ld[4] = {0xaaaaaaaaaaaaaaabull, 0xaaaaaaaaaaaaaaaaull, 0xaaaaaaaaaaaaaaabull,
                                       0xaaaaaaaaaaaaaaaaull};

// xmm8-15 (low halves): a new domain must see zeros, nothing another domain left behind.
std::uint64_t high_xmm_or() {
    std::uint64_t a, b, c, d, e, f, g, h;
    asm volatile("movq %%xmm8, %0\n movq %%xmm9, %1\n movq %%xmm10, %2\n movq %%xmm11, %3\n"
                 "movq %%xmm12, %4\n movq %%xmm13, %5\n movq %%xmm14, %6\n movq %%xmm15, %7"
                 : "=r"(a), "=r"(b), "=r"(c), "=r"(d), "=r"(e), "=r"(f), "=r"(g), "=r"(h));
    return a | b | c | d | e | f | g | h;
}

} // namespace

extern "C" int main(std::uint64_t) {
    const std::uint64_t xmm_left = high_xmm_or();
    const std::uint32_t mxcsr0 = get_mxcsr();
    const std::uint16_t fcw0 = get_fcw();
    const auto info = user::syscall6(abi::Sys::domain_info);
    const std::uint64_t serial = info.value & 0xffffffff;
    if (mxcsr0 != 0x1f80 || fcw0 != 0x37f || xmm_left != 0) {
        user::print("test-fail: domain {} did not start clean: mxcsr={:#x} fcw={:#x} xmm8-15={:#x}", serial, mxcsr0,
                    fcw0, xmm_left);
        return 1;
    }
    // This instance's own control state: a rounding mode per domain number, flush-to-zero for odd.
    const std::uint32_t rc = (serial + serial / 2) % 4;  // distinct for domains 1, 3, 5 (0..3 all occur)
    const std::uint32_t mxcsr = 0x1f80 | (rc << 13) | ((serial & 1) << 15);
    const auto fcw = static_cast<std::uint16_t>(0x37f | (rc << 10));
    set_mxcsr(mxcsr);
    set_fcw(fcw);

    constexpr std::uint64_t rounds = 12, steps = 16384;  // floats: 16384 * 255 * 4 < 2^24
    user::Rng rng{serial * 0x9e3779b97f4a7c15ull + 1};
    std::uint64_t preempted = 0, yields = 0;
    for (std::uint64_t round = 0; round < rounds; ++round) {
        const std::uint64_t seed = rng.next();
        double s = 0;
        v2d vd = {0, 0};
        v4f vf = {0, 0, 0, 0};
        long double ld = 0;
        std::uint64_t is = 0, id0 = 0, id1 = 0, if0 = 0, ild = 0;
        std::uint64_t last = user::rdtsc(), min_gap = ~0ull;
        for (std::uint64_t i = 0; i < steps; ++i) {
            const std::uint64_t k = ((seed >> (i & 31)) + i * serial) & 0xffff;
            const auto dk = static_cast<double>(k);
            const auto fk = static_cast<float>(k & 0xff);
            s += dk * 3.0;
            const v2d dstep = {dk, dk * 5.0};
            const v4f fstep = {fk, fk * 2.0f, fk * 3.0f, fk + 1.0f};
            vd += dstep;
            vf += fstep;
            ld += static_cast<long double>(k) * static_cast<long double>(k);
            is += k * 3;
            id0 += k;
            id1 += k * 5;
            if0 += k & 0xff;
            ild += k * k;
            if ((i & 1023) == 1023) {
                // A gap far longer than the quickest 1024 steps: another domain ran meanwhile.
                const std::uint64_t now = user::rdtsc(), gap = now - last;
                if (gap < min_gap) min_gap = gap;
                if (gap > 8 * min_gap) ++preempted;
                user::yield();
                ++yields;
                last = user::rdtsc();
                const double q = one_d / three_d;
                const long double lq = one_ld / three_ld;
                // MXCSR bits 0-5 are sticky exception flags (1/3 sets PE): compare the control bits.
                if (bits64(q) != third_d[rc] || bits64(lq) != third_ld[rc] || (get_mxcsr() & ~0x3fu) != mxcsr ||
                    get_fcw() != fcw) {
                    user::print("test-fail: domain {} round {} step {}: 1/3 {:#x} (x87 {:#x}) mxcsr={:#x} fcw={:#x}",
                                serial, round, i, bits64(q), bits64(lq), get_mxcsr(), get_fcw());
                    return 1;
                }
            }
        }
        const std::uint64_t f0 = if0, f1 = if0 * 2, f2 = if0 * 3, f3 = if0 + steps;
        if (s != static_cast<double>(is) || vd[0] != static_cast<double>(id0) || vd[1] != static_cast<double>(id1) ||
            vf[0] != static_cast<float>(f0) || vf[1] != static_cast<float>(f1) || vf[2] != static_cast<float>(f2) ||
            vf[3] != static_cast<float>(f3) || ld != static_cast<long double>(ild)) {
            user::print("test-fail: domain {} round {}: sums {:#x} {:#x} {:#x} {:#x} expected {} {} {} {}", serial, round,
                        bits64(s), bits64(vd[0]), bits64(vd[1]), bits64(ld), is, id0, id1, ild);
            return 1;
        }
    }
    user::print("test-pass: fpu domain {} rc={} {} rounds exact, yields={} preempted={}", serial, rc, rounds, yields,
                preempted);
    return 0;
}
