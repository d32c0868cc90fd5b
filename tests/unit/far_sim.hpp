#pragma once
// A deterministic cluster of FarBooks for the tests (tests/unit/far_book_test.cpp) and the fuzzer
// (tests/fuzz/fuzz_far_book.cpp): four cores, core 3 hostile (its lines are whatever the test
// makes up; nobody gives to it), lines kept in order per pair of cores, objects that receive or
// not, and a fake kernel per core (slots, copies, domains). Violations are counted, not thrown,
// so both callers decide how to fail.
#include <myr/monitor/far_book.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace myr::monitor::far_sim {

struct Line {
    std::uint32_t from;
    FarLine type;
    std::uint64_t w[far_line_words];
};

struct Sim;

struct Object {
    bool alive = true, receiving = true;
    std::vector<std::array<std::uint64_t, 4>> got;
};

struct Env final : FarEnv {
    Sim* sim = nullptr;
    std::uint32_t core = 0;
    struct Slot {
        bool minted;             // holder side: a far capability; else our copy of an object
        std::uint64_t object;    // owner side: which object (its base)
        bool copy_there = true;  // owner side: the copy is still in our table
        bool copies = false;     // holder side: a domain holds a copy
        std::uint32_t owner = 0, owner_id = 0;  // holder side: whose record
        std::uint32_t id = 0;                   // holder side: the far capability's id (its badge)
    };
    std::map<std::uint64_t, Slot> slots;
    std::uint64_t next_slot = 100;
    std::set<std::uint32_t> alive;  // domains of this core
    bool mint_fails = false;
    std::uint32_t minting_owner = 0;
    std::uint64_t minting_owner_id = 0;
    unsigned double_drops = 0;  // a slot dropped that was not there: a bug

    void send(std::uint32_t to, FarLine type, const std::uint64_t (&w)[far_line_words]) override;
    std::uint64_t mint(std::uint32_t id) override {
        if (mint_fails) return 0;
        const std::uint64_t s = next_slot++;
        slots[s] = {true, 0, true, false, minting_owner, static_cast<std::uint32_t>(minting_owner_id), id};
        return s;
    }
    void drop(std::uint64_t slot) override {
        if (!slots.erase(slot)) ++double_drops;
    }
    Status deliver(std::uint64_t slot, FarKind, const std::uint64_t (&w)[4]) override;
    bool present(std::uint64_t slot) override { return slots.count(slot) && slots[slot].copy_there && object_alive(slot); }
    bool copies_out(std::uint64_t slot) override { return slots.count(slot) && slots[slot].copies; }
    bool domain_alive(std::uint32_t d) override { return alive.count(d) != 0; }
    void answered() override {}
    bool object_alive(std::uint64_t slot);
};

struct Sim {
    static constexpr std::uint32_t cores = 4, hostile = 3;
    FarBook book[cores];
    Env env[cores];
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::deque<Line>> wire;  // (from, to)
    std::map<std::pair<std::uint32_t, std::uint64_t>, Object> objects;        // (core, base)
    bool lost[cores] = {};
    // (owner core, owner id) -> (giver domain, object base): what each give was of.
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::pair<std::uint32_t, std::uint64_t>> gave;
    std::uint64_t seq = 0;
    unsigned refused_honest = 0;  // an honest line refused: a bug
    static constexpr unsigned seen_max = 32;
    std::uint64_t seen[seen_max] = {};  // words of recent honest lines (ids among them)
    unsigned seen_next = 0;
    std::mt19937_64 rng;

    explicit Sim(std::uint64_t seed) : rng(seed) {
        for (std::uint32_t c = 0; c < cores; ++c) {
            book[c].init(c, cores);
            env[c].sim = this;
            env[c].core = c;
            for (std::uint32_t d = 1; d <= 3; ++d) env[c].alive.insert(d);
            objects[{c, 0x1000}] = {};
            objects[{c, 0x2000}] = {};
        }
    }
    bool deliver_one(std::uint32_t from, std::uint32_t to) {
        auto& q = wire[{from, to}];
        if (q.empty()) return false;
        Line l = q.front();
        q.pop_front();
        if (lost[to] || lost[from] || to == hostile) return true;  // the hostile core's answers are its own
        env[to].minting_owner = from;
        env[to].minting_owner_id = l.w[0];
        const bool ok = book[to].receive(from, l.type, l.w, env[to]);
        if (from != hostile && !ok) ++refused_honest;
        return true;
    }
};

inline void Env::send(std::uint32_t to, FarLine type, const std::uint64_t (&w)[far_line_words]) {
    // The ids honest lines carry, for a hostile core that knows them all (the strongest one).
    for (unsigned i = 0; i < 3; ++i) sim->seen[sim->seen_next++ % Sim::seen_max] = w[i];
    Line l{core, type, {}};
    for (unsigned i = 0; i < far_line_words; ++i) l.w[i] = w[i];
    sim->wire[{core, to}].push_back(l);
}
inline bool Env::object_alive(std::uint64_t slot) { return sim->objects[{core, slots[slot].object}].alive; }
inline Status Env::deliver(std::uint64_t slot, FarKind, const std::uint64_t (&w)[4]) {
    if (!slots.count(slot) || !slots[slot].copy_there) return Status::not_found;
    Object& o = sim->objects[{core, slots[slot].object}];
    if (!o.alive) return Status::not_found;
    if (!o.receiving) return Status::would_block;
    o.got.push_back({w[0], w[1], w[2], w[3]});
    return Status::ok;
}

// Owner-side give: our copy of object `base` in a new slot.
inline Status give(Sim& s, std::uint32_t c, std::uint32_t domain, std::uint64_t base, std::uint32_t to, std::uint32_t to_domain,
            std::uint64_t& ticket) {
    const std::uint64_t slot = s.env[c].next_slot++;
    s.env[c].slots[slot] = {false, base, true, false, 0, 0, 0};
    const Status st = s.book[c].give(domain, slot, FarKind::endpoint, base, to, to_domain, ticket, s.env[c]);
    if (st != Status::ok) s.env[c].slots.erase(slot);
    else s.gave[{c, s.wire[{c, to}].back().w[0]}] = {domain, base};
    return st;
}

inline void drain(Sim& s) {
    for (bool any = true; any;) {
        for (std::uint32_t a = 0; a < Sim::cores; ++a)
            for (std::uint32_t b = 0; b < Sim::cores; ++b) (void)s.deliver_one(a, b);
        for (std::uint32_t c = 0; c < Sim::cores; ++c)
            if (!s.lost[c]) s.book[c].tick(true, s.env[c]);
        any = false;
        for (const auto& [k, q] : s.wire) any |= !q.empty();
    }
}

// The far capability core `c` holds for `domain`, taken (its id), or 0.
inline std::uint32_t take(Sim& s, std::uint32_t c, std::uint32_t domain) {
    FarBook::Offer o{};
    if (!s.book[c].offered(domain, o)) return 0;
    s.book[c].taken(o.id);
    s.env[c].slots[o.slot].copies = true;
    return o.id;
}


} // namespace myr::monitor::far_sim
