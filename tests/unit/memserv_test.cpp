// memserv's pure parts (servers/memserv, docs/servers.md, "memserv"): the pool's first fit and
// coalescing, quotas per (core, domain), the SLIT fallback order, the book's grants with their
// owners in the memory-ownership object, and requests through the RPC dispatch (hostile frames).
#include <myr/memserv/book.hpp>
#include <myr/rpc/interface.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

namespace myr {
namespace {

using namespace memserv;
constexpr std::uint64_t base = std::uint64_t{1} << 40;

TEST(MemservPool, FirstFitSplitsAndFreesCoalesce) {
    Pool<8> p;
    p.reset(8 * page + 100);  // a partial page is not the pool's
    EXPECT_EQ(p.bytes(), 8 * page);
    std::uint64_t a = 1, b = 1, c = 1;
    ASSERT_EQ(p.alloc(2 * page, a), Status::ok);
    ASSERT_EQ(p.alloc(3 * page, b), Status::ok);
    ASSERT_EQ(p.alloc(3 * page, c), Status::ok);
    EXPECT_EQ(a, 0u);
    EXPECT_EQ(b, 2 * page);
    EXPECT_EQ(c, 5 * page);
    std::uint64_t d = 0;
    EXPECT_EQ(p.alloc(page, d), Status::no_memory);
    // Free the middle, then its neighbours: one range again.
    ASSERT_EQ(p.free(b, 3 * page), Status::ok);
    EXPECT_EQ(p.ranges(), 1u);
    ASSERT_EQ(p.free(a, 2 * page), Status::ok);
    EXPECT_EQ(p.ranges(), 1u);
    ASSERT_EQ(p.free(c, 3 * page), Status::ok);
    EXPECT_EQ(p.ranges(), 1u);
    EXPECT_EQ(p.free_bytes(), 8 * page);
    EXPECT_TRUE(p.valid());
    // First fit takes the lowest hole that is large enough.
    ASSERT_EQ(p.alloc(8 * page, a), Status::ok);
    ASSERT_EQ(p.free(page, page), Status::ok);
    ASSERT_EQ(p.free(4 * page, 2 * page), Status::ok);
    ASSERT_EQ(p.alloc(2 * page, d), Status::ok);
    EXPECT_EQ(d, 4 * page);
}

TEST(MemservPool, RefusesFreesThatAreNotGrants) {
    Pool<8> p;
    p.reset(8 * page);
    std::uint64_t a = 0;
    ASSERT_EQ(p.alloc(4 * page, a), Status::ok);
    EXPECT_EQ(p.free(4 * page, page), Status::exists);          // already free
    EXPECT_EQ(p.free(3 * page, 2 * page), Status::exists);      // overlaps the free range
    EXPECT_EQ(p.free(8 * page, page), Status::out_of_range);
    EXPECT_EQ(p.free(7 * page, 2 * page), Status::out_of_range);
    EXPECT_EQ(p.free(~0ull & ~(page - 1), 2 * page), Status::out_of_range);  // offset + bytes wraps
    EXPECT_EQ(p.free(page + 1, page), Status::invalid_argument);
    EXPECT_EQ(p.free(0, 0), Status::invalid_argument);
    EXPECT_EQ(p.alloc(page + 1, a), Status::invalid_argument);
    EXPECT_EQ(p.free_bytes(), 4 * page);
    EXPECT_TRUE(p.valid());
    Pool<8> empty;
    empty.reset(0);
    EXPECT_EQ(empty.alloc(page, a), Status::no_memory);
}

// Against a page map: random grants and frees keep the pool exactly the complement of what is
// granted.
TEST(MemservPool, MatchesAPageMapUnderRandomOps) {
    constexpr std::uint64_t pages = 256;
    Pool<pages / 2 + 2> p;
    p.reset(pages * page);
    std::vector<bool> used(pages);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
        if (live.empty() || (rng() % 3 != 0 && live.size() < pages / 2)) {
            const std::uint64_t n = 1 + rng() % 8;
            std::uint64_t off = 0;
            if (p.alloc(n * page, off) != Status::ok) continue;
            for (std::uint64_t k = off / page; k < off / page + n; ++k) {
                ASSERT_FALSE(used[k]) << "page " << k << " granted twice";
                used[k] = true;
            }
            live.emplace_back(off, n * page);
        } else {
            const std::size_t j = rng() % live.size();
            ASSERT_EQ(p.free(live[j].first, live[j].second), Status::ok);
            for (std::uint64_t k = live[j].first / page; k < (live[j].first + live[j].second) / page; ++k) used[k] = false;
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(j));
        }
        std::uint64_t free_pages = 0;
        for (bool u : used) free_pages += u ? 0 : 1;
        ASSERT_EQ(p.free_bytes(), free_pages * page);
        ASSERT_TRUE(p.valid());
    }
}

