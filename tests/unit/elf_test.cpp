// The user-program loader's ELF parser: well-formed executables (including the real programs
// this build makes) load; every malformed header field is refused before anything is mapped.
#include <myr/kernel/elf.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

using namespace myr;
using namespace myr::kernel;

namespace {

struct Builder {
    std::vector<std::uint8_t> b = std::vector<std::uint8_t>(0x3000, 0);
    template <typename T> void put(std::size_t at, T v) { std::memcpy(&b[at], &v, sizeof v); }
    // A valid two-segment executable: text at 0x400000 (file 0x1000), data+bss at 0x401000.
    Builder() {
        const std::uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
        std::memcpy(b.data(), ident, sizeof ident);
        put<std::uint16_t>(16, 2);         // ET_EXEC
        put<std::uint16_t>(18, 62);        // EM_X86_64
        put<std::uint64_t>(24, 0x400010);  // entry
        put<std::uint64_t>(32, 64);        // phoff
        put<std::uint16_t>(54, 56);        // phentsize
        put<std::uint16_t>(56, 2);         // phnum
        segment(0, 5, 0x1000, 0x400000, 0x100, 0x100);
        segment(1, 6, 0x2000, 0x401000, 0x80, 0x5000);
        for (std::size_t i = 0; i < 0x100; ++i) b[0x1000 + i] = static_cast<std::uint8_t>(i);
    }
    void segment(int i, std::uint32_t flags, std::uint64_t off, std::uint64_t va, std::uint64_t filesz, std::uint64_t memsz) {
        const std::size_t p = 64 + 56 * static_cast<std::size_t>(i);
        put<std::uint32_t>(p, 1);
        put<std::uint32_t>(p + 4, flags);
        put<std::uint64_t>(p + 8, off);
        put<std::uint64_t>(p + 16, va);
        put<std::uint64_t>(p + 32, filesz);
        put<std::uint64_t>(p + 40, memsz);
    }
    Bytes view() const { return {b.data(), b.size()}; }
};

} // namespace

TEST(Elf, LoadsAWellFormedExecutable) {
    Builder e;
    ElfImage img{};
    ASSERT_EQ(parse_elf(e.view(), img), Status::ok);
    EXPECT_EQ(img.entry, 0x400010u);
    ASSERT_EQ(img.num_segments, 2u);
    EXPECT_TRUE(img.segments[0].executable);
    EXPECT_FALSE(img.segments[0].writable);
    EXPECT_EQ(img.segments[0].file.size(), 0x100u);
    EXPECT_EQ(img.segments[0].file[5], 5u);
    EXPECT_TRUE(img.segments[1].writable);
    EXPECT_EQ(img.segments[1].memsz, 0x5000u);  // bss included, page-rounded
}

TEST(Elf, RefusesEveryMalformedField) {
    ElfImage img{};
    auto refuse = [&](Builder e, Status want, const char* what) {
        img.num_segments = 99;
        EXPECT_EQ(parse_elf(e.view(), img), want) << what;
        EXPECT_EQ(img.num_segments, 0u) << what << ": no partial output";
    };
    { Builder e; e.b[1] = 'X'; refuse(e, Status::malformed, "magic"); }
    { Builder e; e.b[4] = 1; refuse(e, Status::malformed, "32-bit class"); }
    { Builder e; e.b[5] = 2; refuse(e, Status::malformed, "big endian"); }
    { Builder e; e.put<std::uint16_t>(16, 3); refuse(e, Status::unsupported, "ET_DYN"); }
    { Builder e; e.put<std::uint16_t>(18, 3); refuse(e, Status::unsupported, "i386"); }
    { Builder e; e.put<std::uint16_t>(54, 32); refuse(e, Status::malformed, "phentsize"); }
    { Builder e; e.put<std::uint16_t>(56, 0); refuse(e, Status::malformed, "no program headers"); }
    { Builder e; e.put<std::uint64_t>(32, 0x2ff0); refuse(e, Status::truncated, "phoff past the end"); }
    { Builder e; e.put<std::uint64_t>(32, ~0ull - 8); refuse(e, Status::truncated, "phoff wraps"); }
    { Builder e; e.put<std::uint16_t>(56, 0xffff); refuse(e, Status::truncated, "phnum past the end"); }
    { Builder e; e.segment(0, 5, 0x1000, 0x400000, 0x200, 0x100); refuse(e, Status::malformed, "filesz > memsz"); }
    { Builder e; e.segment(0, 5, 0x2f00, 0x400f00, 0x200, 0x200); refuse(e, Status::truncated, "file range past the end"); }
    { Builder e; e.segment(0, 5, 0x0, 0x0, 0x100, 0x100); refuse(e, Status::out_of_range, "page zero"); }
    { Builder e; e.segment(0, 5, 0x1000, 0xffffffff80100000ull, 0x100, 0x100); refuse(e, Status::out_of_range, "kernel address"); }
    { Builder e; e.segment(0, 5, 0x1000, 0x7ffefffff000ull, 0x100, 0x2000); refuse(e, Status::out_of_range, "runs out of user space"); }
    { Builder e; e.segment(0, 5, 0x1000, 0x400000, 0x100, ~0ull - 0x1000); refuse(e, Status::out_of_range, "memsz wraps"); }
    { Builder e; e.segment(0, 5, 0x1008, 0x400000, 0x100, 0x100); refuse(e, Status::malformed, "offset/vaddr misaligned"); }
    { Builder e; e.segment(1, 6, 0x2000, 0x400000, 0x80, 0x1000); refuse(e, Status::malformed, "overlapping segments"); }
    { Builder e; e.put<std::uint64_t>(24, 0x401010); refuse(e, Status::malformed, "entry in a non-executable segment"); }
    { Builder e; e.put<std::uint64_t>(24, 0x900000); refuse(e, Status::malformed, "entry outside every segment"); }
    { Builder e; e.b.resize(40); refuse(e, Status::truncated, "shorter than the header"); }
}

TEST(Elf, LoadsTheProgramsThisBuildMakes) {
    for (const char* name : {"hello", "worker", "badargs", "ipc_ping"}) {
        std::ifstream in(std::string(MYRIAD_USER_DIR) + "/" + name, std::ios::binary);
        ASSERT_TRUE(in) << name;
        const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        ElfImage img{};
        ASSERT_EQ(parse_elf({bytes.data(), bytes.size()}, img), Status::ok) << name;
        EXPECT_GE(img.num_segments, 2u) << name;
        EXPECT_EQ(img.segments[0].vaddr, 0x400000u) << name;
    }
}
