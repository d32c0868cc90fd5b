#pragma once
// nameserv's interface (docs/servers.md, "nameserv"): the one definition the client stub and the
// server dispatch come from. A name (1..32 printable bytes) maps to the (core, domain) of the
// domain that registered it; the address is always the registering connection's peer as the
// monitors set it up, never a value from the request.
//
// Replicas: one per NUMA node, "nameserv.N" in the monitors' bootstrap table. Replica 0 is the
// orderer: it numbers every change (register, unregister, the names of a domain that died) and
// keeps the last `log_capacity` of them; every other replica pulls them in order (Fetch) and
// applies them, and forwards its clients' changes to the orderer (Forward).
#include <myr/rpc/interface.hpp>

namespace myr::nameserv {

inline constexpr std::size_t max_name = 32;
inline constexpr unsigned max_replicas = 8;
inline constexpr std::size_t list_page = 8;
inline constexpr std::size_t fetch_page = 8;

using Name = rpc::Str<max_name>;

struct Address {
    std::uint32_t core;
    std::uint32_t domain;
    MYR_RPC_FIELDS(core, domain)
    constexpr bool operator==(const Address&) const = default;
};

// A name is 1..32 bytes of printable ASCII without spaces (0x21..0x7e): shells and logs print
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

// lookup: ok (owner), not_found, busy (this replica has not caught up with the orderer yet).
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
enum class Kind : std::uint8_t { add = 1, remove = 2, drop_owner = 3 };
// One change as the orderer numbered it. add: name for owner; remove: name, asked by owner;
// drop_owner: every name of owner (it died). `digest` is the orderer's table digest after it.
struct Update {
    Kind kind;
    Name name_;
    Address owner;
    MYR_RPC_FIELDS(kind, name_, owner)
};
struct LogEntry {
    Update update;
    std::uint64_t digest;
    MYR_RPC_FIELDS(update, digest)
};

// forward: a replica hands its client's change to the orderer (only from a replica the orderer
// reached as "nameserv.N": else permission_denied). The change's own outcome is in `result`
// (ok / exists / not_found / permission_denied / overflow), its log position in seq (0: nothing
// was logged).
struct ForwardReply {
    std::int32_t result;
    Address owner;
    std::uint64_t seq;
    MYR_RPC_FIELDS(result, owner, seq)
};
struct Forward {
    static constexpr std::uint16_t op = 5;
    static constexpr const char* name = "forward";
    using Reply = ForwardReply;
    Update update;
    MYR_RPC_FIELDS(update)
};

// fetch: the logged changes from seq `from` on (at most fetch_page); last = the orderer's newest
// seq. out_of_range when `from` is older than the log keeps (the replica cannot catch up) or
// beyond last + 1.
struct FetchReply {
    std::uint64_t last;
    rpc::Array<LogEntry, fetch_page> entries;
    MYR_RPC_FIELDS(last, entries)
};
struct Fetch {
    static constexpr std::uint16_t op = 6;
    static constexpr const char* name = "fetch";
    using Reply = FetchReply;
    std::uint64_t from;
    MYR_RPC_FIELDS(from)
};

// hello: the orderer tells a replica it reached it (the replica then connects back to
// "nameserv.0"; before that it may not call the orderer, which could be waiting for it to accept).
struct Hello {
    static constexpr std::uint16_t op = 7;
    static constexpr const char* name = "hello";
    using Reply = rpc::Empty;
    MYR_RPC_FIELDS()
};

// Counters and the table's digest (tests compare replicas).
struct StatsReply {
    std::uint64_t names, applied, digest, bad, forwarded, diverged;
    bool ready;
    MYR_RPC_FIELDS(names, applied, digest, bad, forwarded, diverged, ready)
};
struct Stats {
    static constexpr std::uint16_t op = 8;
    static constexpr const char* name = "stats";
    using Reply = StatsReply;
    MYR_RPC_FIELDS()
};

using Interface = rpc::Interface<Register, Lookup, Unregister, List, Forward, Fetch, Hello, Stats>;

} // namespace myr::nameserv
