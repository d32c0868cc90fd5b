// kvstore: a key-value server (docs/servers.md, "kvstore"). Replica 0 is the primary: it serves
// every operation under the name "kvstore", orders the writes, and forwards each write to every
// backup ("kvstore.1", "kvstore.2", ...) before it answers, so an acknowledged write is held by
// every replica that was up. Backups apply the primary's writes in its order and serve reads
// (possibly behind the primary) under their own names.
//
// Restart (docs/servers.md, "kvstore", "The log", "Restart"): under a [[server]] restart policy a
// replica that crashed comes back with the table. Each replica logs every write it takes in its
// kept memory (log.hpp), which its monitor keeps across its crashes; a restarted replica recovers
// from its own log first. A restarted primary without one pulls the table from a live backup
// (dump) before it registers its name, and begins a new history there (history.hpp); the primary
// catches up a backup it binds to (the writes it missed, a rebase, or the table: "Histories and
// catching up") before it forwards writes to it again (links.hpp). All of it happens inside the
// primary's single thread, between requests, so no write interleaves with a transfer. The steps themselves
// are replication/'s primary-backup protocol (ReplicaState = repl::pb::Replica<KvMachine>; its
// log.hpp, history.hpp and replica.hpp are in replication/include/myr/repl/primary_backup/, pure:
// kvstore_sim_test runs them with crashes at every step).
//
// Arguments: placed by a config's [[server]] table, the string `replica=I replicas=K` (the
// monitor appends it) and optionally `exit_after=N`; started by a plan's spawn: step, the number
// in rdi: replica index in bits 0-7, number of replicas in bits 8-15 (0 means 1), bits 16-31 the
// same exit_after. exit_after: exit once that many client connections have closed (0: serve
// until stopped; tests use it to end a run plan's `wait`).
#include <myr/kvstore/replica.hpp>
#include <myr/kvstore/sessions.hpp>
#include <myr/kvstore/table.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/rpc/server.hpp>
#include <myr/user/args.hpp>
#include <myr/user/heartbeat.hpp>
#include <myr/user/kept.hpp>

#include "links.hpp"

using namespace myr;
using namespace myr::kvstore;

namespace {

// The replica's state and the protocol's steps are ReplicaState's (replica.hpp, pure), its links to
// the other replicas Links' (links.hpp); this adds the server around them: the RPC handlers,
// nameserv and the monitor.
struct Handler : Links {
    std::uint64_t gets = 0, writes = 0;
    nameserv::Address primary_at{};  // backup: who may apply and load (looked up in nameserv)
    bool primary_known = false;
    std::uint64_t* bad = nullptr;
    std::uint64_t (*server_lines)() = nullptr;
    std::size_t slot = Sessions::none; // primary: where the answer of the write being done goes
    std::uint64_t replayed = 0, stale = 0, refused = 0;
    std::uint64_t crash_after = 0;     // test hook: crash once, after replicating this write, unanswered
    std::uint64_t crash_every = 0;     // test hook: the same at every N-th write of each instance
    std::uint64_t hang_after = 0, hang_replica = 0;  // test hook: replica hang_replica hangs at that write
    // Test hook: replica lose_log_replica's restarted instances ignore what their log holds, as
    // one moved to another core would (a new history begins from a backup's table).
    std::uint64_t lose_log = 0, lose_log_replica = 0;

