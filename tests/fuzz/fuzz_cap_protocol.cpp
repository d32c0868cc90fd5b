// libFuzzer target for capabilities across cores (myr/monitor/cap_protocol.hpp): three honest
// cores run CapNode as the monitors do, and core 3 is hostile: every line it sends comes from the
// input. The input is a sequence of 8-byte steps: honest operations (adopt, carve, transfer,
// remove, revoke, move), deliveries of honest lines in an order the input picks, and hostile lines
// (type, target, object, arg, op and status all from the input; the object an honest frame, an
// untyped, or memory of core 3's own; a copy only of core 3's own memory, since the kernel makes
// frame capabilities of memserv memory only and a monitor gives only what its domains were
// granted). Honest cores send their lines to core 3 into the void.
//
// Checked after every step (a violation traps):
// - every table passes caps::audit;
// - a frame an honest core adopted is still in its slot unless that core removed it: the home of
//   memory keeps it whatever another core sends;
// - an honest core never refuses a line another honest core sent about memory that is not core 3's
//   (the hostile core's lines can make an honest core refuse nothing of the others'; about core
//   3's own memory an honest core may relay what core 3 lied to it, and refusing that is right).
#include <myr/caps/audit.hpp>
#include <myr/monitor/cap_protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iterator>
#include <set>
#include <vector>

using namespace myr;
using myr::monitor::CapLine;
using myr::monitor::CapMsg;
using myr::monitor::CapNode;

namespace {

constexpr std::uint32_t cores = 4, honest = 3, hostile = 3;
constexpr std::uint32_t table_slots = 96;
constexpr caps::SlotIdx untyped_slot = 1;
constexpr std::uint64_t mem_bytes = 64 << 10;
constexpr unsigned adopt_pages = 8;

std::uint64_t mem_base(std::uint32_t c) { return (std::uint64_t{c} + 1) << 32; }
caps::Cap adoptable(std::uint32_t c, unsigned page) { return caps::make_frame(mem_base(c) + mem_bytes + 0x1000ull * page, 12); }

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "cap protocol invariant broken: %s\n", what);
    __builtin_trap();
}

struct Cluster final : monitor::CapOut {
    std::vector<caps::Slot> storage[honest];
    CapNode node[honest];
    std::deque<CapMsg> chan[honest][honest];      // honest lines, in order per pair
    std::set<caps::SlotIdx> adopted[honest];      // roots each core adopted and did not remove
    std::uint64_t next_op = 1;

