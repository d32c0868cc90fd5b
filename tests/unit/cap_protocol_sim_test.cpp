// Capabilities across cores (monitor/include/myr/monitor/cap_protocol.hpp) in a deterministic
// simulation: four cores, each with its own caps::CapTable, the lines between them carried in
// order per pair of cores and delivered in an order a seed picks, with carving, adopting,
// transfers, deletes, revokes and ownership moves issued on every core meanwhile. Checked after
// every step:
// - every table passes caps::audit;
// - no two cores both own a frame;
// - every core holding a copy of a frame, or with a copy on its way, is in the owner's set
//   (outside a move, whose first round does that accounting);
// - when an owner finishes a revoke, no core holds anything inside it but the asker's one copy,
//   and no copy of it is on its way;
// and at the end, with every line delivered: every operation was answered, no move is open, and
// each frame still held has one owner whose set is exactly the other cores that hold copies.
#include <myr/caps/audit.hpp>
#include <myr/monitor/cap_protocol.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <initializer_list>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace myr;
using myr::monitor::CapLine;
using myr::monitor::CapMsg;
using myr::monitor::CapNode;

namespace {

constexpr std::uint32_t cores = 4;
constexpr std::uint32_t table_slots = 256;
constexpr caps::SlotIdx untyped_slot = 1;
constexpr std::uint64_t mem_bytes = 1 << 20;

std::uint64_t mem_base(std::uint32_t c) { return (std::uint64_t{c} + 1) << 32; }
std::uint64_t table_base(std::uint32_t c) { return 0x1000'0000ull * (c + 1); }
// Pages of core c's memory outside its untyped, as a memserv grant is: adopted, given, moved.
constexpr unsigned adopt_pages = 6;
caps::Cap adoptable(std::uint32_t c, unsigned page) {
    caps::Cap f = caps::make_frame(mem_base(c) + mem_bytes + 0x1000ull * page, 12);
    return f;
}
// The core whose adoptable pages hold `c` (it keeps its copies through any revoke), or ~0u.
std::uint32_t adopted_home(const caps::Cap& c) {
    for (std::uint32_t k = 0; k < 64; ++k)
        if (c.base >= mem_base(k) + mem_bytes && c.base < mem_base(k) + mem_bytes + 0x1000ull * adopt_pages) return k;
    return ~0u;
}

template <std::uint32_t Cores = 4>
struct SimT final : monitor::CapOut {
    static constexpr std::uint32_t cores = Cores;
    std::vector<caps::Slot> storage[cores];
    CapNode node[cores];
    std::deque<CapMsg> chan[cores][cores];  // [from][to], in order
    std::map<std::uint64_t, Status> answers;  // op -> answer
    std::map<std::uint64_t, std::string> pending;  // ops issued, not answered yet
    std::uint64_t next_op = 1;
    std::string failure;  // the first broken invariant
    unsigned revokes_done = 0, untyped_revokes = 0;
    std::map<std::string, unsigned> outcomes;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> installs;  // (tag, from) of each copy that landed

    SimT() {
        for (std::uint32_t c = 0; c < cores; ++c) {
            storage[c].resize(table_slots);
            EXPECT_EQ(node[c].init(c, cores, storage[c], table_base(c)), Status::ok);
            EXPECT_EQ(node[c].install_root(untyped_slot, caps::make_untyped(mem_base(c), mem_bytes)), Status::ok);
        }
    }
    void send(const CapMsg& m) override {
        if (m.to >= cores || m.from >= cores || m.to == m.from) fail("a line to nowhere");
        else chan[m.from][m.to].push_back(m);
    }
    void installed(const caps::Cap&, std::uint64_t tag, std::uint32_t from) override { installs.push_back({tag, from}); }
    std::vector<std::pair<caps::Cap, std::uint32_t>> taken;  // (frame, old owner) of each ownership move that landed
    void took_ownership(const caps::Cap& obj, std::uint32_t from) override { taken.push_back({obj, from}); }
    std::vector<std::pair<caps::Cap, std::uint32_t>> sweeps;  // (root, asker) of each sweep on a core not the owner
    void swept(const caps::Cap& root, std::uint32_t asker) override { sweeps.push_back({root, asker}); }
    void done(std::uint64_t op, Status st) override {
        if (!pending.count(op)) return fail("an answer to an operation nobody is waiting for: " + std::to_string(op));
        outcomes[pending[op] + " " + std::string(to_string(st))]++;
        pending.erase(op);
        answers[op] = st;
    }
    void revoke_finished(const caps::Cap& root, std::uint32_t asker, caps::SlotIdx keep) override {
        ++revokes_done;
        untyped_revokes += root.type == caps::CapType::untyped;
        const auto inside = [&](const caps::Cap& c) {
            return c.type == caps::CapType::frame &&
                   (root.type == caps::CapType::untyped ? c.base >= root.base && c.base < root.base + root.size
                                                        : caps::same_object(c, root));
        };
        for (std::uint32_t x = 0; x < cores; ++x) {
            const auto slots = node[x].table().slots();
            for (caps::SlotIdx i = 0; i < slots.size(); ++i)
                if (!slots[i].cap.is_null() && inside(slots[i].cap) && !(x == asker && i == keep && root.type == caps::CapType::frame) &&
                    adopted_home(slots[i].cap) != x)
                    fail("core " + std::to_string(x) + " slot " + std::to_string(i) + " survives a finished revoke of " +
                         (root.type == caps::CapType::untyped ? "an untyped" : "a frame") + " asked by core " +
                         std::to_string(asker) + " keeping slot " + std::to_string(keep));
            for (std::uint32_t f = 0; f < cores; ++f)
                for (const CapMsg& m : chan[f][x])
                    if (m.type == CapLine::install && inside(m.obj)) fail("a copy on its way after a finished revoke");
        }
    }
    void fail(const std::string& why) {
        if (failure.empty()) failure = why;
    }

    // The core that owns `c` now: the one node that says it does (ownership moves), ~0u when none
    // does, which is so only while a move of it is on its way; two that say so is a failure.
    std::uint32_t owner_core(const caps::Cap& c) {
        std::uint32_t owner = ~0u;
        for (std::uint32_t k = 0; k < cores; ++k) {
            std::uint64_t copies = 0;
            if (!node[k].owns(c, copies)) continue;
            if (owner != ~0u) fail("cores " + std::to_string(owner) + " and " + std::to_string(k) + " both own a frame");
            owner = k;
        }
        return owner;
    }
    bool in_move(const caps::Cap& c) const {
        for (std::uint32_t k = 0; k < cores; ++k)
            if (node[k].moving(c)) return true;
        return false;
    }
    // Whether any core knows of `c`, holds it, or has a line naming it on its way.
    bool anywhere(const caps::Cap& c) const {
        for (std::uint32_t k = 0; k < cores; ++k)
            if (node[k].knows(c) || node[k].holds(c)) return true;
        for (const auto& row : chan)
            for (const auto& q : row)
                for (const CapMsg& m : q)
                    if (caps::same_object(m.obj, c)) return true;
        return false;
    }

    void check() {
        for (std::uint32_t c = 0; c < cores; ++c)
            if (const caps::AuditResult a = caps::audit(node[c].table()); a.status != Status::ok)
                fail("core " + std::to_string(c) + " table: " + a.what);
        // Coverage: every holder and every copy on its way is in the owner's set.
        // During an ownership move the old owner's `moving` round accounts for the copies instead.
        const auto covered = [&](const caps::Cap& c, std::uint32_t x, const char* what) {
            const std::uint32_t o = owner_core(c);
            if (o == x || in_move(c)) return;
            if (o == ~0u) return fail(std::string(what) + " on core " + std::to_string(x) + " has no owner (base " + std::to_string(c.base) + ")");
            std::uint64_t copies = 0;
            if (!node[o].owns(c, copies) || !(copies >> x & 1))
                fail(std::string(what) + " on core " + std::to_string(x) + " not in owner " + std::to_string(o) + "'s set (base " + std::to_string(c.base) + ")");
        };
        for (std::uint32_t x = 0; x < cores; ++x) {
            for (const caps::Slot& s : node[x].table().slots())
                if (s.cap.type == caps::CapType::frame) covered(s.cap, x, "a copy");
            for (std::uint32_t f = 0; f < cores; ++f)
                for (const CapMsg& m : chan[f][x])
                    if (m.type == CapLine::install) covered(m.obj, x, "a copy on its way");
        }
    }

    // Quiescence: every line delivered; every operation answered; each set exact.
    void check_settled() {
        if (!pending.empty()) fail("an operation was never answered: " + pending.begin()->second);
        std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> holders;  // frame -> cores holding it
        for (std::uint32_t x = 0; x < cores; ++x)
            for (const caps::Slot& s : node[x].table().slots())
                if (s.cap.type == caps::CapType::frame) holders[{s.cap.base, s.cap.size}] |= std::uint64_t{1} << x;
        for (const auto& [key, set] : holders) {
            caps::Cap c = caps::make_frame(key.first, 12);
            c.size = key.second;
            if (in_move(c)) fail("a move never ended");
            const std::uint32_t o = owner_core(c);
            std::uint64_t copies = 0;
            if (o == ~0u) fail("a frame held by cores " + std::to_string(set) + " has no owner");
            else if ((void)node[o].owns(c, copies), copies != (set & ~(std::uint64_t{1} << o)))
                fail("owner " + std::to_string(o) + "'s set for a frame is " + std::to_string(copies) + ", holders " +
                     std::to_string(set));
        }
    }

    bool deliver_one(std::mt19937& rng) {
        std::vector<std::pair<std::uint32_t, std::uint32_t>> busy;
        for (std::uint32_t f = 0; f < cores; ++f)
            for (std::uint32_t t = 0; t < cores; ++t)
                if (!chan[f][t].empty()) busy.push_back({f, t});
        if (busy.empty()) return false;
        const auto [f, t] = busy[rng() % busy.size()];
        const CapMsg m = chan[f][t].front();
        chan[f][t].pop_front();
        if (!node[t].receive(m, *this))
            fail("core " + std::to_string(t) + " refused a line of type " + std::to_string(static_cast<int>(m.type)) +
                 " from core " + std::to_string(f) + ", which an honest node sent");
        return true;
    }

    std::vector<caps::SlotIdx> frames(std::uint32_t c) const {
        std::vector<caps::SlotIdx> v;
        const auto slots = node[c].table().slots();
        for (caps::SlotIdx i = 0; i < slots.size(); ++i)
            if (slots[i].cap.type == caps::CapType::frame) v.push_back(i);
        return v;
    }
    caps::SlotIdx free_run(std::uint32_t c, std::uint32_t n) const {
        const auto slots = node[c].table().slots();
        for (caps::SlotIdx i = 2; i + n <= slots.size(); ++i) {
            bool ok = true;
            for (caps::SlotIdx k = i; k < i + n && ok; ++k) ok = slots[k].cap.is_null();
            if (ok) return i;
        }
        return caps::no_slot;
    }
    std::uint64_t issue(const char* what) {
        const std::uint64_t op = next_op++;
        pending[op] = what;
        return op;
    }
    // Core 0 adopts page 0 of its adoptable memory into slot 20 and gives copies to `to`; every line
    // delivered. The frame, or a null cap when the adoption failed.
    caps::Cap adopt_and_give(std::initializer_list<std::uint32_t> to, std::mt19937& rng) {
        const caps::Cap f = adoptable(0, 0);
        if (node[0].adopt(20, f) != Status::ok) return {};
        for (std::uint32_t t : to) node[0].transfer(issue("transfer"), 20, t, *this);
        while (deliver_one(rng)) check();
        return f;
    }
    // The slot of core c's cap to frame f, or no_slot.
    caps::SlotIdx slot_of(std::uint32_t c, const caps::Cap& f) const {
        for (caps::SlotIdx i : frames(c))
            if (caps::same_object(node[c].table().cap(i), f)) return i;
        return caps::no_slot;
    }
};
using Sim = SimT<>;

TEST(CapProtocol, TransferThenRevokeFromAHolder) {
    Sim s;
    ASSERT_EQ(s.node[0].retype(untyped_slot, 12, 1, 10), Status::ok);
    const caps::Cap f = s.node[0].table().cap(10);
    s.node[0].transfer(s.issue("transfer"), 10, 1, s, 71);
    s.node[0].transfer(s.issue("transfer"), 10, 2, s, 72);
    std::mt19937 rng(1);
    while (s.deliver_one(rng)) s.check();
    ASSERT_TRUE(s.node[1].holds(f));
    ASSERT_TRUE(s.node[2].holds(f));
    // Core 2, not the owner, forwards a copy to core 3 through the owner; its tag goes along.
    caps::SlotIdx at2 = s.frames(2).at(0);
    s.node[2].transfer(s.issue("transfer"), at2, 3, s, 73);
    while (s.deliver_one(rng)) s.check();
    EXPECT_TRUE(s.node[3].holds(f));
    ASSERT_EQ(s.installs.size(), 3u);
    std::sort(s.installs.begin(), s.installs.end());
    EXPECT_EQ(s.installs[0], (std::pair<std::uint64_t, std::uint32_t>{71, 0}));
    EXPECT_EQ(s.installs[1], (std::pair<std::uint64_t, std::uint32_t>{72, 0}));
    EXPECT_EQ(s.installs[2], (std::pair<std::uint64_t, std::uint32_t>{73, 0})) << "every copy comes from the owner";
    std::uint64_t copies = 0;
    ASSERT_TRUE(s.node[0].owns(f, copies));
    EXPECT_EQ(copies, 0b1110u);
    // Core 1 revokes: every other copy, everywhere, goes; its own stays.
    const caps::SlotIdx at1 = s.frames(1).at(0);
    s.node[1].revoke(s.issue("revoke"), at1, s);
    while (s.deliver_one(rng)) s.check();
    EXPECT_TRUE(s.node[1].holds(f));
    EXPECT_FALSE(s.node[0].holds(f));
    EXPECT_FALSE(s.node[2].holds(f));
    EXPECT_FALSE(s.node[3].holds(f));
    ASSERT_TRUE(s.node[0].owns(f, copies)) << "still owned where its memory is";
    EXPECT_EQ(copies, 0b10u);
    EXPECT_EQ(s.revokes_done, 1u);
    s.check_settled();
    EXPECT_EQ(s.failure, "");
    for (const auto& [op, st] : s.answers) EXPECT_EQ(st, Status::ok) << "op " << op;
}

// What the guest monitors do (monitor/frames.cpp): a frame carved outside the table (from a
// memserv grant) is adopted as a root owned here, given to two cores and revoked by its owner:
// each holder is told to sweep it (where the monitor removes the kernel's capabilities), and the
// owner keeps its own. Memory a cap of the table already names cannot be adopted.
TEST(CapProtocol, AnAdoptedFrameGoesOutAndIsSweptEverywhereOnRevoke) {
    Sim s;
    caps::Cap inside{};
    inside.type = caps::CapType::frame;
    inside.base = mem_base(0) + 0x3000;
    inside.size = 0x1000;
    EXPECT_EQ(s.node[0].adopt(20, inside), Status::exists) << "the untyped names it";
    caps::Cap f = inside;
    f.base = mem_base(0) + mem_bytes + 0x5000;  // outside the table's untyped, as a grant is
    caps::Cap untyped = f;
    untyped.type = caps::CapType::untyped;
    EXPECT_EQ(s.node[0].adopt(20, untyped), Status::invalid_argument);
    ASSERT_EQ(s.node[0].adopt(20, f), Status::ok);
    EXPECT_EQ(s.node[0].adopt(21, f), Status::exists);
    s.node[0].transfer(s.issue("transfer"), 20, 1, s, 7);
    s.node[0].transfer(s.issue("transfer"), 20, 2, s, 9);
    std::mt19937 rng(3);
    while (s.deliver_one(rng)) {}
    ASSERT_TRUE(s.node[1].holds(f));
    ASSERT_TRUE(s.node[2].holds(f));
    EXPECT_TRUE(s.sweeps.empty());
    s.node[0].revoke(s.issue("revoke"), 20, s);
    while (s.deliver_one(rng)) {}
    EXPECT_FALSE(s.node[1].holds(f));
    EXPECT_FALSE(s.node[2].holds(f));
    EXPECT_TRUE(s.node[0].holds(f)) << "the owner's record stays";
    std::uint64_t copies = 0;
    ASSERT_TRUE(s.node[0].owns(f, copies));
    EXPECT_EQ(copies, 0u);
    ASSERT_EQ(s.sweeps.size(), 2u) << "one sweep per holder";
    for (const auto& [root, asker] : s.sweeps) {
        EXPECT_TRUE(caps::same_object(root, f));
        EXPECT_EQ(asker, 0u);
    }
    for (std::uint32_t c = 0; c < Sim::cores; ++c) EXPECT_EQ(caps::audit(s.node[c].table()).status, Status::ok);
    for (const auto& [op, st] : s.answers) EXPECT_EQ(st, Status::ok) << "op " << op;
    // A holder's copy that goes (its domain ended) is counted back: the owner may forget it.
    s.node[0].transfer(s.issue("transfer"), 20, 3, s, 11);
    while (s.deliver_one(rng)) {}
    ASSERT_TRUE(s.node[0].owns(f, copies));
    EXPECT_EQ(copies, 0b1000u);
    EXPECT_EQ(s.node[3].remove(s.frames(3).at(0), s), Status::ok);
    while (s.deliver_one(rng)) {}
    ASSERT_TRUE(s.node[0].owns(f, copies));
    EXPECT_EQ(copies, 0u);
    EXPECT_EQ(s.failure, "");
}

TEST(CapProtocol, RevokeOfTheUntypedTakesEveryCarvedFrameEverywhere) {
    Sim s;
    ASSERT_EQ(s.node[2].retype(untyped_slot, 12, 3, 20), Status::ok);
    for (caps::SlotIdx i = 20; i < 23; ++i)
        for (std::uint32_t to : {0u, 1u, 3u}) s.node[2].transfer(s.issue("transfer"), i, to, s);
    std::mt19937 rng(2);
    // Revoke while the copies are still on their way: they land first (lines in order), then go.
    s.node[2].revoke(s.issue("revoke untyped"), untyped_slot, s);
    EXPECT_EQ(s.node[2].retype(untyped_slot, 12, 1, 30), Status::busy) << "carving inside a revoke under way";
    while (s.deliver_one(rng)) s.check();
    for (std::uint32_t c = 0; c < cores; ++c) EXPECT_TRUE(s.frames(c).empty()) << "core " << c;
    EXPECT_EQ(s.node[2].retype(untyped_slot, 12, 1, 30), Status::ok) << "the memory can be carved again";
    s.check_settled();
    EXPECT_EQ(s.failure, "");
}

TEST(CapProtocol, BadRequestsGetClearAnswers) {
    Sim s;
    ASSERT_EQ(s.node[0].retype(untyped_slot, 12, 1, 10), Status::ok);
    std::mt19937 rng(3);
    const std::uint64_t empty = s.issue("revoke empty");
    s.node[1].revoke(empty, 50, s);  // a cap it does not hold
    EXPECT_EQ(s.answers[empty], Status::not_found);
    const std::uint64_t self = s.issue("transfer to self");
    s.node[0].transfer(self, 10, 0, s);
    EXPECT_EQ(s.answers[self], Status::invalid_argument);
    const std::uint64_t untyped = s.issue("transfer untyped");
    s.node[0].transfer(untyped, untyped_slot, 1, s);
    EXPECT_EQ(s.answers[untyped], Status::wrong_type) << "untyped memory never leaves its core";
    EXPECT_EQ(s.node[0].remove(untyped_slot, s), Status::busy) << "an untyped with frames: revoke it first";
    // Revoke racing revoke of the same frame: the second is answered busy, the first completes.
    s.node[0].transfer(s.issue("transfer"), 10, 1, s);
    while (s.deliver_one(rng)) s.check();
    const std::uint64_t a = s.issue("revoke a"), b = s.issue("revoke b");
    s.node[0].revoke(a, 10, s);
    s.node[1].revoke(b, s.frames(1).at(0), s);
    while (s.deliver_one(rng)) s.check();
    EXPECT_EQ(s.answers[a], Status::ok);
    EXPECT_TRUE(s.answers[b] == Status::busy || s.answers[b] == Status::not_found)
        << "busy while the first runs, or not_found once its copy is gone: " << to_string(s.answers[b]);
    // A transfer to a core that left the membership.
    for (std::uint32_t c = 0; c < cores; ++c)
        if (c != 3) s.node[c].core_lost(3, s);
    const std::uint64_t dead = s.issue("transfer to a dead core");
    s.node[0].transfer(dead, 10, 3, s);
    EXPECT_EQ(s.answers[dead], Status::connection_lost);
    s.check_settled();
    EXPECT_EQ(s.failure, "");
}

// A hostile (or confused) monitor on core 3 sends core 1 lines that name what core 3 does not
// own, or answer what was not asked of it: each is refused (receive is false, which the guest
// monitor counts and logs) and changes nothing; the honest owner's lines still work afterwards.
TEST(CapProtocol, AHostileMonitorHarmsOnlyWhatItOwns) {
    Sim s;
    std::mt19937 rng(5);
    ASSERT_EQ(s.node[0].retype(untyped_slot, 12, 1, 10), Status::ok);  // core 0's frame, given to core 1
    const caps::Cap f0 = s.node[0].table().cap(10);
    s.node[0].transfer(s.issue("transfer"), 10, 1, s, 5);
    while (s.deliver_one(rng)) {}
    ASSERT_TRUE(s.node[1].holds(f0));
    ASSERT_EQ(s.node[1].retype(untyped_slot, 12, 1, 30), Status::ok);  // core 1's own frame, never sent
    const caps::Cap f1 = s.node[1].table().cap(30);
    const caps::Cap u1 = s.node[1].table().cap(untyped_slot);
    const std::size_t installs = s.installs.size();
    const auto caps_on_1 = [&] {
        unsigned n = 0;
        for (const caps::Slot& x : s.node[1].table().slots()) n += !x.cap.is_null();
        return n;
    };
    const unsigned before = caps_on_1();
    const auto from3 = [](CapLine type, const caps::Cap& obj, std::uint64_t op = 0, std::uint64_t arg = 0) {
        return CapMsg{type, 3, 1, op, 3, obj, arg};
    };
    caps::Cap u0 = caps::make_untyped(mem_base(0), mem_bytes);

    // Revokes of what core 3 does not own: core 0's frame, core 1's own untyped, core 0's memory.
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::revoke, f0), s));
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::revoke, u1), s));
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::revoke, u0), s));
    EXPECT_TRUE(s.node[1].holds(f0)) << "a copy from core 0 swept on core 3's word";
    EXPECT_TRUE(s.node[1].holds(f1)) << "core 1's own frame swept on core 3's word";
    EXPECT_TRUE(s.node[1].holds(u1));
    EXPECT_TRUE(s.sweeps.empty()) << "the monitor would have removed its kernel's capabilities";
    // Copies core 3 does not own: of core 0's frame, of core 1's own memory.
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::install, f0), s));
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::install, f1), s));
    caps::Cap inside1 = caps::make_frame(mem_base(1) + 0x8000, 12);
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::install, inside1), s));
    EXPECT_EQ(s.installs.size(), installs) << "a domain of core 1 was handed memory core 3 does not own";
    // Answers to nothing asked of core 3, and a revoked for no revoke.
    s.node[1].transfer(s.issue("transfer on"), s.frames(1).at(0) == 30 ? s.frames(1).at(1) : s.frames(1).at(0), 2, s, 6);
    ASSERT_EQ(s.pending.size(), 1u);
    const std::uint64_t asked = s.pending.begin()->first;
    CapMsg fake = from3(CapLine::xfer_done, f0, asked);
    fake.status = Status::ok;
    EXPECT_FALSE(s.node[1].receive(fake, s));
    CapMsg wrong_kind{CapLine::revoke_done, 0, 1, asked, 1, f0, 0};  // the right core, the wrong answer
    EXPECT_FALSE(s.node[1].receive(wrong_kind, s));
    EXPECT_EQ(s.pending.size(), 1u) << "an answer taken from a core not asked";
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::revoked, f0, 1), s));
    // Lines not from another core, or not for this one.
    EXPECT_FALSE(s.node[1].receive(CapMsg{CapLine::revoke, 1, 1, 0, 1, f1, 0}, s));
    EXPECT_FALSE(s.node[1].receive(CapMsg{CapLine::revoke, 3, 2, 0, 3, f1, 0}, s));
    EXPECT_EQ(caps_on_1(), before);
    EXPECT_EQ(caps::audit(s.node[1].table()).status, Status::ok);
    for (auto& q : s.chan[1][3]) EXPECT_TRUE(q.type == CapLine::revoked) << "core 3 hears only revoked (nothing swept)";
    for (auto& row : s.chan) row[3].clear();  // core 3 sent none of its own: its answers go nowhere

    // The honest owner's answer and revoke still work.
    while (s.deliver_one(rng)) {}
    EXPECT_EQ(s.answers[asked], Status::ok);
    EXPECT_TRUE(s.node[2].holds(f0));
    s.node[0].revoke(s.issue("revoke"), 10, s);
    while (s.deliver_one(rng)) {}
    EXPECT_FALSE(s.node[1].holds(f0));
    EXPECT_FALSE(s.node[2].holds(f0));
    EXPECT_TRUE(s.node[1].holds(f1));
    EXPECT_EQ(s.sweeps.size(), 2u);
    s.check_settled();
    EXPECT_EQ(s.failure, "");
}

