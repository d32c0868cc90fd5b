// nameserv: the name service (docs/servers.md, "nameserv"). One replica per NUMA node, each
// registered in the monitors' bootstrap table as "nameserv.N". Replica 0 is the orderer: it
// applies every change (register, unregister, the names of a domain that died) to its table,
// numbers it and keeps it in a log; the other replicas pull that log in order and apply it, and
// forward their clients' changes to the orderer. Lookups, lists and waits are answered by the
// caller's node's replica.
//
// Argument: replica index (= its node) in bits 0-7, number of replicas in bits 8-15 (0 means 1);
// bits 16-31: exit once that many client connections have closed (0: serve until killed; tests
// use it to end a run plan's `wait`).
#include <myr/nameserv/client.hpp>
#include <myr/nameserv/table.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/args.hpp>

using namespace myr;
using namespace myr::nameserv;

namespace {

Address self_address() {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    return Address{static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info)};
}

struct Handler {
    unsigned index = 0, replicas = 1;
    Address self{};
    std::uint64_t closed_connections = 0, forwarded = 0, dropped = 0;
    std::uint64_t* bad = nullptr;

    // Orderer (replica 0).
    Orderer orderer;
    Address replica_at[max_replicas] = {};
    bool replica_known[max_replicas] = {};
    bool replica_lost[max_replicas] = {};
    std::uint64_t death_cursor = 0;

    // Other replicas.
    Follower follower;
    rpc::Client upstream;  // to "nameserv.0": forward, fetch
    bool hello = false, ready = false, stale = false;

    bool is_orderer() const { return index == 0; }
    const Table& table() const { return is_orderer() ? orderer.table() : follower.table(); }
    bool serving() const { return is_orderer() || (ready && !stale); }

    // Orderer: one change; logs it when it changed the table.
    Status order(const Update& u, Address& owner, std::uint64_t& seq) {
        // A domain whose death this monitor already reported must not get a name: its death is in
        // the feed before this point, so nothing would ever remove it.
        if (u.kind == Kind::add && user::alive(u.owner.core, u.owner.domain) == Status::connection_lost) {
            seq = 0;
            return Status::connection_lost;
        }
        return orderer.order(u, owner, seq);
    }

    // Replica: pulls the orderer's log, at most `pages` pages, until it has everything the orderer
    // had when asked. False when the orderer cannot be asked or we fell out of its log.
    bool catch_up(unsigned pages) {
        if (!upstream.connected() || stale) return false;
        for (unsigned p = 0; p < pages; ++p) {
            const std::uint64_t from = follower.applied() + 1;
            FetchReply page{};
            const Status s = upstream.call(Fetch{from}, page);
            if (s == Status::out_of_range) {
                user::print("nameserv: replica {} fell out of the orderer's log at {} (newest {}): no longer serving", index,
                            from, page.last);
                stale = true;
                return false;
            }
            if (s != Status::ok) return false;
            if (follower.apply_page(from, page) != Status::ok) return false;
            if (follower.caught_up()) {
                ready = true;
                return true;
            }
        }
        return true;
    }

    // A change asked by a client of this replica (owner = the client).
    Status change(Kind kind, const Name& name, const Address& who, OwnerReply& out) {
        const Update u{kind, name, who};
        if (is_orderer()) {
            std::uint64_t seq = 0;
            return order(u, out.owner, seq);
        }
        if (!serving() || !upstream.connected()) return Status::busy;
        ForwardReply fr{};
        if (const Status s = upstream.call(Forward{u}, fr); s != Status::ok) return s == Status::timeout ? Status::busy : s;
        ++forwarded;
        out.owner = fr.owner;
        // Read your writes: answer once this replica applied the change.
        while (fr.seq != 0 && follower.applied() < fr.seq)
            if (!catch_up(4)) return Status::busy;
        return static_cast<Status>(fr.result);
    }

    Status handle(const rpc::Caller& c, const Register& r, OwnerReply& out) {
        if (!valid_name(r.name_)) return Status::invalid_argument;
        return change(Kind::add, r.name_, Address{c.core, c.domain}, out);
    }
    Status handle(const rpc::Caller& c, const Unregister& r, OwnerReply& out) {
        if (!valid_name(r.name_)) return Status::invalid_argument;
        return change(Kind::remove, r.name_, Address{c.core, c.domain}, out);
    }
    Status handle(const rpc::Caller&, const Lookup& r, OwnerReply& out) {
        if (!serving()) return Status::busy;
        return table().lookup(r.name_, out.owner);
    }
    Status handle(const rpc::Caller&, const List& r, ListReply& out) {
        if (!serving()) return Status::busy;
        table().list(r.from, out);
        return Status::ok;
    }
    Status handle(const rpc::Caller& c, const Forward& r, ForwardReply& out) {
        if (!is_orderer()) return Status::permission_denied;
        // Only replicas the orderer reached by their bootstrap name speak for other domains.
        bool from_replica = false;
        for (unsigned i = 1; i < replicas; ++i)
            from_replica |= replica_known[i] && replica_at[i] == Address{c.core, c.domain};
        if (!from_replica || r.update.kind == Kind::drop_owner) return Status::permission_denied;
        if (!valid_name(r.update.name_)) return Status::invalid_argument;
        out.result = static_cast<std::int32_t>(order(r.update, out.owner, out.seq));
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Fetch& r, FetchReply& out) {
        if (!is_orderer()) return Status::permission_denied;
        return orderer.fetch(r.from, out);
    }
    Status handle(const rpc::Caller&, const Hello&, rpc::Empty&) {
        if (is_orderer()) return Status::permission_denied;
        hello = true;  // a hint only: connecting to "nameserv.0" reaches the real orderer anyway
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        out = {table().size(), is_orderer() ? orderer.last() : follower.applied(), table().digest(), bad ? *bad : 0,
               forwarded, follower.diverged(), serving()};
        return Status::ok;
    }
    void closed(const rpc::Caller&) { ++closed_connections; }

