#pragma once
// memserv's interface (docs/servers.md, "memserv"): the one definition the client stub and the
// server dispatch come from. One memserv instance per NUMA node serves that node's pool under the
// name "memserv.<node>". A request is rounded up to a power of two of at least a page and the
// block is aligned to its size (the shape of an untyped capability).
#include <myr/rpc/interface.hpp>

namespace myr::memserv {

inline constexpr std::uint64_t page = 4096;
inline constexpr unsigned max_nodes = 64;

// "memserv.<node>" into out (at least 16 bytes), nul-terminated.
constexpr void service_name(unsigned node, char (&out)[16]) {
    const char prefix[] = "memserv.";
    unsigned i = 0;
    for (; prefix[i] != '\0'; ++i) out[i] = prefix[i];
    if (node >= 10) out[i++] = static_cast<char>('0' + (node / 10) % 10);
    out[i++] = static_cast<char>('0' + node % 10);
    out[i] = '\0';
}

// A grant: `bytes` at `base` in node `node`'s pool, held by the caller (its core and domain).
// ticket: the grant's number, unique per instance for its whole life (node in bits 56-63), the
// name under which the client takes the untyped capability from its monitor (take_ram), when
// the instance carries grants (docs/servers.md, "memserv").
struct AllocReply {
    std::uint16_t node;
    std::uint64_t base;
    std::uint64_t bytes;
    std::uint64_t ticket;
    MYR_RPC_FIELDS(node, base, bytes, ticket)
};
// ok; busy: the holder's monitor holds as many grants as it may (the range went back); not_found:
// that monitor did not start the caller; no_memory: this node's pool has no free range that large (ask the next node, client.hpp);
// permission_denied: the caller's quota at this instance would be exceeded (final: do not ask
// elsewhere); overflow: this instance holds as many grants as it can record (ask the next node);
// invalid_argument: bytes is 0. No free range is looked for above what the pool has free (no_memory).
struct Alloc {
    static constexpr std::uint16_t op = 1;
    static constexpr const char* name = "alloc";
    using Reply = AllocReply;
    std::uint64_t bytes;
    MYR_RPC_FIELDS(bytes)
};

struct FreeReply {
    std::uint64_t bytes;  // what went back to the pool
    MYR_RPC_FIELDS(bytes)
};
// Gives a grant back. not_found: no grant starts at base; permission_denied: it is another
// domain's (nothing changes).
struct Free {
    static constexpr std::uint16_t op = 2;
    static constexpr const char* name = "free";
    using Reply = FreeReply;
    std::uint64_t base;
    MYR_RPC_FIELDS(base)
};

// The grant recorded under a ticket (what a monitor will check before it makes the capability):
// not_found when there is none (never granted, or freed).
struct LookupReply {
    std::uint64_t base, bytes;
    std::uint32_t core, domain;
    MYR_RPC_FIELDS(base, bytes, core, domain)
};
struct Lookup {
    static constexpr std::uint16_t op = 3;
    static constexpr const char* name = "lookup";
    using Reply = LookupReply;
    std::uint64_t ticket;
    MYR_RPC_FIELDS(ticket)
};

// Counters of one instance. local: grants to clients of this node; remote: grants to clients of
// other nodes (whose own node's pool was empty).
struct StatsReply {
    std::uint16_t node;
    std::uint64_t pool_base, pool_bytes, free_bytes;
    std::uint64_t grants, local, remote, refused_quota, refused_empty, frees, bad;
    MYR_RPC_FIELDS(node, pool_base, pool_bytes, free_bytes, grants, local, remote, refused_quota, refused_empty,
                   frees, bad)
};
struct Stats {
    static constexpr std::uint16_t op = 4;
    static constexpr const char* name = "stats";
    using Reply = StatsReply;
    MYR_RPC_FIELDS()
};

using Interface = rpc::Interface<Alloc, Free, Lookup, Stats>;

} // namespace myr::memserv
