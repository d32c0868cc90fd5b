// libFuzzer target for endpoints and notifications across cores (myr/monitor/far_book.hpp): three
// honest cores run FarBook as the monitors do, and core 3 is hostile: every line it sends comes
// from the input (any type; words copied from honest lines, so they name real records, ids built
// from small numbers, or any words). The input is a sequence of 4-byte steps: honest gives, takes, sends, revokes, objects
// that stop or start receiving, deletes and domain ends, deliveries in an order the input picks,
// and hostile lines.
//
// Checked after every step (a violation traps):
// - an honest core never refuses a line another honest core sent;
// - no slot is dropped twice (a record ended twice);
// - a message reaches its object only if a send of it was answered ok, at most once, and in the
//   order its far capability sent it;
// - no owner queues more than the window of every record.
#include "../unit/far_sim.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>

using namespace myr;
using namespace myr::monitor;
using namespace myr::monitor::far_sim;

namespace {

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "far book invariant broken: %s\n", what);
    __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Sim s(1);
    std::set<std::uint64_t> sent_ok;
    std::map<std::uint64_t, std::uint64_t> last;  // token -> last seq that arrived
    std::size_t i = 0;
    auto byte = [&]() -> std::uint8_t { return i < size ? data[i++] : 0; };
    while (i + 4 <= size) {
        const std::uint8_t op = byte(), a = byte(), b = byte(), c = byte();
        const std::uint32_t core = a % 3, domain = 1 + b % 3;
        const std::uint64_t base = (c & 1) ? 0x2000 : 0x1000;
        switch (op % 9) {
        case 0: {
            std::uint64_t t = 0;
            (void)give(s, core, domain, base, (c >> 1) % 3, 1 + (c >> 3) % 3, t);
            break;
        }
        case 1: (void)take(s, core, domain); break;
        case 2: {
            unsigned n = c % 8;
            for (auto& [slot, st] : s.env[core].slots) {
                if (!st.minted || !st.copies || n-- != 0) continue;
                const std::uint64_t tok = std::uint64_t{core} << 32 | st.id;
                const std::uint64_t q = ++s.seq;
                if (s.book[core].send(st.id, {q, tok, 0, 0}, s.env[core]) == Status::ok) sent_ok.insert(q);
                break;
            }
            break;
        }
        case 3: {
            std::uint64_t t = 0;
            (void)s.book[core].revoke(domain, FarKind::endpoint, base, t, s.env[core]);
            break;
        }
        case 4: s.objects[{core, base}].receiving = !s.objects[{core, base}].receiving; break;
        case 5:
            if (c & 2) {
                s.book[core].domain_ended(domain, s.env[core]);
            } else {
                for (auto& [slot, st] : s.env[core].slots)
                    if (st.minted && (c & 4)) st.copies = false;
                for (auto& [slot, st] : s.env[core].slots)
                    if (!st.minted && (c & 8)) st.copy_there = false;
            }
            break;
        case 6: {
            Line l{Sim::hostile, static_cast<FarLine>(b % 8), {}};
            for (auto& w : l.w) {
                const std::uint8_t x = byte(), y = byte();
                if (x & 0x80) w = s.seen[y % Sim::seen_max];  // an id an honest line carried
                else if (c & 1) w = (std::uint64_t{x} << 8 | y) * 0x9e37'79b9'7f4a'7c15ull;
                else w = std::uint64_t{x % 8u} | std::uint64_t{y % 8u} << 8;
            }
            if (l.type == FarLine::msg) l.w[2] = 0;  // seq 0: never sent ok, so it must never arrive
            s.wire[{Sim::hostile, core}].push_back(l);
            break;
        }
        default:
            (void)s.deliver_one(a % 4, b % 3);
            s.book[b % 3].tick((c & 1) != 0, s.env[b % 3]);
            break;
        }
        if (s.refused_honest) broken("an honest line was refused");
        for (const Env& e : s.env)
            if (e.double_drops) broken("a slot was dropped twice");
        for (auto& [key, o] : s.objects) {
            for (const auto& m : o.got) {
                if (!sent_ok.count(m[0])) broken("a message nobody sent ok arrived");
                if (m[0] <= last[m[1]]) broken("a message arrived twice or out of order");
                last[m[1]] = m[0];
            }
            o.got.clear();
        }
        for (std::uint32_t h = 0; h < 3; ++h)
            if (s.book[h].queued() > FarBook::window * FarBook::max_given) broken("an owner queued beyond the window");
    }
    return 0;
}
