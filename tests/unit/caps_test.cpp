// Unit tests of the capability core: install, retype of every type (alignment, bounds, table
// memory rule), watermark reset, copy/mint rights and badges, remove and revoke with freed
// reports, move, lookup and check. Every refused call is checked to leave the table unchanged.
#include <myr/caps/audit.hpp>
#include <myr/caps/table.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace myr;
using namespace myr::caps;

namespace {

constexpr std::uint64_t table_phys = 0x10'0000;  // 256 slots: [0x100000, 0x104000)
constexpr std::uint64_t ram = 0x1000'0000;       // 16 MiB untyped
constexpr std::uint64_t ram_size = 0x100'0000;

// Slots: 0 root cnode (radix 6: slots 0..63), 1 untyped over the rest of table memory,
// 2 RAM untyped, 3 kernel, 4 io ports, 5 ipi, 6 irq. Free: 7..255.
class Caps : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(t.init(mem, table_phys), Status::ok);
        ASSERT_EQ(t.install(0, make_cnode(table_phys, 6)), Status::ok);
        ASSERT_EQ(t.install(1, make_untyped(table_phys + 0x1000, 0x3000)), Status::ok);
        ASSERT_EQ(t.install(2, make_untyped(ram, ram_size)), Status::ok);
        ASSERT_EQ(t.install(3, make_kernel(0)), Status::ok);
        ASSERT_EQ(t.install(4, make_io_ports(0x3f8, 8)), Status::ok);
        ASSERT_EQ(t.install(5, make_ipi(0, 8, 0xf0)), Status::ok);
        ASSERT_EQ(t.install(6, make_irq(0x40)), Status::ok);
        expect_sound();
    }
    void TearDown() override { expect_sound(); }

    void expect_sound() {
        const AuditResult r = audit(t);
        EXPECT_EQ(r.status, Status::ok) << "slot " << r.slot << ": " << r.what;
    }
    std::vector<Slot> snap() const { return {t.slots().begin(), t.slots().end()}; }
    bool same(const std::vector<Slot>& s) const {
        return std::memcmp(s.data(), t.slots().data(), s.size() * sizeof(Slot)) == 0;
    }
    // Expect `st` to be `want` and the table untouched.
    template <typename F>
    void refused(Status want, F&& op) {
        const auto before = snap();
        const Status st = op();
        EXPECT_EQ(st, want) << to_string(st);
        EXPECT_TRUE(same(before));
    }

    FreedSink sink() {
        return FreedSink{[](void* ctx, const Cap& c) { static_cast<std::vector<Cap>*>(ctx)->push_back(c); }, &freed};
    }

    std::vector<Slot> mem = std::vector<Slot>(256);
    CapTable t;
    std::vector<Cap> freed;
};

TEST(CapsInit, RejectsBadMemory) {
    std::vector<Slot> mem(4);
    CapTable t;
    EXPECT_EQ(t.init(std::span<Slot>{}, 0x1000), Status::invalid_argument);
    EXPECT_EQ(t.init(mem, 0x1001), Status::invalid_argument);
    EXPECT_EQ(t.init(mem, phys_limit - 64), Status::invalid_argument);
    EXPECT_EQ(t.init(mem, 0x1000), Status::ok);
    EXPECT_EQ(t.size(), 4u);
    EXPECT_EQ(t.phys_end(), 0x1100u);
}

TEST(CapsTypes, SizesAndRights) {
    EXPECT_EQ(*object_size_bits({CapType::frame, 12}), 12u);
    EXPECT_EQ(*object_size_bits({CapType::frame, 21}), 21u);
    EXPECT_EQ(*object_size_bits({CapType::frame, 30}), 30u);
    EXPECT_EQ(object_size_bits({CapType::frame, 13}).status(), Status::invalid_argument);
    EXPECT_EQ(*object_size_bits({CapType::cnode, 4}), 10u);
    EXPECT_EQ(*object_size_bits({CapType::page_table, 4}), 12u);
    EXPECT_EQ(object_size_bits({CapType::page_table, 5}).status(), Status::invalid_argument);
    EXPECT_EQ(object_size_bits({CapType::page_table, 0}).status(), Status::invalid_argument);
    EXPECT_EQ(object_size_bits({CapType::untyped, 5}).status(), Status::invalid_argument);
    EXPECT_EQ(object_size_bits({CapType::untyped, 53}).status(), Status::invalid_argument);
    EXPECT_EQ(object_size_bits({CapType::endpoint, 1}).status(), Status::invalid_argument);
    for (CapType k : {CapType::null, CapType::kernel, CapType::ipi, CapType::irq, CapType::io_port})
        EXPECT_EQ(object_size_bits({k, 0}).status(), Status::invalid_argument) << to_string(k);
    EXPECT_TRUE(has(all_rights(CapType::frame), Rights::read | Rights::write | Rights::map));
    EXPECT_FALSE(has(all_rights(CapType::frame), Rights::send));
    EXPECT_EQ(std::string(to_string(Status::wrong_type)), "wrong type");
}

