// Shipped replicated objects, snapshots, wire format and protocol names.
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/memory_ownership.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/protocol.hpp>
#include <myr/repl/snapshot.hpp>
#include <myr/repl/wire.hpp>

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

using namespace myr;
using namespace myr::repl;

TEST(ReplProtocol, ParsesConfigNames) {
    for (Protocol p : all_protocols) EXPECT_EQ(parse_protocol(to_string(p)).value(), p);
    EXPECT_EQ(parse_protocol("paxos").status(), Status::invalid_argument);
}

TEST(ReplObjects, KvMapAgainstModelWithErase) {
    KvMap kv;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> model;
    std::mt19937_64 rng(7);
    for (std::uint64_t i = 0; i < 20000; ++i) {
        const std::uint64_t k = 1 + rng() % 150;
        auto it = std::find_if(model.begin(), model.end(), [&](auto& e) { return e.first == k; });
        switch (rng() % 3) {
        case 0: {
            const auto r = kv.apply(KvMap::put(k, i));
            ASSERT_EQ(r.status, Status::ok);
            if (it == model.end()) model.emplace_back(k, i); else it->second = i;
            break;
        }
        case 1: {
            const auto r = kv.apply(KvMap::erase(k));
            ASSERT_EQ(r.status, it == model.end() ? Status::not_found : Status::ok);
            if (it != model.end()) model.erase(it);
            break;
        }
        default: {
            const auto r = kv.read(KvMap::get(k));
            if (it == model.end()) ASSERT_EQ(r.status, Status::not_found);
            else ASSERT_EQ(r.value, it->second);
        }
        }
        ASSERT_EQ(kv.size(), model.size());
    }
    EXPECT_TRUE(kv.valid_state());
}

TEST(ReplObjects, KvMapFullIsRefused) {
    KvMap kv;
    std::uint64_t k = 1;
    while (kv.apply(KvMap::put(k, k)).status == Status::ok) ++k;
    EXPECT_EQ(kv.apply(KvMap::put(k, 1)).status, Status::overflow);
    EXPECT_EQ(kv.read(KvMap::get(1)).value, 1u);
}

TEST(ReplObjects, RegistryNamesAndOwnership) {
    Registry r;
    EXPECT_EQ(r.apply(Registry::add("fs", 3, 17)).status, Status::ok);
    EXPECT_EQ(r.apply(Registry::add("fs", 4, 18)).status, Status::exists);
    EXPECT_EQ(r.read(Registry::lookup("fs")), (Registry::Result{Status::ok, 3, 17}));
    EXPECT_EQ(r.read(Registry::lookup("net")).status, Status::not_found);
    EXPECT_EQ(r.apply(Registry::remove("fs", 4)).status, Status::permission_denied);
    EXPECT_EQ(r.apply(Registry::remove("fs", 3)).status, Status::ok);
    EXPECT_EQ(r.read(Registry::lookup("fs")).status, Status::not_found);
    EXPECT_FALSE(Registry::valid(Registry::lookup("")));
}

// Names whose hashes collide (issue 10 item 6): a hash that sees only the first byte makes "fs",
// "fx", ... collide. Each must get its own entry; a collision is never `exists`, never a lookup
// hit for the other name, never removes the other name. (Keyed by the hash alone, as before,
// adding "fx" answered exists.)
struct FirstByteHash {
    static constexpr std::uint64_t hash(const char (&bytes)[16]) { return static_cast<std::uint8_t>(bytes[0]); }
};
TEST(ReplObjects, RegistryHashCollisionsAreDifferentNames) {
    using Weak = BasicRegistry<FirstByteHash>;
    Weak r;
    EXPECT_EQ(r.apply(Weak::add("fs", 3, 17)).status, Status::ok);
    EXPECT_EQ(r.apply(Weak::add("fx", 4, 18)).status, Status::ok);
    EXPECT_EQ(r.apply(Weak::add("fx", 5, 19)).status, Status::exists);
    EXPECT_EQ(r.read(Weak::lookup("fs")), (Weak::Result{Status::ok, 3, 17}));
    EXPECT_EQ(r.read(Weak::lookup("fx")), (Weak::Result{Status::ok, 4, 18}));
    EXPECT_EQ(r.read(Weak::lookup("fq")).status, Status::not_found);
    EXPECT_EQ(r.apply(Weak::remove("fq", 3)).status, Status::not_found);
    EXPECT_EQ(r.apply(Weak::remove("fx", 3)).status, Status::permission_denied);
    // Four probe keys per hash: the fifth name of one hash is refused as overflow, not exists.
    EXPECT_EQ(r.apply(Weak::add("fa", 1, 1)).status, Status::ok);
    EXPECT_EQ(r.apply(Weak::add("fb", 1, 2)).status, Status::ok);
    EXPECT_EQ(r.apply(Weak::add("fc", 1, 3)).status, Status::overflow);
    // Removing the first of a chain keeps the others reachable, and frees its key for a new name.
    EXPECT_EQ(r.apply(Weak::remove("fs", 3)).status, Status::ok);
    EXPECT_EQ(r.read(Weak::lookup("fs")).status, Status::not_found);
    EXPECT_EQ(r.read(Weak::lookup("fx")), (Weak::Result{Status::ok, 4, 18}));
    EXPECT_EQ(r.read(Weak::lookup("fb")), (Weak::Result{Status::ok, 1, 2}));
    EXPECT_EQ(r.apply(Weak::add("fc", 1, 3)).status, Status::ok);
    EXPECT_EQ(r.apply(Weak::add("fb", 9, 9)).status, Status::exists);
    EXPECT_EQ(r.size(), 4u);
    EXPECT_TRUE(r.valid_state());
    // Other hashes are unaffected.
    EXPECT_EQ(r.apply(Weak::add("net", 2, 2)).status, Status::ok);
    EXPECT_EQ(r.read(Weak::lookup("net")), (Weak::Result{Status::ok, 2, 2}));
}

