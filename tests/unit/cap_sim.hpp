#pragma once
// The deterministic simulation of capabilities across cores (monitor/include/myr/monitor/
// cap_protocol.hpp) that the unit tests share: cores with their own caps::CapTable, lines carried
// in order per pair of cores, and the checks every step runs (tests/unit/cap_protocol_sim_test.cpp,
// tests/unit/cap_move_sim_test.cpp).
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

namespace myr::monitor::cap_sim {

using myr::monitor::CapLine;
using myr::monitor::CapMsg;
using myr::monitor::CapNode;

constexpr std::uint32_t cores = 4;
constexpr std::uint32_t table_slots = 256;
constexpr caps::SlotIdx untyped_slot = 1;
constexpr std::uint64_t mem_bytes = 1 << 20;

inline std::uint64_t mem_base(std::uint32_t c) { return (std::uint64_t{c} + 1) << 32; }
inline std::uint64_t table_base(std::uint32_t c) { return 0x1000'0000ull * (c + 1); }
// Pages of core c's memory outside its untyped, as a memserv grant is: adopted, given, moved.
constexpr unsigned adopt_pages = 6;
inline caps::Cap adoptable(std::uint32_t c, unsigned page) {
    caps::Cap f = caps::make_frame(mem_base(c) + mem_bytes + 0x1000ull * page, 12);
    return f;
}
// The core whose adoptable pages hold `c` (it keeps its copies through any revoke), or ~0u.
inline std::uint32_t adopted_home(const caps::Cap& c) {
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

} // namespace myr::monitor::cap_sim
