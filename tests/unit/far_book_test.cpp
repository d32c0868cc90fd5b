// Endpoints and notifications across cores (myr/monitor/far_book.hpp): targeted cases, then a
// deterministic simulation of four cores with random interleavings, deaths, revokes and lost cores,
// and a hostile core whose lines come from the random stream.
//
// What is checked, after every step and at the end:
// - a message reaches its object at most once, in the order its far capability sent it, and only
//   if a call on that capability was answered ok (no line of the hostile core makes one up);
// - when a revoke is answered ok, no core still holds a far capability it covered;
// - no owner queues more than the window of any record;
// - at the end, with every line delivered and every object receiving, every message sent ok on a
//   far capability that is still held has arrived.
#include "far_sim.hpp"

#include <gtest/gtest.h>

namespace {

using myr::Status;
using myr::monitor::FarBook;
using myr::monitor::FarKind;
using myr::monitor::FarLine;
using myr::monitor::far_line_words;
using namespace myr::monitor::far_sim;

// Every test ends with no honest line refused and no slot dropped twice.
void expect_clean(const Sim& s) {
    EXPECT_EQ(s.refused_honest, 0u) << "an honest line was refused";
    for (const Env& e : s.env) EXPECT_EQ(e.double_drops, 0u) << "core " << e.core << " dropped a slot twice";
}

TEST(FarBook, AGiveCarriesMessagesInOrderAndARevokeEndsIt) {
    Sim s(1);
    std::uint64_t t = 0;
    ASSERT_EQ(give(s, 0, 1, 0x1000, 2, 3, t), Status::ok);
    EXPECT_EQ(s.book[0].poll(1, t), Status::would_block);
    EXPECT_EQ(s.book[0].poll(2, t), Status::not_found);  // another domain's ticket
    drain(s);
    EXPECT_EQ(s.book[0].poll(1, t), Status::ok);
    EXPECT_EQ(s.book[0].poll(1, t), Status::not_found);  // answered once
    const std::uint32_t id = take(s, 2, 3);
    ASSERT_NE(id, 0u);
    EXPECT_EQ(take(s, 2, 3), 0u);  // taken already
    auto& obj = s.objects[{0, 0x1000}];
    obj.receiving = false;
    for (std::uint64_t i = 0; i < FarBook::window; ++i) EXPECT_EQ(s.book[2].send(id, {i, 0, 0, 0}, s.env[2]), Status::ok);
    EXPECT_EQ(s.book[2].send(id, {9, 0, 0, 0}, s.env[2]), Status::busy);  // the window is full
    drain(s);
    EXPECT_EQ(s.book[0].queued(), FarBook::window);
    EXPECT_TRUE(obj.got.empty());
    obj.receiving = true;
    drain(s);
    ASSERT_EQ(obj.got.size(), FarBook::window);
    for (std::uint64_t i = 0; i < FarBook::window; ++i) EXPECT_EQ(obj.got[i][0], i);
    EXPECT_EQ(s.book[2].send(id, {7, 0, 0, 0}, s.env[2]), Status::ok);  // credits came back
    drain(s);
    EXPECT_EQ(obj.got.back()[0], 7u);
    ASSERT_EQ(s.book[0].revoke(1, FarKind::endpoint, 0x1000, t, s.env[0]), Status::ok);
    EXPECT_EQ(s.book[0].revoke(2, FarKind::endpoint, 0x1000, t, s.env[0]), Status::not_found);  // not its give
    drain(s);
    EXPECT_EQ(s.book[0].poll(1, t), Status::ok);
    EXPECT_EQ(s.book[2].held(), 0u);
    EXPECT_EQ(s.book[0].given(), 0u);
    EXPECT_TRUE(s.env[2].slots.empty());  // the far capability was dropped, its copies with it
    EXPECT_TRUE(s.env[0].slots.empty());  // and the owner's copy
    EXPECT_EQ(s.book[2].send(id, {8, 0, 0, 0}, s.env[2]), Status::not_found);
    expect_clean(s);
}

TEST(FarBook, GivesAreRefusedClearly) {
    Sim s(2);
    std::uint64_t t = 0;
    EXPECT_EQ(give(s, 0, 1, 0x1000, 0, 3, t), Status::invalid_argument);  // this core
    EXPECT_EQ(give(s, 0, 1, 0x1000, 9, 3, t), Status::invalid_argument);  // no such core
    EXPECT_EQ(give(s, 0, 1, 0x1000, 1, 0, t), Status::invalid_argument);  // domain 0
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 7, t), Status::ok);                // no domain 7 there
    drain(s);
    EXPECT_EQ(s.book[0].poll(1, t), Status::connection_lost);
    EXPECT_EQ(s.book[0].given(), 0u);
    s.env[1].mint_fails = true;  // no slot there
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 2, t), Status::ok);
    drain(s);
    EXPECT_EQ(s.book[0].poll(1, t), Status::busy);
    s.env[1].mint_fails = false;
    // One domain has at most given_per_domain out; one core fills at most held_per_core there.
    for (unsigned i = 0; i < FarBook::given_per_domain; ++i) {
        ASSERT_EQ(give(s, 0, 2, 0x2000, 1, 2, t), Status::ok);
        drain(s);
        EXPECT_EQ(s.book[0].poll(2, t), Status::ok);
    }
    EXPECT_EQ(give(s, 0, 2, 0x2000, 1, 2, t), Status::busy);
    ASSERT_EQ(give(s, 0, 3, 0x2000, 1, 2, t), Status::ok);
    drain(s);
    EXPECT_EQ(s.book[0].poll(3, t), Status::busy);  // core 1 holds held_per_core of core 0's already
    expect_clean(s);
}