TEST(ReplObjects, MemoryOwnershipTransfersNeedTheOwner) {
    MemoryOwnership m;
    EXPECT_EQ(m.apply(MemoryOwnership::claim(0x10000, 1)).status, Status::ok);
    EXPECT_EQ(m.apply(MemoryOwnership::claim(0x10000, 2)).status, Status::exists);
    EXPECT_EQ(m.apply(MemoryOwnership::transfer(0x10000, 2, 3)).status, Status::permission_denied);
    EXPECT_EQ(m.apply(MemoryOwnership::transfer(0x10000, 1, 3)).owner, 3);
    EXPECT_EQ(m.apply(MemoryOwnership::release(0x10000, 1)).status, Status::permission_denied);
    EXPECT_EQ(m.apply(MemoryOwnership::release(0x10000, 3)).status, Status::ok);
    EXPECT_FALSE(MemoryOwnership::valid(MemoryOwnership::claim(0x10001, 1)));  // unaligned
}

TEST(ReplObjects, DigestIgnoresInsertionOrder) {
    KvMap a, b;
    for (std::uint64_t k = 1; k < 60; ++k) (void)a.apply(KvMap::add(k, k * 3));
    for (std::uint64_t k = 59; k >= 1; --k) (void)b.apply(KvMap::add(k, k * 3));
    EXPECT_EQ(a.digest(), b.digest());
    (void)b.apply(KvMap::add(5, 1));
    EXPECT_NE(a.digest(), b.digest());
}

TEST(ReplSnapshot, RoundTripAndRefusals) {
    Registry r;
    (void)r.apply(Registry::add("console", 0, 1));
    (void)r.apply(Registry::add("kvstore", 5, 9));
    std::vector<std::byte> buf(snapshot_bytes<Registry>());
    ASSERT_EQ(write_snapshot(r, 42, buf).value(), buf.size());
    Registry copy;
    std::uint64_t applied = 0;
    ASSERT_EQ(read_snapshot<Registry>(buf, copy, applied), Status::ok);
    EXPECT_EQ(applied, 42u);
    EXPECT_EQ(copy.read(Registry::lookup("kvstore")), (Registry::Result{Status::ok, 5, 9}));
    EXPECT_EQ(read_snapshot<Registry>(std::span(buf).first(10), copy, applied), Status::truncated);
    auto torn = buf;
    torn[sizeof(SnapshotHeader) + 40] ^= std::byte{0x5a};
    Registry untouched;
    EXPECT_NE(read_snapshot<Registry>(torn, untouched, applied), Status::ok);
    EXPECT_EQ(untouched.read(Registry::lookup("console")).status, Status::not_found);
    std::vector<std::byte> small(8);
    EXPECT_EQ(write_snapshot(r, 0, small).status(), Status::overflow);
}

TEST(ReplWire, EncodeDecodeRoundTripAndRefusals) {
    Packet p{};
    p.kind = Kind::tpc_prepare;
    p.object = 7;
    p.origin = 3;
    p.root = 2;
    p.from = 1;
    p.id = make_id(3, 99);
    p.aux = 5;
    to_words(KvMap::put(4, 5), p.body);
    urpc::Message m{};
    encode(p, m.words);
    m.header = {1, static_cast<std::uint8_t>(p.kind), urpc::payload_bytes, urpc::frag_single, 0};
    const auto d = decode(m);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->object, 7);
    EXPECT_EQ(d->origin, 3);
    EXPECT_EQ(d->root, 2);
    EXPECT_EQ(d->from, 1);
    EXPECT_EQ(id_origin(d->id), 3);
    EXPECT_EQ(from_words<KvMap::Op>(d->body).value, 5u);
    EXPECT_EQ(packet_object(m), 7);
    m.header.type = 0x3f;
    EXPECT_EQ(decode(m).status(), Status::malformed);
    m.header.type = static_cast<std::uint8_t>(Kind::bcast);
    m.header.length = 8;
    EXPECT_EQ(decode(m).status(), Status::malformed);
    m.header.length = urpc::payload_bytes;
    m.header.flags = urpc::frag_first;
    EXPECT_EQ(decode(m).status(), Status::malformed);
}
