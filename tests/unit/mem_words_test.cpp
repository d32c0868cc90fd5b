// The freestanding memcpy/memset of the CPU driver and user programs (myr/mem_words.hpp), on the
// host: every alignment of both ends and lengths across the byte head, word loop and tail; bytes
// outside the range must stay as they were.
#include <myr/mem_words.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

namespace {

constexpr std::size_t buf = 320;

void pattern(unsigned char (&b)[buf], unsigned seed) {
    for (std::size_t i = 0; i < buf; ++i) b[i] = static_cast<unsigned char>(i * 31 + seed);
}

TEST(MemWords, CopyEveryAlignmentAndLength) {
    alignas(8) unsigned char src[buf];
    alignas(8) unsigned char dst[buf];
    pattern(src, 7);
    for (std::size_t so = 0; so < 16; ++so)
        for (std::size_t doff = 0; doff < 16; ++doff)
            for (std::size_t n = 0; n <= 80; ++n) {
                pattern(dst, 200);
                myr::mem_words::copy(dst + doff, src + so, n);
                for (std::size_t i = 0; i < buf; ++i) {
                    const bool inside = i >= doff && i < doff + n;
                    const unsigned char want = inside ? src[so + (i - doff)] : static_cast<unsigned char>(i * 31 + 200);
                    ASSERT_EQ(dst[i], want) << "src+" << so << " dst+" << doff << " n=" << n << " byte " << i;
                }
            }
}

TEST(MemWords, FillEveryAlignmentAndLength) {
    alignas(8) unsigned char dst[buf];
    for (std::size_t doff = 0; doff < 16; ++doff)
        for (std::size_t n = 0; n <= 80; ++n) {
            pattern(dst, 3);
            myr::mem_words::fill(dst + doff, 0xa7, n);
            for (std::size_t i = 0; i < buf; ++i) {
                const bool inside = i >= doff && i < doff + n;
                const unsigned char want = inside ? 0xa7 : static_cast<unsigned char>(i * 31 + 3);
                ASSERT_EQ(dst[i], want) << "dst+" << doff << " n=" << n << " byte " << i;
            }
        }
}

} // namespace