TEST(MemservQuotas, PerCoreAndDomainAtTheLimitExactly) {
    Quotas<2> q;
    q.limit = 4 * page;
    EXPECT_EQ(q.charge(1, 2, 4 * page), Status::ok);
    EXPECT_EQ(q.charge(1, 2, page), Status::permission_denied);
    EXPECT_EQ(q.charge(1, 3, 4 * page), Status::ok);  // another domain of the same core
    EXPECT_EQ(q.charge(2, 2, page), Status::overflow);  // a third holder: the table is full
    q.uncharge(1, 3, 4 * page);                          // gone to 0: its entry is free again
    EXPECT_EQ(q.charge(2, 2, page), Status::ok);
    EXPECT_EQ(q.charge(2, 2, ~0ull), Status::permission_denied);  // no wrap around the limit
    EXPECT_EQ(q.held(1, 2), 4 * page);
    EXPECT_EQ(q.held(2, 2), page);
    Quotas<2> none;
    EXPECT_EQ(none.charge(1, 1, 1ull << 50), Status::ok);
}

// The 4-node ring of configs/4s4c.toml: neighbours 20, opposite 30.
constexpr std::uint8_t ring[16] = {10, 20, 30, 20, 20, 10, 20, 30, 30, 20, 10, 20, 20, 30, 20, 10};

std::vector<unsigned> order(unsigned nodes, const std::uint8_t* d, unsigned home) {
    std::uint16_t out[max_nodes] = {};
    const unsigned n = fallback_order(nodes, d, home, out);
    return std::vector<unsigned>(out, out + n);
}

TEST(MemservFallback, NearestBySlitTiesToTheLowerNode) {
    EXPECT_EQ(order(4, ring, 0), (std::vector<unsigned>{0, 1, 3, 2}));
    EXPECT_EQ(order(4, ring, 1), (std::vector<unsigned>{1, 0, 2, 3}));
    EXPECT_EQ(order(4, ring, 3), (std::vector<unsigned>{3, 0, 2, 1}));
    constexpr std::uint8_t two[4] = {10, 20, 20, 10};
    EXPECT_EQ(order(2, two, 1), (std::vector<unsigned>{1, 0}));
    // Unknown (0) and unreachable (255) distances go last; home first even if its own entry is odd.
    constexpr std::uint8_t odd[9] = {0, 255, 40, 10, 10, 10, 0, 0, 0};
    EXPECT_EQ(order(3, odd, 0), (std::vector<unsigned>{0, 2, 1}));
    EXPECT_TRUE(order(3, odd, 3).empty());
    EXPECT_EQ(order(1, ring, 0), (std::vector<unsigned>{0}));
}