TEST(FarBook, TheOwnersCopyGoingEndsItEverywhere) {
    Sim s(3);
    std::uint64_t t = 0;
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 2, t), Status::ok);
    drain(s);
    const std::uint32_t id = take(s, 1, 2);
    ASSERT_NE(id, 0u);
    // The giver revoked its own capability locally: the kernel took our copy with it.
    for (auto& [slot, st] : s.env[0].slots) st.copy_there = false;
    drain(s);
    EXPECT_EQ(s.book[1].held(), 0u);
    EXPECT_TRUE(s.env[1].slots.empty());
    EXPECT_EQ(s.book[1].send(id, {1, 0, 0, 0}, s.env[1]), Status::not_found);
    // The object dying with messages queued: they go with it, and so does the far capability.
    ASSERT_EQ(give(s, 0, 1, 0x2000, 1, 2, t), Status::ok);
    drain(s);
    const std::uint32_t id2 = take(s, 1, 2);
    s.objects[{0, 0x2000}].receiving = false;
    EXPECT_EQ(s.book[1].send(id2, {1, 0, 0, 0}, s.env[1]), Status::ok);
    drain(s);
    s.objects[{0, 0x2000}].alive = false;
    drain(s);
    EXPECT_EQ(s.book[1].held(), 0u);
    EXPECT_EQ(s.book[0].given(), 0u);
    expect_clean(s);
}