    Cluster() {
        for (std::uint32_t c = 0; c < honest; ++c) {
            storage[c].resize(table_slots);
            if (node[c].init(c, cores, storage[c], 0x1000'0000ull * (c + 1)) != Status::ok ||
                node[c].install_root(untyped_slot, caps::make_untyped(mem_base(c), mem_bytes)) != Status::ok)
                broken("a core did not start");
        }
    }
    void send(const CapMsg& m) override {
        if (m.from >= honest || m.to >= cores || m.to == m.from) broken("a line to nowhere");
        if (m.to != hostile) chan[m.from][m.to].push_back(m);
    }
    void done(std::uint64_t, Status) override {}

    std::vector<caps::SlotIdx> frames(std::uint32_t c) const {
        std::vector<caps::SlotIdx> v;
        const auto slots = node[c].table().slots();
        for (caps::SlotIdx i = 0; i < slots.size(); ++i)
            if (slots[i].cap.type == caps::CapType::frame) v.push_back(i);
        return v;
    }
    caps::SlotIdx free_slot(std::uint32_t c) const {
        const auto slots = node[c].table().slots();
        for (caps::SlotIdx i = 2; i < slots.size(); ++i)
            if (slots[i].cap.is_null()) return i;
        return caps::no_slot;
    }
    bool anywhere(const caps::Cap& f) const {
        for (std::uint32_t c = 0; c < honest; ++c)
            if (node[c].knows(f) || node[c].holds(f)) return true;
        for (const auto& row : chan)
            for (const auto& q : row)
                for (const CapMsg& m : q)
                    if (caps::same_object(m.obj, f)) return true;
        return false;
    }
    // The frame a step names on core c, or no_slot.
    caps::SlotIdx pick(std::uint32_t c, std::uint8_t b) const {
        const auto fr = frames(c);
        return fr.empty() ? caps::no_slot : fr[b % fr.size()];
    }

    void step(const std::uint8_t* s) {
        const std::uint32_t c = s[1] % honest;
        switch (s[0] % 8) {
        case 0: {  // deliver an honest line
            std::vector<std::pair<std::uint32_t, std::uint32_t>> busy;
            for (std::uint32_t f = 0; f < honest; ++f)
                for (std::uint32_t t = 0; t < honest; ++t)
                    if (!chan[f][t].empty()) busy.push_back({f, t});
            if (busy.empty()) return;
            const auto [f, t] = busy[s[2] % busy.size()];
            const CapMsg m = chan[f][t].front();
            chan[f][t].pop_front();
            // A line about core 3's own memory may carry core 3's lies (core 3 told core f that f
            // owns it now, then gave core t a copy as its owner): t may refuse it.
            if (!node[t].receive(m, *this) && m.obj.base < mem_base(hostile))
                broken("an honest core refused another honest core's line");
            return;
        }
        case 1: {  // adopt a page of this core's memory outside its table, where nothing names it
            const caps::Cap f = adoptable(c, s[2] % adopt_pages);
            const caps::SlotIdx at = free_slot(c);
            if (at != caps::no_slot && !anywhere(f) && node[c].adopt(at, f) == Status::ok) adopted[c].insert(at);
            return;
        }
        case 2:
            if (const caps::SlotIdx at = free_slot(c); at != caps::no_slot) (void)node[c].retype(untyped_slot, 12, 1, at);
            return;
        case 3:
            if (const caps::SlotIdx at = pick(c, s[2]); at != caps::no_slot) node[c].transfer(next_op++, at, s[3] % honest, *this);
            return;
        case 4:
            if (const caps::SlotIdx at = pick(c, s[2]); at != caps::no_slot && node[c].remove(at, *this) == Status::ok)
                adopted[c].erase(at);
            return;
        case 5:
            if (const caps::SlotIdx at = pick(c, s[2]); at != caps::no_slot) {
                // The home's own revoke of its frame keeps only the slot it names.
                const caps::Cap f = node[c].table().cap(at);
                for (auto it = adopted[c].begin(); it != adopted[c].end();)
                    it = *it != at && caps::same_object(node[c].table().cap(*it), f) ? adopted[c].erase(it) : std::next(it);
                node[c].revoke(next_op++, at, *this);
            }
            return;
        case 6:
            if (const caps::SlotIdx at = pick(c, s[2]); at != caps::no_slot) node[c].move_owner(next_op++, at, s[3] % honest, *this);
            return;
        default: {  // a hostile line from core 3
            CapMsg m{};
            m.type = static_cast<CapLine>(s[2] % (static_cast<unsigned>(monitor::cap_last_line) + 1));
            m.from = hostile;
            m.to = c;
            m.asker = s[3] & 0x80 ? c : hostile;
            if (m.type == CapLine::install || s[4] >= 0xc0) {
                m.obj = adoptable(hostile, s[4] % adopt_pages);  // its own memory
            } else if (s[4] >= 0x80) {
                m.obj = caps::make_untyped(mem_base(s[4] % honest), mem_bytes);
            } else {
                const std::uint32_t at = s[4] % honest;  // a frame some honest core holds
                const caps::SlotIdx slot = pick(at, s[3]);
                m.obj = slot == caps::no_slot ? adoptable(at, 0) : node[at].table().cap(slot);
            }
            m.arg = m.type == CapLine::move ? s[5] : s[5] % 8;
            m.op = s[6] % 16;
            m.status = static_cast<Status>(s[7] % 20);
            const std::vector<caps::Slot> before(node[c].table().slots().begin(), node[c].table().slots().end());
            (void)node[c].receive(m, *this);
            // Only what core 3 owns may change: its own memory's copies.
            const auto after = node[c].table().slots();
            const auto its = [](const caps::Cap& x) { return !x.is_null() && x.base >= mem_base(hostile); };
            for (caps::SlotIdx i = 0; i < after.size(); ++i) {
                if (its(before[i].cap) || its(after[i].cap)) continue;
                if (before[i].cap.type != after[i].cap.type || before[i].cap.base != after[i].cap.base ||
                    before[i].cap.size != after[i].cap.size)
                    broken("a hostile core's line changed a capability it does not own");
            }
            return;
        }
        }
    }

    void check() const {
        for (std::uint32_t c = 0; c < honest; ++c) {
            if (caps::audit(node[c].table()).status != Status::ok) broken("a table fails its audit");
            for (caps::SlotIdx at : adopted[c]) {
                const caps::Cap f = node[c].table().cap(at);
                if (f.type != caps::CapType::frame || f.base < mem_base(c) + mem_bytes) broken("a home lost memory it adopted");
            }
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Cluster cl;
    for (std::size_t i = 0; i + 8 <= size; i += 8) {
        cl.step(data + i);
        cl.check();
    }
    return 0;
}