// Questions to other owners are bounded (busy beyond CapNode::max_asked), and those to a core that
// leaves the membership are answered connection_lost.
TEST(CapProtocol, QuestionsToOwnersAreBoundedAndEndWithTheirCore) {
    Sim s;
    std::mt19937 rng(6);
    ASSERT_EQ(s.node[0].retype(untyped_slot, 12, 1, 10), Status::ok);
    s.node[0].transfer(s.issue("transfer"), 10, 1, s);
    while (s.deliver_one(rng)) {}
    const caps::SlotIdx at1 = s.frames(1).at(0);
    std::vector<std::uint64_t> ops;
    for (unsigned k = 0; k <= CapNode::max_asked; ++k) {
        ops.push_back(s.issue("transfer on"));
        s.node[1].transfer(ops.back(), at1, 2, s);
    }
    EXPECT_EQ(s.answers[ops.back()], Status::busy);
    EXPECT_EQ(s.pending.size(), CapNode::max_asked);
    s.chan[1][0].clear();  // core 0 goes before it reads them
    s.node[1].core_lost(0, s);
    EXPECT_TRUE(s.pending.empty());
    for (unsigned k = 0; k < CapNode::max_asked; ++k) EXPECT_EQ(s.answers[ops[k]], Status::connection_lost) << k;
    EXPECT_EQ(s.failure, "");
}

