#pragma once
// Primary-backup replication (docs/replication.md, "Primary-backup"): one replica's state and
// what the protocol does to it. Replica 0, the primary, orders every write, logs it and forwards
// it to every backup, in order, before its client hears the answer; a backup applies its
// primary's writes strictly in order. A replica that was down (or is new) joins at run time: the
// primary asks where it stands and sends it nothing, the writes it missed from its log, a rebase
// and those writes, or the whole table and the kept answers (history.hpp says which), then a
// resume. A primary that restarted without its log's state takes the fullest backup's table and
// begins a new history from there.
//
// Generic over a Machine (machine.hpp): kvstore's replicas are Replica<kvstore::KvMachine>
// (servers/kvstore/main.cpp wraps it with the RPC runtime, nameserv and its monitor; docs/servers.md,
// "kvstore"); object_machine.hpp runs every catalogued replicated object under it. Pure and
// freestanding: tests/unit/kvstore_sim_test.cpp runs kvstore's with crashes at every step of
// random runs, repl_primary_backup_test every catalogued object's.
//
// Who may send what (a backup takes these from its primary only) is the server's check, before
// it calls in here.
#include <myr/repl/primary_backup/history.hpp>
#include <myr/repl/primary_backup/log.hpp>

namespace myr::repl::pb {

template <Machine M>
class Replica {
public:
    using Table = typename M::State;
    using Sessions = typename M::Answers;
    using Apply = typename M::Apply;

    Table table;        // the machine's state
    Sessions sessions;  // the last answer of each client session (retried writes)
    Position at{};      // the history and the writes ordered (primary) / applied (backup) of it
    Position fork{};    // primary: where its history began (== at's history: nothing to rebase from)
    Log<M> log;         // the state in memory that outlives the replica (log.hpp), when there is some
    // Backup: a table is coming: its load pages, then (after the last) the kept answers, then resume.
    enum class Loading : std::uint8_t { none, pages, answers } loading = Loading::none;
    bool awaiting_table = false;  // a restarted backup, or one taking a table: no reads until resumed

    // ---- Primary ----

    // A write the primary decided and applied to its table (the puts and deletes it made, and the
    // client's answer): numbered, its answer kept, logged; what goes to every backup next.
    Apply order(const typename M::Write& write, const typename M::Answer& answer) {
        ++at.seq;
        sessions.keep(answer);
        log.apply(at.seq, write, answer);
        Apply a{};
        a.history = at.history;
        a.seq = at.seq;
        a.write = write;
        a.answer = answer;
        return a;
    }

    // A new history from `from` (the primary's state now), numbered `history` (never 0, never
    // from's; new_history gives one): backups standing there are rebased onto it.
    // The log checkpoints at once: its records from here on are of the new history, which its
    // image must say (else a restart would stop its replay at the first of them).
    void begin_history(Position from, std::uint64_t history) {
        fork = from;
        at.history = history == 0 || history == from.history ? ~from.history : history;
        log.checkpoint();
    }

    // What catching a backup up did.
    struct CatchUpReport {
        CatchUp plan = CatchUp::table;
        Position them{};         // where the backup stood
        std::uint64_t sent = 0;  // writes sent (suffix or rebase)
        std::uint64_t calls = 0;
        bool log_failed = false;  // the log did not give the writes: the table went instead
    };

