// memserv: one instance per NUMA node, serving that node's memory pool to the domains of the
// machine as page ranges, with a quota per (core, domain) (docs/servers.md, "memserv"). It serves
// under "memserv.<node>", the node of the core it runs on; clients ask their own node's instance
// first and fall back to the nearest node by the SLIT (myr/memserv/client.hpp).
//
// Argument: bits 0-15: exit once that many client connections have closed (0: serve until
// killed; tests use it to end a run plan's `wait`); bits 16-31: the pool's size in 4 KiB pages
// (0: an empty pool, every request is refused with no_memory so clients go elsewhere); bits
// 32-47: the quota per (core, domain) in pages (0: none but the pool).
//
// A grant is a power-of-two block of the pool, aligned to its size, recorded with its holder and
// its ticket. When the pool is real RAM (kernel option memserv.pool) and this program holds the
// privilege (kernel option monitor.memserv names it), every grant is carried to the holder's
// monitor, which makes an untyped capability for it (MonitorOp::grant_ram) before the client
// hears ok; a carried grant's range goes back to the pool only once the holder's monitor said no
// capability to it is left (a reclaim at free), or the holder's death came through the death feed
// (its monitor revokes before it reports). Else (a placeholder pool at (node + 1) << 40, never
// mapped, or no privilege) grants are records only.
#include <myr/memserv/book.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/server.hpp>
#include <myr/user/args.hpp>

using namespace myr;
using namespace myr::memserv;

namespace {

abi::TopologyInfo topo;

// grant_ram through this core's monitor: polls while the holder's monitor has not answered.
// phys_bits 0: reclaim.
Status carry(std::uint32_t core, std::uint32_t domain, std::uint64_t ticket, std::uint64_t phys_bits) {
    user::Message m{};
    m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::grant_ram);
    m.w[1] = std::uint64_t{core} << 32 | domain;
    m.w[2] = ticket;
    m.w[3] = phys_bits;
    return user::remote_call(m, 100000);
}

unsigned log2(std::uint64_t v) {
    unsigned b = 0;
    while ((std::uint64_t{1} << b) < v) ++b;
    return b;
}

struct Handler {
    Book book;
    unsigned node = 0;
    bool materialize = false;  // grants become capabilities (real pool, privileged)
    std::uint64_t closed_connections = 0;
    std::uint64_t carried = 0, refused_carry = 0, reclaimed = 0, dead_freed = 0;
    const std::uint64_t* bad = nullptr;

    unsigned node_of(std::uint32_t core) const { return core < topo.cores ? topo.core_node[core] : max_nodes; }

    Status handle(const rpc::Caller& c, const Alloc& r, AllocReply& out) {
        Status s = book.alloc(c.core, c.domain, node_of(c.core), r.bytes, out);
        if (s != Status::ok || !materialize) return s;
        // The client hears ok only once its monitor holds the capability. Refused there (busy:
        // that monitor holds as many grants as it may; not_found: the client ended), nothing
        // names the range: it goes back at once and the client gets the refusal.
        s = carry(c.core, c.domain, out.ticket, out.base | log2(out.bytes));
        if (s == Status::ok) {
            book.set_materialized(out.ticket);
            ++carried;
            return s;
        }
        ++refused_carry;
        FreeReply f{};
        (void)book.free(c.core, c.domain, out.base, f);
        out = AllocReply{};
        out.node = static_cast<std::uint16_t>(node);
        return s;
    }
    Status handle(const rpc::Caller& c, const Free& r, FreeReply& out) {
        const Book::Grant* g = book.grant_at(r.base);
        if (g && g->core == c.core && g->domain == c.domain && g->materialized) {
            // The holder may not have returned it (return_ram): its monitor revokes the root now,
            // or says it is gone already; until it answered ok the range stays granted.
            const Status s = carry(c.core, c.domain, g->ticket, 0);
            if (s != Status::ok) return s;
            ++reclaimed;
        }
        return book.free(c.core, c.domain, r.base, out);
    }
    Status handle(const rpc::Caller&, const Lookup& r, LookupReply& out) { return book.lookup(r.ticket, out); }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        book.stats(out);
        out.bad = bad ? *bad : 0;
        return Status::ok;
    }
    void closed(const rpc::Caller&) { ++closed_connections; }
};

Handler handler;
rpc::Server<Interface, Handler, 14> server(handler);

