// memserv: one instance per NUMA node, serving that node's memory pool to the domains of the
// machine as page ranges, with a quota per (core, domain) (docs/servers-memserv.md). It serves
// under "memserv.<node>", the node of the core it runs on; clients ask their own node's instance
// first and fall back to the nearest node by the SLIT (myr/memserv/client.hpp).
//
// Argument: bits 0-15: exit once that many client connections have closed (0: serve until
// killed; tests use it to end a run plan's `wait`); bits 16-31: the pool's size in 4 KiB pages
// (0: an empty pool, every request is refused with no_memory so clients go elsewhere); bits
// 32-47: the quota per (core, domain) in pages (0: none but the pool).
//
// What is granted is a range of the pool's addresses, recorded with its holder and its ticket;
// turning a grant into an untyped capability the holder can retype is not done yet (the pool is
// not carved from the node's RAM by the CPU driver yet): the pool's base is a placeholder
// address, (node + 1) << 40, unique per node, never mapped.
#include <myr/memserv/book.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/user/args.hpp>

using namespace myr;
using namespace myr::memserv;

namespace {

abi::TopologyInfo topo;

struct Handler {
    Book book;
    unsigned node = 0;
    std::uint64_t closed_connections = 0;
    const std::uint64_t* bad = nullptr;

    unsigned node_of(std::uint32_t core) const { return core < topo.cores ? topo.core_node[core] : max_nodes; }

    Status handle(const rpc::Caller& c, const Alloc& r, AllocReply& out) {
        return book.alloc(c.core, c.domain, node_of(c.core), r.bytes, out);
    }
    Status handle(const rpc::Caller& c, const Free& r, FreeReply& out) { return book.free(c.core, c.domain, r.base, out); }
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
    char name[16];
    service_name(handler.node, name);
    if (const Status s = server.start(name); s != Status::ok) {
        user::print("memserv: cannot register {}: {}", name, to_string(s));
        return 1;
    }
    user::print("memserv: node {} serving as {} on core {}: pool {} KiB at {:#x} ({}), quota {} KiB", handler.node,
                name, core, pool_bytes / 1024, pool_base, real ? "RAM" : "placeholder", quota_pages * 4);
    static std::uint64_t bad = 0;
    handler.bad = &bad;
    server.run([&] {
        bad = server.bad_requests();
        return exit_after != 0 && handler.closed_connections >= exit_after;
    });
    StatsReply st{};
    handler.book.stats(st);
    user::print("memserv node {} done: grants={} local={} remote={} refused_quota={} refused_empty={} frees={} "
                "free={} of {} bad={} valid={}",
                handler.node, st.grants, st.local, st.remote, st.refused_quota, st.refused_empty, st.frees,
                st.free_bytes, st.pool_bytes, server.bad_requests(), handler.book.valid() ? "yes" : "no");
    return 0;
}