// Aligned first fit: the block starts where phase + offset is a multiple of the alignment, what
// the alignment skips stays free in front of it, and a range too short once aligned is passed by.
TEST(MemservPool, AlignedAllocSkipsToTheAlignmentAndKeepsTheGapFree) {
    Pool<8> p;
    p.reset(64 * page);
    std::uint64_t a = 0, b = 0, c = 0, d = 0;
    ASSERT_EQ(p.alloc(page, a), Status::ok);  // [0, 1)
    ASSERT_EQ(p.alloc(4 * page, b, 4 * page), Status::ok);
    EXPECT_EQ(b, 4 * page);  // pages 1..3 skipped, still free
    EXPECT_EQ(p.ranges(), 2u);
    EXPECT_EQ(p.free_bytes(), 59 * page);
    ASSERT_EQ(p.alloc(2 * page, c, 2 * page), Status::ok);
    EXPECT_EQ(c, 2 * page);  // in the gap [1, 4) at 2: page 1 stays free before it
    ASSERT_EQ(p.alloc(16 * page, d, 16 * page), Status::ok);
    EXPECT_EQ(d, 16 * page);
    EXPECT_TRUE(p.valid());
    // A phase: the pool starts 3 pages past an 8-page boundary, so offset 5 is the first aligned.
    Pool<8> q;
    q.reset(32 * page);
    std::uint64_t e = 0;
    ASSERT_EQ(q.alloc(8 * page, e, 8 * page, 3 * page), Status::ok);
    EXPECT_EQ(e, 5 * page);
    EXPECT_EQ((3 * page + e) % (8 * page), 0u);
    EXPECT_TRUE(q.valid());
    // A range long enough but too short once aligned is passed by.
    Pool<8> r;
    r.reset(12 * page);
    std::uint64_t f = 0;
    EXPECT_EQ(r.alloc(8 * page, f, 8 * page, 2 * page), Status::no_memory);  // aligned start 6: 6 + 8 > 12
    EXPECT_EQ(r.alloc(page, f, 3 * page), Status::invalid_argument);          // not a power of two
    EXPECT_EQ(r.alloc(page, f, page / 2), Status::invalid_argument);          // below a page
    EXPECT_EQ(r.free_bytes(), 12 * page);
    EXPECT_TRUE(r.valid());
}

// Random aligned grants and frees against a page map: never an overlap, always aligned, the
// free list stays sound (the splits of alignment included), and everything coalesces back.
TEST(MemservPool, RandomAlignedGrantsStayAlignedAndDisjoint) {
    Pool<40> p;
    p.reset(256 * page);
    std::mt19937_64 rng(5);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> held;
    std::vector<bool> used(256);
    for (int i = 0; i < 20000; ++i) {
        if (held.size() < 38 && (held.empty() || rng() % 2)) {
            const std::uint64_t bytes = page << (rng() % 5);
            std::uint64_t off = 0;
            const Status s = p.alloc(bytes, off, bytes, 2 * page);
            if (s == Status::no_memory) continue;
            ASSERT_EQ(s, Status::ok);
            ASSERT_EQ((2 * page + off) % bytes, 0u);
            for (std::uint64_t q = off / page; q < (off + bytes) / page; ++q) {
                ASSERT_FALSE(used[q]);
                used[q] = true;
            }
            held.push_back({off, bytes});
        } else {
            const std::size_t j = rng() % held.size();
            ASSERT_EQ(p.free(held[j].first, held[j].second), Status::ok);
            for (std::uint64_t q = held[j].first / page; q < (held[j].first + held[j].second) / page; ++q) used[q] = false;
            held.erase(held.begin() + static_cast<std::ptrdiff_t>(j));
        }
        ASSERT_TRUE(p.valid()) << i;
    }
    for (auto& h : held) ASSERT_EQ(p.free(h.first, h.second), Status::ok);
    EXPECT_EQ(p.ranges(), 1u);
    EXPECT_EQ(p.free_bytes(), 256 * page);
}