TEST(CapsTypes, Check) {
    const Cap f = make_frame(0x1000, 12);
    EXPECT_EQ(check(f, CapType::frame, Rights::read | Rights::write), Status::ok);
    EXPECT_EQ(check(f, CapType::endpoint, Rights::none), Status::wrong_type);
    EXPECT_EQ(check(f, CapType::frame, Rights::send), Status::permission_denied);
    EXPECT_EQ(check(Cap{}, CapType::frame, Rights::none), Status::not_found);
}

TEST_F(Caps, InstallValidates) {
    refused(Status::out_of_range, [&] { return t.install(256, make_kernel(1)); });
    refused(Status::exists, [&] { return t.install(3, make_kernel(1)); });
    refused(Status::exists, [&] { return t.install(7, make_kernel(0)); });  // same object twice
    refused(Status::exists, [&] { return t.install(7, make_untyped(ram + ram_size - 0x1000, 0x2000)); });
    refused(Status::invalid_argument, [&] { return t.install(7, Cap{}); });
    refused(Status::invalid_argument, [&] { return t.install(7, make_frame(0x2000'1000, 21)); });   // misaligned
    refused(Status::invalid_argument, [&] { return t.install(7, make_frame(table_phys + 0x1000, 12)); });  // table
    refused(Status::invalid_argument, [&] { return t.install(7, make_cnode(0x2000'0000, 2)); });  // outside table
    refused(Status::invalid_argument, [&] { return t.install(7, make_io_ports(0xfff0, 0x20)); });
    refused(Status::invalid_argument, [&] { return t.install(7, make_ipi(0, 1, 3)); });  // exception vector
    refused(Status::invalid_argument, [&] { return t.install(7, make_untyped(phys_limit - 0x1000, 0x2000)); });
    Cap bad = make_frame(0x2000'0000, 12);
    bad.rights = Rights::send;
    refused(Status::invalid_argument, [&] { return t.install(7, bad); });
    EXPECT_EQ(t.install(7, make_frame(0x2000'0000, 21)), Status::ok);  // e.g. a boot module
}

// Domain caps name a domain by its serial: not memory, never retyped; copies keep the name and
// survive the removal of the cap they were copied from (they move up to its parent).
TEST_F(Caps, DomainCapsAreNamesNotMemory) {
    EXPECT_EQ(t.install(7, make_domain(ram)), Status::ok);  // a serial equal to a RAM address: no overlap
    refused(Status::exists, [&] { return t.install(8, make_domain(static_cast<std::uint32_t>(ram))); });
    Cap bad = make_domain(9);
    bad.size = 0x1000;
    refused(Status::invalid_argument, [&] { return t.install(8, bad); });
    bad = make_domain(9);
    bad.aux = 1;
    refused(Status::invalid_argument, [&] { return t.install(8, bad); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::domain, 0}, 1, 10); });
    ASSERT_EQ(t.install(8, make_domain(9)), Status::ok);
    ASSERT_EQ(t.copy(8, 10), Status::ok);
    ASSERT_EQ(t.mint(10, 11, Rights::read, 0), Status::ok);
    EXPECT_EQ(check(t.cap(11), CapType::domain, Rights::write), Status::permission_denied);
    EXPECT_EQ(check(t.cap(11), CapType::domain, Rights::read), Status::ok);
    ASSERT_EQ(t.remove(10, sink()), Status::ok);  // the read-only copy moves up to the root
    EXPECT_EQ(t.slot(11).parent, 8u);
    EXPECT_TRUE(freed.empty());
    ASSERT_EQ(t.revoke(8, sink()), Status::ok);
    EXPECT_TRUE(t.cap(11).is_null());
}

struct TypeCase {
    CapType type;
    std::uint8_t param;
    std::uint64_t size;
    std::uint32_t aux;
};

TEST_F(Caps, RetypeEveryMemoryType) {
    const TypeCase cases[] = {
        {CapType::endpoint, 0, 64, 0},          {CapType::frame, 12, 0x1000, 0},
        {CapType::notification, 0, 64, 0},      {CapType::frame, 21, 0x20'0000, 0},
        {CapType::channel_memory, 12, 0x1000, 0}, {CapType::channel_memory, 14, 0x4000, 0},
        {CapType::page_table, 1, 0x1000, 1},    {CapType::page_table, 4, 0x1000, 4},
        {CapType::untyped, 16, 0x1'0000, 0},    {CapType::endpoint, 0, 64, 0},
    };
    SlotIdx dest = 10;
    std::uint64_t wm = 0;
    for (const TypeCase& c : cases) {
        ASSERT_EQ(t.retype(2, {c.type, c.param}, 2, dest), Status::ok) << to_string(c.type);
        for (SlotIdx k = 0; k < 2; ++k) {
            const Cap& o = t.cap(dest + k);
            EXPECT_EQ(o.type, c.type);
            EXPECT_EQ(o.size, c.size);
            EXPECT_EQ(o.aux, c.aux);
            EXPECT_EQ(o.base % c.size, 0u) << "aligned to its size";
            EXPECT_GE(o.base, ram + wm) << "above the previous watermark";
            EXPECT_EQ(o.rights, all_rights(c.type));
            EXPECT_EQ(t.slot(dest + k).parent, 2u);
        }
        EXPECT_EQ(t.cap(dest + 1).base, t.cap(dest).base + c.size) << "consecutive";
        wm = t.cap(dest + 1).end() - ram;
        EXPECT_EQ(t.cap(2).watermark(), wm);
        dest += 2;
    }
    // The new untyped can itself be retyped; its objects lie inside it.
    ASSERT_EQ(t.retype(26, {CapType::frame, 12}, 3, 40), Status::ok);
    EXPECT_EQ(t.cap(40).base, t.cap(26).base);
    EXPECT_EQ(t.slot(40).parent, 26u);
}

TEST_F(Caps, RetypeCnodeOnlyFromTableMemory) {
    ASSERT_EQ(t.retype(1, {CapType::cnode, 4}, 2, 10), Status::ok);
    EXPECT_EQ(t.cap(10).base, table_phys + 0x1000);
    EXPECT_EQ(t.cap(10).size, 16u * 64);
    EXPECT_EQ(t.cnode_first_slot(t.cap(10)), 64u);
    EXPECT_EQ(t.cnode_first_slot(t.cap(11)), 80u);
    // Frames over table memory would let user space write capabilities; cnodes need table memory.
    refused(Status::invalid_argument, [&] { return t.retype(1, {CapType::frame, 12}, 1, 12); });
    refused(Status::invalid_argument, [&] { return t.retype(1, {CapType::endpoint, 0}, 1, 12); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::cnode, 2}, 1, 12); });
    // Subdividing table memory into untyped is allowed, and cnodes come from the part.
    ASSERT_EQ(t.retype(1, {CapType::untyped, 10}, 1, 12), Status::ok);
    ASSERT_EQ(t.retype(12, {CapType::cnode, 3}, 1, 13), Status::ok);
    // A retype destination inside the cnode being created is refused.
    const SlotIdx next_cnode = static_cast<SlotIdx>((t.cap(13).end() - table_phys) / 64);
    refused(Status::invalid_argument, [&] { return t.retype(12, {CapType::cnode, 3}, 1, next_cnode + 1); });
}

TEST_F(Caps, RetypeRefusals) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 10), Status::ok);
    Cap no_retype = make_untyped(0x4000'0000, 0x10000);
    no_retype.rights = Rights::none;
    ASSERT_EQ(t.install(11, no_retype), Status::ok);

    refused(Status::out_of_range, [&] { return t.retype(300, {CapType::frame, 12}, 1, 20); });
    refused(Status::not_found, [&] { return t.retype(20, {CapType::frame, 12}, 1, 21); });
    refused(Status::wrong_type, [&] { return t.retype(10, {CapType::frame, 12}, 1, 20); });
    refused(Status::wrong_type, [&] { return t.retype(3, {CapType::frame, 12}, 1, 20); });
    refused(Status::permission_denied, [&] { return t.retype(11, {CapType::frame, 12}, 1, 20); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::frame, 13}, 1, 20); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::kernel, 0}, 1, 20); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::null, 0}, 1, 20); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::frame, 12}, 0, 20); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::frame, 12}, max_retype_count + 1, 20); });
    refused(Status::out_of_range, [&] { return t.retype(2, {CapType::frame, 12}, 1, 256); });
    refused(Status::out_of_range, [&] { return t.retype(2, {CapType::frame, 12}, 10, 250); });
    refused(Status::exists, [&] { return t.retype(2, {CapType::frame, 12}, 3, 9); });  // slot 10 is taken
    refused(Status::no_memory, [&] { return t.retype(2, {CapType::frame, 30}, 1, 20); });
    refused(Status::no_memory, [&] { return t.retype(2, {CapType::untyped, 24}, 1, 20); });  // all 16 MiB
    // 7 more 2 MiB frames fit after the first 4 KiB (aligned up to 2 MiB), an 8th does not.
    refused(Status::no_memory, [&] { return t.retype(2, {CapType::frame, 21}, 8, 20); });
    EXPECT_EQ(t.retype(2, {CapType::frame, 21}, 7, 20), Status::ok);
    EXPECT_EQ(t.cap(20).base, ram + 0x20'0000);
    refused(Status::no_memory, [&] { return t.retype(2, {CapType::endpoint, 0}, 1, 30); });
}