// An owner core that leaves the membership: every other core drops its copies of that core's
// frames (swept: the guest monitor removes its kernel's capabilities, and their holders fault on
// their next access), and nothing of it is left in any table or set.
TEST(CapProtocol, CopiesOfALostOwnersFramesGoEverywhere) {
    Sim s;
    std::mt19937 rng(7);
    ASSERT_EQ(s.node[2].retype(untyped_slot, 12, 2, 10), Status::ok);
    const caps::Cap a = s.node[2].table().cap(10), b = s.node[2].table().cap(11);
    ASSERT_EQ(s.node[0].retype(untyped_slot, 12, 1, 10), Status::ok);  // another owner's, which stays
    const caps::Cap other = s.node[0].table().cap(10);
    for (std::uint32_t to : {0u, 1u, 3u}) s.node[2].transfer(s.issue("transfer"), 10, to, s);
    s.node[2].transfer(s.issue("transfer"), 11, 1, s);
    s.node[0].transfer(s.issue("transfer"), 10, 1, s);
    while (s.deliver_one(rng)) s.check();
    ASSERT_TRUE(s.node[1].holds(a) && s.node[1].holds(b) && s.node[3].holds(a) && s.node[0].holds(a));
    for (std::uint32_t c = 0; c < Sim::cores; ++c)
        if (c != 2) s.node[c].core_lost(2, s);
    for (std::uint32_t c : {0u, 1u, 3u}) {
        EXPECT_FALSE(s.node[c].holds(a)) << "core " << c;
        EXPECT_FALSE(s.node[c].holds(b)) << "core " << c;
        EXPECT_EQ(caps::audit(s.node[c].table()).status, Status::ok);
    }
    EXPECT_TRUE(s.node[1].holds(other)) << "a copy from a live owner stays";
    EXPECT_EQ(s.sweeps.size(), 4u) << "one sweep per copy: a on 0, 1, 3 and b on 1";
    std::uint64_t copies = 0;
    ASSERT_TRUE(s.node[0].owns(other, copies));
    EXPECT_EQ(copies, 0b10u);
    EXPECT_EQ(s.failure, "");
}

