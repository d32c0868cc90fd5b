#pragma once
// kvstore's links between replicas (main.cpp; docs/servers.md, "kvstore"): the primary forwards
// each write to its backups, notices backups that ended and brings them back with what they
// missed, and a restarted primary without its log recovers the fullest backup's table. All of it
// runs inside the replica's single thread, between requests. The protocol's steps are
// ReplicaState's (replication/'s primary-backup replica, pure and simulated); this adds the RPC
// links, the names they are found by, and the log lines. Guest code: main.cpp's only.
#include <myr/kvstore/replica.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/user/args.hpp>
#include <myr/user/heartbeat.hpp>

namespace myr::kvstore {

// ReplicaState's link to a backup: one RPC call each. With a domain, a call fails once the
// client runtime rebound the connection to another instance of that backup (it rebinds by name).
struct ClientLink {
    rpc::Client& c;
    std::uint32_t domain = 0;
    template <typename M, typename R>
    Status call(const M& m, R& reply) {
        const Status s = c.call(m, reply);
        if (s == Status::ok && domain != 0 && !(c.connected() && c.peer_domain() == domain)) return Status::connection_lost;
        return s;
    }
};

struct Links : ReplicaState {
    unsigned index = 0, replicas = 1;
    rpc::Client backups[max_replicas];
    bool lost[max_replicas] = {};
    bool in_nameserv = false;
    std::uint64_t next_rejoin = 0;   // primary: ticks of the next attempt to bring back lost backups
    user::PendingBind rejoining[max_replicas];  // primary: a bind to a lost backup, answer not in yet
    bool rejoin_said[max_replicas] = {};        // primary: a refused rejoin was said in the log
    unsigned impostors_said = 0;                 // names held by programs that are not kvstore, said
    std::uint64_t transfer_calls = 0;  // calls of the last table transfer (rejoin or recovery)

    bool primary() const { return index == 0; }

    // Sends a write (ordered: its puts and deletes and the client's answer) to every backup, in
    // order; a backup that does not take it is marked lost and skipped from then on (said once in
    // the log).
    void replicate(const Apply& a) {
        for (unsigned r = 1; r < replicas; ++r) {
            if (lost[r]) continue;
            rpc::Client& b = backups[r];
            if (!b.connected()) {
                // Not bound at the start (it was not up within the wait): brought in by
                // rejoin_lost with the whole table, which binds without waiting. Bound here, the
                // write (and every client behind it) would wait for the bind, up to 20 s.
                user::print("kvstore: backup {} not bound yet: continuing without it until it is", r);
                lost[r] = true;
                continue;
            }
            ApplyReply ar{};
            if (const Status s = b.call(a, ar); s != Status::ok) {
                user::print("kvstore: backup {} refused write {} ({}): continuing without it", r, at.seq, to_string(s));
                lost[r] = true;
            }
        }
    }