TEST_F(Caps, WatermarkResetsWhenChildrenAreGone) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 4, 10), Status::ok);
    EXPECT_EQ(t.cap(2).watermark(), 0x4000u);
    ASSERT_EQ(t.revoke(2, sink()), Status::ok);
    EXPECT_EQ(t.cap(2).watermark(), 0u);
    EXPECT_EQ(freed.size(), 4u);
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 10), Status::ok);
    EXPECT_EQ(t.cap(10).base, ram) << "carved from the start again";
    // Deleting the children one by one resets it too; while any is alive it does not.
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 11), Status::ok);
    ASSERT_EQ(t.remove(10), Status::ok);
    EXPECT_EQ(t.cap(2).watermark(), 0x2000u);
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 10), Status::ok);
    EXPECT_EQ(t.cap(10).base, ram + 0x2000) << "used space below the watermark is not reused";
    ASSERT_EQ(t.remove(10), Status::ok);
    ASSERT_EQ(t.remove(11), Status::ok);
    EXPECT_EQ(t.cap(2).watermark(), 0u);
}

TEST_F(Caps, CopyAndMintNeverAddRights) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 10), Status::ok);
    ASSERT_EQ(t.mint(10, 11, Rights::read | Rights::map, 0), Status::ok);
    EXPECT_EQ(t.cap(11).rights, Rights::read | Rights::map);
    EXPECT_EQ(t.slot(11).parent, 10u);
    // Asking for everything back from the reduced copy yields only what it has.
    ASSERT_EQ(t.mint(11, 12, Rights::read | Rights::write | Rights::execute | Rights::map | Rights::send, 0),
              Status::ok);
    EXPECT_EQ(t.cap(12).rights, Rights::read | Rights::map);
    ASSERT_EQ(t.copy(12, 13), Status::ok);
    EXPECT_EQ(t.cap(13).rights, Rights::read | Rights::map);
    ASSERT_EQ(t.mint(13, 14, Rights::none, 0), Status::ok);
    EXPECT_EQ(t.cap(14).rights, Rights::none);
    EXPECT_EQ(check(t.cap(14), CapType::frame, Rights::read), Status::permission_denied);
    // Non-memory caps derive the same way.
    ASSERT_EQ(t.mint(3, 15, Rights::read, 0), Status::ok);
    EXPECT_EQ(t.cap(15).rights, Rights::read);
    ASSERT_EQ(t.copy(4, 16), Status::ok);
    EXPECT_EQ(t.cap(16).base, 0x3f8u);
}