TEST(FarBook, HolderEndsAndLostCores) {
    Sim s(4);
    std::uint64_t t = 0;
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 2, t), Status::ok);
    drain(s);
    ASSERT_NE(take(s, 1, 2), 0u);
    // Every copy deleted there: the owner hears it.
    for (auto& [slot, st] : s.env[1].slots) st.copies = false;
    drain(s);
    EXPECT_EQ(s.book[0].given(), 0u);
    // The holder's domain ends (taken or not).
    EXPECT_EQ(s.book[0].poll(1, t), Status::ok);
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 2, t), Status::ok);
    drain(s);
    EXPECT_EQ(s.book[0].poll(1, t), Status::ok);
    s.book[1].domain_ended(2, s.env[1]);
    drain(s);
    EXPECT_EQ(s.book[0].given(), 0u);
    EXPECT_TRUE(s.env[1].slots.empty());
    // A revoke waiting on a core that leaves ends ok; a give waiting on it ends connection_lost.
    ASSERT_EQ(give(s, 0, 1, 0x1000, 2, 2, t), Status::ok);
    drain(s);
    ASSERT_EQ(s.book[0].revoke(1, FarKind::endpoint, 0x1000, t, s.env[0]), Status::ok);
    std::uint64_t g = 0;
    ASSERT_EQ(give(s, 0, 1, 0x2000, 2, 2, g), Status::ok);
    s.lost[2] = true;
    s.book[0].core_lost(2, s.env[0]);
    EXPECT_EQ(s.book[0].poll(1, t), Status::ok);
    EXPECT_EQ(s.book[0].poll(1, g), Status::connection_lost);
    EXPECT_EQ(s.book[0].given(), 0u);
    // The owner's core leaves: what its objects were given as goes here.
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 2, t), Status::ok);
    drain(s);
    ASSERT_EQ(s.book[1].held(), 1u);
    s.book[1].core_lost(0, s.env[1]);
    EXPECT_EQ(s.book[1].held(), 0u);
    EXPECT_TRUE(s.env[1].slots.empty());
    expect_clean(s);
}

TEST(FarBook, AHostileCoreHarmsOnlyItself) {
    Sim s(5);
    std::uint64_t t = 0;
    ASSERT_EQ(give(s, 0, 1, 0x1000, 1, 2, t), Status::ok);
    drain(s);
    const std::uint32_t id = take(s, 1, 2);
    ASSERT_NE(id, 0u);
    const std::uint64_t owner_id = s.env[1].slots.begin()->second.owner_id;
    // Every line, from core 3, naming the real records of cores 0 and 1.
    const std::uint64_t lines[][7] = {
        {std::uint64_t(FarLine::landed), owner_id, 0, 5, 0, 0, 0},
        {std::uint64_t(FarLine::msg), owner_id, id, 66, 0, 0, 0},
        {std::uint64_t(FarLine::gone), owner_id, id, 0, 0, 0, 0},
        {std::uint64_t(FarLine::revoked), owner_id, 0, 0, 0, 0, 0},
        {std::uint64_t(FarLine::credit), id, owner_id, 1, 0, 0, 0},
        {std::uint64_t(FarLine::revoke), owner_id, 0, 0, 0, 0, 0},
        {std::uint64_t(FarLine::give), owner_id, 2, 9, 0, 0, 0},  // a kind nobody sends
        {std::uint64_t(FarLine::give), owner_id, 0, 1, 0, 0, 0},  // domain 0
    };
    for (const auto& l : lines)
        for (std::uint32_t to : {0u, 1u}) {
            std::uint64_t w[far_line_words];
            for (unsigned i = 0; i < far_line_words; ++i) w[i] = l[1 + i];
            (void)s.book[to].receive(Sim::hostile, static_cast<FarLine>(l[0]), w, s.env[to]);
        }
    // The revoke from core 3 named core 0's record: core 1 keeps it (it is core 0's to end).
    EXPECT_EQ(s.book[0].given(), 1u);
    EXPECT_EQ(s.book[1].held(), 1u);
    EXPECT_TRUE((s.objects[{0, 0x1000}].got.empty()));
    // A message beyond the window is refused even from the holder's core.
    std::uint64_t over[far_line_words] = {owner_id, id, 1, 0, 0, 0};
    s.objects[{0, 0x1000}].receiving = false;
    for (unsigned i = 0; i < FarBook::window; ++i) EXPECT_EQ(s.book[1].send(id, {1, 0, 0, 0}, s.env[1]), Status::ok);
    drain(s);
    EXPECT_EQ(s.book[0].queued(), FarBook::window);
    EXPECT_FALSE(s.book[0].receive(1, FarLine::msg, over, s.env[0]));
    // Lines of cores that cannot be, or from this very core.
    EXPECT_FALSE(s.book[0].receive(0, FarLine::gone, over, s.env[0]));
    EXPECT_FALSE(s.book[0].receive(17, FarLine::gone, over, s.env[0]));
    EXPECT_FALSE(s.book[0].receive(1, FarLine::count, over, s.env[0]));
    // The honest pair still works.
    s.objects[{0, 0x1000}].receiving = true;
    drain(s);
    ASSERT_EQ(s.book[0].revoke(1, FarKind::endpoint, 0x1000, t, s.env[0]), Status::ok);
    drain(s);
    EXPECT_EQ(s.book[0].poll(1, t), Status::ok);
    EXPECT_EQ(s.book[1].held(), 0u);
    expect_clean(s);
}

