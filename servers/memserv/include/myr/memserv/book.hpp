#pragma once
// memserv's bookkeeping: pure, fixed capacity, host-tested (tests/unit/memserv_test.cpp) and
// fuzzed with the decoder (tests/fuzz/fuzz_memserv.cpp).
//
//   Pool       first-fit over the free ranges of one node's pool, coalescing on free.
//   Quotas     bytes held per (core, domain), refused above a limit.
//   Book       one instance's whole state: pool, quotas, the grants (ticket -> range, holder), and
//              the memory-ownership object (myr::repl::MemoryOwnership) holding, for every page
//              range granted, the core that holds it, so a range has one owner at a time.
//   fallback_order   the nodes to ask, nearest first by the SLIT.
#include <myr/memserv/interface.hpp>
#include <myr/repl/objects/memory_ownership.hpp>

namespace myr::memserv {

// Free ranges as offsets into the pool, sorted, never adjacent (coalesced). At most one more free
// range than there are grants, so with Capacity > max grants a free never runs out of room.
template <std::size_t Capacity>
class Pool {
public:
    constexpr void reset(std::uint64_t bytes) {
        m_bytes = bytes / page * page;
        m_count = 0;
        m_free = 0;
        if (m_bytes > 0) {
            m_ranges[0] = {0, m_bytes};
            m_count = 1;
            m_free = m_bytes;
        }
    }

    // First fit: the offset of `bytes` (a multiple of page, > 0) or no_memory. With `align` (a
    // power of two, at least page): the first offset at which phase + offset is a multiple of
    // align (memserv passes the pool's physical base as phase, so the block is aligned in
    // physical memory: an untyped capability must be aligned to its size). What the alignment
    // skips of a range stays free in front of the block.
    constexpr Status alloc(std::uint64_t bytes, std::uint64_t& offset, std::uint64_t align = page,
                           std::uint64_t phase = 0) {
        if (bytes == 0 || bytes % page != 0) return Status::invalid_argument;
        if (align < page || (align & (align - 1)) != 0) return Status::invalid_argument;
        phase &= align - 1;
        for (std::size_t i = 0; i < m_count; ++i) {
            Range& r = m_ranges[i];
            if (r.bytes < bytes) continue;
            // The first aligned offset at or after r.offset (offsets < pool bytes: no wrap).
            const std::uint64_t at = ((phase + r.offset + align - 1) & ~(align - 1)) - phase;
            const std::uint64_t end = r.offset + r.bytes;
            if (at > end || end - at < bytes) continue;
            const std::uint64_t before = at - r.offset, after = end - at - bytes;
            if (before != 0 && after != 0) {
                // Splits the range in two: cannot overflow while there are fewer grants than
                // Capacity (free ranges are separated by grants), checked all the same.
                if (m_count == Capacity) return Status::overflow;
                for (std::size_t j = m_count; j > i + 1; --j) m_ranges[j] = m_ranges[j - 1];
                m_ranges[i + 1] = {at + bytes, after};
                ++m_count;
                r.bytes = before;
            } else if (before != 0) {
                r.bytes = before;
            } else if (after != 0) {
                r.offset = at + bytes;
                r.bytes = after;
            } else {
                erase(i);
            }
            offset = at;
            m_free -= bytes;
            return Status::ok;
        }
        return Status::no_memory;
    }

    // Returns [offset, offset + bytes): it must lie in the pool and overlap no free range
    // (out_of_range / exists otherwise, and nothing changes); overflow only when the free list is
    // full (cannot happen while grants < Capacity).
    constexpr Status free(std::uint64_t offset, std::uint64_t bytes) {
        if (bytes == 0 || bytes % page != 0 || offset % page != 0) return Status::invalid_argument;
        if (offset >= m_bytes || bytes > m_bytes - offset) return Status::out_of_range;
        std::size_t at = 0;
        while (at < m_count && m_ranges[at].offset < offset) ++at;
        const bool join_prev = at > 0 && m_ranges[at - 1].offset + m_ranges[at - 1].bytes == offset;
        const bool join_next = at < m_count && offset + bytes == m_ranges[at].offset;
        if (at > 0 && m_ranges[at - 1].offset + m_ranges[at - 1].bytes > offset) return Status::exists;
        if (at < m_count && offset + bytes > m_ranges[at].offset) return Status::exists;
        if (join_prev && join_next) {
            m_ranges[at - 1].bytes += bytes + m_ranges[at].bytes;
            erase(at);
        } else if (join_prev) {
            m_ranges[at - 1].bytes += bytes;
        } else if (join_next) {
            m_ranges[at].offset = offset;
            m_ranges[at].bytes += bytes;
        } else {
            if (m_count == Capacity) return Status::overflow;
            for (std::size_t i = m_count; i > at; --i) m_ranges[i] = m_ranges[i - 1];
            m_ranges[at] = {offset, bytes};
            ++m_count;
        }
        m_free += bytes;
        return Status::ok;
    }