    // A write this client sent before (a retry after a lost connection): true, with the kept
    // answer in out and st. A late copy of an older request: true, refused (out_of_range), not
    // done. No slot to keep its answer in (every one holds a live client's session): true,
    // refused (busy), not done. Otherwise false: do it, its answer goes to `slot`.
    template <typename Op>
    bool answered_before(const rpc::Caller& c, typename Op::Reply& out, Status& st) {
        const Answer* kept = nullptr;
        switch (sessions.check(c.core, c.domain, c.session, c.request, Op::op, kept)) {
        case Sessions::Seen::fresh:
            if (c.session == 0) return false;  // a raw sender: nothing kept, nothing recognised
            slot = sessions.place(c.core, c.domain, c.session, [](std::uint32_t core, std::uint32_t domain) {
                return user::alive(core, domain) != Status::connection_lost;
            });
            if (slot != Sessions::none) return false;
            if (refused++ == 0) user::print("kvstore: every answer slot holds a live client's session: writes of new sessions refused (busy)");
            st = Status::busy;
            return true;
        case Sessions::Seen::stale:
            ++stale;
            st = Status::out_of_range;
            return true;
        case Sessions::Seen::answered:
            out = typename Op::Reply{};
            st = rpc::decode(std::span<const std::uint8_t>(kept->reply.data, kept->reply.size), out) == Status::ok
                     ? static_cast<Status>(kept->status)
                     : Status::internal;
            ++replayed;
            return true;
        }
        return false;
    }
    template <typename Op>
    Answer answer_of(const rpc::Caller& c, Status st, const typename Op::Reply& out) const {
        Answer a{};
        if (c.session == 0 || slot == Sessions::none) return a;
        a.slot = static_cast<std::uint16_t>(slot);
        a.core = c.core;
        a.domain = c.domain;
        a.session = c.session;
        a.request = c.request;
        a.op = Op::op;
        a.status = static_cast<std::int16_t>(st);
        rpc::Writer w(std::span<std::uint8_t>(a.reply.data, max_answer));
        out.visit(w);
        if (!w.ok()) return Answer{};  // larger than any kvstore reply: keep nothing
        a.reply.size = static_cast<std::uint16_t>(w.size());
        return a;
    }
    // A write that changed nothing (refused, a failed compare): kept here only (a late copy of it
    // is then recognised), not sent to the backups.
    template <typename Op>
    void keep_local(const rpc::Caller& c, Status st, const typename Op::Reply& out) {
        sessions.keep(answer_of<Op>(c, st, out));
    }
    // A write applied here: numbered, its answer kept, logged, then sent to every backup with its
    // answer. The answer goes to the client only after this: our log and every backup up hold the
    // write and the answer by then (a crash before the log's record leaves a write nobody was
    // told of; one after it, a write the restarted primary finds in its log).
    template <typename Op>
    void commit(const rpc::Caller& c, const Txn& t, Status st, const typename Op::Reply& out) {
        ++writes;
        replicate(order(t, answer_of<Op>(c, st, out)));
        if (crash_after != 0 && writes == crash_after && user::restarts() == 0) {
            user::print("kvstore: crash_after={}: crashing before answering write {}", crash_after, at.seq);
            __builtin_trap();  // #UD: a fault, which the supervisor restarts
        }
        if (crash_every != 0 && writes % crash_every == 0) {
            user::print("kvstore: crash_every={}: crashing before answering write {} (restart {})", crash_every, at.seq,
                        user::restarts());
            __builtin_trap();
        }
        maybe_hang();
    }

    // Test hook (fault campaign, docs/faults.md): the first instance of replica hang_replica stops
    // answering and beating at its hang_after-th write (the primary after forwarding it, a backup
    // after applying it; unanswered either way), as a server stuck in a loop would. With a
    // heartbeat in its [[server]] table its monitor ends it as hung and restarts it.
    void maybe_hang() {
        if (hang_after == 0 || writes != hang_after || index != hang_replica || user::restarts() != 0) return;
        user::print("kvstore: hang_after={}: replica {} hangs at write {}", hang_after, index, at.seq);
        for (;;) user::wait_event();
    }

    static TxnOp write_op(TxnKind kind, const Key& key, const Value* value) {
        TxnOp op{};
        op.kind = kind;
        op.key = key;
        if (value) op.value = *value;
        return op;
    }

