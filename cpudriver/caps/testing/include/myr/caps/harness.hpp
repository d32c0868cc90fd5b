#pragma once
// Host-only test harness for the CapTable: a small table with a fixed set of roots, a decoder that
// turns bytes into operations (random or fuzzer input), and the checks run after every step:
//   - a failing operation leaves every slot byte-for-byte unchanged;
//   - audit() holds (tree shape, ancestry, alignment, overlap, rights, watermarks);
//   - the freed reports are exactly the objects that lost their last capability;
//   - revoke removes exactly the descendants, remove exactly one slot, and no other cap changes
//     (apart from the watermark of an untyped that lost its last child).
// Shared by tests/unit/caps_property_test.cpp and tests/fuzz/fuzz_caps.cpp.
#include <myr/caps/audit.hpp>
#include <myr/caps/table.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace myr::caps::testing {

class Harness {
public:
    static constexpr std::uint32_t slots = 96;
    static constexpr std::uint64_t table_phys = 0x40000;  // table memory [0x40000, 0x41800)
    static constexpr std::uint64_t ram_a = 0x100'0000;    // 4 MiB
    static constexpr std::uint64_t ram_b = 0x200'0000;    // 64 KiB, at most 64 KiB frames

    Harness() : m_mem(slots) {
        ok(m_t.init(m_mem, table_phys));
        ok(m_t.install(0, make_cnode(table_phys, 5)));            // slots 0..31, itself in slot 0
        ok(m_t.install(1, make_untyped(table_phys + 0x800, 0x1000)));  // slots 32..95 as cnodes
        ok(m_t.install(2, make_untyped(ram_a, 0x40'0000)));
        ok(m_t.install(3, make_untyped(ram_b, 0x1'0000)));
        ok(m_t.install(4, make_kernel(0)));
        ok(m_t.install(5, make_io_ports(0x3f8, 8)));
        ok(m_t.install(6, make_ipi(0, 4, 0xf0)));
        m_error = check_all("initial state");
    }

    CapTable& table() { return m_t; }
    [[nodiscard]] const std::string& error() const { return m_error; }
    [[nodiscard]] std::size_t ops_ok() const { return m_ok; }
    [[nodiscard]] std::size_t ops_failed() const { return m_failed; }
    // Steps where the kernel's inline variant (copy_checked, remove_copy) ran and was compared.
    [[nodiscard]] std::size_t fast_compared() const { return m_fast; }
    // Successful operations by name (so a test can tell the generator reaches each of them).
    [[nodiscard]] const std::map<std::string, std::size_t>& ok_by_op() const { return m_ok_by_op; }

    // Decode and run operations until the input ends or a check fails; returns false on failure
    // (error() says what). Each operation takes 7 bytes.
    bool run(const std::uint8_t* data, std::size_t size) {
        if (!m_error.empty()) return false;
        for (std::size_t at = 0; at + 7 <= size; at += 7)
            if (!step(data + at)) return false;
        return true;
    }

    bool step(const std::uint8_t* b) {
        // Mostly the first 24 slots (where the roots live, so operations meet each other), some
        // anywhere in the table or just past it.
        const auto slot = [](std::uint8_t v) {
            return static_cast<SlotIdx>(v < 192 ? v % 24 : v % (slots + 4));
        };
        const std::vector<Slot> before = snapshot();
        const auto objects_before = objects();
        m_freed.clear();
        FreedSink sink{&Harness::on_freed, this};
        Status st = Status::ok;
        const char* name = "";
        const SlotIdx a = slot(b[1]);
        const SlotIdx c = slot(b[2]);
        std::set<SlotIdx> expect_gone;
        switch (b[0] % 8) {
        case 0:
        case 1: {
            name = "retype";
            const auto type = static_cast<CapType>(b[3] % (cap_type_count + 1));
            const std::uint8_t param =
                (b[4] & 0xc0) == 0xc0 ? static_cast<std::uint8_t>(b[4] & 0x3f) : good_param(type, b[4]);
            const auto count = static_cast<std::uint32_t>(b[5] % 5);
            // Half the time from a root untyped, so retype succeeds often enough to build trees.
            const SlotIdx src = b[1] < 128 ? 1 + b[1] % 3u : a;
            st = m_t.retype(src, ObjectSpec{type, param}, count, c, sink);
            if (st == Status::ok) {
                // A new cnode's slots were emptied.
                if (type == CapType::cnode)
                    for (SlotIdx k = 0; k < count; ++k) {
                        const SlotIdx first = m_t.cnode_first_slot(m_t.cap(c + k));
                        for (SlotIdx s = first; s < first + (SlotIdx{1} << param); ++s)
                            if (!m_t.cap(s).is_null()) return failed("new cnode not empty");
                    }
            }
            break;
        }
        case 2:
            name = "copy";
            // Odd b[3], where the IPC fast path would take it (both in the table, source live,
            // destination empty): copy_checked must do exactly what copy does.
            if ((b[3] & 1) != 0 && a < slots && c < slots && !m_t.cap(a).is_null() && m_t.cap(c).is_null()) {
                const bool fast = m_t.copy_checked(a, c);
                const std::vector<Slot> after_fast = snapshot();
                restore(before);
                st = m_t.copy(a, c);
                if (fast != (st == Status::ok)) return failed("copy_checked and copy disagree on success");
                if (std::memcmp(after_fast.data(), m_t.slots().data(), after_fast.size() * sizeof(Slot)) != 0)
                    return failed("copy_checked left other bytes than copy");
                if (fast) ++m_fast;
            } else {
                st = m_t.copy(a, c);
            }
            if (st == Status::ok && m_t.cap(c).rights != m_t.cap(a).rights) return failed("copy changed rights");
            if (st == Status::ok && m_t.cap(c).pinned()) return failed("a copy is pinned");
            break;
        case 3: {
            name = "mint";
            const auto mask = static_cast<Rights>(b[3]);
            const std::uint64_t badge = (b[4] & 1) != 0 ? b[5] : 0;
            st = m_t.mint(a, c, mask, badge);
            if (st == Status::ok && !has(m_t.cap(a).rights, m_t.cap(c).rights)) return failed("mint gained rights");
            if (st == Status::ok && m_t.cap(c).pinned()) return failed("a mint is pinned");
            break;
        }
        case 4:
            if ((b[3] & 0xc0) == 0xc0) {
                // Pin or release (the kernel's operation), so moves and removes meet pinned caps.
                name = "pin";
                st = m_t.set_pinned(a, (b[4] & 1) != 0);
                if (st == Status::ok && m_t.cap(a).pinned() != ((b[4] & 1) != 0)) return failed("pin did not pin");
                break;
            }
            name = "move";
            st = m_t.move(a, c);
            if (st == Status::ok && (std::memcmp(&m_t.cap(c), &before[a].cap, sizeof(Cap)) != 0 || !m_t.cap(a).is_null()))
                return failed("move did not move");
            if (st == Status::ok && before[a].cap.pinned()) return failed("moved a pinned cap");
            break;
        case 5:
            name = "remove";
            expect_gone.insert(a);
            // Odd b[3]: the kernel's delete of a leaf (remove_copy, else remove). Where remove_copy
            // takes it, remove must give the same bytes and free nothing.
            if ((b[3] & 1) != 0 && a < slots && !m_t.cap(a).is_null() && m_t.remove_copy(a)) {
                const std::vector<Slot> after_fast = snapshot();
                restore(before);
                st = m_t.remove(a, sink);
                if (st != Status::ok) return failed("remove_copy removed what remove refuses");
                if (!m_freed.empty()) return failed("remove_copy removed a last reference");
                if (std::memcmp(after_fast.data(), m_t.slots().data(), after_fast.size() * sizeof(Slot)) != 0)
                    return failed("remove_copy left other bytes than remove");
                ++m_fast;
            } else {
                st = m_t.remove(a, sink);
            }
            if (st == Status::ok && before[a].cap.pinned()) return failed("removed a pinned cap");
            break;
        case 6: {
            name = "revoke";
            if (a < slots) expect_gone = descendants(a);
            const std::uint32_t budget = (b[3] & 0x80) != 0 ? b[3] & 3u : 0xffff'ffffu;
            st = m_t.revoke(a, sink, budget);
            if (st == Status::would_block) {
                // Partial progress is allowed: some descendants gone, and the tree still sound.
                expect_gone.clear();
                for (SlotIdx s = 0; s < slots; ++s)
                    if (!before[s].cap.is_null() && m_t.cap(s).is_null()) expect_gone.insert(s);
                for (SlotIdx s : expect_gone)
                    if (descendants(a, before).count(s) == 0) return failed("revoke removed a non-descendant");
                return finish(name, st, before, objects_before, &expect_gone);
            }
            if (st == Status::ok && m_t.has_children(a)) return failed("revoke left children");
            break;
        }
        default: {
            if (b[3] >= 0xe0) {
                // The kernel's root install (boot, and monitors creating memory caps): a frame or
                // an untyped somewhere in RAM A or B, anywhere in the table. Its scan for a
                // duplicate or overlapping live cap must see every live slot (audit checks).
                name = "install";
                const std::uint64_t at = ((b[4] & 1) != 0 ? ram_b : ram_a) + (std::uint64_t{b[5]} << 12);
                const Cap cap = (b[4] & 2) != 0 ? make_frame(at, 12) : make_untyped(at, 0x1000);
                st = m_t.install(c, cap);
                if (st == Status::ok) {
                    for (SlotIdx s = 0; s < slots; ++s)
                        if (s != c && !m_t.cap(s).is_null() && is_memory(m_t.cap(s).type) &&
                            m_t.cap(s).base < cap.end() && cap.base < m_t.cap(s).end())
                            return failed("install placed a root over live memory");
                }
                break;
            }
            name = "lookup";
            const unsigned depth = b[3] % 12;
            const std::uint64_t cptr = b[4] | (std::uint64_t{b[5]} << 8);
            const Result<SlotIdx> r = m_t.lookup(a, cptr, depth);
            if (r.ok() && *r >= slots) return failed("lookup returned a slot outside the table");
            st = r.ok() ? Status::ok : r.status();
            // lookup is const: treat it as a failed op so the snapshot check runs.
            if (st == Status::ok) st = Status::not_found;
            break;
        }
        }
        return finish(name, st, before, objects_before, st == Status::ok ? &expect_gone : nullptr);
    }

private:
    using Key = std::tuple<int, std::uint64_t, std::uint64_t, std::uint32_t>;

    static Key key(const Cap& c) { return {static_cast<int>(c.type), c.base, c.size, c.aux}; }

    static void on_freed(void* ctx, const Cap& object) { static_cast<Harness*>(ctx)->m_freed.push_back(object); }

    static std::uint8_t good_param(CapType type, std::uint8_t v) {
        switch (type) {
        case CapType::untyped: return static_cast<std::uint8_t>(6 + v % 17);  // 64 B .. 4 MiB
        case CapType::frame: return (v & 1) != 0 ? 12 : 21;
        case CapType::channel_memory: return static_cast<std::uint8_t>(12 + v % 4);
        case CapType::page_table: return static_cast<std::uint8_t>(1 + v % 4);
        case CapType::cnode: return static_cast<std::uint8_t>(1 + v % 5);
        default: return 0;
        }
    }

    static void ok(Status s) {
        if (s != Status::ok) __builtin_trap();
    }

    [[nodiscard]] std::vector<Slot> snapshot() const { return {m_t.slots().begin(), m_t.slots().end()}; }
    // Put the table's bytes back (the table is only its slots), to run a second variant of a step.
    void restore(const std::vector<Slot>& bytes) { std::memcpy(m_mem.data(), bytes.data(), bytes.size() * sizeof(Slot)); }

    [[nodiscard]] std::map<Key, int> objects() const {
        std::map<Key, int> m;
        for (const Slot& s : m_t.slots())
            if (!s.cap.is_null()) ++m[key(s.cap)];
        return m;
    }

    [[nodiscard]] std::set<SlotIdx> descendants(SlotIdx root, const std::vector<Slot>& view) const {
        std::set<SlotIdx> out;
        std::vector<SlotIdx> work{root};
        while (!work.empty()) {
            const SlotIdx s = work.back();
            work.pop_back();
            for (SlotIdx ch = view[s].first_child; ch != no_slot; ch = view[ch].next_sibling)
                if (out.insert(ch).second) work.push_back(ch);
        }
        return out;
    }
    [[nodiscard]] std::set<SlotIdx> descendants(SlotIdx root) const { return descendants(root, snapshot()); }

    bool failed(const std::string& what) {
        m_error = what;
        return false;
    }

    bool finish(const char* name, Status st, const std::vector<Slot>& before, const std::map<Key, int>& objects_before,
                const std::set<SlotIdx>* expect_gone) {
        const std::string op = std::string(name) + " (" + to_string(st) + ")";
        if (st != Status::ok && st != Status::would_block) {
            ++m_failed;
            if (std::memcmp(before.data(), m_t.slots().data(), before.size() * sizeof(Slot)) != 0)
                return failed(op + ": failed but changed the table");
            if (!m_freed.empty()) return failed(op + ": failed but reported freed objects");
            return check_all(op).empty();
        }
        ++m_ok;
        ++m_ok_by_op[name];
        if (!check_all(op).empty()) return false;
        // Freed reports == objects whose count dropped to zero.
        const auto after = objects();
        std::multiset<Key> reported;
        for (const Cap& c : m_freed) reported.insert(key(c));
        std::multiset<Key> vanished;
        for (const auto& [k, n] : objects_before)
            if (after.count(k) == 0) vanished.insert(k);
        if (reported != vanished) return failed(op + ": freed reports differ from objects that lost their last cap");
        if (expect_gone != nullptr && (std::string(name) == "remove" || std::string(name) == "revoke")) {
            for (SlotIdx s = 0; s < slots; ++s) {
                const bool gone = expect_gone->count(s) != 0;
                if (gone != m_t.cap(s).is_null() && !before[s].cap.is_null())
                    return failed(op + ": slot " + std::to_string(s) + (gone ? " survived" : " vanished"));
                if (gone || before[s].cap.is_null()) continue;
                Cap was = before[s].cap;
                Cap now = m_t.cap(s);
                if (was.type == CapType::untyped) was.word = now.word = 0;  // watermark may reset
                if (std::memcmp(&was, &now, sizeof(Cap)) != 0)
                    return failed(op + ": slot " + std::to_string(s) + " changed");
            }
        }
        return true;
    }

    std::string check_all(const std::string& op) {
        const AuditResult r = audit(m_t);
        if (r.status != Status::ok) m_error = op + ": audit: slot " + std::to_string(r.slot) + ": " + r.what;
        return m_error;
    }

    std::vector<Slot> m_mem;
    CapTable m_t;
    std::vector<Cap> m_freed;
    std::string m_error;
    std::size_t m_ok = 0;
    std::size_t m_failed = 0;
    std::size_t m_fast = 0;
    std::map<std::string, std::size_t> m_ok_by_op;
};

} // namespace myr::caps::testing