// Requests are rounded up to a power of two of at least a page and aligned to it in physical
// memory, whatever the pool's base (2 MiB aligned, not 4 MiB here); a holder's end frees its
// grants and only its.
TEST(MemservBook, GrantsArePowerOfTwoBlocksAlignedPhysically) {
    EXPECT_EQ(Book::block_bytes(1), page);
    EXPECT_EQ(Book::block_bytes(page + 1), 2 * page);
    EXPECT_EQ(Book::block_bytes(3 * page), 4 * page);
    EXPECT_EQ(Book::block_bytes(std::uint64_t{1} << 39), std::uint64_t{1} << 39);
    EXPECT_EQ(Book::block_bytes((std::uint64_t{1} << 39) + 1), 0u);
    auto b = std::make_unique<Book>();
    const std::uint64_t pool = (std::uint64_t{1} << 30) + (std::uint64_t{2} << 20);  // 2 MiB, not 4 MiB aligned
    b->init(0, pool, 4 << 20, 0);
    AllocReply g{}, h{}, k{};
    ASSERT_EQ(b->alloc(1, 1, 0, page, g), Status::ok);
    ASSERT_EQ(b->alloc(1, 1, 0, 3 * page, h), Status::ok);
    EXPECT_EQ(h.bytes, 4 * page);
    EXPECT_EQ(h.base % (4 * page), 0u);
    ASSERT_EQ(b->alloc(2, 1, 0, (std::uint64_t{2} << 20) + 1, k), Status::no_memory);  // 4 MiB: the pool has less free
    ASSERT_EQ(b->alloc(2, 1, 0, std::uint64_t{1} << 20, k), Status::ok);
    EXPECT_EQ(k.bytes, std::uint64_t{1} << 20);
    EXPECT_EQ(k.base % (std::uint64_t{1} << 20), 0u);
    EXPECT_TRUE(b->valid());
    EXPECT_EQ(b->grant_at(h.base)->ticket, h.ticket);
    EXPECT_EQ(b->grant_at(h.base + page), nullptr);
    EXPECT_FALSE(b->grant_at(h.base)->materialized);
    b->set_materialized(h.ticket);
    EXPECT_TRUE(b->grant_at(h.base)->materialized);
    EXPECT_FALSE(b->grant_at(g.base)->materialized);
    EXPECT_EQ(b->free_holder(1, 1), 2u);
    EXPECT_EQ(b->live(), 1u);
    EXPECT_EQ(b->held(1, 1), 0u);
    EXPECT_EQ(b->free_holder(1, 1), 0u);
    EXPECT_TRUE(b->valid());
    EXPECT_EQ(b->free_holder(2, 1), 1u);
    StatsReply st{};
    b->stats(st);
    EXPECT_EQ(st.free_bytes, std::uint64_t{4} << 20);
    EXPECT_TRUE(b->valid());
}

TEST(MemservBook, GrantsAreOwnedAndOnlyTheirHolderFreesThem) {
    auto b = std::make_unique<Book>();
    b->init(0, base, 16 * page, 8 * page);
    AllocReply g{}, h{};
    ASSERT_EQ(b->alloc(1, 2, 0, page + 1, g), Status::ok);
    EXPECT_EQ(g.bytes, 2 * page);
    EXPECT_EQ(g.base, base);
    EXPECT_EQ(g.node, 0);
    ASSERT_EQ(b->alloc(3, 2, 1, page, h), Status::ok);  // same domain number, another core
    // The ownership object names each grant's core.
    const auto o = b->owners().read(repl::MemoryOwnership::owner(g.base));
    EXPECT_EQ(o.status, Status::ok);
    EXPECT_EQ(o.owner, 1);
    EXPECT_EQ(b->owners().read(repl::MemoryOwnership::owner(h.base)).owner, 3);
    FreeReply f{};
    EXPECT_EQ(b->free(3, 2, g.base, f), Status::permission_denied);  // another core's domain 2
    EXPECT_EQ(b->free(1, 9, g.base, f), Status::permission_denied);  // another domain of core 1
    EXPECT_EQ(b->free(1, 2, g.base + page, f), Status::not_found);  // inside, not the start
    EXPECT_EQ(b->free(1, 2, 0, f), Status::not_found);
    EXPECT_TRUE(b->valid());
    LookupReply l{};
    ASSERT_EQ(b->lookup(g.ticket, l), Status::ok);
    EXPECT_EQ(l.base, g.base);
    EXPECT_EQ(l.core, 1u);
    EXPECT_EQ(l.domain, 2u);
    EXPECT_EQ(b->lookup(0, l), Status::not_found);
    ASSERT_EQ(b->free(1, 2, g.base, f), Status::ok);
    EXPECT_EQ(f.bytes, 2 * page);
    EXPECT_EQ(b->free(1, 2, g.base, f), Status::not_found);  // double free
    EXPECT_EQ(b->lookup(g.ticket, l), Status::not_found);   // a freed ticket names nothing
    EXPECT_EQ(b->owners().read(repl::MemoryOwnership::owner(g.base)).status, Status::not_found);
    // The range comes back under a new ticket: tickets are never reused.
    AllocReply again{};
    ASSERT_EQ(b->alloc(4, 1, 0, page, again), Status::ok);
    EXPECT_EQ(again.base, g.base);
    EXPECT_NE(again.ticket, g.ticket);
    EXPECT_EQ(b->lookup(g.ticket, l), Status::not_found);
    StatsReply st{};
    b->stats(st);
    EXPECT_EQ(st.grants, 3u);
    EXPECT_EQ(st.local, 2u);  // clients of node 0
    EXPECT_EQ(st.remote, 1u);
    EXPECT_EQ(st.frees, 1u);
    EXPECT_TRUE(b->valid());
}