// Past 32 cores (the owner's sets are one bit per core, 64 at most): copies to cores 40 and 63,
// one forwarded by a holder, all in the owner's set, all gone after a revoke.
TEST(CapProtocol, SetsReachTheSixtyFourthCore) {
    auto s = std::make_unique<SimT<64>>();
    ASSERT_EQ(s->node[0].retype(untyped_slot, 12, 1, 10), Status::ok);
    const caps::Cap f = s->node[0].table().cap(10);
    s->node[0].transfer(s->issue("transfer"), 10, 40, *s);
    std::mt19937 rng(4);
    while (s->deliver_one(rng)) s->check();
    s->node[40].transfer(s->issue("transfer"), s->frames(40).at(0), 63, *s);
    while (s->deliver_one(rng)) s->check();
    std::uint64_t copies = 0;
    ASSERT_TRUE(s->node[0].owns(f, copies));
    EXPECT_EQ(copies, (std::uint64_t{1} << 40) | (std::uint64_t{1} << 63));
    s->node[0].revoke(s->issue("revoke"), 10, *s);
    while (s->deliver_one(rng)) s->check();
    EXPECT_FALSE(s->node[40].holds(f));
    EXPECT_FALSE(s->node[63].holds(f));
    EXPECT_TRUE(s->node[0].holds(f));
    s->check_settled();
    EXPECT_EQ(s->failure, "");
    EXPECT_EQ(s->revokes_done, 1u);
}