    Status handle(const rpc::Caller&, const Get& r, GetReply& out) {
        if (awaiting_table) return Status::busy;
        ++gets;
        return table.get(r.key, out);
    }
    // Writes: the primary only. Each first asks whether this client's session already got an
    // answer for this request (a retry: answered again, not done twice).
    Status handle(const rpc::Caller& c, const Put& r, PutReply& out) {
        if (!primary()) return Status::permission_denied;
        Status s = Status::ok;
        if (answered_before<Put>(c, out, s)) return s;
        s = table.put(r.key, r.value, out.version);
        if (s != Status::ok) {
            keep_local<Put>(c, s, out);
            return s;
        }
        Txn t{};
        (void)t.ops.push(write_op(TxnKind::put, r.key, &r.value));
        commit<Put>(c, t, s, out);
        return s;
    }
    Status handle(const rpc::Caller& c, const Delete& r, DeleteReply& out) {
        if (!primary()) return Status::permission_denied;
        Status s = Status::ok;
        if (answered_before<Delete>(c, out, s)) return s;
        s = table.del(r.key, out.existed);
        if (s != Status::ok || !out.existed) {
            keep_local<Delete>(c, s, out);
            return s;
        }
        Txn t{};
        (void)t.ops.push(write_op(TxnKind::del, r.key, nullptr));
        commit<Delete>(c, t, s, out);
        return s;
    }
    Status handle(const rpc::Caller& c, const Cas& r, CasReply& out) {
        if (!primary()) return Status::permission_denied;
        Status s = Status::ok;
        if (answered_before<Cas>(c, out, s)) return s;
        s = table.cas(r.key, r.expected, r.value, out);
        if (s != Status::ok || !out.swapped) {
            keep_local<Cas>(c, s, out);
            return s;
        }
        Txn t{};
        (void)t.ops.push(write_op(TxnKind::put, r.key, &r.value));
        commit<Cas>(c, t, s, out);
        return s;
    }
    Status handle(const rpc::Caller& c, const Txn& r, TxnReply& out) {
        const bool ro = Table::read_only(r);
        if (!primary() && !ro) return Status::permission_denied;
        if (awaiting_table) return Status::busy;
        Status s = Status::ok;
        if (!ro && answered_before<Txn>(c, out, s)) return s;
        s = table.txn(r, out);
        if (ro) return s;
        if (s != Status::ok || !out.committed) {
            keep_local<Txn>(c, s, out);
            return s;
        }
        Txn t{};
        for (std::uint16_t i = 0; i < r.ops.count; ++i)
            if (r.ops.items[i].kind == TxnKind::put || r.ops.items[i].kind == TxnKind::del) (void)t.ops.push(r.ops.items[i]);
        commit<Txn>(c, t, s, out);
        return s;
    }
    // Backups take writes and tables from the primary only: the domain that holds the name
    // "kvstore", in nameserv or (without it) in the monitors' table (MonitorOp::server_info
    // answers the exporter). Looked up again when another caller claims to be it: the primary
    // may have been restarted.
    bool resolve_primary(std::uint64_t busy_tries) {
        nameserv::Address a{};
        if (in_nameserv) {
            if (nameserv::session().lookup(service, a, busy_tries) != Status::ok) return false;
        } else {
            if (user::exporter(service, a.core, a.domain) != Status::ok) return false;
        }
        if (impostor(a.core, a.domain, service)) return false;
        primary_at = a;
        primary_known = true;
        return true;
    }
    // Whether the caller is the primary. This node's nameserv replica may lag the orderer: the
    // primary's first write can come before its name reached our replica, or after a restart the
    // replica may still name the primary that ended. The backup then waits for the name to catch
    // up (about 3 s at most, backing off) instead of refusing the write: a refused write makes the
    // primary go on without this backup and bring it back later with the whole table, which under
    // a loaded host stalled the primary for tens of seconds while 63 clients waited to bind to it
    // (qemu_servers_all_8s8c). A caller that is not the primary of a name naming a live domain is
    // refused at once.
    bool from_primary(const rpc::Caller& c) {
        const nameserv::Address who{c.core, c.domain};
        if (primary_known && primary_at == who) return true;
        user::Backoff pause;
        for (user::Deadline limit(300);;) {
            if (resolve_primary(300) && primary_at == who) return true;
            const bool lagging =
                !primary_known || user::alive(primary_at.core, primary_at.domain) == Status::connection_lost;
            if (!lagging || limit.passed()) return false;
            pause.wait();
        }
    }
    // The replication steps (ReplicaState: replica.hpp), from the primary only.
    Status handle(const rpc::Caller& c, const Load& r, ApplyReply& out) {
        out.applied = at.seq;
        if (primary() || !from_primary(c)) return Status::permission_denied;
        return on_load(r, out);
    }
    Status handle(const rpc::Caller& c, const Rebase& r, ApplyReply& out) {
        out.applied = at.seq;
        if (primary() || !from_primary(c)) return Status::permission_denied;
        return on_rebase(r, out);
    }
    Status handle(const rpc::Caller& c, const Resume& r, ApplyReply& out) {
        out.applied = at.seq;
        if (primary() || !from_primary(c)) return Status::permission_denied;
        bool back = false;
        const Status s = on_resume(r, out, back);
        if (back)
            user::print("kvstore: replica {} rejoined: {} keys at write {} at_tick={}", index, table.size(), at.seq,
                        user::ticks());
        return s;
    }
    Status handle(const rpc::Caller&, const Dump& r, DumpReply& out) { return on_dump(r, out); }
    Status handle(const rpc::Caller& c, const Apply& r, ApplyReply& out) {
        out.applied = at.seq;
        if (primary() || !from_primary(c)) return Status::permission_denied;
        const Status s = on_apply(r, out);
        if (s != Status::ok) return s;
        ++writes;
        maybe_hang();
        return Status::ok;
    }
    Status handle(const rpc::Caller& c, const KeepAnswer& r, ApplyReply& out) {
        out.applied = at.seq;
        if (primary() || !from_primary(c)) return Status::permission_denied;
        return on_keep(r, out);
    }
    Status handle(const rpc::Caller&, const DumpAnswers& r, DumpAnswersReply& out) { return on_dump_answers(r, out); }
    std::uint64_t closed_connections = 0;
    void closed(const rpc::Caller&) { ++closed_connections; }

    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        // Lines of this replica: its server connections and its own connections to the backups.
        std::uint64_t lines = server_lines ? server_lines() : 0;
        for (const rpc::Client& b : backups)
            if (b.connected()) lines += b.connection().link.lines_in() + b.connection().link.lines_out();
        out = {};
        position_of(out);
        out.gets = gets;
        out.writes = writes;
        out.bad = bad ? *bad : 0;
        out.lines = lines;
        out.replayed = replayed;
        return Status::ok;
    }
};

