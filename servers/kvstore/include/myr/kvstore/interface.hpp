#pragma once
// kvstore's interface (docs/servers.md, "kvstore"): the one definition the client stub and the
// server dispatch come from. Keys up to 32 bytes, values up to 200; every key has a version,
// raised by each write that changes it (0: the key does not exist).
#include <myr/rpc/interface.hpp>

namespace myr::kvstore {

inline constexpr const char* service = "kvstore";
inline constexpr unsigned max_replicas = 4;

// The name replica `index` serves under: "kvstore" for the primary (0), "kvstore.N" for backup N.
inline void replica_name(unsigned index, char (&out)[16]) {
    const char base[] = "kvstore";
    unsigned i = 0;
    for (; base[i]; ++i) out[i] = base[i];
    if (index > 0) {
        out[i++] = '.';
        out[i++] = static_cast<char>('0' + index % 10);
    }
    out[i] = '\0';
}
inline constexpr std::size_t max_key = 32;
inline constexpr std::size_t max_value = 200;
inline constexpr std::size_t max_txn_ops = 4;

using Key = rpc::Str<max_key>;
using Value = rpc::Blob<max_value>;

struct GetReply {
    bool found;
    std::uint64_t version;
    Value value;
    MYR_RPC_FIELDS(found, version, value)
};
struct Get {
    static constexpr std::uint16_t op = 1;
    static constexpr const char* name = "get";
    static constexpr bool retry = true;  // a read: safe to repeat
    using Reply = GetReply;
    Key key;
    MYR_RPC_FIELDS(key)
};

struct PutReply {
    std::uint64_t version;  // the key's version after the write
    MYR_RPC_FIELDS(version)
};
struct Put {
    static constexpr std::uint16_t op = 2;
    static constexpr const char* name = "put";
    static constexpr bool retry = true;  // a retried write is answered, not done again (Answer)
    using Reply = PutReply;
    Key key;
    Value value;
    MYR_RPC_FIELDS(key, value)
};

struct DeleteReply {
    bool existed;
    MYR_RPC_FIELDS(existed)
};
struct Delete {
    static constexpr std::uint16_t op = 3;
    static constexpr const char* name = "delete";
    static constexpr bool retry = true;  // a retried write is answered, not done again (Answer)
    using Reply = DeleteReply;
    Key key;
    MYR_RPC_FIELDS(key)
};

// Compare-and-swap on the version: writes value only when the key's version is `expected`
// (0: only when the key does not exist). The reply says whether it swapped, and the version and
// value the key has afterwards (so a loser learns what won).
struct CasReply {
    bool swapped;
    std::uint64_t version;
    Value value;
    MYR_RPC_FIELDS(swapped, version, value)
};
struct Cas {
    static constexpr std::uint16_t op = 4;
    static constexpr const char* name = "cas";
    static constexpr bool retry = true;  // a retried write is answered, not done again (Answer)
    using Reply = CasReply;
    Key key;
    std::uint64_t expected;
    Value value;
    MYR_RPC_FIELDS(key, expected, value)
};

// A multi-key transaction: every `check` must hold (the key's version equals `version`), then all
// puts and deletes apply together, or none does (committed = false, and `failed` names the first
// check that did not hold). Reads return the values as of the transaction.
enum class TxnKind : std::uint8_t { check = 1, get = 2, put = 3, del = 4 };
struct TxnOp {
    TxnKind kind;
    Key key;
    std::uint64_t version;  // check: the version the key must have
    Value value;            // put: the new value
    MYR_RPC_FIELDS(kind, key, version, value)
};
struct TxnResult {
    std::uint64_t version;  // get / check: the key's version; put: the new version
    Value value;            // get: the value
    MYR_RPC_FIELDS(version, value)
};
struct TxnReply {
    bool committed;
    std::uint8_t failed;  // index of the first failed check (when not committed)
    rpc::Array<TxnResult, max_txn_ops> results;
    MYR_RPC_FIELDS(committed, failed, results)
};
struct Txn {
    static constexpr std::uint16_t op = 5;
    static constexpr const char* name = "txn";
    static constexpr bool retry = true;  // a retried write is answered, not done again (Answer)
    using Reply = TxnReply;
    rpc::Array<TxnOp, max_txn_ops> ops;
    MYR_RPC_FIELDS(ops)
};

// Replicas: the primary forwards every write to each backup before answering (docs/servers.md).
// apply carries the write as the primary ordered it, with its sequence number: a backup applies
// sequence numbers in order only (a gap or a repeat is refused), so all replicas hold the same
// table after the same writes.
struct ApplyReply {
    std::uint64_t applied;  // the backup's last applied sequence number
    MYR_RPC_FIELDS(applied)
};
// What the primary answered one client's write (docs/servers.md, "Retries"): every replica keeps
// the last one of each client session (Sessions, sessions.hpp), so a write sent again after a lost
// connection (same session and request id, to this primary or to the one restarted in its place)
// gets the answer it got the first time and is not done twice. `reply` is the operation's reply
// struct, encoded; the largest, a transaction's four results, is 844 bytes.
inline constexpr std::size_t max_answer = 900;
struct Answer {
    std::uint32_t core, domain, session, request;  // the client's (rpc::Caller)
    std::uint16_t op;
    std::int16_t status;
    std::uint16_t slot;  // where every replica keeps it (the primary's Sessions::place)
    rpc::Blob<max_answer> reply;
    MYR_RPC_FIELDS(core, domain, session, request, op, status, slot, reply)
};

struct Apply {
    static constexpr std::uint16_t op = 6;
    static constexpr const char* name = "apply";
    using Reply = ApplyReply;
    std::uint64_t history;  // the primary's history (history.hpp): a backup applies its own history's writes only
    std::uint64_t seq;
    Txn write;      // every write is sent as a transaction of puts and deletes
    Answer answer;  // what the client is answered (session 0: no client session, nothing to keep)
    MYR_RPC_FIELDS(history, seq, write, answer)
};

// Counters and a digest of the table (tests compare replicas).
struct StatsReply {
    std::uint64_t keys, gets, writes, bad, applied, digest;
    std::uint64_t lines;     // URPC lines this replica sent and received (clients and other replicas)
    std::uint64_t replayed;  // retried writes answered with their kept answer (not done again)
    std::uint64_t history;   // the history `applied` counts writes of (history.hpp); 0: none yet
    MYR_RPC_FIELDS(keys, gets, writes, bad, applied, digest, lines, replayed, history)
};
struct Stats {
    static constexpr std::uint16_t op = 7;
    static constexpr const char* name = "stats";
    static constexpr bool retry = true;  // a read: safe to repeat
    using Reply = StatsReply;
    MYR_RPC_FIELDS()
};

// State transfer: a restarted replica comes back with the table (docs/servers.md, "kvstore",
// "Restart"). A restarted primary pulls a backup's table with dump (page by page, by slot); the
// primary pushes its table to a restarted backup with load (first page clears, last page sets the
// sequence number and the version clock), accepted from the primary only.
struct SnapEntry {
    Key key;
    std::uint64_t version;
    Value value;
    MYR_RPC_FIELDS(key, version, value)
};
inline constexpr std::size_t snap_page = 3;
struct DumpReply {
    std::uint64_t seq, clock;  // the replica's last applied write and its version clock
    std::uint32_t next;        // the slot to ask from next
    bool done;                 // no used slot from `next` on
    rpc::Array<SnapEntry, snap_page> entries;
    MYR_RPC_FIELDS(seq, clock, next, done, entries)
};
struct Dump {
    static constexpr std::uint16_t op = 8;
    static constexpr const char* name = "dump";
    static constexpr bool retry = true;  // a read: safe to repeat
    using Reply = DumpReply;
    std::uint32_t from;
    MYR_RPC_FIELDS(from)
};
struct Load {
    static constexpr std::uint16_t op = 9;
    static constexpr const char* name = "load";
    using Reply = ApplyReply;
    bool first, last;
    std::uint64_t seq, clock;  // with last: the primary's sequence number and version clock
    rpc::Array<SnapEntry, snap_page> entries;
    MYR_RPC_FIELDS(first, last, seq, clock, entries)
};

// The kept answers travel with the table: a restarted primary reads a backup's (dump_answers,
// one per call, from index `from`), the primary gives a restarted backup its own (keep_answer,
// after the table's last load page; from the primary only).
struct DumpAnswersReply {
    std::uint32_t next;  // the index to ask from next
    bool done;           // nothing kept from `next` on
    rpc::Array<Answer, 1> answers;
    MYR_RPC_FIELDS(next, done, answers)
};
struct DumpAnswers {
    static constexpr std::uint16_t op = 10;
    static constexpr const char* name = "dump_answers";
    static constexpr bool retry = true;
    using Reply = DumpAnswersReply;
    std::uint32_t from;
    MYR_RPC_FIELDS(from)
};
struct KeepAnswer {
    static constexpr std::uint16_t op = 11;
    static constexpr const char* name = "keep_answer";
    using Reply = ApplyReply;
    Answer answer;
    MYR_RPC_FIELDS(answer)
};

// Catching a backup up (history.hpp, docs/servers.md, "Histories and catching up"), from the
// primary only. rebase: a backup standing exactly at `from` (the position the primary's history
// began from) moves to `history`; the writes after it follow as applies. resume: the backup now
// holds the primary's position `history`, `seq` (after the writes sent, or after a table's last
// load page and the kept answers): it takes the history and serves reads again. Both are refused
// out_of_range, changing nothing, when the backup does not stand where they say.
struct Rebase {
    static constexpr std::uint16_t op = 12;
    static constexpr const char* name = "rebase";
    using Reply = ApplyReply;
    std::uint64_t from_history, from_seq, history;
    MYR_RPC_FIELDS(from_history, from_seq, history)
};
struct Resume {
    static constexpr std::uint16_t op = 13;
    static constexpr const char* name = "resume";
    using Reply = ApplyReply;
    std::uint64_t history, seq;
    MYR_RPC_FIELDS(history, seq)
};

using Interface =
    rpc::Interface<Get, Put, Delete, Cas, Txn, Apply, Stats, Dump, Load, DumpAnswers, KeepAnswer, Rebase, Resume>;

} // namespace myr::kvstore