    [[nodiscard]] constexpr std::uint64_t bytes() const { return m_bytes; }
    [[nodiscard]] constexpr std::uint64_t free_bytes() const { return m_free; }
    [[nodiscard]] constexpr std::size_t ranges() const { return m_count; }
    // Sorted, disjoint, not adjacent, inside the pool, and summing to free_bytes().
    [[nodiscard]] constexpr bool valid() const {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < m_count; ++i) {
            const Range& r = m_ranges[i];
            if (r.bytes == 0 || r.offset % page || r.bytes % page || r.offset + r.bytes > m_bytes) return false;
            if (i > 0 && m_ranges[i - 1].offset + m_ranges[i - 1].bytes >= r.offset) return false;
            sum += r.bytes;
        }
        return sum == m_free;
    }

private:
    struct Range {
        std::uint64_t offset, bytes;
    };
    constexpr void erase(std::size_t i) {
        for (std::size_t j = i + 1; j < m_count; ++j) m_ranges[j - 1] = m_ranges[j];
        --m_count;
    }
    Range m_ranges[Capacity] = {};
    std::size_t m_count = 0;
    std::uint64_t m_bytes = 0, m_free = 0;
};

// Bytes held per (core, domain). limit 0: no limit but the pool.
template <std::size_t Capacity>
class Quotas {
public:
    std::uint64_t limit = 0;

    // Whether (core, domain) may take `bytes` more: permission_denied above the limit, overflow
    // when a new holder finds the table full.
    constexpr Status charge(std::uint32_t core, std::uint32_t domain, std::uint64_t bytes) {
        Entry* e = find(core, domain);
        if (!e) {
            for (Entry& f : m_entries)
                if (f.held == 0) {
                    f = {core, domain, 0};
                    e = &f;
                    break;
                }
            if (!e) return Status::overflow;
        }
        if (limit != 0 && (bytes > limit || e->held > limit - bytes)) return Status::permission_denied;
        e->held += bytes;
        return Status::ok;
    }
    constexpr void reset() {
        for (Entry& e : m_entries) e = Entry{};
    }
    constexpr void uncharge(std::uint32_t core, std::uint32_t domain, std::uint64_t bytes) {
        if (Entry* e = find(core, domain)) e->held = e->held >= bytes ? e->held - bytes : 0;
    }
    [[nodiscard]] constexpr std::uint64_t held(std::uint32_t core, std::uint32_t domain) const {
        for (const Entry& e : m_entries)
            if (e.held != 0 && e.core == core && e.domain == domain) return e.held;
        return 0;
    }

private:
    struct Entry {
        std::uint32_t core, domain;
        std::uint64_t held;  // 0: the entry is free
    };
    constexpr Entry* find(std::uint32_t core, std::uint32_t domain) {
        for (Entry& e : m_entries)
            if (e.held != 0 && e.core == core && e.domain == domain) return &e;
        return nullptr;
    }
    Entry m_entries[Capacity] = {};
};

// The nodes in the order a client of `home` asks them: home first, then by SLIT distance from
// home (row-major nodes x nodes), ties to the lower node number. Returns how many were written
// (nodes, capped at max_nodes). Distances of 0 or 255 (unknown/unreachable in ACPI) sort last.
constexpr unsigned fallback_order(unsigned nodes, const std::uint8_t* distance, unsigned home, std::uint16_t* out) {
    if (nodes > max_nodes) nodes = max_nodes;
    if (home >= nodes) return 0;
    auto cost = [&](unsigned n) -> unsigned {
        if (n == home) return 0;
        const std::uint8_t d = distance[home * nodes + n];
        return d == 0 || d == 255 ? 256u : d;
    };
    unsigned count = 0;
    bool taken[max_nodes] = {};
    for (; count < nodes; ++count) {
        unsigned best = nodes;
        for (unsigned n = 0; n < nodes; ++n)
            if (!taken[n] && (best == nodes || cost(n) < cost(best))) best = n;
        taken[best] = true;
        out[count] = static_cast<std::uint16_t>(best);
    }
    return count;
}

