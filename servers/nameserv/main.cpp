// nameserv: the name service (docs/servers.md, "nameserv"). One replica per NUMA node, each
// registered in the monitors' bootstrap table as "nameserv.N". The table is a replicated object
// (repl::NameTable) under the sequencer protocol of replication/, replica 0 ordering: a change
// (register, unregister, the names of a domain that died) is submitted to this node's
// repl::Replica, whose lines travel to and from replica 0 by `exchange` calls that only the other
// replicas make. Lookups, lists and waits are answered from the caller's node's copy.
//
// Argument: replica index (= its node) in bits 0-7, number of replicas in bits 8-15 (0 means 1);
// bits 16-31: exit once that many client connections have closed (0: serve until killed; tests
// use it to end a run plan's `wait`).
#include <myr/nameserv/client.hpp>
#include <myr/nameserv/keep.hpp>
#include "recover.hpp"
#include <myr/nameserv/table.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/rpc/server.hpp>
#include <myr/user/heartbeat.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/args.hpp>
#include <myr/repl/snapshot.hpp>

#include <new>

using namespace myr;
using namespace myr::nameserv;

namespace {

Address self_address() {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    return Address{static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info)};
}

std::uint64_t now_token = 0;

constexpr std::size_t snapshot_size = repl::snapshot_bytes<Table>();
static_assert(snapshot_size <= 16 * join_page, "a join takes at most 16 pages");
std::byte join_buf[max_replicas][snapshot_size];
// A replica > 0 that lost replica 0: the table it held then, for a new replica 0 to recover
// (recover); kept until it joined a replica 0 again.
std::byte frozen_buf[snapshot_size];
// Replica 0's own clients' changes are answered once another replica holds them, or after this
// many ticks with `timeout` (the change took effect; it may not survive a stop of core 0).
constexpr std::uint64_t hold_limit = 500;

struct Handler {
    unsigned index = 0, replicas = 1;
    Address self{};
    std::uint64_t closed_connections = 0, forwarded = 0, dropped = 0, timed_out = 0;
    std::uint64_t* bad = nullptr;
    NameReplica* replica = nullptr;  // built in main once the group is

    // Replica 0: the sequencer; every other replica's line buffers; its table kept across its
    // crashes (keep.hpp), saved after every change it ordered, before anyone hears of it.
    HubTransport* hub = nullptr;
    KeptTable kept;
    std::uint64_t kept_at = 0;  // the log index the kept table holds
    Address replica_at[max_replicas] = {};
    bool replica_known[max_replicas] = {};
    bool dropped_said[max_replicas] = {};
    std::uint64_t death_cursor = 0;
    Waiting<OwnerReply> waiting;  // its own clients' changes not yet held by another replica
    std::uint64_t answered_later = 0, waited_out = 0;
    bool waiting_said = false;
    // The snapshot each joining replica reads page by page (taken at its join's first page, in
    // join_buf below: bss, not this object's data).
    std::uint32_t join_len[max_replicas] = {};
    std::uint64_t join_applied[max_replicas] = {};

    // Other replicas. `rebuild` makes the Replica afresh (before a join to a new replica 0: the
    // changes it had pending were answered `timeout` and are forgotten).
    Uplink* uplink = nullptr;
    void (*rebuild)() = nullptr;
    rpc::Client upstream;  // to "nameserv.0": exchange
    bool ready = false, stale = false;
    bool joined = false;       // took replica 0's snapshot (join), so exchanges may start
    bool agreement_said = false;  // said once that our digest equals replica 0's at an equal index
    std::uint64_t next_join_try = 0;
    std::uint32_t frozen_len = 0;  // the table we held when we lost replica 0 (frozen_buf)
    std::uint64_t frozen_applied = 0;

    bool is_hub() const { return index == 0; }
    const Table& table() const { return replica->object(); }
    bool serving() const { return is_hub() || (ready && !stale); }

    // Replica 0: what it ordered since the last save into the kept table. Called before any
    // answer that tells of a change goes out (a client's, or an exchange's reply with entries).
    void persist() {
        if (!is_hub() || !kept.attached() || replica->applied_index() == kept_at) return;
        if (const Status s = kept.save(*replica); s != Status::ok) {
            user::print("nameserv: replica 0 cannot keep its table: {}", to_string(s));
            return;
        }
        kept_at = replica->applied_index();
    }