Handler handler;
rpc::Server<Interface, Handler, 14> server(handler);

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t started_tick = user::ticks();
    char text[args::max_len + 1];
    const Result<std::uint64_t> len = user::read_args(text, sizeof text);
    bool log_off = false;  // `log=off`: no log, the state in the replicas' memory only (tests of the transfer)
    if (len.ok() && *len > 0) {
        log_off = args::equals(text, *len, "log", "off");
        std::uint64_t index = 0, replicas = 1, exit_after = 0;
        (void)args::number(text, *len, "crash_after", handler.crash_after);
        (void)args::number(text, *len, "crash_every", handler.crash_every);
        (void)args::number(text, *len, "hang_after", handler.hang_after);
        (void)args::number(text, *len, "hang_replica", handler.hang_replica);
        (void)args::number(text, *len, "lose_log", handler.lose_log);
        (void)args::number(text, *len, "lose_log_replica", handler.lose_log_replica);
        (void)args::number(text, *len, "replica", index);
        (void)args::number(text, *len, "replicas", replicas);
        (void)args::number(text, *len, "exit_after", exit_after);
        arg = (index & 0xff) | (replicas & 0xff) << 8 | (exit_after & 0xffff) << 16;
    }
    handler.index = static_cast<unsigned>(arg & 0xff);
    handler.replicas = static_cast<unsigned>((arg >> 8) & 0xff);
    if (handler.replicas == 0) handler.replicas = 1;
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
    if (handler.replicas > max_replicas || handler.index >= handler.replicas) {
        user::print("kvstore: bad argument {:#x}: replica index {} of {} (at most {} replicas)", arg, handler.index,
                    handler.replicas, max_replicas);
        return 1;
    }
    char name[16];
    replica_name(handler.index, name);
    // With nameserv in the config the names live there only (nameserv::publish); without, in the
    // monitors' table.
    handler.in_nameserv = nameserv::present();
    // The log (log.hpp) lives in this instance's kept memory, which its monitor keeps across its
    // crashes on this core (docs/monitors.md, "Kept memory"). Without it (kvstore started by a
    // plan, not as a supervised [[server]]; a core whose kept area is taken) the state lives in
    // the replicas' memory only, as it did before there was a log.
    const bool restarted = user::restarts() > 0;
    user::KeptBlock kept{};
    const Status ks = log_off ? Status::unsupported : rpc::map_kept(log_block_bits, kept);
    if (ks != Status::ok || !handler.log.attach(kept.base, kept.size, &handler.table, &handler.sessions, &handler.at))
        user::print("kvstore: replica {} has no log ({}): its state lives in its memory only", handler.index, to_string(ks));
    // A restarted replica first reads its own log: it holds every write this replica took (the
    // primary logs each before it forwards it, a backup before it answers it). The primary's
    // log thus holds every acknowledged write, and it serves from it at once. Only a primary
    // without a log's state (a new block: moved off a stopped core, or a budget spent) takes the
    // table from a live backup, before it is found by name. A backup waits for the primary's
    // table, or for its next write to follow on from what the log held.
    bool from_log = false;
    const bool lose = handler.lose_log != 0 && handler.lose_log_replica == handler.index;
    if (lose && restarted) user::print("kvstore: lose_log: replica {} ignores its log", handler.index);
    if (handler.log.attached() && restarted && !kept.fresh && !lose) {
        from_log = handler.log.recover();
        if (from_log)
            user::print("kvstore: replica {} recovered {} keys and {} client answers at write {} from its log (records={})",
                        handler.index, handler.table.size(), handler.sessions.size(), handler.at.seq,
                        handler.log.counts().replayed);
        else
            user::print("kvstore: replica {} found no state in its log", handler.index);
    }
    // The primary's history (history.hpp): kept from its log; else it begins one, from the state
    // a backup gave it (recover) or from the empty state.
    if (handler.primary()) {
        if (from_log && handler.at.history != 0) handler.fork = handler.at;
        else if (handler.replicas > 1 && restarted) handler.recover();
        else handler.begin_history(Position{});
    }
    // A new generation of the log from here on (a crash during the recovery left the block as it was).
    handler.log.checkpoint();
    handler.awaiting_table = !handler.primary() && restarted;
    // The primary binds to its backups before its name is known, so before clients come: bound
    // later (at the first write), it sits in that bind while clients' binds to it pile up
    // unaccepted at its monitor, filling that monitor's slots for rings in transit, so its own
    // bind to a backup is refused busy for as long (63 clients on 8s8c did that). A backup not
    // up within the wait is bound at a write.
    if (handler.primary())
        for (unsigned r = 1; r < handler.replicas; ++r) {
            char backup[16];
            replica_name(r, backup);
            if (!handler.backups[r].connected() && nameserv::connect(handler.backups[r], backup, 1000) == Status::ok &&
                handler.impostor(handler.backups[r].peer_core(), handler.backups[r].peer_domain(), backup))
                handler.backups[r].close();
        }
    // A restarted replica's name may still be held by its dead predecessor until the monitors or
    // nameserv have processed the death: publish asks again for a few seconds.
    if (const Status s = nameserv::publish(server, name); s != Status::ok) {
        user::print("kvstore: cannot register {}: {}", name, to_string(s));
        return 1;
    }
    // Then the primary brings each backup it is bound to to its own state (nothing, the writes it
    // missed, or the table), now that the backups can find it by name: a backup takes these from
    // the holder of the name only. One that does not take it is brought back later (rejoin_lost).
    if (handler.primary())
        for (unsigned r = 1; r < handler.replicas; ++r)
            if (handler.backups[r].connected() && !handler.catch_up(r, false)) {
                user::print("kvstore: backup {} was not caught up at start: continuing without it until it is", r);
                handler.backups[r].close();
                handler.lost[r] = true;
            }
    // A backup serves at once (its primary binds to it before the primary's own name is known)
    // and learns the primary's address between passes, before the first write comes: looked up
    // only at the first apply, a nameserv replica still catching up could hold that write (and
    // the client waiting on it) for seconds.
    std::uint64_t passes = 0;
    // The primary needs nameserv again only to find a lost backup: its session (a connection of
    // the node's replica, which has few) is closed and opened again then.
    if (handler.primary()) nameserv::session().close();
    // at_tick: this core's timer ticks, the clock of its monitor's server-crash line (./myriad
    // bench faults: from a crash to serving again); started_tick: when this instance started, on
    // the same clock (a replica moved off a stopped core has no crash line on its new core: its
    // time is from its start there).
    user::print("kvstore: replica {} of {} serving as {} on core {} at_tick={} started_tick={}", handler.index,
                handler.replicas, name, core, user::ticks(), started_tick);
    static std::uint64_t bad = 0;
    handler.bad = &bad;
    handler.server_lines = [] { return server.lines_in() + server.lines_out(); };
    const std::uint64_t exit_after = (arg >> 16) & 0xffff;
    server.run([&] {
        if (!handler.primary() && !handler.primary_known && passes++ % 64 == 0) (void)handler.resolve_primary(1);
        handler.rejoin_lost();
        bad = server.bad_requests();
        return exit_after != 0 && handler.closed_connections >= exit_after;
    });
    // Replicas compare tables before the primary goes: every write was acknowledged by each backup
    // still up, so their digests must equal ours.
    if (handler.primary() && handler.replicas > 1) {
        unsigned agree = 0, asked = 0;
        for (unsigned r = 1; r < handler.replicas; ++r) {
            if (!handler.backups[r].connected()) continue;
            ++asked;
            StatsReply st{};
            if (handler.backups[r].call(Stats{}, st) == Status::ok && st.digest == handler.table.digest() &&
                st.applied == handler.at.seq)
                ++agree;
        }
        user::print("kvstore-replicas replicas={} checked={} agree={} writes={}", handler.replicas, asked,
                    agree == asked && asked == handler.replicas - 1 ? "yes" : "no", handler.at.seq);
    }
    for (rpc::Client& b : handler.backups) b.close();
    user::print("kvstore: replica {} done: {} requests, {} bad, {} writes, digest {:#x}, log: {} records, {} checkpoints",
                handler.index, server.served(), server.bad_requests(), handler.writes, handler.table.digest(),
                handler.log.counts().records, handler.log.counts().checkpoints);
    return 0;
}