// One instance's state: serves node `node`'s pool [pool_base, pool_base + bytes).
class Book {
public:
    static constexpr std::size_t max_grants = 192;  // the ownership map keeps a quarter of its 256 free
    static constexpr std::size_t max_holders = 64;

    // Grants are blocks of a power of two bytes (4 KiB to 2^max_bits), aligned to their size in
    // physical memory: what an untyped capability can name (Sys::cap_create_ram).
    static constexpr unsigned max_bits = 39;

    struct Grant {
        std::uint64_t ticket;  // 0: the entry is free
        std::uint64_t offset, bytes;
        std::uint32_t core, domain;
        bool materialized;     // the holder's monitor made a capability for it (main.cpp marks it)
    };

    // The block a request of `bytes` gets: the smallest power of two >= bytes, at least a page;
    // 0 above 2^max_bits.
    static constexpr std::uint64_t block_bytes(std::uint64_t bytes) {
        if (bytes > std::uint64_t{1} << max_bits) return 0;
        std::uint64_t b = page;
        while (b < bytes) b <<= 1;
        return b;
    }

    // Starts over: no grants, every counter 0 (a second init forgets the first one's grants).
    constexpr void init(unsigned node, std::uint64_t pool_base, std::uint64_t pool_bytes, std::uint64_t quota) {
        // Member by member: a whole Book is ~14 KiB, too much for a temporary on a user stack.
        for (Grant& g : m_live) {
            if (g.ticket != 0) (void)m_owners.apply(repl::MemoryOwnership::release(m_base + g.offset, owner_of(g.core)));
            g = Grant{};
        }
        m_quotas.reset();
        m_grants = m_local = m_remote = m_refused_quota = m_refused_empty = m_frees = 0;
        m_node = node;
        m_base = pool_base;
        m_pool.reset(pool_bytes);
        m_quotas.limit = quota;
        m_next_ticket = (static_cast<std::uint64_t>(node & 0xff) << 56) + 1;
    }

    // A grant of `bytes` (rounded up to pages) to (core, domain) of node `client_node`.
    constexpr Status alloc(std::uint32_t core, std::uint32_t domain, unsigned client_node, std::uint64_t bytes,
                           AllocReply& out) {
        out = AllocReply{};
        out.node = static_cast<std::uint16_t>(m_node);
        if (bytes == 0) return Status::invalid_argument;
        // More than this pool has free (an empty pool too): no_memory, so the client asks the next
        // node, whose pool may be larger. Checked before rounding, which could wrap.
        if (bytes > m_pool.free_bytes()) return refuse_empty();
        bytes = block_bytes(bytes);
        if (bytes == 0 || bytes > m_pool.free_bytes()) return refuse_empty();
        Grant* g = free_grant();
        if (!g) return Status::overflow;
        if (const Status s = m_quotas.charge(core, domain, bytes); s != Status::ok) {
            if (s == Status::permission_denied) ++m_refused_quota;
            return s;
        }
        std::uint64_t offset = 0;
        if (m_pool.alloc(bytes, offset, bytes, m_base) != Status::ok) {
            m_quotas.uncharge(core, domain, bytes);
            return refuse_empty();
        }
        // The ownership object refuses a range that has an owner: a bug of the pool, never a grant
        // of one range twice.
        if (m_owners.apply(repl::MemoryOwnership::claim(m_base + offset, owner_of(core))).status != Status::ok) {
            (void)m_pool.free(offset, bytes);
            m_quotas.uncharge(core, domain, bytes);
            return Status::internal;
        }
        *g = {m_next_ticket++, offset, bytes, core, domain, false};
        ++m_grants;
        (client_node == m_node ? m_local : m_remote) += 1;
        out.base = m_base + offset;
        out.bytes = bytes;
        out.ticket = g->ticket;
        return Status::ok;
    }

    constexpr Status free(std::uint32_t core, std::uint32_t domain, std::uint64_t base, FreeReply& out) {
        out = FreeReply{};
        Grant* g = nullptr;
        for (Grant& x : m_live)
            if (x.ticket != 0 && m_base + x.offset == base) g = &x;
        if (!g) return Status::not_found;
        if (g->core != core || g->domain != domain) return Status::permission_denied;
        if (m_owners.apply(repl::MemoryOwnership::release(base, owner_of(core))).status != Status::ok)
            return Status::internal;
        if (m_pool.free(g->offset, g->bytes) != Status::ok) return Status::internal;
        m_quotas.uncharge(core, domain, g->bytes);
        out.bytes = g->bytes;
        *g = Grant{};
        ++m_frees;
        return Status::ok;
    }