    // Primary: brings the backup behind `link` to our position: asks where it stands (stats),
    // then sends nothing, the writes it missed (from our log), a rebase and those writes, or the
    // whole table and kept answers; last a resume. `link.call(request, reply)` returns the
    // backup's status (anything but ok: stop). ok, or the first failing call's status.
    template <typename Link>
    Status catch_up(Link& link, CatchUpReport& rep) {
        rep = CatchUpReport{};
        rep.calls = 1;
        typename M::StatsReply st{};
        if (const Status s = link.call(typename M::Stats{}, st); s != Status::ok) return s;
        rep.them = Position{st.history, st.applied};
        const std::uint64_t table_calls = table.size() / M::page_entries + 2 + sessions.size();
        rep.plan = plan_catch_up(at, fork, log.oldest(), log.attached(), rep.them, table_calls);
        typename M::ApplyReply ar{};
        if (rep.plan == CatchUp::rebase) {
            ++rep.calls;
            typename M::Rebase rb{};
            rb.from_history = fork.history;
            rb.from_seq = fork.seq;
            rb.history = at.history;
            if (const Status s = link.call(rb, ar); s != Status::ok) return s;
        }
        const std::uint64_t from = rep.plan == CatchUp::rebase ? fork.seq : rep.them.seq;
        if ((rep.plan == CatchUp::suffix || rep.plan == CatchUp::rebase) && from < at.seq) {
            Status failed = Status::ok;
            const Status s = log.suffix(from, [&](const Apply& a) {
                ++rep.calls;
                ++rep.sent;
                typename M::ApplyReply one{};
                failed = link.call(a, one);
                if (failed == Status::ok && one.applied != a.seq) failed = Status::out_of_range;
                return failed == Status::ok;
            });
            if (failed != Status::ok) return failed;
            if (s != Status::ok) {  // never for a log we wrote; the table brings it back all the same
                rep.log_failed = true;
                rep.plan = CatchUp::table;
            }
        }
        if (rep.plan == CatchUp::table)
            if (const Status s = push_table(link, rep.calls); s != Status::ok) return s;
        ++rep.calls;
        typename M::Resume rs{};
        rs.history = at.history;
        rs.seq = at.seq;
        if (const Status s = link.call(rs, ar); s != Status::ok) return s;
        return ar.applied == at.seq ? Status::ok : Status::out_of_range;
    }

    // Primary without its log's state: takes the table and kept answers of the backup behind
    // `link`, which stood at `them` (its stats: a history, and writes > 0), then begins a new
    // history from there (numbered `history`, new_history). Every page must carry them's count,
    // and a last stats must still say `them`: else nothing applied there since the first page is
    // not certain, the state is cleared, and the status says why (out_of_range: it moved).
    template <typename Link>
    Status take_table(Link& link, Position them, std::uint64_t history, std::uint64_t& calls) {
        table.clear();
        sessions.clear();
        at = Position{};
        Status failed = Status::ok;
        typename M::DumpReply page{};
        for (std::uint32_t from = 0; failed == Status::ok;) {
            ++calls;
            typename M::Dump d{};
            d.from = from;
            failed = link.call(d, page);
            if (failed == Status::ok && page.seq != them.seq) failed = Status::out_of_range;
            for (std::size_t i = 0; failed == Status::ok && i < page.entries.count && i < M::page_entries; ++i)
                failed = table.load(page.entries.items[i]);
            if (failed != Status::ok || page.done) break;
            from = page.next;
        }
        for (std::uint32_t next = 0; failed == Status::ok;) {
            typename M::DumpAnswersReply kept{};
            ++calls;
            typename M::DumpAnswers da{};
            da.from = next;
            failed = link.call(da, kept);
            if (failed != Status::ok) break;
            for (std::size_t i = 0; i < kept.answers.count && i < 1; ++i) sessions.keep(kept.answers.items[i]);
            if (kept.done) break;
            next = kept.next;
        }
        if (failed == Status::ok) failed = M::loaded(table);  // a table that is not one of M's: refused
        if (failed == Status::ok) {  // nothing applied there since the count: the table and answers are one state
            typename M::StatsReply st{};
            ++calls;
            failed = link.call(typename M::Stats{}, st);
            if (failed == Status::ok && (st.applied != them.seq || st.history != them.history)) failed = Status::out_of_range;
        }
        if (failed != Status::ok) {
            table.clear();
            sessions.clear();
            return failed;
        }
        table.set_clock(page.clock);
        at.seq = them.seq;
        // Our history begins here: the backups that stand where this one does are rebased onto
        // it; one that holds a write beyond (the old primary's, never acknowledged) takes the table.
        begin_history(them, history);
        return Status::ok;
    }

    // ---- Backup ----

    // What stats says of the replication (the server adds its counters).
    void position_of(typename M::StatsReply& out) const {
        out.keys = table.size();
        out.applied = at.seq;
        out.history = at.history;
        out.digest = table.digest();
    }
    Status on_dump(const typename M::Dump& r, typename M::DumpReply& out) const {
        table.dump(r.from, out);
        out.seq = at.seq;
        return Status::ok;
    }
    Status on_dump_answers(const typename M::DumpAnswers& r, typename M::DumpAnswersReply& out) const {
        sessions.page(r.from, out);
        return Status::ok;
    }