// The death feed: a holder that ended has lost every capability to its grants (its monitor
// revoked them before it reported the death), so they go back to the pool.
std::uint64_t death_cursor;
void read_deaths() {
    for (unsigned n = 0; n < 16; ++n) {
        user::Death d{};
        const Status s = user::next_death(death_cursor, d);
        if (s == Status::would_block || (s != Status::ok && s != Status::overflow)) return;
        death_cursor = d.cursor;
        if (s == Status::overflow) {
            // Deaths were missed: ask about every holder (alive answers from the same record).
            for (std::size_t i = 0; i < Book::max_grants; ++i) {
                const Book::Grant& g = handler.book.grant(i);
                if (g.ticket != 0 && user::alive(g.core, g.domain) == Status::connection_lost)
                    handler.dead_freed += handler.book.free_holder(g.core, g.domain);
            }
            continue;
        }
        handler.dead_freed += handler.book.free_holder(d.core, d.domain);
    }
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    // Placed by a config's [[server]] table: the argument string (`pool_pages=P quota_pages=Q
    // exit_after=N`, each optional); started by a plan's spawn: step, the number's bit fields.
    std::uint64_t exit_after = arg & 0xffff;
    std::uint64_t pool_pages = (arg >> 16) & 0xffff;
    std::uint64_t quota_pages = (arg >> 32) & 0xffff;
    {
        char text[args::max_len + 1];
        const Result<std::uint64_t> len = user::read_args(text, sizeof text);
        if (len.ok() && *len > 0) {
            exit_after = pool_pages = quota_pages = 0;
            (void)args::number(text, *len, "exit_after", exit_after);
            (void)args::number(text, *len, "pool_pages", pool_pages);
            (void)args::number(text, *len, "quota_pages", quota_pages);
        }
    }
    const auto info = user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo);
    const std::uint32_t core = static_cast<std::uint32_t>(user::syscall6(abi::Sys::domain_info).value >> 32);
    if (info.status != Status::ok || core >= topo.cores || topo.core_node[core] >= max_nodes) {
        user::print("memserv: cannot learn this core's node: {}", to_string(info.status));
        return 1;
    }
    handler.node = topo.core_node[core];
    // The node's real pool when the boot set one aside (kernel option memserv.pool), at most the
    // size the argument asks; else a placeholder range that is never mapped (grants are records).
    std::uint64_t pool_base = (std::uint64_t{handler.node} + 1) << 40, pool_bytes = pool_pages * page;
    const bool real = topo.ram_pool_bytes[handler.node] != 0;
    if (real) {
        pool_base = topo.ram_pool_base[handler.node];
        if (pool_bytes > topo.ram_pool_bytes[handler.node]) pool_bytes = topo.ram_pool_bytes[handler.node];
    }
    handler.book.init(handler.node, pool_base, pool_bytes, quota_pages * page);
    // Whether our monitor lets us carry grants: a malformed grant_ram (ticket 0) is refused with
    // invalid_argument when we hold the privilege, permission_denied when not.
    if (real) handler.materialize = carry(core, 1, 0, 0) == Status::invalid_argument;
    char name[16];
    service_name(handler.node, name);
    if (const Status s = nameserv::publish(server, name); s != Status::ok) {
        user::print("memserv: cannot register {}: {}", name, to_string(s));
        return 1;
    }
    nameserv::session().close();  // not needed again: a connection of the node's replica, which has few
    user::print("memserv: node {} serving as {} on core {}: pool {} KiB at {:#x} ({}), quota {} KiB{}", handler.node,
                name, core, pool_bytes / 1024, pool_base, real ? "RAM" : "placeholder", quota_pages * 4,
                handler.materialize ? ", grants as capabilities" : "");
    static std::uint64_t bad = 0;
    handler.bad = &bad;
    std::uint64_t passes = 0, waited = 0;
    server.run([&] {
        bad = server.bad_requests();
        if (++passes % 32 == 0) read_deaths();
        if (exit_after == 0 || handler.closed_connections < exit_after) return false;
        // Every client closed: a client that ended holding grants is freed once its death
        // reaches us, so wait a little for the feed before counting.
        if (handler.book.live() == 0) return true;
        if (passes % 32 == 0) user::wait_event();
        return ++waited > 20000;
    });
    StatsReply st{};
    handler.book.stats(st);
    user::print("memserv node {} done: grants={} local={} remote={} refused_quota={} refused_empty={} frees={} "
                "free={} of {} bad={} valid={}",
                handler.node, st.grants, st.local, st.remote, st.refused_quota, st.refused_empty, st.frees,
                st.free_bytes, st.pool_bytes, server.bad_requests(), handler.book.valid() ? "yes" : "no");
    if (handler.materialize)
        user::print("memserv node {} caps: carried={} refused={} reclaimed={} freed-at-death={}", handler.node,
                    handler.carried, handler.refused_carry, handler.reclaimed, handler.dead_freed);
    return 0;
}
