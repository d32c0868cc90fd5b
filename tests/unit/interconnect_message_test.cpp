// Wire format: header encoding, decoding of malformed words, byte packing.
#include <myr/urpc/message.hpp>

#include <gtest/gtest.h>

#include <cstdint>

namespace myr::urpc {
namespace {

TEST(UrpcMessage, HeaderRoundTrips) {
    const Header h{0xdeadbeef, 7, 56, frag_first, 0};
    Result<Header> d = decode(encode(h));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->seq, 0xdeadbeefu);
    EXPECT_EQ(d->type, 7);
    EXPECT_EQ(d->length, 56);
    EXPECT_EQ(d->flags, frag_first);
    EXPECT_EQ(d->frag, 0);
}

TEST(UrpcMessage, SequenceIsTheLowWord) {
    EXPECT_EQ(header_seq(encode(Header{42, 1, 0, frag_single, 0})), 42u);
}

TEST(UrpcMessage, ZeroedLineNeverDecodes) { EXPECT_EQ(decode(0).status(), Status::malformed); }

TEST(UrpcMessage, RejectsMalformedHeaders) {
    const std::uint64_t good = encode(Header{1, 3, 10, frag_single, 0});
    ASSERT_TRUE(decode(good).ok());
    // Type 0.
    EXPECT_EQ(decode(encode(Header{1, 0, 10, frag_single, 0})).status(), Status::malformed);
    // Length beyond the line.
    EXPECT_EQ(decode(encode(Header{1, 3, 57, frag_single, 0})).status(), Status::malformed);
    EXPECT_EQ(decode(encode(Header{1, 3, 255, frag_single, 0})).status(), Status::malformed);
    // Reserved bits.
    EXPECT_EQ(decode(good | (1ULL << 50)).status(), Status::malformed);
    EXPECT_EQ(decode(good | (1ULL << 55)).status(), Status::malformed);
    // A first fragment with a non-zero index.
    EXPECT_EQ(decode(encode(Header{1, 3, 56, frag_first, 1})).status(), Status::malformed);
    // A non-last fragment that is not full.
    EXPECT_EQ(decode(encode(Header{1, 3, 55, frag_first, 0})).status(), Status::malformed);
    EXPECT_EQ(decode(encode(Header{1, 3, 20, 0, 4})).status(), Status::malformed);
    // A full middle fragment and a short last one are fine.
    EXPECT_TRUE(decode(encode(Header{1, 3, 56, 0, 4})).ok());
    EXPECT_TRUE(decode(encode(Header{1, 3, 1, frag_last, 5})).ok());
}

TEST(UrpcMessage, PackUnpackBytes) {
    std::uint8_t in[payload_bytes];
    for (std::size_t i = 0; i < payload_bytes; ++i) in[i] = static_cast<std::uint8_t>(i * 7 + 1);
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 55u, 56u}) {
        std::uint64_t words[payload_words];
        pack_bytes(words, in, len);
        std::uint8_t out[payload_bytes] = {};
        unpack_bytes(words, out, len);
        for (std::size_t i = 0; i < len; ++i) EXPECT_EQ(out[i], in[i]) << "len " << len;
        for (std::size_t i = len; i < payload_bytes; ++i) EXPECT_EQ(out[i], 0) << "len " << len;
    }
}

TEST(UrpcMessage, UnpackNeverWritesPastTheLine) {
    std::uint64_t words[payload_words] = {~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL};
    std::uint8_t out[payload_bytes + 8] = {};
    unpack_bytes(words, out, 1000);
    for (std::size_t i = payload_bytes; i < sizeof out; ++i) EXPECT_EQ(out[i], 0);
}

} // namespace
} // namespace myr::urpc