    // Primary: every 100 ms, notices backups that ended (asked of our monitor, which hears every
    // death: no messages), whether or not a write has tried them since, and brings back lost ones
    // (a restarted one registered its name again) with the table. Until then a crash of the
    // primary would lose the writes only it holds: the window is the backup's restart plus this.
    //
    // The bind to a lost backup does not wait: it is started here and its answer looked at on
    // every pass (poll_rejoin), so the primary serves on meanwhile. It once waited two ticks and
    // gave up: under a busy TCG host the other core's monitor often answered later, and each
    // ticket given up held one of the primary's two bindings in set-up for good, so after two
    // every bind was refused busy and a backup moved off a stopped core never got the table.
    void rejoin_lost() {
        if (!primary() || replicas < 2) return;
        for (unsigned r = 1; r < replicas; ++r)
            if (rejoining[r].active()) poll_rejoin(r);
        const std::uint64_t now = user::ticks();
        if (now < next_rejoin) return;
        next_rejoin = now + 10;
        for (unsigned r = 1; r < replicas; ++r) {
            if (lost[r] || !backups[r].connected()) continue;
            if (user::alive(backups[r].peer_core(), backups[r].peer_domain()) != Status::connection_lost) continue;
            user::print("kvstore: backup {} ended: continuing without it", r);
            lost[r] = true;
        }
        for (unsigned r = 1; r < replicas; ++r) {
            if (!lost[r]) continue;
            // No answer in 3 s (its core's monitor lost the request with its core): ask afresh.
            if (rejoining[r].active() && now - rejoining[r].started_at() > 300) rejoining[r].cancel();
            if (!rejoining[r].active()) start_rejoin(r);
        }
    }
    // A bind to backup r by its name: through nameserv's address, or the monitors' table.
    void start_rejoin(unsigned r) {
        backups[r].close();
        char name[16];
        replica_name(r, name);
        Status s = Status::not_found;  // not_found while nobody holds the name: next round
        if (in_nameserv) {
            // The lookup must not hold up serving either: the session (closed while not needed)
            // is opened with a short wait, and a replica catching up (busy) is asked again next
            // round. With the defaults (30 s each) a primary whose session's bind was refused busy,
            // because its own clients' binds filled its core's monitor, stopped accepting them
            // for as long, and they piled up further.
            nameserv::Session& ns = nameserv::session();
            nameserv::Address a{};
            Status ls = ns.open(20);
            if (ls == Status::ok) ls = ns.lookup(name, a, 5);
            if (ls == Status::ok) s = rejoining[r].start_to(a.core, a.domain);
            else if (ls != Status::not_found) s = ls;
        } else {
            s = rejoining[r].start(name);
        }
        // Anything but a name not (yet) held: said once per backup, e.g. no_memory when this
        // domain spent its budget of binding rings (docs/monitors.md, "Limits").
        if (s != Status::ok && s != Status::not_found && s != Status::busy && s != Status::connection_lost &&
            s != Status::timeout && !rejoin_said[r]) {
            rejoin_said[r] = true;
            user::print("kvstore: cannot bind to backup {}: {}", r, to_string(s));
        }
    }
    void poll_rejoin(unsigned r) {
        user::Binding b{};
        const Status s = rejoining[r].poll(b);
        if (s != Status::ok) return;  // would_block: not yet; a refusal: the next round asks again
        // Bound: the backup accepts between its requests, so opening the channel waits little.
        char name[16];
        replica_name(r, name);
        if (backups[r].attach(b, 100) != Status::ok || impostor(backups[r].peer_core(), backups[r].peer_domain(), name) ||
            !catch_up(r, true)) {
            backups[r].close();
            return;
        }
        lost[r] = false;
    }
    // Primary: brings backup r (connected) to our position (ReplicaState::catch_up, history.hpp).
    // false when it refused or ended meanwhile. Runs in the primary's single thread between
    // requests: no write interleaves.
    bool catch_up(unsigned r, bool say) {
        ClientLink link{backups[r]};
        CatchUpReport rep{};
        const Status s = ReplicaState::catch_up(link, rep);
        transfer_calls = rep.calls;
        if (rep.log_failed)
            user::print("kvstore: our log did not give backup {} the writes after its write {}: sent the table", r,
                        rep.them.seq);
        if (s != Status::ok) return false;
        // At the start, said only when something was sent or a history taken over (not the
        // empty state of a fresh boot's backups).
        say = say || rep.plan == CatchUp::table || rep.sent > 0 || (rep.plan == CatchUp::rebase && fork != Position{});
        if (say && rep.plan == CatchUp::table)
            user::print("kvstore: backup {} back: sent {} keys at write {} calls={}", r, table.size(), at.seq, rep.calls);
        else if (say)
            user::print("kvstore: backup {} back: sent {} writes after its write {}{} at write {} calls={}", r, rep.sent,
                        rep.them.seq, rep.plan == CatchUp::rebase ? " (rebased)" : "", at.seq, rep.calls);
        return true;
    }
    // A restarted primary without its log: a backup holds every acknowledged write (each was
    // forwarded to every backup not given up on before it was answered), but which one is known
    // only by asking them all: a backup given up on (crashed, hung, or on a stopped core) holds
    // less, and may be the only one up. So it waits until every backup answered (those down are
    // being restarted by their monitors) and takes the fullest one's table: nothing acknowledged
    // is lost while one backup that held every write keeps its state. Backups are waited for
    // about five seconds (one whose restart budget is spent never answers); then it takes the
    // fullest of those that answered and says each one it could not ask, or, with none, starts
    // empty and says so.
    void recover() {
        for (user::Deadline limit(500);;) {
            const bool late = limit.passed();
            if (recover_once(late)) return;
            if (late) break;
            user::wait_beating();
        }
        user::print("kvstore: restarted primary reached no backup with writes: starting empty");
        begin_history(Position{});
    }
    // Primary: a new history from `from` (our state now): backups standing there are rebased onto
    // it; one holding anything else of the old history is sent the table (history.hpp).
    void begin_history(Position from) {
        ReplicaState::begin_history(from, new_history(user::syscall6(abi::Sys::domain_info).value, user::ticks(),
                                                      user::restarts()));
    }
    // The backup with the most writes (a primary that crashed while forwarding a write may have
    // reached some backups only: the write was not acknowledged, and the fullest backup's table
    // is the one every other is brought to), then its table and kept answers.
    //
    // The table and the answers must come from the one instance whose count was read: the client
    // runtime rebinds a lost connection by name, so a backup that crashes during the transfer
    // would otherwise go on answering pages from its restarted, empty instance (the K=3 fault
    // campaign found a primary that recovered 12 keys that way and lost acknowledged writes).
    // Every page must come from the same domain and carry the count read first; else try again.
    bool recover_once(bool late) {
        transfer_calls = 0;
        unsigned best = 0, answered = 0;
        bool silent[max_replicas] = {};
        std::uint64_t best_applied = 0, best_history = 0;
        std::uint32_t best_domain = 0;
        for (unsigned r = 1; r < replicas; ++r) {
            char name[16];
            replica_name(r, name);
            if (!backups[r].connected()) {
                if (nameserv::connect(backups[r], name, 20) != Status::ok) {
                    silent[r] = true;
                    continue;
                }
                if (impostor(backups[r].peer_core(), backups[r].peer_domain(), name)) {
                    backups[r].close();
                    silent[r] = true;
                    continue;
                }
            }
            StatsReply st{};
            ++transfer_calls;
            if (backups[r].call(Stats{}, st) != Status::ok) {
                backups[r].close();
                silent[r] = true;
                continue;
            }
            ++answered;
            // Not a source: a backup restarted without its log's state and not yet caught up
            // (0 writes), or one in the middle of taking a table (no history).
            if (st.applied > best_applied && st.history != 0) {
                best = r;
                best_applied = st.applied;
                best_history = st.history;
                best_domain = backups[r].peer_domain();
            }
        }
        // One that did not answer may be the only one that holds every acknowledged write.
        if (answered + 1 < replicas && !late) return false;
        if (best == 0) return false;
        for (unsigned q = 1; q < replicas; ++q)  // each one it could not ask, on a line of its own
            if (silent[q])
                user::print("kvstore: restarted primary: backup {} did not answer in 5 s: taking the fullest of the "
                            "others (writes only it holds, if any, are lost)",
                            q);
        const unsigned r = best;
        ClientLink link{backups[r], best_domain};
        if (take_table(link, Position{best_history, best_applied},
                       new_history(user::syscall6(abi::Sys::domain_info).value, user::ticks(), user::restarts()),
                       transfer_calls) != Status::ok)
            return false;
        user::print("kvstore: primary recovered {} keys and {} client answers at write {} from backup {} calls={}",
                    table.size(), sessions.size(), at.seq, r, transfer_calls);
        return true;
    }

    // A replica found by its name must run kvstore (user::runs_program): any program may register
    // a replica's name while that replica is down and answer as it. A fake backup's stats could
    // make a restarted primary without its log take its table; a fake primary's load would clear
    // a backup's. Refused when the peer's core's monitor lists it running another program; taken
    // on trust when that monitor could not be asked (its core removed: the calls fail anyway).
    // The first few are said in the log.
    bool impostor(std::uint32_t core, std::uint32_t domain, const char* name) {
        if (user::runs_program(core, domain, "kvstore") != Status::not_found) return false;
        if (impostors_said < 4) {
            ++impostors_said;
            user::print("kvstore: {} is held by core {} domain {}, which does not run kvstore: refused", name, core,
                        domain);
        }
        return true;
    }
};

} // namespace myr::kvstore
