#pragma once
// nameserv's interface (docs/servers.md, "nameserv"): the one definition the client stub and the
// server dispatch come from. A name (1..24 printable bytes) maps to the (core, domain) of the
// domain that registered it; the address is always the registering connection's peer as the
// monitors set it up, never a value from the request.
//
// Replicas: one per NUMA node, "nameserv.N" in the monitors' bootstrap table. The table is a
// replicated object (repl::NameTable) run by the sequencer protocol of replication/ with replica
// 0 as the sequencer; its lines travel between replicas by `exchange` (below).
#include <myr/rpc/interface.hpp>

namespace myr::nameserv {

inline constexpr std::size_t max_name = 24;  // = repl::NameTable::name_bytes (table.hpp checks)
inline constexpr unsigned max_replicas = 8;
inline constexpr std::size_t list_page = 8;

using Name = rpc::Str<max_name>;

struct Address {
    std::uint32_t core;
    std::uint32_t domain;
    MYR_RPC_FIELDS(core, domain)
    constexpr bool operator==(const Address&) const = default;
};

// A name is 1..24 bytes of printable ASCII without spaces (0x21..0x7e): shells and logs print
// names as they are.
constexpr bool valid_name(const Name& n) {
    if (n.size == 0 || n.size > max_name) return false;
    for (std::size_t i = 0; i < n.size && i < max_name; ++i)
        if (n.data[i] < 0x21 || n.data[i] > 0x7e) return false;
    return true;
}

// register: ok (owner = the caller), exists (owner = who holds it), overflow (table full),
// invalid_argument (not a valid name).
struct OwnerReply {
    Address owner;
    MYR_RPC_FIELDS(owner)
};
struct Register {
    static constexpr std::uint16_t op = 1;
    static constexpr const char* name = "register";
    using Reply = OwnerReply;
    Name name_;
    MYR_RPC_FIELDS(name_)
};

// lookup: ok (owner), not_found, busy (this replica has not caught up with replica 0 yet).
struct Lookup {
    static constexpr std::uint16_t op = 2;
    static constexpr const char* name = "lookup";
    using Reply = OwnerReply;
    Name name_;
    MYR_RPC_FIELDS(name_)
};

// unregister: ok, not_found, permission_denied (another domain holds it; owner says which).
struct Unregister {
    static constexpr std::uint16_t op = 3;
    static constexpr const char* name = "unregister";
    using Reply = OwnerReply;
    Name name_;
    MYR_RPC_FIELDS(name_)
};

// list: the names in table slots from `from` on, at most list_page; next = the slot to ask from
// next time (== capacity: the end). A page is a snapshot of this replica; names registered or
// removed between pages may be missed or seen twice.
struct ListEntry {
    Name name_;
    Address owner;
    MYR_RPC_FIELDS(name_, owner)
};
struct ListReply {
    std::uint32_t total;  // names in the table
    std::uint32_t next;
    rpc::Array<ListEntry, list_page> entries;
    MYR_RPC_FIELDS(total, next, entries)
};
struct List {
    static constexpr std::uint16_t op = 4;
    static constexpr const char* name = "list";
    using Reply = ListReply;
    std::uint32_t from;
    MYR_RPC_FIELDS(from)
};

// ---- Between replicas ----
// The replicas run the table as a `replication/` object (repl::NameTable) under the sequencer
// protocol, replica 0 ordering. Its lines (56-byte replication messages, kinds 0x40..) travel
// over RPC: each replica i > 0 calls `exchange` on "nameserv.0", handing over its lines for
// replica 0 and taking replica 0's lines for it in the reply. Both streams are numbered from 1;
// `received` acknowledges a prefix, so a call that timed out is simply repeated and nothing is
// lost or applied twice. Only replicas call, so replica 0 never waits for a replica.
inline constexpr std::size_t exchange_lines = 12;  // a full reply fits a frame (tests check)

struct Line {
    std::uint8_t type;
    std::uint64_t w[7];
    MYR_RPC_FIELDS(type, w[0], w[1], w[2], w[3], w[4], w[5], w[6])
};

// exchange: lines from the calling replica (lines[k] is its line number first + k) and how many
// of replica 0's lines for it it has received. The reply: how many of the caller's lines replica
// 0 has taken, replica 0's unacknowledged lines for the caller from number `first` on, `more`
// when more are waiting, and replica 0's applied log index and digest at the time of the reply.
// permission_denied unless the caller is a replica replica 0 reached as "nameserv.N";
// out_of_range when replica 0 dropped the caller (its buffer overflowed: the caller stops
// serving); invalid_argument for lines that skip ahead or an acknowledgement beyond what was sent.
struct ExchangeReply {
    std::uint64_t received, first, applied, digest;
    bool more;
    rpc::Array<Line, exchange_lines> lines;
    MYR_RPC_FIELDS(received, first, applied, digest, more, lines)
};
// `applied`: the caller's applied log index (every entry up to it is in its table): replica 0
// answers its own clients' changes once some other replica holds them (docs/servers.md, "Replica
// 0 moves").
struct Exchange {
    static constexpr std::uint16_t op = 5;
    static constexpr const char* name = "exchange";
    using Reply = ExchangeReply;
    std::uint64_t first, received, applied;
    rpc::Array<Line, exchange_lines> lines;
    MYR_RPC_FIELDS(first, received, applied, lines)
};

// hello: once replica 0's greeting to a replica it had bound to; replicas now connect to
// "nameserv.0" on their own from their first pass and replica 0 learns their addresses from the
// monitors' table, so nothing sends it. Kept in the interface (op 7 stays taken); answered ok.
struct Hello {
    static constexpr std::uint16_t op = 7;
    static constexpr const char* name = "hello";
    using Reply = rpc::Empty;
    MYR_RPC_FIELDS()
};

// Counters and the table's digest (tests compare replicas).
struct StatsReply {
    std::uint64_t names, applied, digest, bad, forwarded, diverged;  // forwarded: updates sent to replica 0
    bool ready;
    MYR_RPC_FIELDS(names, applied, digest, bad, forwarded, diverged, ready)
};
struct Stats {
    static constexpr std::uint16_t op = 8;
    static constexpr const char* name = "stats";
    using Reply = StatsReply;
    MYR_RPC_FIELDS()
};

// join: how a replica i > 0 starts (its first start, a restart, or a move off a stopped core):
// it takes replica 0's table as a snapshot (replication/snapshot.hpp), page by page, before its
// first exchange. At offset 0 replica 0 forgets the lines it had queued for the caller's index
// (they are in the snapshot) and numbers them afresh, then takes the snapshot: the table at its
// last ordered entry (`applied`); every later entry reaches the caller by exchange. Later offsets
// read that same snapshot. permission_denied as for exchange; out_of_range for an offset past the
// snapshot or before one was taken.
inline constexpr std::size_t join_page = 1024;
struct JoinReply {
    std::uint64_t applied;
    std::uint32_t total;  // the snapshot's bytes
    rpc::Blob<join_page> bytes;
    MYR_RPC_FIELDS(applied, total, bytes)
};
struct Join {
    static constexpr std::uint16_t op = 9;
    static constexpr const char* name = "join";
    using Reply = JoinReply;
    std::uint32_t offset;
    MYR_RPC_FIELDS(offset)
};

// recover: how a new replica 0 that has no kept table (moved off a stopped core) gets the table:
// from each replica i > 0 that lost its link to replica 0, the table it held at that moment, as
// a snapshot page by page (the reply as join's). That snapshot is frozen until the replica joins
// the new replica 0, so readers cannot disturb each other; it holds names and owners only, which
// `list` gives anyone. busy: this replica still has its link to replica 0 (ask again);
// not_found: it holds no table (it never joined); out_of_range: an offset past the snapshot;
// permission_denied at replica 0.
struct Recover {
    static constexpr std::uint16_t op = 10;
    static constexpr const char* name = "recover";
    using Reply = JoinReply;
    std::uint32_t offset;
    MYR_RPC_FIELDS(offset)
};

using Interface = rpc::Interface<Register, Lookup, Unregister, List, Exchange, Hello, Stats, Join, Recover>;

} // namespace myr::nameserv
