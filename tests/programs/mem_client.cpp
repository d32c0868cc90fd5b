// memserv client test (`memclient`, docs/servers-memserv.md). Argument 0 (a plain client): four
// grants of 8 KiB from its own node's instance, or the nearest node's by the SLIT when that pool
// is empty; checks each (page aligned, the size asked, disjoint, the ticket names this domain),
// then what must be refused: a size of 0, a ticket never issued, a free of an address it was not
// granted and a double free (never ok, whoever holds it), a truncated request (bad_request, and the
// connection still works). Prints which node served it.
// Argument 1 | quota_pages << 16 (the greedy client): takes 16 KiB grants until refused; the
// refusal must be the quota's (permission_denied) after exactly quota / 16 KiB grants, while the
// pool still has room; after one free it is served again.
#include <myr/memserv/client.hpp>

using namespace myr;
using namespace myr::memserv;

namespace {

std::uint32_t core, domain;
unsigned failures;
Allocator mem;

void expect(bool ok, const char* what, Status s = Status::ok) {
    if (ok) return;
    ++failures;
    user::print("test-fail: memclient core {}: {} (status: {})", core, what, to_string(s));
}

int plain() {
    constexpr unsigned n = 4;
    AllocReply g[n] = {};
    for (unsigned i = 0; i < n; ++i) {
        const Status s = mem.alloc(2 * page, g[i]);
        expect(s == Status::ok, "alloc of 8 KiB", s);
        if (s != Status::ok) return 1;
        expect(g[i].base % page == 0 && g[i].bytes == 2 * page && g[i].ticket != 0, "a grant is aligned and sized");
        expect(g[i].node == g[0].node, "every grant comes from the same node (the pools are sized so)");
        for (unsigned j = 0; j < i; ++j)
            expect(g[i].base + g[i].bytes <= g[j].base || g[j].base + g[j].bytes <= g[i].base, "grants are disjoint");
    }
    Status why = Status::ok;
    rpc::Client* srv = mem.connection(g[0].node, why);
    rpc::Client* home = mem.connection(mem.home(), why);
    if (!srv || !home) {
        expect(false, "connections to the serving and the home instance", why);
        return 1;
    }
    LookupReply l{};
    Status s = srv->call(Lookup{g[1].ticket}, l);
    expect(s == Status::ok && l.base == g[1].base && l.bytes == g[1].bytes && l.core == core && l.domain == domain,
           "the ticket names this domain's grant", s);
    s = srv->call(Lookup{g[1].ticket + 1000}, l);
    expect(s == Status::not_found, "a ticket never issued is not_found", s);
    AllocReply z{};
    s = srv->call(Alloc{0}, z);
    expect(s == Status::invalid_argument, "a grant of 0 bytes is invalid_argument", s);

    // Every page of the pool's first 64 KiB that is not ours: a free must never succeed.
    FreeReply f{};
    unsigned denied = 0;
    // The serving instance's pool: real RAM (kernel option memserv.pool) or its placeholder range.
    StatsReply ps{};
    s = srv->call(Stats{}, ps);
    expect(s == Status::ok && g[0].base >= ps.pool_base && g[0].base < ps.pool_base + ps.pool_bytes,
           "the grant lies in the instance's pool", s);
    const std::uint64_t pool = ps.pool_base;
    for (std::uint64_t a = pool; a < pool + 16 * page; a += page) {
        bool ours = false;
        for (const AllocReply& x : g) ours = ours || (a >= x.base && a < x.base + x.bytes);
        if (ours) continue;
        s = srv->call(Free{a}, f);
        expect(s == Status::not_found || s == Status::permission_denied, "a free of an address not granted to us", s);
        denied += s == Status::permission_denied ? 1 : 0;
    }
    s = srv->call(Free{g[2].base + page}, f);
    expect(s == Status::not_found, "a free inside a grant (not its start) is not_found", s);

    // A truncated Alloc (its u64 cut to 3 bytes): bad_request, and the connection still works.
    std::uint8_t frame[rpc::max_frame] = {};
    std::size_t len = 0;
    const Alloc a{page};
    (void)rpc::encode_frame(rpc::FrameHeader{900, Alloc::op, 0}, &a, frame, len);
    rpc::FrameHeader h{};
    s = home->call_raw(std::span<const std::uint8_t>(frame, len - 5), h);
    expect(s == Status::ok && h.status == static_cast<std::int16_t>(Status::bad_request), "a truncated alloc is bad_request", s);
    StatsReply st{};
    s = home->call(Stats{}, st);
    expect(s == Status::ok && st.node == mem.home(), "stats from the home instance after a bad request", s);

    for (const AllocReply& x : g) {
        s = mem.free(x, f);
        expect(s == Status::ok && f.bytes == x.bytes, "free of a grant", s);
    }
    // Never ok; not_found, or permission_denied when another domain has meanwhile been granted
    // the same range (first fit hands freed ranges out again at once).
    s = mem.free(g[0], f);
    expect(s == Status::not_found || s == Status::permission_denied, "a double free never succeeds", s);
    if (failures) return 1;
    user::print("test-pass: memclient core {} home {} served-by {} denied={}", core, mem.home(), g[0].node, denied);
    return 0;
}

int greedy(std::uint64_t quota_pages) {
    constexpr std::uint64_t chunk = 4 * page;
    constexpr unsigned cap = 64;
    AllocReply g[cap] = {};
    unsigned held = 0;
    Status s = Status::ok;
    while (held < cap) {
        s = mem.alloc(chunk, g[held]);
        if (s != Status::ok) break;
        ++held;
    }
    const std::uint64_t want = quota_pages * page / chunk;
    expect(s == Status::permission_denied && held == want, "the quota refuses after exactly quota / 16 KiB grants", s);
    AllocReply again{};
    s = mem.alloc(chunk, again);
    expect(s == Status::permission_denied, "still refused", s);
    FreeReply f{};
    if (held > 0) {
        s = mem.free(g[held - 1], f);
        expect(s == Status::ok, "free one grant", s);
        s = mem.alloc(chunk, g[held - 1]);
        expect(s == Status::ok, "served again once under the quota", s);
    }
    for (unsigned i = 0; i < held; ++i) {
        s = mem.free(g[i], f);
        expect(s == Status::ok, "free", s);
    }
    if (failures) return 1;
    user::print("test-pass: memgreedy core {} home {} held={} refused=quota", core, mem.home(), held);
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    core = static_cast<std::uint32_t>(info >> 32);
    domain = static_cast<std::uint32_t>(info);
    if (const Status s = mem.init(); s != Status::ok) {
        user::print("test-fail: memclient core {}: topology: {}", core, to_string(s));
        return 1;
    }
    const int rc = (arg & 0xff) == 1 ? greedy((arg >> 16) & 0xffff) : plain();
    mem.close();
    return rc;
}