    // Completions of changes nobody waits for any more (timed out): taken and dropped, so they
    // never hold the replica's slots.
    bool take(std::uint64_t token, Table::Result& out) {
        bool hit = false;
        repl::Completion<Table> c{};
        while (replica->take_completion(c))
            if (c.token == token) {
                out = c.result;
                hit = true;
            }
        return hit;
    }

    // Replica > 0: one exchange with replica 0 (our lines up, its lines down).
    Status pump() {
        if (!upstream.connected() || stale) return Status::connection_lost;
        static Exchange req;
        static ExchangeReply reply;
        uplink->request(req, *replica);
        const Status s = upstream.call(req, reply);
        if (s == Status::out_of_range) {
            user::print("nameserv: replica {} was dropped by replica 0 (more than {} changes waited for it): no longer serving",
                        index, hub_buffer);
            stale = true;
            return s;
        }
        if (s != Status::ok) return s;
        if (const Status ts = uplink->take(*replica, reply); ts != Status::ok) {
            user::print("nameserv: replica {} got a bad exchange reply ({})", index, to_string(ts));
            return ts;
        }
        if (uplink->caught_up) ready = true;
        return Status::ok;
    }

    // Replica > 0: exchanges until nothing waits at replica 0 (at most `rounds`). False when
    // replica 0 cannot be asked.
    bool catch_up(unsigned rounds) {
        for (unsigned r = 0; r < rounds; ++r) {
            if (pump() != Status::ok) return false;
            Table::Result ignored{};
            (void)take(0, ignored);
            if (uplink->caught_up) return true;
        }
        return true;
    }

    // A change (add, remove, drop_owner) through the replica: at replica 0 it is ordered and
    // applied at once; elsewhere the handler exchanges with replica 0 until the entry came back
    // and was applied here (so the client reads its own write from this replica).
    Status change(const Table::Op& op, Table::Result& out) {
        out = Table::Result{};
        if (!serving()) return Status::busy;
        const std::uint64_t token = ++now_token;
        if (const Status s = replica->submit(op, token); s != Status::ok) return s;
        if (is_hub()) {
            const bool done = take(token, out);
            persist();
            return done ? Status::ok : Status::internal;
        }
        ++forwarded;
        for (user::Deadline limit(2000); !limit.passed();) {
            const Status s = pump();
            if (take(token, out)) return Status::ok;
            if (stale) return Status::busy;
            // Replica 0 ended (or our link to it broke): the change was ordered or not; a new
            // replica 0 restores what it had kept, and we join it again (follow).
            if (!upstream.connected()) break;
            if (s != Status::ok && s != Status::timeout) user::wait_event();
        }
        ++timed_out;  // still pending: it takes effect when its entry arrives, nobody is told
        return Status::timeout;
    }

    Status client_change(const rpc::Caller& c, std::uint16_t code, Kind kind, const Name& name, OwnerReply& out) {
        const Address who{c.core, c.domain};
        // One change waits per connection (a client waits for its answer): a second request
        // sent meanwhile is refused before anything is applied, so no client fills the table.
        if (is_hub() && waiting.holds(c)) return Status::busy;
        Table::Op op{};
        if (const Status s = make_op(kind, name, who, op); s != Status::ok) return s;
        // A domain whose death this monitor already reported must not get a name: its death is in
        // the feed before this point, so nothing would ever remove it (replica 0 also checks
        // every add that reaches it from another replica, see exchange).
        if (kind == Kind::add && user::alive(who.core, who.domain) == Status::connection_lost) return Status::connection_lost;
        // A name held by a domain whose death our monitor reported (a restarted server taking its
        // predecessor's name before replica 0 reaped that death): the dead owner's names go
        // first, through the log like reap's, so the add does not fail with `exists`.
        if (kind == Kind::add && serving()) {
            Address old{};
            if (lookup(table(), name, old) == Status::ok && !(old == who) &&
                user::alive(old.core, old.domain) == Status::connection_lost)
                drop(old);
        }
        Table::Result r{};
        if (const Status s = change(op, r); s != Status::ok) return s;
        out.owner = address_of(r.owner);
        // Replica 0: the change is answered once another replica holds its entry, so that a new
        // replica 0 (this core stopped) recovers it from the others; until then the client
        // waits (answer_later). At once while no other replica is linked (start-up, or all of
        // them down), or when every slot waits already.
        if (is_hub()) {
            const std::uint64_t entry = replica->applied_index(), held = held_elsewhere(*hub);
            if (held != no_replica && entry > held && waiting.add(c, code, r.status, out, entry, user::ticks()) == Status::ok) {
                if (!waiting_said) {
                    waiting_said = true;
                    user::print("nameserv: replica 0 answers a change once another replica holds it (first: entry {}, held {})",
                                entry, held);
                }
                return Status::answer_later;
            }
        }
        return r.status;
    }