// The wire form: every line a node sends comes back the same; words no node sends are refused.
TEST(CapProtocol, WireFormRoundTripsAndRefusesGarbage) {
    CapMsg m{CapLine::revoke_done, 3, 63, 0xfeed'0000'0001ull, 3, caps::make_frame(0x1'2345'6000ull, 12), 77};
    m.status = Status::busy;
    m.tag = 0xabcd'0000'0000'0042ull;
    std::uint64_t w[monitor::cap_wire_words];
    monitor::encode(m, w);
    CapMsg back;
    ASSERT_TRUE(monitor::decode(w, back));
    EXPECT_EQ(back.type, m.type);
    EXPECT_EQ(back.from, 3u);
    EXPECT_EQ(back.to, 63u);
    EXPECT_EQ(back.tag, m.tag);
    EXPECT_EQ(back.asker, 3u);
    EXPECT_EQ(back.op, m.op);
    EXPECT_EQ(back.status, Status::busy);
    EXPECT_TRUE(caps::same_object(back.obj, m.obj));
    EXPECT_EQ(back.arg, 77u);
    std::uint64_t bad[monitor::cap_wire_words];
    const auto refused = [&](std::uint64_t w0) {
        for (unsigned k = 0; k < monitor::cap_wire_words; ++k) bad[k] = w[k];
        bad[0] = w0;
        return !monitor::decode(bad, back);
    };
    EXPECT_TRUE(refused((w[0] & ~0xffull) | (static_cast<unsigned>(monitor::cap_last_line) + 1))) << "a line type past the last";
    EXPECT_TRUE(refused((w[0] & ~(0xffull << 40)) | std::uint64_t{caps::cap_type_count} << 40)) << "an object type";
    EXPECT_TRUE(refused((w[0] & ~(0xffull << 32)) | std::uint64_t{19} << 32)) << "a status that is not one";
    EXPECT_TRUE(refused(w[0] | std::uint64_t{1} << 50)) << "bits no field uses";
    EXPECT_FALSE(refused(w[0]));
}