    // The grant starting at `base` (null: none).
    [[nodiscard]] constexpr const Grant* grant_at(std::uint64_t base) const {
        for (const Grant& g : m_live)
            if (g.ticket != 0 && m_base + g.offset == base) return &g;
        return nullptr;
    }
    // Records that the holder's monitor holds a capability for the grant: from now on the range
    // goes back to the pool only once that monitor said no capability to it is left (main.cpp).
    constexpr void set_materialized(std::uint64_t ticket) {
        for (Grant& g : m_live)
            if (g.ticket == ticket && ticket != 0) g.materialized = true;
    }
    // Frees every grant of (core, domain), a holder that ended (its monitor deleted every
    // capability it held for it before it reported the death). Returns how many.
    constexpr unsigned free_holder(std::uint32_t core, std::uint32_t domain) {
        unsigned n = 0;
        for (const Grant& g : m_live) {
            if (g.ticket == 0 || g.core != core || g.domain != domain) continue;
            FreeReply r{};
            if (free(core, domain, m_base + g.offset, r) == Status::ok) ++n;
        }
        return n;
    }
    // Entry i of the grant table (ticket 0: free).
    [[nodiscard]] constexpr const Grant& grant(std::size_t i) const { return m_live[i % max_grants]; }
    [[nodiscard]] constexpr unsigned live() const {
        unsigned n = 0;
        for (const Grant& g : m_live) n += g.ticket != 0;
        return n;
    }

    constexpr Status lookup(std::uint64_t ticket, LookupReply& out) const {
        out = LookupReply{};
        if (ticket == 0) return Status::not_found;
        for (const Grant& g : m_live)
            if (g.ticket == ticket) {
                out = {m_base + g.offset, g.bytes, g.core, g.domain};
                return Status::ok;
            }
        return Status::not_found;
    }

    constexpr void stats(StatsReply& out) const {
        out = {static_cast<std::uint16_t>(m_node), m_base, m_pool.bytes(), m_pool.free_bytes(), m_grants, m_local,
               m_remote, m_refused_quota, m_refused_empty, m_frees, 0};
    }

    // Every invariant: the pool's ranges are sound, granted + free = pool, grants are disjoint
    // power-of-two blocks aligned to their size, and each has its owner in the ownership object, and quotas match the grants.
    [[nodiscard]] constexpr bool valid() const {
        if (!m_pool.valid() || !m_owners.valid_state()) return false;
        std::uint64_t granted = 0;
        for (const Grant& g : m_live) {
            if (g.ticket == 0) continue;
            granted += g.bytes;
            // A power of two, aligned to itself in physical memory (an untyped cap's shape).
            if (g.bytes < page || (g.bytes & (g.bytes - 1)) != 0 || (m_base + g.offset) % g.bytes != 0) return false;
            const auto r = m_owners.read(repl::MemoryOwnership::owner(m_base + g.offset));
            if (r.status != Status::ok || r.owner != owner_of(g.core)) return false;
            for (const Grant& h : m_live)
                if (&h != &g && h.ticket != 0 && g.offset < h.offset + h.bytes && h.offset < g.offset + g.bytes)
                    return false;
            std::uint64_t held = 0;
            for (const Grant& h : m_live)
                if (h.ticket != 0 && h.core == g.core && h.domain == g.domain) held += h.bytes;
            if (m_quotas.held(g.core, g.domain) != held) return false;
        }
        return granted + m_pool.free_bytes() == m_pool.bytes();
    }

    [[nodiscard]] constexpr std::uint64_t held(std::uint32_t core, std::uint32_t domain) const {
        return m_quotas.held(core, domain);
    }
    [[nodiscard]] constexpr const repl::MemoryOwnership& owners() const { return m_owners; }

private:
    static constexpr std::uint16_t owner_of(std::uint32_t core) { return static_cast<std::uint16_t>(core); }
    constexpr Status refuse_empty() {
        ++m_refused_empty;
        return Status::no_memory;
    }
    constexpr Grant* free_grant() {
        for (Grant& g : m_live)
            if (g.ticket == 0) return &g;
        return nullptr;
    }

    unsigned m_node = 0;
    std::uint64_t m_base = 0;
    Pool<max_grants + 2> m_pool;
    Quotas<max_holders> m_quotas;
    repl::MemoryOwnership m_owners;
    Grant m_live[max_grants] = {};
    std::uint64_t m_next_ticket = 1;
    std::uint64_t m_grants = 0, m_local = 0, m_remote = 0, m_refused_quota = 0, m_refused_empty = 0, m_frees = 0;
};

} // namespace myr::memserv
