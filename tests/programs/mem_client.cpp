// memserv client test (`memclient`, docs/servers.md, "memserv"). Argument 0 (a plain client): four
// grants of 8 KiB from its own node's instance, or the nearest node's by the SLIT when that pool
// is empty; checks each (page aligned, the size asked, disjoint, the ticket names this domain),
// then what must be refused: a size of 0, a ticket never issued, a free of an address it was not
// granted and a double free (never ok, whoever holds it), a truncated request (bad_request, and the
// connection still works). Prints which node served it.
// Argument bit 8 (caps: the serving instance carries grants as capabilities): each grant is also
// memory: its untyped capability is taken from this core's monitor (a second take and another
// ticket: not_found), a 4 KiB frame retyped from it, mapped, written and read back; one grant is
// returned (return_ram) and its capabilities must be gone, one is freed at memserv without
// returning it and its capabilities must be gone all the same (memserv reclaims before reuse).
// Bit 9 (hold): keeps its grants a while before the checks that free them (memforge, on the same
// core, must find them). Argument 2 (the leaver): takes two grants as memory, writes them, closes its connections and
// exits holding them: memserv must get them back from the death feed (its free bytes full again).
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

constexpr std::uint64_t untyped_slot = 20, frame_slot = 28, window = 0x0000'4000'0000'0000;  // far from the program, its stack and the rpc rings
user::TableSlots tables{40, 48};

bool slot_empty(std::uint64_t slot) {
    const auto r = user::cap_identify(slot);
    return r.status != Status::ok || r.value == 0;
}

// Grant i as memory: take its untyped into untyped_slot + i, retype a frame, map it at
// window + i pages, write a pattern naming the grant and read it back.
void use_memory(unsigned i, const AllocReply& g) {
    const std::uint64_t u = untyped_slot + i, f = frame_slot + i;
    Status s = Allocator::take(g, u);
    expect(s == Status::ok, "take_ram of our own grant", s);
    if (s != Status::ok) return;
    const auto id = user::cap_identify(u);
    expect(id.status == Status::ok && (id.value >> 32) == user::captype::untyped, "the capability taken is untyped");
    s = Allocator::take(g, u + 4);
    expect(s == Status::not_found, "a second take_ram of one grant is not_found", s);
    s = user::retype(u, user::captype::frame, 12, f, 1);
    expect(s == Status::ok, "retype a 4 KiB frame from the grant", s);
    if (s != Status::ok) return;
    const std::uint64_t va = window + i * page;
    s = user::map_with_tables(f, va, abi::map_write, user::cap::ram, tables);
    expect(s == Status::ok, "map the frame", s);
    if (s != Status::ok) return;
    auto* w = reinterpret_cast<volatile std::uint64_t*>(va);
    for (unsigned k = 0; k < page / 8; ++k) w[k] = g.ticket ^ (std::uint64_t{k} * 0x9e3779b97f4a7c15ull);
    unsigned bad = 0;
    for (unsigned k = 0; k < page / 8; ++k) bad += w[k] != (g.ticket ^ (std::uint64_t{k} * 0x9e3779b97f4a7c15ull));
    expect(bad == 0, "the pattern reads back from the granted frame");
}


int plain(bool caps, bool hold) {
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
        expect(g[i].base % g[i].bytes == 0, "a grant is aligned to its size");
        if (caps) use_memory(i, g[i]);
    }
    if (hold)  // a hostile neighbour looks for our tickets meanwhile (memforge)
        for (unsigned t = 0; t < 300; ++t) user::wait_event();
    if (caps) {
        AllocReply other = g[0];
        other.ticket = g[0].ticket + 1000;
        expect(Allocator::take(other, 60) == Status::not_found && slot_empty(60), "take_ram of a ticket never granted");
        expect(Allocator::give_back(other) == Status::not_found, "return_ram of a ticket never granted");
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

    if (caps) {
        // Returned: the untyped and the frame retyped from it are gone (the mapping too).
        s = Allocator::give_back(g[0]);
        expect(s == Status::ok, "return_ram", s);
        expect(slot_empty(untyped_slot) && slot_empty(frame_slot), "after return_ram no capability to the grant is left");
        expect(Allocator::give_back(g[0]) == Status::not_found, "a second return_ram is not_found");
        // Freed at memserv without returning: memserv has the monitor revoke before the range
        // can be granted again, so the capabilities are gone once the free answered.
        s = srv->call(Free{g[3].base}, f);
        expect(s == Status::ok && f.bytes == g[3].bytes, "free without return_ram", s);
        expect(slot_empty(untyped_slot + 3) && slot_empty(frame_slot + 3),
               "after a free without return_ram no capability to the grant is left");
        expect(Allocator::give_back(g[3]) == Status::not_found, "return_ram after memserv reclaimed it is not_found");
    }
    for (unsigned i = 0; i < n; ++i) {
        if (caps && i == 3) continue;  // freed above
        s = mem.free(g[i], f);
        expect(s == Status::ok && f.bytes == g[i].bytes, "free of a grant", s);
    }
    // Never ok; not_found, or permission_denied when another domain has meanwhile been granted
    // the same range (first fit hands freed ranges out again at once).
    s = mem.free(g[0], f);
    expect(s == Status::not_found || s == Status::permission_denied, "a double free never succeeds", s);
    if (failures) return 1;
    user::print("test-pass: memclient core {} home {} served-by {} denied={}{}", core, mem.home(), g[0].node, denied,
                caps ? " memory=4" : "");
    return 0;
}

int leaver() {
    AllocReply g[2] = {};
    for (unsigned i = 0; i < 2; ++i) {
        const Status s = mem.alloc_untyped(2 * page, untyped_slot + i, g[i]);
        expect(s == Status::ok, "alloc_untyped", s);
        if (s != Status::ok) return 1;
        const auto id = user::cap_identify(untyped_slot + i);
        expect(id.status == Status::ok && (id.value >> 32) == user::captype::untyped, "alloc_untyped gives an untyped");
    }
    if (failures) return 1;
    user::print("test-pass: memleaver core {} holds {} grants at exit", core, 2);
    return 0;  // exits holding both: its monitor revokes them, memserv frees them from the death feed
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
    // Our fixed slots, kept from the runtime's allocator (a same-core connection takes four).
    for (std::uint64_t s = untyped_slot; s < frame_slot + 8; ++s) rpc::Slots::instance().reserve(s);
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    core = static_cast<std::uint32_t>(info >> 32);
    domain = static_cast<std::uint32_t>(info);
    if (const Status s = mem.init(); s != Status::ok) {
        user::print("test-fail: memclient core {}: topology: {}", core, to_string(s));
        return 1;
    }
    const int rc = (arg & 0xff) == 1 ? greedy((arg >> 16) & 0xffff) : (arg & 0xff) == 2 ? leaver() : plain(arg & 0x100, arg & 0x200);
    mem.close();
    return rc;
}