// Ownership moves (CapNode::move_owner): a frame adopted on core 0 (memory from outside its table,
// as a memserv grant is) goes out to cores 1 and 2, and its ownership moves to core 1. From then on
// core 1 counts the copies: a copy core 2 passes on is sent by core 1, and a revoke by core 1 takes
// every other copy but the home's (core 0's, whose memory it is); the home's revoke, through core 1,
// takes core 1's.
TEST(CapProtocol, OwnershipMovesToAHolder) {
    Sim s;
    std::mt19937 rng(11);
    const caps::Cap f = s.adopt_and_give({1, 2}, rng);
    ASSERT_FALSE(f.is_null());
    const std::uint64_t move = s.issue("move");
    s.node[0].move_owner(move, 20, 1, s);
    EXPECT_TRUE(s.node[0].moving(f));
    const std::uint64_t during = s.issue("transfer during the move");
    s.node[0].transfer(during, 20, 3, s);
    EXPECT_EQ(s.answers[during], Status::busy);
    while (s.deliver_one(rng)) s.check();
    EXPECT_EQ(s.answers[move], Status::ok);
    std::uint64_t copies = 0;
    EXPECT_FALSE(s.node[0].owns(f, copies));
    ASSERT_TRUE(s.node[1].owns(f, copies));
    EXPECT_EQ(copies, 0b101u) << "core 0 keeps its root as a copy, core 2 its copy";
    ASSERT_EQ(s.taken.size(), 1u);
    EXPECT_TRUE(caps::same_object(s.taken[0].first, f));
    EXPECT_EQ(s.taken[0].second, 0u);
    for (std::uint32_t c = 0; c < Sim::cores; ++c) EXPECT_FALSE(s.node[c].moving(f)) << c;
    // Core 2 passes its copy on: the new owner sends it and counts it.
    s.installs.clear();
    s.node[2].transfer(s.issue("transfer"), s.frames(2).at(0), 3, s, 3);
    while (s.deliver_one(rng)) s.check();
    ASSERT_EQ(s.installs.size(), 1u);
    EXPECT_EQ(s.installs[0].second, 1u) << "the copy came from the new owner";
    ASSERT_TRUE(s.node[1].owns(f, copies));
    EXPECT_EQ(copies, 0b1101u);
    const std::uint64_t back = s.issue("move back by a holder");
    s.node[0].move_owner(back, 20, 2, s);
    EXPECT_EQ(s.answers[back], Status::permission_denied);
    // The new owner revokes: every copy but its own goes, except the home's (core 0 adopted the
    // memory: its grant holder keeps it until it gives it back).
    s.node[1].revoke(s.issue("revoke"), s.frames(1).at(0), s);
    while (s.deliver_one(rng)) s.check();
    EXPECT_TRUE(s.node[1].holds(f));
    EXPECT_TRUE(s.node[0].holds(f)) << "the home's copy";
    for (std::uint32_t c : {2u, 3u}) EXPECT_FALSE(s.node[c].holds(f)) << c;
    ASSERT_TRUE(s.node[1].owns(f, copies));
    EXPECT_EQ(copies, 0b1u);
    // The home revokes through the new owner (it holds the memory): the new owner's copy goes too.
    s.node[0].revoke(s.issue("revoke by the home"), 20, s);
    while (s.deliver_one(rng)) s.check();
    EXPECT_TRUE(s.node[0].holds(f));
    EXPECT_FALSE(s.node[1].holds(f));
    s.check_settled();
    EXPECT_EQ(s.failure, "");
}

// What a move refuses, and what it does with holders that drop their copy while it runs.
TEST(CapProtocol, MovesGetClearAnswers) {
    Sim s;
    std::mt19937 rng(12);
    ASSERT_EQ(s.node[0].retype(untyped_slot, 12, 1, 10), Status::ok);
    const caps::Cap f = adoptable(0, 1), g = adoptable(0, 2);
    ASSERT_EQ(s.node[0].adopt(20, f), Status::ok);
    ASSERT_EQ(s.node[0].adopt(21, g), Status::ok);
    for (caps::SlotIdx from : {10u, 20u, 21u})
        for (std::uint32_t to : {1u, 2u}) s.node[0].transfer(s.issue("transfer"), from, to, s);
    while (s.deliver_one(rng)) s.check();
    const auto answer = [&](std::uint32_t core, caps::SlotIdx slot, std::uint32_t to) {
        const std::uint64_t op = s.issue("move");
        s.node[core].move_owner(op, slot, to, s);
        return s.answers.count(op) ? s.answers[op] : Status::would_block;
    };
    EXPECT_EQ(answer(0, 10, 1), Status::invalid_argument) << "carved from core 0's untyped: stays owned there";
    EXPECT_EQ(answer(0, untyped_slot, 1), Status::wrong_type);
    EXPECT_EQ(answer(0, 20, 0), Status::invalid_argument) << "to itself";
    EXPECT_EQ(answer(0, 20, 3), Status::not_found) << "core 3 holds no copy";
    EXPECT_EQ(answer(0, 50, 1), Status::not_found) << "an empty slot";
    EXPECT_EQ(answer(1, s.frames(1).at(0), 2), Status::permission_denied) << "a holder";
    // A revoke under way, then a move under way: the other is busy.
    const std::uint64_t revoke = s.issue("revoke");
    s.node[0].revoke(revoke, 20, s);
    EXPECT_EQ(answer(0, 20, 1), Status::busy);
    while (s.deliver_one(rng)) s.check();
    ASSERT_EQ(s.answers[revoke], Status::ok);
    for (std::uint32_t to : {1u, 2u}) s.node[0].transfer(s.issue("transfer"), 20, to, s);
    while (s.deliver_one(rng)) s.check();
    const std::uint64_t move = s.issue("move");
    s.node[0].move_owner(move, 20, 2, s);
    EXPECT_EQ(answer(0, 20, 1), Status::busy) << "a second move";
    const std::uint64_t rv = s.issue("revoke during a move");
    s.node[0].revoke(rv, 20, s);
    EXPECT_EQ(s.answers[rv], Status::busy);
    // Core 1 hears of the move, then drops its copy: its `gone` waits for the move's end and
    // goes to the new owner, which counts it out.
    ASSERT_FALSE(s.chan[0][1].empty());
    const CapMsg moving = s.chan[0][1].front();
    s.chan[0][1].pop_front();
    ASSERT_EQ(moving.type, CapLine::moving);
    ASSERT_TRUE(s.node[1].receive(moving, s));
    EXPECT_TRUE(s.node[1].moving(f));
    const std::uint64_t pass = s.issue("transfer by a holder during the move");
    s.node[1].transfer(pass, s.slot_of(1, f), 3, s);
    EXPECT_EQ(s.answers[pass], Status::busy);
    for (caps::SlotIdx i : s.frames(1)) {
        if (caps::same_object(s.node[1].table().cap(i), f)) {
            ASSERT_EQ(s.node[1].remove(i, s), Status::ok);
        }
    }
    for (const CapMsg& m : s.chan[1][0]) EXPECT_NE(m.type, CapLine::gone) << "a gone sent mid-move";
    while (s.deliver_one(rng)) s.check();
    EXPECT_EQ(s.answers[move], Status::ok);
    std::uint64_t copies = 0;
    ASSERT_TRUE(s.node[2].owns(f, copies));
    EXPECT_EQ(copies, 0b1u) << "core 0's root; core 1 counted out";
    // Core 2 drops its copy before the question reaches it: the move is called off (not_found), and
    // the holders keep core 0 as the owner.
    s.node[0].transfer(s.issue("transfer"), 21, 3, s);
    while (s.deliver_one(rng)) s.check();
    const std::uint64_t late = s.issue("move to a core that dropped its copy");
    s.node[0].move_owner(late, 21, 2, s);
    for (caps::SlotIdx i : s.frames(2)) {
        if (caps::same_object(s.node[2].table().cap(i), g)) {
            ASSERT_EQ(s.node[2].remove(i, s), Status::ok);
        }
    }
    while (s.deliver_one(rng)) s.check();
    EXPECT_EQ(s.answers[late], Status::not_found);
    ASSERT_TRUE(s.node[0].owns(g, copies));
    EXPECT_EQ(copies, 0b1010u);
    s.check_settled();
    EXPECT_EQ(s.failure, "");
}

