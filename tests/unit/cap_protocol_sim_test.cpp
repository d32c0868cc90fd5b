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
#include "cap_sim.hpp"

using namespace myr;
using namespace myr::monitor::cap_sim;

namespace {

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