TEST_F(Caps, CopyRefusals) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 10), Status::ok);
    refused(Status::out_of_range, [&] { return t.copy(256, 20); });
    refused(Status::out_of_range, [&] { return t.copy(10, 256); });
    refused(Status::not_found, [&] { return t.copy(20, 21); });
    refused(Status::exists, [&] { return t.copy(10, 2); });
    refused(Status::exists, [&] { return t.copy(10, 10); });
    refused(Status::invalid_argument, [&] { return t.copy(2, 20); });  // untyped: one watermark only
    refused(Status::invalid_argument, [&] { return t.mint(2, 20, Rights::retype, 0); });
    refused(Status::invalid_argument, [&] { return t.mint(10, 20, Rights::read, 7); });  // badge on a frame
}

// An IPI cap minted with a badge (core + 1) is a doorbell: the same object, narrowed to one core
// of its range by the kernel (sys_send_ipi checks the badge).
TEST_F(Caps, IpiBadgeNamesOneCoreOfTheRange) {
    ASSERT_EQ(t.mint(5, 20, Rights::send, 3 + 1), Status::ok);
    EXPECT_EQ(t.cap(20).badge(), 4u);
    EXPECT_EQ(t.cap(20).base, 0u) << "the object is unchanged: the badge narrows it";
    refused(Status::out_of_range, [&] { return t.mint(5, 21, Rights::send, 8 + 1); });  // range is cores 0..7
    refused(Status::invalid_argument, [&] { return t.mint(20, 21, Rights::send, 2); });  // a badge is not rebadged
    ASSERT_EQ(t.copy(20, 22), Status::ok);
    EXPECT_EQ(t.cap(22).badge(), 4u) << "copies keep the badge";
}