// The new owner leaves the membership during a move. Before the hand-over the move is called off
// and the old owner keeps the frame; after it the frame's owner is gone, so every copy goes, as
// for any lost owner's frame, but the home's (core 0 adopted the memory), which owns it again.
TEST(CapProtocol, ANewOwnerLostMidMove) {
    for (const bool after_hand_over : {false, true}) {
        SCOPED_TRACE(after_hand_over ? "after the hand-over" : "before the hand-over");
        Sim s;
        std::mt19937 rng(13);
        const caps::Cap f = s.adopt_and_give({1, 2, 3}, rng);
        ASSERT_FALSE(f.is_null());
        const std::uint64_t move = s.issue("move");
        s.node[0].move_owner(move, 20, 3, s);
        if (after_hand_over) {
            // Everything up to the `move` line: then core 3 goes before it reads it.
            while (s.chan[0][3].empty() || s.chan[0][3].back().type != CapLine::move) ASSERT_TRUE(s.deliver_one(rng));
        } else {  // core 1 answered; core 2 has not heard yet
            ASSERT_TRUE(s.node[1].receive(s.chan[0][1].front(), s));
            s.chan[0][1].pop_front();
            ASSERT_TRUE(s.node[0].receive(s.chan[1][0].front(), s));
            s.chan[1][0].pop_front();
        }
        for (auto& row : s.chan) row[3].clear();
        for (auto& q : s.chan[3]) q.clear();
        for (std::uint32_t c : {0u, 1u, 2u}) s.node[c].core_lost(3, s);
        while (s.deliver_one(rng)) {}
        EXPECT_EQ(s.answers[move], Status::connection_lost);
        for (std::uint32_t c : {0u, 1u, 2u}) {
            EXPECT_EQ(s.node[c].holds(f), c == 0 || !after_hand_over) << "core " << c;
            EXPECT_FALSE(s.node[c].moving(f)) << "core " << c;
            EXPECT_EQ(caps::audit(s.node[c].table()).status, Status::ok);
        }
        std::uint64_t copies = 0;
        EXPECT_TRUE(s.node[0].owns(f, copies)) << "the home keeps its copy, and owns the frame again";
        EXPECT_EQ(copies, after_hand_over ? 0u : 0b110u);
        EXPECT_EQ(s.failure, "");
    }
}

// A frame's memory is its home core's (the core that adopted it) wherever its ownership went: when
// the home leaves the membership, every copy goes, the new owner's too, and a move of it under way
// ends connection_lost. Without this the memory would go back to whoever hands it out next while
// other cores could still reach it.
TEST(CapProtocol, AMovedFrameGoesWhenItsHomeIsLost) {
    Sim s;
    std::mt19937 rng(15);
    const caps::Cap f = s.adopt_and_give({1, 2}, rng);
    ASSERT_FALSE(f.is_null());
    s.node[0].move_owner(s.issue("move"), 20, 1, s);
    while (s.deliver_one(rng)) s.check();
    std::uint64_t copies = 0;
    ASSERT_TRUE(s.node[1].owns(f, copies));
    const caps::SlotIdx at1 = s.slot_of(1, f);
    s.node[1].transfer(s.issue("transfer"), at1, 3, s);
    while (s.deliver_one(rng)) s.check();
    ASSERT_TRUE(s.node[3].holds(f));
    const std::uint64_t move = s.issue("move under way");
    s.node[1].move_owner(move, at1, 2, s);
    for (auto& row : s.chan) row[0].clear();
    for (auto& q : s.chan[0]) q.clear();
    s.sweeps.clear();
    for (std::uint32_t c : {1u, 2u, 3u}) s.node[c].core_lost(0, s);
    while (s.deliver_one(rng)) {}
    EXPECT_EQ(s.answers[move], Status::connection_lost);
    for (std::uint32_t c : {1u, 2u, 3u}) {
        EXPECT_FALSE(s.node[c].holds(f)) << "core " << c;
        EXPECT_FALSE(s.node[c].knows(f)) << "core " << c;
        EXPECT_EQ(caps::audit(s.node[c].table()).status, Status::ok);
    }
    EXPECT_EQ(s.sweeps.size(), 3u) << "one sweep per core that held it, the owner's included";
    EXPECT_EQ(s.failure, "");
}

// The home is lost while a hand-over is on its way: whichever of the new owner and the old owner
// hears of the loss first, the lines of the move that arrive after it are taken quietly (the
// simulation fails on any honest line refused), the move ends connection_lost, and no core keeps
// anything of the frame.
TEST(CapProtocol, AHandOverRacingTheHomesLoss) {
    for (const bool new_owner_first : {false, true}) {
        SCOPED_TRACE(new_owner_first ? "the new owner hears first" : "the old owner hears first");
        Sim s;
        std::mt19937 rng(16);
        const caps::Cap f = s.adopt_and_give({1, 2}, rng);
        ASSERT_FALSE(f.is_null());
        s.node[0].move_owner(s.issue("move to 1"), 20, 1, s);
        while (s.deliver_one(rng)) s.check();
        const std::uint64_t move = s.issue("move to 2");
        s.node[1].move_owner(move, s.slot_of(1, f), 2, s);
        // Every line up to the hand-over, which stays on its way.
        while (s.chan[1][2].empty() || s.chan[1][2].back().type != CapLine::move) ASSERT_TRUE(s.deliver_one(rng));
        for (auto& row : s.chan) row[0].clear();
        for (auto& q : s.chan[0]) q.clear();
        if (new_owner_first) {
            s.node[2].core_lost(0, s);
            ASSERT_TRUE(s.node[2].receive(s.chan[1][2].back(), s)) << "the hand-over of a frame already gone";
            s.chan[1][2].pop_back();
            s.node[1].core_lost(0, s);
        } else {
            s.node[1].core_lost(0, s);
            ASSERT_TRUE(s.node[2].receive(s.chan[1][2].back(), s));
            s.chan[1][2].pop_back();
            s.node[2].core_lost(0, s);
        }
        s.node[3].core_lost(0, s);
        while (s.deliver_one(rng)) {}
        EXPECT_EQ(s.answers[move], Status::connection_lost);
        for (std::uint32_t c : {1u, 2u, 3u}) {
            EXPECT_FALSE(s.node[c].holds(f)) << "core " << c;
            EXPECT_FALSE(s.node[c].knows(f)) << "core " << c;
        }
        EXPECT_EQ(s.failure, "");
    }
}