    Status on_apply(const Apply& r, typename M::ApplyReply& out) {
        out.applied = at.seq;
        // A gap, a repeat or another history's write: refuse, keep our order (history.hpp).
        if (!follows_on(at, r.history, r.seq)) return Status::out_of_range;
        if (const Status s = M::apply(table, r.write); s != Status::ok) return s;
        at.seq = r.seq;
        sessions.keep(r.answer);
        log.apply(at.seq, r.write, r.answer);
        out.applied = at.seq;
        return Status::ok;
    }
    Status on_load(const typename M::Load& r, typename M::ApplyReply& out) {
        out.applied = at.seq;
        if (r.first) {
            // No reads of a half-loaded table, no writes applied to it (no history), until resume.
            table.clear();
            sessions.clear();
            at = Position{};
            loading = Loading::pages;
            awaiting_table = true;
        } else if (loading != Loading::pages) {
            return Status::out_of_range;  // a page of a table whose first page we never had
        }
        for (std::size_t i = 0; i < r.entries.count && i < M::page_entries; ++i)
            if (const Status s = table.load(r.entries.items[i]); s != Status::ok) return s;
        if (r.last) {
            // A table that is not one of M's (pages that do not make one) is refused: the next
            // first page starts it again, and nothing is served from it meanwhile.
            if (const Status s = M::loaded(table); s != Status::ok) return s;
            table.set_clock(r.clock);
            at.seq = r.seq;
            loading = Loading::answers;
        }
        out.applied = at.seq;
        return Status::ok;
    }
    Status on_keep(const typename M::KeepAnswer& r, typename M::ApplyReply& out) {
        out.applied = at.seq;
        sessions.keep(r.answer);
        // While a table comes, the log still holds the state before it, which these answers do
        // not belong to: resume's checkpoint writes them with the table.
        if (loading == Loading::none) log.keep(r.answer);
        return Status::ok;
    }
    Status on_rebase(const typename M::Rebase& r, typename M::ApplyReply& out) {
        out.applied = at.seq;
        if (loading != Loading::none || at != Position{r.from_history, r.from_seq} || r.history == 0)
            return Status::out_of_range;
        at.history = r.history;
        log.checkpoint();  // the image now says which history the records after it belong to
        return Status::ok;
    }
    // ok: the backup holds the primary's state and serves reads; `rejoined` when it did not before.
    Status on_resume(const typename M::Resume& r, typename M::ApplyReply& out, bool& rejoined) {
        out.applied = at.seq;
        rejoined = false;
        const bool loaded = loading == Loading::answers && at.seq == r.seq;
        if (r.history == 0 || !(loaded || (loading == Loading::none && at == Position{r.history, r.seq})))
            return Status::out_of_range;
        rejoined = awaiting_table;
        at.history = r.history;
        loading = Loading::none;
        awaiting_table = false;
        if (loaded) log.checkpoint();  // the primary's table replaces what our log held
        return Status::ok;
    }

private:
    // The whole table, page by page (the first page clears the backup's), then the kept answers.
    template <typename Link>
    Status push_table(Link& link, std::uint64_t& calls) {
        std::uint32_t from = 0;
        for (bool first = true;; first = false) {
            typename M::DumpReply page{};
            table.dump(from, page);
            typename M::Load l{};
            l.first = first;
            l.last = page.done;
            l.seq = at.seq;
            l.clock = table.clock();
            l.entries = page.entries;
            typename M::ApplyReply ar{};
            ++calls;
            if (const Status s = link.call(l, ar); s != Status::ok) return s;
            if (page.done) {
                if (ar.applied != at.seq) return Status::out_of_range;
                break;
            }
            from = page.next;
        }
        // A client retrying a write it sent before the backup's crash is answered by whichever
        // replica it reaches.
        for (std::size_t i = sessions.next_from(0); i < Sessions::capacity; i = sessions.next_from(i + 1)) {
            typename M::KeepAnswer k{};
            k.answer = sessions.at(i);
            typename M::ApplyReply ar{};
            ++calls;
            if (const Status s = link.call(k, ar); s != Status::ok) return s;
        }
        return Status::ok;
    }
};

} // namespace myr::repl::pb