// A page-table cap is the one record of where its table is installed (the kernel keeps that in
// its ext words), so it is never copied or minted; it can be moved and deleted like any cap.
TEST_F(Caps, PageTablesAreNeverCopied) {
    for (std::uint8_t level = 1; level <= 4; ++level) {
        const SlotIdx s = 10 + level;
        ASSERT_EQ(t.retype(2, {CapType::page_table, level}, 1, s), Status::ok);
        EXPECT_EQ(t.cap(s).aux, level);
        EXPECT_EQ(t.cap(s).size, 0x1000u);
        EXPECT_EQ(t.cap(s).rights, Rights::read | Rights::write | Rights::map);
        refused(Status::invalid_argument, [&] { return t.copy(s, 20); });
        refused(Status::invalid_argument, [&] { return t.mint(s, 20, Rights::read, 0); });
        refused(Status::invalid_argument, [&] { return t.mint(s, 20, Rights::map, 0); });
    }
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::page_table, 0}, 1, 20); });
    refused(Status::invalid_argument, [&] { return t.retype(2, {CapType::page_table, 5}, 1, 20); });
    t.ext(11)[0] = 0x20'0001;
    ASSERT_EQ(t.move(11, 30), Status::ok);
    EXPECT_EQ(t.ext(30)[0], 0x20'0001u) << "the installation record travels with a move";
    ASSERT_EQ(t.remove(30, sink()), Status::ok);
    ASSERT_EQ(freed.size(), 1u);
    EXPECT_EQ(freed[0].type, CapType::page_table);
}

TEST_F(Caps, MintBadgesEndpointsOnce) {
    ASSERT_EQ(t.retype(2, {CapType::endpoint, 0}, 1, 10), Status::ok);
    ASSERT_EQ(t.mint(10, 11, Rights::send, 42), Status::ok);
    EXPECT_EQ(t.cap(11).badge(), 42u);
    EXPECT_EQ(t.cap(11).rights, Rights::send);
    EXPECT_TRUE(same_object(t.cap(10), t.cap(11)));
    refused(Status::invalid_argument, [&] { return t.mint(11, 12, Rights::send, 43); });  // no rebadge
    ASSERT_EQ(t.copy(11, 12), Status::ok);
    EXPECT_EQ(t.cap(12).badge(), 42u) << "copies keep the badge";
    ASSERT_EQ(t.retype(2, {CapType::notification, 0}, 1, 13), Status::ok);
    ASSERT_EQ(t.mint(13, 14, Rights::send, 1), Status::ok);
    EXPECT_EQ(t.cap(14).badge(), 1u);
}

TEST_F(Caps, RemoveReportsOnlyTheLastCap) {
    ASSERT_EQ(t.retype(2, {CapType::endpoint, 0}, 1, 10), Status::ok);
    ASSERT_EQ(t.copy(10, 11), Status::ok);
    ASSERT_EQ(t.mint(11, 12, Rights::send, 5), Status::ok);
    ASSERT_EQ(t.remove(11, sink()), Status::ok);
    EXPECT_TRUE(freed.empty());
    EXPECT_EQ(t.slot(12).parent, 10u) << "the copy's child moved up";
    ASSERT_EQ(t.remove(10, sink()), Status::ok);
    EXPECT_TRUE(freed.empty());
    EXPECT_EQ(t.slot(12).parent, 2u);
    ASSERT_EQ(t.remove(12, sink()), Status::ok);
    ASSERT_EQ(freed.size(), 1u);
    EXPECT_EQ(freed[0].type, CapType::endpoint);
    EXPECT_EQ(freed[0].base, ram);
    EXPECT_EQ(t.cap(2).watermark(), 0u);
    // Root caps report too (e.g. the irq handler right going away).
    ASSERT_EQ(t.remove(6, sink()), Status::ok);
    ASSERT_EQ(freed.size(), 2u);
    EXPECT_EQ(freed[1].type, CapType::irq);
}