TEST(MemservBook, AGreedyDomainIsRefusedAloneAndAnEmptyPoolFallsBack) {
    auto b = std::make_unique<Book>();
    b->init(2, base * 3, 32 * page, 8 * page);
    AllocReply g{};
    for (int i = 0; i < 4; ++i) ASSERT_EQ(b->alloc(5, 1, 2, 2 * page, g), Status::ok);
    EXPECT_EQ(b->alloc(5, 1, 2, page, g), Status::permission_denied);
    EXPECT_EQ(b->alloc(5, 2, 2, 8 * page, g), Status::ok);  // another domain: its own quota
    EXPECT_EQ(b->alloc(6, 1, 2, 9 * page, g), Status::permission_denied);  // above the quota at once
    EXPECT_EQ(b->alloc(6, 1, 2, 0, g), Status::invalid_argument);
    // More than the pool has free: no_memory (the client asks the next node), not the quota.
    EXPECT_EQ(b->alloc(7, 1, 2, 64 * page, g), Status::no_memory);
    EXPECT_EQ(b->alloc(7, 1, 2, ~0ull, g), Status::no_memory);  // rounding up would wrap
    StatsReply st{};
    b->stats(st);
    EXPECT_EQ(st.refused_quota, 2u);
    EXPECT_EQ(st.refused_empty, 2u);
    EXPECT_EQ(st.free_bytes, 16 * page);
    EXPECT_EQ(b->held(5, 1), 8 * page);
    EXPECT_TRUE(b->valid());

    auto empty = std::make_unique<Book>();
    empty->init(1, base * 2, 0, 0);
    EXPECT_EQ(empty->alloc(5, 1, 1, page, g), Status::no_memory);
    EXPECT_TRUE(empty->valid());
}

TEST(MemservBook, AFullGrantTableIsOverflowNotACorruptedPool) {
    auto b = std::make_unique<Book>();
    b->init(0, base, (Book::max_grants + 8) * page, 0);
    AllocReply g{};
    for (std::size_t i = 0; i < Book::max_grants; ++i) ASSERT_EQ(b->alloc(1, 1, 0, page, g), Status::ok) << i;
    EXPECT_EQ(b->alloc(1, 1, 0, page, g), Status::overflow);
    EXPECT_TRUE(b->valid());
    // Free every other grant (the most free ranges the pool can have) and refill.
    FreeReply f{};
    for (std::size_t i = 0; i < Book::max_grants; i += 2) ASSERT_EQ(b->free(1, 1, base + i * page, f), Status::ok);
    EXPECT_TRUE(b->valid());
    for (std::size_t i = 0; i < Book::max_grants / 2; ++i) ASSERT_EQ(b->alloc(1, 1, 0, page, g), Status::ok);
    EXPECT_TRUE(b->valid());
}

TEST(MemservBook, InitAgainForgetsEverything) {
    auto b = std::make_unique<Book>();
    b->init(0, base, 16 * page, 4 * page);
    AllocReply g{};
    ASSERT_EQ(b->alloc(1, 1, 0, 4 * page, g), Status::ok);
    b->init(1, base * 2, 8 * page, 4 * page);
    EXPECT_TRUE(b->valid());
    EXPECT_EQ(b->held(1, 1), 0u);
    EXPECT_EQ(b->owners().read(repl::MemoryOwnership::owner(base)).status, Status::not_found);
    ASSERT_EQ(b->alloc(1, 1, 1, 4 * page, g), Status::ok);  // the old grant does not count against the quota
    EXPECT_EQ(g.base, base * 2);
    StatsReply st{};
    b->stats(st);
    EXPECT_EQ(st.grants, 1u);
    EXPECT_EQ(st.node, 1);
}

