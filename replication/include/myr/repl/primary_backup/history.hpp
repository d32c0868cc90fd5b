#pragma once
// Primary-backup replication (docs/replication.md, "Primary-backup"): which history a replica's
// state belongs to, and how the primary brings a backup to its own state. kvstore's replicas run
// it (docs/servers.md, "kvstore", "Histories and catching up").
//
// A replica's state is a position: the history it belongs to and the number of writes of that
// history it holds. Within one history every replica's state at write n is the same, because one
// primary numbered every write of it and logged each before it forwarded it. A history begins
// when a primary starts without its own log's state: at a fresh boot (from the empty state), or
// when it takes a backup's table (from that backup's position, the fork point). From then on a
// backup whose log holds writes of another history at the same number must not take the
// primary's next write as following on, nor be sent only the writes it missed: what it holds
// after the fork point may be writes nobody acknowledged, which the new history never had.
//
// So every write carries its history, a backup applies only its own history's writes, and a
// primary that finds a backup behind chooses (plan_catch_up):
//   current  the backup holds exactly the primary's position: nothing to send;
//   suffix   same history, behind, and the primary's log still holds every write it missed:
//            those writes, in order;
//   rebase   the backup stands exactly at the fork point the primary's history began from: it
//            moves to the primary's history, then takes the writes after the fork point;
//   table    anything else (another history, ahead of the primary, further behind than the log
//            reaches, no log): the whole table, then the kept answers.
// A suffix or rebase is chosen only when it is shorter than the table.
//
// Pure and host-tested (tests/unit/kvstore_log_test.cpp, "Histories"; repl_primary_backup_test);
// freestanding.
#include <cstdint>

namespace myr::repl::pb {

struct Position {
    std::uint64_t history = 0;  // 0: none yet (a replica that never held a primary's state)
    std::uint64_t seq = 0;      // writes of that history held
    bool operator==(const Position&) const = default;
};

enum class CatchUp : std::uint8_t { current, suffix, rebase, table };

inline const char* to_string(CatchUp c) {
    switch (c) {
    case CatchUp::current: return "current";
    case CatchUp::suffix: return "suffix";
    case CatchUp::rebase: return "rebase";
    case CatchUp::table: return "table";
    }
    return "?";
}

// What the primary at `primary` sends a backup found at `backup`. `fork`: where the primary's
// history began (fork.history == primary.history when it began from no other history worth
// rebasing: the primary restarted from its own log, which keeps the history but not the fork
// point). `log_from`: the earliest position after which the primary's log holds every write (its
// last checkpoint's number); `has_log`: whether it has a log at all. `table_calls`: what sending
// the whole table would cost, in calls.
inline CatchUp plan_catch_up(Position primary, Position fork, std::uint64_t log_from, bool has_log, Position backup,
                             std::uint64_t table_calls) {
    if (backup == primary) return CatchUp::current;
    // The writes after `from` can be sent: none are needed, or the log holds them all and they
    // are fewer than the table's calls.
    const auto reachable = [&](std::uint64_t from) {
        return from == primary.seq ||
               (has_log && from >= log_from && from <= primary.seq && primary.seq - from <= table_calls);
    };
    if (backup.history == primary.history && backup.history != 0 && reachable(backup.seq)) return CatchUp::suffix;
    if (fork.history != primary.history && backup == fork && reachable(fork.seq)) return CatchUp::rebase;
    return CatchUp::table;
}

// Whether a backup at `mine` applies write `seq` of `history`: the next one of its own history.
inline bool follows_on(Position mine, std::uint64_t history, std::uint64_t seq) {
    return mine.history != 0 && history == mine.history && seq == mine.seq + 1;
}

// A new history's number, never 0, from what tells this primary instance apart from every other
// in the boot (its core and domain, the ticks, its restarts): two histories of one boot sharing a
// number would let a stale log pass as current.
inline std::uint64_t new_history(std::uint64_t who, std::uint64_t ticks, std::uint64_t restarts) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    const auto mix = [&h](std::uint64_t v) {
        h = (h ^ v) * 0x100000001b3ull;
        h ^= h >> 31;
    };
    mix(who);
    mix(ticks);
    mix(restarts);
    return h == 0 ? 1 : h;
}

} // namespace myr::repl::pb