TEST_F(Caps, RemoveRefusals) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 1, 10), Status::ok);
    ASSERT_EQ(t.copy(3, 11), Status::ok);
    refused(Status::out_of_range, [&] { return t.remove(256); });
    refused(Status::not_found, [&] { return t.remove(20); });
    refused(Status::busy, [&] { return t.remove(2); });  // untyped with children: revoke first
    refused(Status::busy, [&] { return t.remove(3); });  // root with copies: revoke first
    refused(Status::out_of_range, [&] { return t.revoke(256); });
    refused(Status::not_found, [&] { return t.revoke(20); });
}

TEST_F(Caps, RevokeRemovesAllDescendantsAndNothingElse) {
    ASSERT_EQ(t.retype(2, {CapType::untyped, 16}, 2, 10), Status::ok);       // 10, 11
    ASSERT_EQ(t.retype(10, {CapType::endpoint, 0}, 2, 12), Status::ok);      // 12, 13
    ASSERT_EQ(t.retype(10, {CapType::untyped, 12}, 1, 14), Status::ok);      // 14
    ASSERT_EQ(t.retype(14, {CapType::frame, 12}, 1, 15), Status::ok);        // 15
    ASSERT_EQ(t.copy(12, 16), Status::ok);
    ASSERT_EQ(t.mint(16, 17, Rights::send, 9), Status::ok);
    ASSERT_EQ(t.copy(15, 18), Status::ok);
    ASSERT_EQ(t.retype(11, {CapType::frame, 12}, 1, 19), Status::ok);        // sibling subtree
    ASSERT_EQ(t.copy(3, 20), Status::ok);                                   // unrelated

    // Revoking a copy removes only its own copies.
    ASSERT_EQ(t.revoke(16, sink()), Status::ok);
    EXPECT_TRUE(t.cap(17).is_null());
    EXPECT_FALSE(t.cap(16).is_null());
    EXPECT_TRUE(freed.empty());

    const auto before = snap();
    ASSERT_EQ(t.revoke(10, sink()), Status::ok);
    for (SlotIdx s : {12u, 13u, 14u, 15u, 16u, 18u}) EXPECT_TRUE(t.cap(s).is_null()) << s;
    for (SlotIdx s : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 11u, 19u, 20u}) {
        EXPECT_EQ(std::memcmp(&t.cap(s), &before[s].cap, sizeof(Cap)), 0) << s;
    }
    EXPECT_FALSE(t.has_children(10));
    EXPECT_EQ(t.cap(10).watermark(), 0u);
    // Objects reported once each: two endpoints, the inner untyped, the frame.
    EXPECT_EQ(freed.size(), 4u);
}

TEST_F(Caps, RevokeWithBudgetMakesProgress) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 5, 10), Status::ok);
    refused(Status::would_block, [&] { return t.revoke(2, sink(), 0); });
    EXPECT_EQ(t.revoke(2, sink(), 2), Status::would_block);
    EXPECT_EQ(freed.size(), 2u);
    expect_sound();
    EXPECT_EQ(t.revoke(2, sink(), 2), Status::would_block);
    EXPECT_EQ(t.revoke(2, sink(), 2), Status::ok);
    EXPECT_EQ(freed.size(), 5u);
    EXPECT_EQ(t.cap(2).watermark(), 0u);
}

TEST_F(Caps, MoveKeepsTreeAndExtWords) {
    ASSERT_EQ(t.retype(2, {CapType::frame, 12}, 2, 10), Status::ok);
    ASSERT_EQ(t.copy(10, 12), Status::ok);
    t.ext(10)[0] = 0xdead;
    ASSERT_EQ(t.move(10, 20), Status::ok);
    EXPECT_TRUE(t.cap(10).is_null());
    EXPECT_EQ(t.slot(20).ext[0], 0xdeadu);
    EXPECT_EQ(t.slot(12).parent, 20u);
    EXPECT_EQ(t.slot(20).parent, 2u);
    refused(Status::exists, [&] { return t.move(20, 12); });
    refused(Status::not_found, [&] { return t.move(10, 21); });
    refused(Status::out_of_range, [&] { return t.move(20, 256); });
    ASSERT_EQ(t.copy(20, 21), Status::ok);
    EXPECT_EQ(t.slot(21).ext[0], 0u) << "copies do not inherit the mapping words";
}