// A hostile monitor on core 3 sends the move's lines about a frame core 0 owns and core 1 holds:
// each is refused and changes nothing; an honest move afterwards still works.
TEST(CapProtocol, AHostileMonitorCannotTakeOwnership) {
    Sim s;
    std::mt19937 rng(14);
    const caps::Cap f = s.adopt_and_give({1, 2}, rng);
    ASSERT_FALSE(f.is_null());
    const auto from3 = [&](CapLine type, std::uint32_t to, std::uint64_t arg, Status st = Status::ok) {
        CapMsg m{type, 3, to, 77, 3, f, arg};
        m.status = st;
        return m;
    };
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::moving, 1, 3), s)) << "a move announced by a core that does not own it";
    EXPECT_FALSE(s.node[1].moving(f));
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::move, 1, 0b110), s)) << "ownership handed over by a stranger";
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::owner, 1, 3), s)) << "a stranger announcing itself";
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::owner, 1, 0, Status::connection_lost), s)) << "a drop from a stranger";
    EXPECT_FALSE(s.node[0].receive(from3(CapLine::moving_ack, 0, 1), s)) << "an answer to no move";
    EXPECT_FALSE(s.node[0].receive(from3(CapLine::move_done, 0, 0), s)) << "a move nobody made";
    std::uint64_t copies = 0;
    EXPECT_FALSE(s.node[1].owns(f, copies));
    EXPECT_TRUE(s.node[1].holds(f));
    ASSERT_TRUE(s.node[0].owns(f, copies));
    EXPECT_EQ(copies, 0b110u);
    // Mid-move, a stranger's announcement or drop is refused too.
    const std::uint64_t move = s.issue("move");
    s.node[0].move_owner(move, 20, 2, s);
    while (!s.chan[0][1].empty()) {
        const CapMsg m = s.chan[0][1].front();
        s.chan[0][1].pop_front();
        ASSERT_TRUE(s.node[1].receive(m, s));
    }
    ASSERT_TRUE(s.node[1].moving(f));
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::owner, 1, 3), s));
    EXPECT_FALSE(s.node[1].receive(from3(CapLine::owner, 1, 2, Status::connection_lost), s)) << "only the old owner drops";
    EXPECT_TRUE(s.node[1].holds(f));
    while (s.deliver_one(rng)) s.check();
    EXPECT_EQ(s.answers[move], Status::ok);
    ASSERT_TRUE(s.node[2].owns(f, copies));
    EXPECT_EQ(copies, 0b11u);
    s.check_settled();
    EXPECT_EQ(s.failure, "");
}

// Random interleavings: 300 seeds, 600 steps each.
TEST(CapProtocol, RandomInterleavingsKeepEveryInvariant) {
    unsigned revokes = 0, untyped_revokes = 0, transfers_ok = 0;
    std::map<std::string, unsigned> outcomes;
    for (unsigned seed = 1; seed <= 300; ++seed) {
        Sim s;
        std::mt19937 rng(seed);
        for (unsigned step = 0; step < 600 && s.failure.empty(); ++step) {
            const auto c = static_cast<std::uint32_t>(rng() % cores);
            const auto what = static_cast<unsigned>(rng() % 19);
            const auto fr = s.frames(c);
            if (what == 16) {
                // Memory from outside the table (a grant), adopted where nothing else names it.
                const caps::Cap f = adoptable(c, static_cast<unsigned>(rng() % adopt_pages));
                const caps::SlotIdx dest = s.free_run(c, 1);
                if (dest != caps::no_slot && !s.anywhere(f)) (void)s.node[c].adopt(dest, f);
            } else if (what > 16 && !fr.empty()) {
                // Mostly to a core that holds a copy; any frame, so carved ones are refused too.
                const auto to = static_cast<std::uint32_t>((c + 1 + rng() % (cores - 1)) % cores);
                std::vector<caps::SlotIdx> adopted;  // mostly these: carved ones are refused
                for (caps::SlotIdx i : fr)
                    if (s.node[c].table().cap(i).base >= mem_base(c) + mem_bytes) adopted.push_back(i);
                const auto& pick = adopted.empty() || rng() % 4 == 0 ? fr : adopted;
                const auto sl = pick[rng() % pick.size()];
                s.node[c].move_owner(s.issue("move"), sl, to, s);
            } else if (what < 6) {
                s.deliver_one(rng);
            } else if (what < 8) {
                const auto n = static_cast<std::uint32_t>(1 + rng() % 3);
                const caps::SlotIdx dest = s.free_run(c, n);
                if (dest != caps::no_slot) (void)s.node[c].retype(untyped_slot, static_cast<unsigned>(12 + rng() % 2), n, dest);
            } else if (what < 11 && !fr.empty()) {
                // Mostly to another core; now and then to itself (refused).
                const auto to = static_cast<std::uint32_t>(rng() % 8 == 0 ? c : (c + 1 + rng() % (cores - 1)) % cores);
                s.node[c].transfer(s.issue("transfer"), fr[rng() % fr.size()], to, s);
            } else if (what < 13 && !fr.empty()) {
                (void)s.node[c].remove(fr[rng() % fr.size()], s);
            } else if (what < 15 && !fr.empty()) {
                s.node[c].revoke(s.issue("revoke frame"), fr[rng() % fr.size()], s);
            } else if (what == 15 && rng() % 4 == 0) {
                s.node[c].revoke(s.issue("revoke untyped"), untyped_slot, s);
            }
            s.check();
        }
        while (s.failure.empty() && s.deliver_one(rng)) s.check();
        if (s.failure.empty()) s.check_settled();
        ASSERT_EQ(s.failure, "") << "seed " << seed;
        revokes += s.revokes_done;
        untyped_revokes += s.untyped_revokes;
        for (const auto& [k, n] : s.outcomes) outcomes[k] += n;
    }
    transfers_ok = outcomes["transfer ok"];
    for (const auto& [k, n] : outcomes) std::printf("  %s: %u\n", k.c_str(), n);
    std::printf("  revokes finished: %u (of an untyped: %u)\n", revokes, untyped_revokes);
    // The run covered what it claims to: revokes of both kinds finished, and transfers, busy
    // answers and refusals all happened.
    EXPECT_GT(revokes, 1000u);
    EXPECT_GT(untyped_revokes, 50u);
    EXPECT_GT(transfers_ok, 1000u);
    EXPECT_GT(outcomes["transfer busy"], 0u) << "no transfer ever met a revoke under way";
    EXPECT_GT(outcomes["revoke frame busy"] + outcomes["revoke untyped busy"], 0u) << "no revoke ever raced another";
    EXPECT_GT(outcomes["move ok"], 300u);
    EXPECT_GT(outcomes["move busy"], 0u) << "no move ever met a revoke or move under way";
    EXPECT_GT(outcomes["move invalid argument"], 0u) << "no carved frame was ever asked to move";
    EXPECT_GT(outcomes["transfer busy"], 0u);
}

} // namespace