    // ---- Background work between passes ----

    // Orderer: reach each replica by its bootstrap name once it exists; say hello (then it may
    // connect back) and remember its address (Forward is accepted from it only).
    void find_replicas() {
        for (unsigned r = 1; r < replicas; ++r) {
            if (replica_known[r] || replica_lost[r]) continue;
            char name[16];
            replica_name(r, name);
            user::Binding b{};
            const Status s = user::bind(name, b, 2000);
            if (s == Status::not_found) continue;  // not started yet
            rpc::Client c;
            rpc::Empty none{};
            Status hs = s == Status::ok ? c.attach(b) : s;
            if (hs == Status::ok) hs = c.call(Hello{}, none);
            c.close();
            if (hs != Status::ok) {
                user::print("nameserv: replica {} unreachable ({}): continuing without it", r, to_string(hs));
                replica_lost[r] = true;
                continue;
            }
            replica_at[r] = Address{static_cast<std::uint32_t>(b.peer_core), static_cast<std::uint32_t>(b.peer_domain)};
            replica_known[r] = true;
        }
    }

    void drop(Address who) {
        if (!orderer.table().holds_names_of(who)) return;
        Address ignored{};
        std::uint64_t seq = 0;
        if (orderer.order(Update{Kind::drop_owner, Name{}, who}, ignored, seq) == Status::ok) ++dropped;
    }

    // Orderer: the names of every domain whose death reached our monitor go, through the log.
    void reap() {
        for (unsigned n = 0; n < 64; ++n) {
            user::Death d{};
            const Status s = user::next_death(death_cursor, d);
            if (s == Status::would_block) return;
            if (s == Status::overflow) {
                // Deaths were missed: ask the monitor about every owner instead.
                death_cursor = d.cursor;
                for (std::uint32_t slot = 0; slot < Table::capacity; ++slot) {
                    Address a{};
                    if (orderer.table().owner_at(slot, a) && user::alive(a.core, a.domain) == Status::connection_lost) drop(a);
                }
                continue;
            }
            if (s != Status::ok) return;
            death_cursor = d.cursor;
            drop(Address{d.core, d.domain});
        }
    }

    // Replica: connect back after the orderer's hello; pull what is new.
    void follow() {
        if (hello && !upstream.connected()) {
            if (const Status s = upstream.connect("nameserv.0"); s != Status::ok) {
                user::print("nameserv: replica {} cannot reach the orderer: {}", index, to_string(s));
                hello = false;
                return;
            }
        }
        (void)catch_up(2);
    }

    void background() {
        if (is_orderer()) {
            find_replicas();
            reap();
        } else {
            follow();
        }
    }
};

Handler handler;
rpc::Server<Interface, Handler, 14> server(handler);

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
    char name[16];
    replica_name(handler.index, name);
    if (const Status s = server.start(name); s != Status::ok) {
        user::print("nameserv: cannot register {}: {}", name, to_string(s));
        return 1;
    }
    if (handler.is_orderer()) {
        // The service itself is a name too: clients find it through nameserv like any other.
        Name self_name{};
        (void)self_name.assign_cstr("nameserv");
        Address ignored{};
        std::uint64_t seq = 0;
        (void)handler.orderer.order(Update{Kind::add, self_name, handler.self}, ignored, seq);
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
        // Background work costs monitor calls: when idle, and every 256 busy passes.
        if (idle > 200 || (passes & 255) == 0) {
            handler.background();
            if (idle > 200) user::wait_event();
        }
    }
    if (!handler.is_orderer()) {
        // Everything the orderer had logged when last asked, checked digest by digest (the
        // orderer may log more afterwards, e.g. the names of clients that just ended).
        const bool complete = handler.catch_up(64) && handler.follower.caught_up();
        user::print("nameserv-replica {} applied={} diverged={} agree={}", handler.index, handler.follower.applied(),
                    handler.follower.diverged(), complete && handler.follower.diverged() == 0 ? "yes" : "no");
        handler.upstream.close();
    }
    user::print("nameserv: replica {} done: {} requests, {} bad, {} names, {} forwarded, {} dropped by deaths", handler.index,
                server.served(), server.bad_requests(), handler.table().size(), handler.forwarded, handler.dropped);
    return 0;
}