    Status handle(const rpc::Caller& c, const Register& r, OwnerReply& out) {
        return client_change(c, Register::op, Kind::add, r.name_, out);
    }
    Status handle(const rpc::Caller& c, const Unregister& r, OwnerReply& out) {
        return client_change(c, Unregister::op, Kind::remove, r.name_, out);
    }
    Status handle(const rpc::Caller&, const Lookup& r, OwnerReply& out) {
        if (!valid_name(r.name_)) return Status::invalid_argument;
        if (!serving()) return Status::busy;
        return lookup(table(), r.name_, out.owner);
    }
    Status handle(const rpc::Caller&, const List& r, ListReply& out) {
        if (!serving()) return Status::busy;
        list(table(), r.from, out);
        return Status::ok;
    }
    // Only replicas replica 0 found by their bootstrap names exchange lines and join; which
    // replica is the caller's address, never the request (the Replica checks the lines' `from`).
    std::uint16_t caller_replica(const rpc::Caller& c) const {
        for (unsigned i = 1; i < replicas; ++i)
            if (replica_known[i] && replica_at[i] == Address{c.core, c.domain}) return static_cast<std::uint16_t>(i);
        return 0;
    }
    Status handle(const rpc::Caller& c, const Join& r, JoinReply& out) {
        if (!is_hub()) return Status::permission_denied;
        const std::uint16_t from = caller_replica(c);
        if (from == 0) return Status::permission_denied;
        if (r.offset == 0) {
            // What we queued for that index went to an instance that is gone (or to none yet):
            // the snapshot holds all of it, and the lines start again at 1.
            dropped_said[from] = false;
            const Result<std::size_t> n = start_join(*replica, *hub, from, std::span<std::byte>(join_buf[from], snapshot_size));
            if (!n.ok()) return n.status();
            join_len[from] = static_cast<std::uint32_t>(*n);
            join_applied[from] = replica->applied_index();
            user::print("nameserv: replica {} joins on core {}: snapshot of {} names at entry {}", from, c.core, table().size(),
                        join_applied[from]);
        }
        if (join_len[from] == 0 || r.offset >= join_len[from]) return Status::out_of_range;
        const std::uint32_t n = join_len[from] - r.offset < join_page ? join_len[from] - r.offset : join_page;
        out.applied = join_applied[from];
        out.total = join_len[from];
        (void)out.bytes.assign(join_buf[from] + r.offset, n);
        return Status::ok;
    }
    Status handle(const rpc::Caller& c, const Exchange& r, ExchangeReply& out) {
        if (!is_hub()) return Status::permission_denied;
        const std::uint16_t from = caller_replica(c);
        if (from == 0) return Status::permission_denied;
        const Status s = serve_exchange(*replica, *hub, from, r, out, [&](const Line& l) {
            // An add from another replica's client whose death our monitor already reported:
            // ordered now, so its drop must follow it (the feed will not report it again).
            if (l.type != static_cast<std::uint8_t>(repl::Kind::seq_request)) return;
            std::uint64_t body[repl::op_words];
            for (std::size_t i = 0; i < repl::op_words; ++i) body[i] = l.w[3 + i];
            const auto op = repl::from_words<Table::Op>(body);
            if (op.kind == Kind::add && user::alive(op.core, op.domain) == Status::connection_lost)
                drop(Address{op.core, op.domain});
        });
        persist();  // the reply carries the entries just ordered
        if (s == Status::out_of_range && !dropped_said[from]) {
            dropped_said[from] = true;
            user::print("nameserv: replica {} dropped: more than {} changes waited for it", from, hub_buffer);
        }
        return s;
    }
    // Replica > 0: the table it held when it lost replica 0, for a new replica 0 that has no kept
    // table (moved off a stopped core). Read-only (names and owners, as list gives anyone), and
    // frozen until we join a replica 0 again, so a reader cannot disturb another.
    Status handle(const rpc::Caller&, const Recover& r, JoinReply& out) {
        if (is_hub()) return Status::permission_denied;
        if (frozen_len == 0) return joined ? Status::busy : Status::not_found;
        if (r.offset >= frozen_len) return Status::out_of_range;
        const std::uint32_t n = frozen_len - r.offset < join_page ? frozen_len - r.offset : join_page;
        out.applied = frozen_applied;
        out.total = frozen_len;
        (void)out.bytes.assign(frozen_buf + r.offset, n);
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Hello&, rpc::Empty&) {
        if (is_hub()) return Status::permission_denied;
        return Status::ok;  // no longer sent by replica 0 (it finds replicas by their bootstrap names)
    }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        out = {table().size(), replica->applied_index(), table().digest(), bad ? *bad : 0, forwarded,
               is_hub() ? 0 : uplink->diverged, serving()};
        return Status::ok;
    }
    void closed(const rpc::Caller& c) {
        ++closed_connections;
        waiting.forget(c);
    }

    // ---- Background work between passes ----

    // Replica 0: learn each replica's address from its bootstrap name in the monitors' table
    // (MonitorOp::server_info answers the exporter: one local call, no binding); exchange is
    // accepted from that address only. It used to bind to each replica and call hello, which
    // blocked replica 0 (and every lookup of its node) while a replica was itself blocked
    // connecting to replica 0.
    void find_replicas() {
        for (unsigned r = 1; r < replicas; ++r) {
            // An instance that ended (crashed, or its core stopped): its successor, restarted or
            // moved by its monitor, registers the bootstrap name again and joins afresh.
            if (replica_known[r] && user::alive(replica_at[r].core, replica_at[r].domain) == Status::connection_lost) {
                replica_known[r] = false;
                join_len[r] = 0;
                hub->peers[r].linked = false;  // holds nothing for us any more
                user::print("nameserv: replica {} on core {} ended: waiting for its successor", r, replica_at[r].core);
            }
            if (replica_known[r]) continue;
            char name[16];
            replica_name(r, name);
            if (user::exporter(name, replica_at[r].core, replica_at[r].domain) != Status::ok) continue;  // not yet
            replica_known[r] = true;
        }
    }

    void drop(Address who) {
        if (!table().holds_names_of(owner_of(who))) return;
        Table::Result r{};
        if (change(Table::drop_owner(owner_of(who)), r) == Status::ok && r.status == Status::ok) ++dropped;
    }

    // Replica 0: the names of every owner our monitor knows to have ended go, through the log.
    void reap_all() {
        for (std::uint32_t slot = 0; slot < Table::capacity; ++slot) {
            const char* bytes = nullptr;
            std::size_t length = 0;
            Table::Owner o{};
            if (table().at(slot, bytes, length, o) && user::alive(o.core, o.domain) == Status::connection_lost)
                drop(address_of(o));
        }
    }

    // Replica 0: the names of every domain whose death reached our monitor go, through the log.
    void reap() {
        for (unsigned n = 0; n < 64; ++n) {
            user::Death d{};
            const Status s = user::next_death(death_cursor, d);
            if (s == Status::would_block) return;
            if (s == Status::overflow) {
                // Deaths were missed: ask the monitor about every owner instead.
                death_cursor = d.cursor;
                reap_all();
                continue;
            }
            if (s != Status::ok) return;
            death_cursor = d.cursor;
            if (d.domain == abi::all_domains) {
                // A whole core stopped (removed from the membership): every owner on it goes.
                for (std::uint32_t slot = 0; slot < Table::capacity; ++slot) {
                    const char* bytes = nullptr;
                    std::size_t length = 0;
                    Table::Owner o{};
                    if (table().at(slot, bytes, length, o) && o.core == d.core) drop(address_of(o));
                }
                continue;
            }
            drop(Address{d.core, d.domain});
        }
    }

    // Replica > 0: connect to replica 0 from the first pass on (before clients come: connecting
    // only after replica 0's hello put it in the middle of the boot's storm of client binds to
    // core 0, whose monitor then had no slots for rings in transit for tens of seconds); exchange
    // what is new (replica 0 refuses exchanges until it has found our bootstrap name in the
    // monitors' table: we try again). A connect that fails is tried again a second later. Each try
    // waits the full 20 s: one given up halfway leaves its rings in transit at replica 0's monitor.
    void follow() {
        if (!upstream.connected() && joined) {
            // Replica 0 ended (a crash: its restarted instance serves the table it kept) or our
            // link broke: its new instance numbers our lines afresh, so we join it again, with a
            // Replica rebuilt (the changes pending here were answered `timeout`).
            user::print("nameserv: replica {} lost replica 0: joining it again", index);
            // What we held, for a new replica 0 without a kept table (recover).
            const Result<std::size_t> n = replica->snapshot(std::span<std::byte>(frozen_buf, snapshot_size));
            frozen_len = n.ok() ? static_cast<std::uint32_t>(*n) : 0;
            frozen_applied = replica->applied_index();
            joined = false;
            ready = false;
            agreement_said = false;
            rebuild();
        }
        if (!upstream.connected()) {
            const std::uint64_t now = user::ticks();
            if (now < next_upstream_try) return;
            // Not while nobody exports the name (a new replica 0 recovering from us first): a
            // connect would wait for it, and we would answer no recover meanwhile.
            std::uint32_t core0 = 0, domain0 = 0;
            if (joined_once && (user::exporter("nameserv.0", core0, domain0) != Status::ok ||
                                user::alive(core0, domain0) == Status::connection_lost)) {
                next_upstream_try = now + 10;
                return;
            }
            if (const Status s = upstream.connect("nameserv.0"); s != Status::ok) {
                next_upstream_try = now + 100;
                if (upstream_failures++ == 0)
                    user::print("nameserv: replica {} cannot reach replica 0 yet ({}): trying again every second", index,
                                to_string(s));
                return;
            }
            if (upstream_failures) user::print("nameserv: replica {} reached replica 0 after {} tries", index, upstream_failures + 1);
        }
        if (!joined && !join()) return;
        (void)catch_up(2);
        if (!agreement_said && uplink->compared > 0) {
            agreement_said = true;
            user::print("nameserv: replica {} {} replica 0 at entry {} ({} names)", index,
                        uplink->diverged ? "DIFFERS from" : "agrees with", replica->applied_index(), table().size());
        }
    }

    // Replica > 0, before its first exchange: replica 0's table as a snapshot, page by page
    // (join); then the entries ordered after it come by exchange. Refused (permission_denied)
    // until replica 0 found our bootstrap name: tried again every 100 ms.
    bool join() {
        const std::uint64_t now = user::ticks();
        if (now < next_join_try) return false;
        next_join_try = now + 10;
        static std::byte buf[snapshot_size];
        std::uint32_t total = 0;
        std::uint64_t applied = 0, calls = 0;
        for (std::uint32_t off = 0; off == 0 || off < total;) {
            JoinReply page{};
            ++calls;
            if (const Status s = upstream.call(Join{off}, page); s != Status::ok) return false;
            if (off == 0) {
                total = page.total;
                applied = page.applied;
            }
            if (page.total != total || page.applied != applied || total > sizeof buf || page.bytes.size == 0 ||
                page.bytes.size > total - off)
                return false;  // not the snapshot we started with: from the top next time
            for (std::uint16_t i = 0; i < page.bytes.size; ++i) buf[off + i] = static_cast<std::byte>(page.bytes.data[i]);
            off += page.bytes.size;
        }
        if (const Status s = finish_join(*replica, *uplink, std::span<const std::byte>(buf, total)); s != Status::ok) {
            user::print("nameserv: replica {} refused replica 0's snapshot: {}", index, to_string(s));
            return false;
        }
        joined = true;
        joined_once = true;
        frozen_len = 0;  // the replica 0 we joined holds it all
        user::print("nameserv: replica {} joined at entry {}: {} names in {} calls", index, applied, table().size(), calls);
        return true;
    }
    std::uint64_t next_upstream_try = 0, upstream_failures = 0;
    bool joined_once = false;

    void background() {
        if (is_hub()) {
            find_replicas();
            reap();
        } else {
            follow();
        }
    }
};