// What the kernel relies on (issue 10): a domain's lent RAM and the other caps the kernel placed
// stay in their slots. Before pinning, a reply moved a domain's RAM to another domain and the
// kernel later returned two RAM caps into one slot.
TEST_F(Caps, PinnedCapsStayInTheirSlot) {
    // A RAM region the kernel lends (a child of its own untyped), with an object carved from it.
    ASSERT_EQ(t.retype(2, {CapType::untyped, 16}, 1, 10), Status::ok);
    ASSERT_EQ(t.retype(10, {CapType::frame, 12}, 1, 11), Status::ok);
    refused(Status::not_found, [&] { return t.set_pinned(12, true); });
    refused(Status::out_of_range, [&] { return t.set_pinned(256, true); });
    ASSERT_EQ(t.set_pinned(10, true), Status::ok);
    EXPECT_TRUE(t.cap(10).pinned());
    refused(Status::permission_denied, [&] { return t.move(10, 20); });
    refused(Status::permission_denied, [&] { return t.remove(10, sink()); });
    // What it carved is not pinned: it moves and goes.
    ASSERT_EQ(t.move(11, 21), Status::ok);
    // Revoking it still works (its descendants are the domain's), and it stays.
    ASSERT_EQ(t.revoke(10, sink()), Status::ok);
    EXPECT_TRUE(t.cap(21).is_null());
    EXPECT_TRUE(t.cap(10).pinned());
    // A copy of a pinned cap (here a pinned endpoint) is an ordinary cap; the original stays pinned.
    ASSERT_EQ(t.retype(2, {CapType::endpoint, 0}, 1, 30), Status::ok);
    ASSERT_EQ(t.set_pinned(30, true), Status::ok);
    ASSERT_EQ(t.copy(30, 31), Status::ok);
    ASSERT_EQ(t.mint(30, 32, Rights::send, 7), Status::ok);
    EXPECT_FALSE(t.cap(31).pinned());
    EXPECT_FALSE(t.cap(32).pinned());
    ASSERT_EQ(t.move(31, 33), Status::ok);
    ASSERT_EQ(t.remove(33, sink()), Status::ok);
    // The kernel releases it to take it back (a domain's end): then it moves again.
    ASSERT_EQ(t.set_pinned(10, false), Status::ok);
    ASSERT_EQ(t.move(10, 40), Status::ok);
    EXPECT_FALSE(t.cap(40).pinned());
    // Roots may be installed pinned; unknown flag bits are refused.
    Cap k = make_io_ports(0x60, 4);
    k.flags = cap_pinned;
    ASSERT_EQ(t.install(50, k), Status::ok);
    refused(Status::permission_denied, [&] { return t.remove(50, sink()); });
    Cap bad = make_io_ports(0x70, 2);
    bad.flags = 0x80;
    refused(Status::invalid_argument, [&] { return t.install(51, bad); });
}