// Random runs: cores 0-2 honest, core 3 hostile (its lines are random; nobody gives to it).
TEST(FarBook, RandomRunsKeepEveryPromise) {
    std::uint64_t sent_ok = 0, delivered = 0, revokes_ok = 0, refused_hostile = 0;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        Sim s(seed);
        // token (holder core << 32 | holder id) -> seqs sent ok, in order; last seq delivered.
        std::map<std::uint64_t, std::vector<std::uint64_t>> sent;
        std::map<std::uint64_t, std::uint64_t> last;
        std::set<std::uint64_t> seqs_ok;
        struct Rev {
            std::uint32_t core, domain;
            std::uint64_t base, ticket;
            std::set<std::uint64_t> ids;  // the owner's records of that object given by that domain so far
        };
        std::vector<Rev> revs;
        struct Give {
            std::uint32_t core, domain;
            std::uint64_t base, ticket;
        };
        std::vector<Give> gives;
        auto check_objects = [&] {
            for (auto& [key, o] : s.objects) {
                for (const auto& m : o.got) {
                    ASSERT_TRUE(seqs_ok.count(m[0])) << "seed " << seed << ": a message nobody sent ok arrived";
                    const std::uint64_t tok = m[1];
                    ASSERT_GT(m[0], last[tok]) << "seed " << seed << ": out of order or twice";
                    last[tok] = m[0];
                    ++delivered;
                }
                o.got.clear();
            }
            for (std::uint32_t c = 0; c < 3; ++c) ASSERT_LE(s.book[c].queued(), FarBook::window * FarBook::max_given);
        };
        for (int step = 0; step < 500; ++step) {
            const auto r = s.rng() % 100;
            const auto c = static_cast<std::uint32_t>(s.rng() % 3);
            if (s.lost[c]) continue;
            const auto d = static_cast<std::uint32_t>(1 + s.rng() % 3);
            const std::uint64_t base = s.rng() % 2 ? 0x1000 : 0x2000;
            if (r < 12) {
                auto to = static_cast<std::uint32_t>(s.rng() % 3);
                std::uint64_t t = 0;
                if (give(s, c, d, base, to, static_cast<std::uint32_t>(1 + s.rng() % 3), t) == Status::ok) gives.push_back({c, d, base, t});
            } else if (r < 20) {
                (void)take(s, c, d);
            } else if (r < 45) {
                // A send on some far capability this core holds.
                for (auto& [slot, st] : s.env[c].slots) {
                    if (!st.minted || !st.copies || s.rng() % 3 == 0) continue;
                    const std::uint32_t id = st.id;
                    const std::uint64_t tok = std::uint64_t{c} << 32 | id;
                    const std::uint64_t q = ++s.seq;
                    if (s.book[c].send(id, {q, tok, 0, 0}, s.env[c]) == Status::ok) {
                        seqs_ok.insert(q);
                        sent[tok].push_back(q);
                        ++sent_ok;
                    }
                    break;
                }
            } else if (r < 50) {
                std::uint64_t t = 0;
                if (s.book[c].revoke(d, FarKind::endpoint, base, t, s.env[c]) == Status::ok) {
                    Rev v{c, d, base, t, {}};
                    for (const auto& [key, what] : s.gave)
                        if (key.first == c && what == std::pair<std::uint32_t, std::uint64_t>{d, base}) v.ids.insert(key.second);
                    revs.push_back(v);
                }
            } else if (r < 53) {
                s.objects[{c, base}].receiving = !s.objects[{c, base}].receiving;
            } else if (r < 54) {
                // The holder's domain deletes its copies; or ends.
                for (auto& [slot, st] : s.env[c].slots)
                    if (st.minted && s.rng() % 2) st.copies = false;
            } else if (r < 55) {
                s.book[c].domain_ended(d, s.env[c]);
            } else if (r < 56 && seed % 4 == 0 && c != 0) {
                s.lost[c] = true;
                for (std::uint32_t o = 0; o < 3; ++o)
                    if (!s.lost[o]) s.book[o].core_lost(c, s.env[o]);
            } else if (r < 65) {
                // Hostile line: random type and words, ids made from small numbers.
                std::uint64_t w[far_line_words];
                for (auto& x : w) x = s.rng() % 4 == 0 ? s.rng() : (s.rng() % 8) | (s.rng() % 6) << 8;
                Line l{Sim::hostile, static_cast<FarLine>(s.rng() % 8), {}};
                for (unsigned i = 0; i < far_line_words; ++i) l.w[i] = w[i];
                if (l.type == FarLine::msg) l.w[2] = 0;  // a forged message would carry seq 0: never sent ok
                s.wire[{Sim::hostile, c}].push_back(l);
                ++refused_hostile;
            } else {
                const auto from = static_cast<std::uint32_t>(s.rng() % 4), to = static_cast<std::uint32_t>(s.rng() % 3);
                (void)s.deliver_one(from, to);
                s.book[to].tick(s.rng() % 3 == 0, s.env[to]);
            }
            check_objects();
            // Revokes answered ok: none of the far capabilities they covered (minted from records
            // of that giver's object) is left.
            for (auto it = revs.begin(); it != revs.end();) {
                const Status st = s.book[it->core].poll(it->domain, it->ticket);
                if (st == Status::would_block) {
                    ++it;
                    continue;
                }
                if (st == Status::ok) {
                    ++revokes_ok;
                    for (std::uint32_t h = 0; h < 3; ++h)
                        for (const auto& [slot, x] : s.env[h].slots)
                            ASSERT_FALSE(!s.lost[h] && x.minted && x.owner == it->core && it->ids.count(x.owner_id))
                                << "seed " << seed << ": core " << h << " still holds a far capability a revoke answered ok took";
                }
                it = revs.erase(it);
            }
        }
        // The end: every line delivered, every object receiving.
        for (auto& [k, o] : s.objects) o.receiving = true;
        drain(s);
        check_objects();
        // Every message sent ok on a far capability still held has arrived.
        for (const auto& [tok, list] : sent) {
            const auto c = static_cast<std::uint32_t>(tok >> 32);
            const std::uint64_t slot = s.book[c].held_slot(static_cast<std::uint32_t>(tok));
            if (s.lost[c] || !slot || s.env[c].slots[slot].owner == Sim::hostile) continue;  // the hostile core's own
            ASSERT_EQ(last[tok], list.back()) << "seed " << seed << ": a message sent ok was lost";
        }
        expect_clean(s);
    }
    EXPECT_GT(sent_ok, 1000u);
    EXPECT_GT(delivered, 1000u);
    EXPECT_GT(revokes_ok, 50u);
    RecordProperty("sent_ok", std::to_string(sent_ok));
    std::printf("far sim: %llu sent ok, %llu delivered, %llu revokes ok, %llu hostile lines\n",
                static_cast<unsigned long long>(sent_ok), static_cast<unsigned long long>(delivered),
                static_cast<unsigned long long>(revokes_ok), static_cast<unsigned long long>(refused_hostile));
}

} // namespace