Handler handler;
// 16 connections: 3 slots each of the 56 a domain has past the fixed ones, 3 for page tables over
// the ring window, 4 for a replica's own link to replica 0. Replica 0 needs one per other replica
// (7 on 8s8c), one per server of node 0 that registers names (kvstore, memserv, procserv) and
// the sessions of node 0's clients.
rpc::Server<Interface, Handler, 16> server(handler);

// Replica 0: answers its clients' changes that another replica now holds (or that waited too
// long: `timeout`). After every pass: an exchange may have told us a replica applied more.
void answer_waiting() {
    if (!handler.is_hub() || handler.waiting.size() == 0) return;
    handler.waiting.release(held_elsewhere(*handler.hub), user::ticks(), hold_limit, [](const auto& e, Status s) {
        if (s == Status::timeout) ++handler.waited_out;
        else ++handler.answered_later;
        if (e.op == Register::op) (void)server.answer<Register>(e.caller, s, e.reply);
        else (void)server.answer<Unregister>(e.caller, s, e.reply);
    });
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    // Placed by a config's [[server]] table: `replica=I replicas=K [exit_after=N]` (docs/servers.md).
    char text[args::max_len + 1];
    const Result<std::uint64_t> len = user::read_args(text, sizeof text);
    if (len.ok() && *len > 0) {
        std::uint64_t index = 0, replicas = 1, exit_after = 0;
        (void)args::number(text, *len, "replica", index);
        (void)args::number(text, *len, "replicas", replicas);
        (void)args::number(text, *len, "exit_after", exit_after);
        arg = (index & 0xff) | (replicas & 0xff) << 8 | (exit_after & 0xffff) << 16;
    }
    handler.index = static_cast<unsigned>(arg & 0xff);
    handler.replicas = static_cast<unsigned>((arg >> 8) & 0xff);
    if (handler.replicas == 0) handler.replicas = 1;
    handler.self = self_address();
    if (handler.replicas > max_replicas || handler.index >= handler.replicas) {
        user::print("nameserv: bad argument {:#x}: replica {} of {} (at most {} replicas)", arg, handler.index,
                    handler.replicas, max_replicas);
        return 1;
    }
    // The replicated table: the group of replicas (flat, replica 0 ordering), the transport for
    // this side of the link, and the Replica itself.
    alignas(GroupSetup) static unsigned char setup_mem[sizeof(GroupSetup)];
    GroupSetup& setup = *new (setup_mem) GroupSetup();
    if (const Status s = setup.build(handler.replicas); s != Status::ok) {
        user::print("nameserv: no replication group for {} replicas: {}", handler.replicas, to_string(s));
        return 1;
    }
    // Built here, not as static objects: their constructors (vtable pointers, initialised members)
    // would put the whole buffers in the image's data (300 KiB) instead of bss.
    alignas(HubTransport) static unsigned char hub_mem[sizeof(HubTransport)];
    alignas(Uplink) static unsigned char uplink_mem[sizeof(Uplink)];
    alignas(NameReplica) static unsigned char replica_mem[sizeof(NameReplica)];
    repl::Transport* transport = nullptr;
    if (handler.is_hub()) {
        handler.hub = new (hub_mem) HubTransport();
        handler.hub->count = handler.replicas;
        transport = handler.hub;
    } else {
        handler.uplink = new (uplink_mem) Uplink();
        transport = &handler.uplink->transport;
    }
    handler.replica = new (replica_mem) NameReplica(setup.group, static_cast<std::uint16_t>(handler.index), *transport);
    static repl::Group* group = &setup.group;
    static repl::Transport* own_transport = transport;
    handler.rebuild = [] {
        handler.replica->~NameReplica();
        handler.replica = new (replica_mem) NameReplica(*group, static_cast<std::uint16_t>(handler.index), *own_transport);
    };
    // Replica 0 keeps its table in its kept memory (docs/monitors.md, "Kept memory": only a
    // supervised instance, one with a restart policy, has some) and a restarted instance takes it
    // back before it serves. Without it (not supervised, or no room on this core) a restarted
    // replica 0 starts empty, as every replica 0 did before.
    const bool restarted = user::restarts() > 0;
    bool recovered = false;
    if (handler.is_hub()) {
        std::uint64_t bits = abi::kept_min_bits;
        while ((std::uint64_t{1} << bits) < KeptTable::bytes) ++bits;
        user::KeptBlock block{};
        const Status ks = rpc::map_kept(bits, block);
        if (ks == Status::ok && handler.kept.attach(std::span<std::byte>(reinterpret_cast<std::byte*>(block.base), block.size))) {
            if (!block.fresh && handler.kept.load(*handler.replica) == Status::ok) {
                recovered = true;
                handler.kept_at = handler.replica->applied_index();
                user::print("nameserv: replica 0 recovered {} names at entry {} from its kept table (generation {})",
                            handler.table().size(), handler.kept_at, handler.kept.generation());
            }
        } else if (restarted) {
            user::print("nameserv: replica 0 has no kept table ({}): its names live in its memory only", to_string(ks));
        }
        // No kept table (moved off a stopped core, or none could be read): the other replicas
        // hold every change anyone was answered.
        if (restarted && !recovered && handler.replicas > 1) {
            recovered = recover_from_replicas(*handler.replica, handler.replicas);
            if (recovered) handler.persist();
        }
        if (restarted && !recovered) user::print("nameserv: replica 0 restarted without a kept table: starting empty");
    }
    char name[16];
    replica_name(handler.index, name);
    if (const Status s = server.start(name); s != Status::ok) {
        user::print("nameserv: cannot register {}: {}", name, to_string(s));
        return 1;
    }
    if (handler.is_hub()) {
        // A recovered table may name domains that died while no replica 0 read the death feed
        // (our predecessor among them, under "nameserv"): ask the monitor about every owner.
        if (recovered) {
            const std::uint64_t before = handler.dropped;
            handler.reap_all();
            user::print("nameserv: replica 0 dropped the names of {} owners that ended meanwhile",
                        handler.dropped - before);
        }
        // The service itself is a name too: clients find it through nameserv like any other.
        Table::Result ignored{};
        (void)handler.change(Table::add("nameserv", owner_of(handler.self)), ignored);
    }
    user::print("nameserv: replica {} of {} serving as {} on core {} node {}", handler.index, handler.replicas, name,
                handler.self.core, my_node());
    static std::uint64_t bad = 0;
    handler.bad = &bad;
    const std::uint64_t exit_after = (arg >> 16) & 0xffff;
    for (std::uint64_t idle = 0, passes = 0;; ++passes) {
        bad = server.bad_requests();
        if (exit_after != 0 && handler.closed_connections >= exit_after) break;
        idle = server.poll() ? 0 : idle + 1;
        answer_waiting();
        // Background work costs monitor calls: when idle, and every 256 busy passes; a replica > 0
        // catches up every 16 (its node's clients waiting for a name keep it busy with lookups
        // that only the entries from replica 0 can answer: at 256 a name took 30 s to arrive on
        // 8s8c while seven clients polled for it).
        if (idle > 200 || (passes & (handler.is_hub() ? 255 : 15)) == 0) {
            handler.background();
            if (idle > 200 && !server.accept()) user::wait_event();  // a new client first: see it now
        }
    }
    const repl::ReplicaStats& rs = handler.replica->stats();
    if (!handler.is_hub()) {
        // Everything replica 0 had when last asked; the digests compared at equal log indexes
        // (replica 0 may order more afterwards, e.g. the drops of clients that just ended).
        Uplink& uplink = *handler.uplink;
        const bool complete = handler.catch_up(64) && uplink.caught_up;
        const bool same_now = handler.replica->applied_index() == uplink.upstream_applied;
        user::print("nameserv-replica {} applied={} diverged={} agree={}", handler.index, handler.replica->applied_index(),
                    uplink.diverged, complete && same_now && uplink.compared > 0 && uplink.diverged == 0 ? "yes" : "no");
        handler.upstream.close();
    }
    user::print("nameserv: replica {} done: {} requests, {} bad, {} names, {} forwarded, {} dropped by deaths, {} lines "
                "sent, {} refused, {} send failures, {} timed out, {} answered once held elsewhere, {} waited out",
                handler.index, server.served(), server.bad_requests(), handler.table().size(), handler.forwarded,
                handler.dropped, rs.sent, rs.rejected, rs.send_failures, handler.timed_out, handler.answered_later,
                handler.waited_out);
    return 0;
}
