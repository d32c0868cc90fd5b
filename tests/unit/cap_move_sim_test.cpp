// Ownership moves across cores (CapNode::move_owner) in the deterministic simulation of
// cap_sim.hpp: targeted cases (the random interleavings of cap_protocol_sim_test move ownership too).
#include "cap_sim.hpp"

using namespace myr;
using namespace myr::monitor::cap_sim;

namespace {


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

} // namespace