TEST_F(Caps, LookupOneAndTwoLevels) {
    // One level: the root cnode has radix 6; slot 2 is cptr 2 at depth 6.
    EXPECT_EQ(*t.lookup(0, 2, 6), 2u);
    EXPECT_EQ(*t.lookup_cap(0, 2, 6, CapType::untyped, Rights::retype), 2u);
    EXPECT_EQ(t.lookup_cap(0, 2, 6, CapType::frame, Rights::none).status(), Status::wrong_type);
    EXPECT_EQ(t.lookup_cap(0, 40, 6, CapType::frame, Rights::none).status(), Status::not_found);
    // Two levels: a radix-4 cnode in root slot 9; its slot 5 is cptr (9 << 4) | 5 at depth 10.
    ASSERT_EQ(t.retype(1, {CapType::cnode, 4}, 1, 9), Status::ok);
    const SlotIdx first = t.cnode_first_slot(t.cap(9));
    const SlotIdx dest = *t.cnode_range(9, 5, 1);
    EXPECT_EQ(dest, first + 5);
    ASSERT_EQ(t.copy(3, dest), Status::ok);
    EXPECT_EQ(*t.lookup(0, (9u << 4) | 5u, 10), dest);
    EXPECT_EQ(*t.lookup_cap(0, (9u << 4) | 5u, 10, CapType::kernel, Rights::read), dest);

    EXPECT_EQ(t.lookup(0, 2, 0).status(), Status::invalid_argument);
    EXPECT_EQ(t.lookup(0, 2, 65).status(), Status::invalid_argument);
    EXPECT_EQ(t.lookup(0, 64, 6).status(), Status::invalid_argument);  // wider than depth
    EXPECT_EQ(t.lookup(0, 9, 4).status(), Status::invalid_argument);   // depth ends inside the root
    EXPECT_EQ(t.lookup(0, (2u << 4) | 1u, 10).status(), Status::wrong_type);  // untyped is no cnode
    EXPECT_EQ(t.lookup(0, (40u << 4) | 1u, 10).status(), Status::not_found);
    EXPECT_EQ(t.lookup(0, ((9u << 4) | 5u) << 2, 12).status(), Status::wrong_type);  // past a leaf
    EXPECT_EQ(t.lookup(256, 0, 6).status(), Status::out_of_range);
    EXPECT_EQ(t.lookup(3, 0, 6).status(), Status::wrong_type);

    EXPECT_EQ(t.cnode_range(9, 16, 1).status(), Status::out_of_range);
    EXPECT_EQ(t.cnode_range(9, 15, 2).status(), Status::out_of_range);
    EXPECT_EQ(t.cnode_range(9, 0, 0).status(), Status::invalid_argument);
    EXPECT_EQ(t.cnode_range(2, 0, 1).status(), Status::wrong_type);
    ASSERT_EQ(t.mint(9, 10, Rights::read, 0), Status::ok);
    EXPECT_EQ(t.cnode_range(10, 0, 1).status(), Status::permission_denied);
}

TEST_F(Caps, DeadCnodeContentsAreClearedWhenItsMemoryIsReused) {
    ASSERT_EQ(t.retype(1, {CapType::cnode, 2}, 1, 9), Status::ok);
    const SlotIdx inner = t.cnode_first_slot(t.cap(9));
    ASSERT_EQ(t.retype(2, {CapType::endpoint, 0}, 1, 10), Status::ok);
    ASSERT_EQ(t.move(10, inner + 1), Status::ok);  // the endpoint's only cap lives in the cnode
    ASSERT_EQ(t.remove(9, sink()), Status::ok);
    ASSERT_EQ(freed.size(), 1u);
    EXPECT_EQ(freed[0].type, CapType::cnode);
    EXPECT_EQ(t.cap(inner + 1).type, CapType::endpoint) << "contents stay until the memory is reused";
    EXPECT_EQ(t.cap(1).watermark(), 0u);
    // A destination inside the cnode being created is refused; elsewhere the retype clears it.
    refused(Status::invalid_argument, [&] { return t.retype(1, {CapType::cnode, 2}, 1, inner); });
    ASSERT_EQ(t.retype(1, {CapType::cnode, 2}, 1, 9, sink()), Status::ok);
    EXPECT_EQ(t.cnode_first_slot(t.cap(9)), inner);
    EXPECT_TRUE(t.cap(inner + 1).is_null());
    ASSERT_EQ(freed.size(), 2u);
    EXPECT_EQ(freed[1].type, CapType::endpoint);
    EXPECT_EQ(t.cap(2).watermark(), 0u) << "the endpoint was the RAM untyped's only child";
}

TEST_F(Caps, CnodeRetypeOverAnUntypedWithChildrenIsBusy) {
    ASSERT_EQ(t.retype(1, {CapType::cnode, 2}, 1, 9), Status::ok);
    const SlotIdx inner = t.cnode_first_slot(t.cap(9));
    ASSERT_EQ(t.retype(2, {CapType::untyped, 12}, 1, inner), Status::ok);
    ASSERT_EQ(t.retype(inner, {CapType::frame, 12}, 1, 10), Status::ok);
    ASSERT_EQ(t.remove(9), Status::ok);
    refused(Status::busy, [&] { return t.retype(1, {CapType::cnode, 2}, 1, 9); });
    ASSERT_EQ(t.revoke(inner), Status::ok);
    EXPECT_EQ(t.retype(1, {CapType::cnode, 2}, 1, 9), Status::ok);
}

} // namespace