// Many holders, random sizes, random frees (some of them by the wrong holder): every invariant
// of the book holds after every step.
TEST(MemservBook, InvariantsHoldUnderRandomOps) {
    auto b = std::make_unique<Book>();
    b->init(1, base * 2, 300 * page, 24 * page);
    std::mt19937_64 rng(11);
    struct Held {
        std::uint32_t core, domain;
        std::uint64_t base;
    };
    std::vector<Held> live;
    for (int i = 0; i < 20000; ++i) {
        const std::uint32_t core = static_cast<std::uint32_t>(rng() % 6), domain = static_cast<std::uint32_t>(rng() % 4);
        if (live.empty() || rng() % 2) {
            AllocReply g{};
            const Status s = b->alloc(core, domain, core / 3, (1 + rng() % 6) * page - rng() % 2, g);
            ASSERT_TRUE(s == Status::ok || s == Status::permission_denied || s == Status::no_memory ||
                        s == Status::overflow)
                << to_string(s);
            if (s == Status::ok) live.push_back({core, domain, g.base});
        } else {
            const std::size_t j = rng() % live.size();
            FreeReply f{};
            if (rng() % 4 == 0 && (live[j].core != core || live[j].domain != domain)) {
                ASSERT_EQ(b->free(core, domain, live[j].base, f), Status::permission_denied);
            } else {
                ASSERT_EQ(b->free(live[j].core, live[j].domain, live[j].base, f), Status::ok);
                live.erase(live.begin() + static_cast<std::ptrdiff_t>(j));
            }
        }
        ASSERT_TRUE(b->valid()) << "step " << i;
    }
    for (std::uint32_t c = 0; c < 6; ++c)
        for (std::uint32_t d = 0; d < 4; ++d) EXPECT_LE(b->held(c, d), 24 * page);
}

// Requests through the RPC dispatch, as the server answers them.
struct BookHandler {
    Book book;
    Status handle(const rpc::Caller& c, const Alloc& r, AllocReply& out) { return book.alloc(c.core, c.domain, 0, r.bytes, out); }
    Status handle(const rpc::Caller& c, const Free& r, FreeReply& out) { return book.free(c.core, c.domain, r.base, out); }
    Status handle(const rpc::Caller&, const Lookup& r, LookupReply& out) { return book.lookup(r.ticket, out); }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        book.stats(out);
        return Status::ok;
    }
};

Status raw(BookHandler& h, std::span<const std::uint8_t> in, rpc::FrameHeader& rh, std::span<std::uint8_t> out,
           std::span<const std::uint8_t>& body) {
    std::size_t len = 0;
    EXPECT_EQ(rpc::dispatch(Interface{}, h, rpc::Caller{1, 2, 0}, in, out, len), Status::ok);
    EXPECT_EQ(rpc::split_frame(std::span<const std::uint8_t>(out.data(), len), rh, body), Status::ok);
    return static_cast<Status>(rh.status);
}

TEST(MemservDispatch, DecodesStrictlyAndAnswersEveryFrame) {
    auto h = std::make_unique<BookHandler>();
    h->book.init(0, base, 8 * page, 0);
    std::uint8_t in[rpc::max_frame], out[rpc::max_frame];
    std::size_t len = 0;
    const Alloc one{page};
    ASSERT_EQ(rpc::encode_frame(rpc::FrameHeader{5, Alloc::op, 0}, &one, in, len), Status::ok);
    rpc::FrameHeader rh{};
    std::span<const std::uint8_t> body;
    ASSERT_EQ(raw(*h, std::span<const std::uint8_t>(in, len), rh, out, body), Status::ok);
    AllocReply g{};
    ASSERT_EQ(rpc::decode(body, g), Status::ok);
    EXPECT_EQ(g.base, base);
    EXPECT_EQ(rh.id, 5u);
    // Truncated, trailing bytes, an unknown operation, shorter than a header: bad_request, and
    // nothing granted.
    EXPECT_EQ(raw(*h, std::span<const std::uint8_t>(in, len - 1), rh, out, body), Status::bad_request);
    in[len] = 0;
    EXPECT_EQ(raw(*h, std::span<const std::uint8_t>(in, len + 1), rh, out, body), Status::bad_request);
    in[4] = 99;
    EXPECT_EQ(raw(*h, std::span<const std::uint8_t>(in, len), rh, out, body), Status::bad_request);
    EXPECT_EQ(raw(*h, std::span<const std::uint8_t>(in, 3), rh, out, body), Status::bad_request);
    StatsReply st{};
    h->book.stats(st);
    EXPECT_EQ(st.grants, 1u);
    EXPECT_TRUE(h->book.valid());
}

} // namespace
} // namespace myr
