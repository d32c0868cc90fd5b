#pragma once
// procserv's interface (docs/servers.md, "procserv"): the one definition the client stub and the
// server dispatch come from. procserv starts programs by name on a core (or where the monitors
// choose) with an argument string, lists every core's live domains, kills domains and tells how
// a domain it started ended. Who may kill what: see "Kill" below and procserv/table.hpp.
#include <myr/args.hpp>
#include <myr/rpc/interface.hpp>

namespace myr::procserv {

inline constexpr const char* service = "procserv";   // the monitors' bootstrap name (and nameserv's)
inline constexpr std::size_t max_program = 16;        // the monitors' program names
inline constexpr std::size_t max_args = args::max_len;
// The wire takes a little more than max_args so that a too-long string reaches the server and is
// refused with overflow (what the monitor answers) instead of failing to decode.
inline constexpr std::size_t wire_args = 128;
inline constexpr std::uint32_t any_core = 0xffffffff;  // Start: the monitors pick (abi::spawn_any)
inline constexpr std::size_t list_page = 8;

using Program = rpc::Str<max_program>;

struct Address {
    std::uint32_t core;
    std::uint32_t domain;
    MYR_RPC_FIELDS(core, domain)
    constexpr bool operator==(const Address&) const = default;
};

// A program name is 1..16 printable bytes without spaces.
constexpr bool valid_program(const Program& p) {
    if (p.size == 0 || p.size > max_program) return false;
    for (std::size_t i = 0; i < p.size && i < max_program; ++i)
        if (p.data[i] < 0x21 || p.data[i] > 0x7e) return false;
    return true;
}

// start: ok (where it runs); not_found (no such program), out_of_range (no such core),
// overflow (args longer than max_args), invalid_argument (bad program name or a zero byte in
// args), permission_denied (a program whose name carries privileges: procserv itself and the
// programs of procserv's `admin=` list, unless the caller is privileged), busy (the caller has
// max_per_owner programs running, procserv's table is full, or the monitors' spawn limits: retry).
struct StartReply {
    Address where;
    MYR_RPC_FIELDS(where)
};
struct Start {
    static constexpr std::uint16_t op = 1;
    static constexpr const char* name = "start";
    using Reply = StartReply;
    Program program;
    std::uint32_t core;  // or any_core
    rpc::Str<wire_args> args;
    MYR_RPC_FIELDS(program, core, args)
};

// list: live domains the monitors started, core by core, from (core, index) on, at most
// list_page; next_core/next_index = where to ask next (next_core == cores: the end). No snapshot:
// a domain that starts or ends between two pages may be missed or seen twice.
// out_of_range: `core` beyond the machine.
struct Proc {
    Address at;
    Program program;
    bool server;    // a server instance (started with `replicas=`: configured [[server]] or start:)
    bool procserv;  // started through procserv; then `owner` is who asked
    Address owner;
    MYR_RPC_FIELDS(at, program, server, procserv, owner)
};
struct ListReply {
    std::uint32_t cores;
    std::uint32_t next_core;
    std::uint32_t next_index;
    rpc::Array<Proc, list_page> entries;
    MYR_RPC_FIELDS(cores, next_core, next_index, entries)
};
struct List {
    static constexpr std::uint16_t op = 2;
    static constexpr const char* name = "list";
    using Reply = ListReply;
    std::uint32_t core;
    std::uint32_t index;
    MYR_RPC_FIELDS(core, index)
};

// kill: ok; permission_denied (the rule: an ordinary caller may kill only what it started
// through procserv and is still running; a privileged caller any domain a monitor started except
// procserv itself; the monitors never), not_found (privileged caller: nothing a monitor started
// is there, or it ended already), out_of_range (no such core).
struct Kill {
    static constexpr std::uint16_t op = 3;
    static constexpr const char* name = "kill";
    using Reply = rpc::Empty;
    Address target;
    MYR_RPC_FIELDS(target)
};

// wait: how a domain started through procserv ended. ok: `how` is exited (code = exit code),
// faulted (code = fault vector), killed (code = the killer: the monitor's domain) or
// abi::death_unknown; would_block: still running (the client stub polls: procserv answers every
// request at once, see docs); not_found: procserv did not start it (or forgot it: the oldest ended
// entries go when the table is full).
struct WaitReply {
    std::uint32_t how;   // abi::DomainStatus value, or abi::death_unknown
    std::uint32_t code;
    MYR_RPC_FIELDS(how, code)
};
struct Wait {
    static constexpr std::uint16_t op = 4;
    static constexpr const char* name = "wait";
    using Reply = WaitReply;
    Address target;
    MYR_RPC_FIELDS(target)
};

struct StatsReply {
    std::uint64_t started, refused, killed, kill_refused, ended, running, bad;
    MYR_RPC_FIELDS(started, refused, killed, kill_refused, ended, running, bad)
};
struct Stats {
    static constexpr std::uint16_t op = 5;
    static constexpr const char* name = "stats";
    using Reply = StatsReply;
    MYR_RPC_FIELDS()
};

using Interface = rpc::Interface<Start, List, Kill, Wait, Stats>;

} // namespace myr::procserv
