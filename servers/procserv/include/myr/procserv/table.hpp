#pragma once
// procserv's state and rules, pure and host-tested (tests/unit/procserv_test.cpp): the table of
// the programs it started (where, which program, who asked, and once the death feed said so, how
// each ended), and the decisions of who may start and kill what (docs/servers.md, "procserv",
// "Who may kill whom").
#include <myr/abi/syscall.hpp>
#include <myr/procserv/interface.hpp>

namespace myr::procserv {

// Whether `program` is one of the names in `list` (names separated by '+', e.g. "shell+ksh";
// '+' because an argument string's spaces separate words and a config's commas become spaces).
constexpr bool in_list(const char* list, std::size_t len, const Program& program) {
    std::size_t i = 0;
    while (i < len) {
        const std::size_t start = i;
        while (i < len && list[i] != '+') ++i;
        if (program.equals(list + start, i - start) && i > start) return true;
        ++i;  // past the '+'
    }
    return false;
}

// The rules, given procserv's own program name and its privileged programs (`admin=` argument).
struct Policy {
    const char* admins = "";
    std::size_t admins_len = 0;
    const char* self_program = "procserv";

    // A caller running one of the admin programs is privileged.
    [[nodiscard]] constexpr bool privileged(const Program& caller_program) const {
        return valid_program(caller_program) && in_list(admins, admins_len, caller_program);
    }
    // Programs that carry privileges: procserv itself (monitor.kill names it, so a copy could kill
    // anything a monitor started) and the admin programs (a copy would be privileged here). Only a
    // privileged caller may start them, so privilege cannot be gained by starting it.
    [[nodiscard]] constexpr bool carries_privilege(const Program& p) const {
        return p.equals_cstr(self_program) || in_list(admins, admins_len, p);
    }
};

class Table {
public:
    static constexpr std::uint32_t capacity = 64;
    static constexpr std::uint32_t max_per_owner = 8;  // running programs one caller may hold

    struct Entry {
        bool used = false;
        bool ended = false;
        Address at{};
        Program program{};
        Address owner{};
        std::uint32_t how = 0, code = 0;
        std::uint64_t end_order = 0;  // which entry ended first: it is forgotten first
    };

    // Whether `owner` may start one more: ok, or busy (its quota, or the table full of running
    // programs). Makes room by forgetting the oldest ended entry when needed.
    constexpr Status reserve(const Address& owner) {
        if (running_of(owner) >= max_per_owner) return Status::busy;
        if (free_slot()) return Status::ok;
        Entry* oldest = nullptr;
        for (Entry& e : m_entries)
            if (e.used && e.ended && (!oldest || e.end_order < oldest->end_order)) oldest = &e;
        if (!oldest) return Status::busy;
        *oldest = Entry{};
        return Status::ok;
    }

    // Records a started program (after reserve said ok). A domain number is never reused on its
    // core, so an address names one domain for the whole run.
    constexpr Status add(const Address& at, const Program& program, const Address& owner) {
        if (find(at)) return Status::exists;
        Entry* e = free_slot();
        if (!e) return Status::overflow;
        *e = Entry{};
        e->used = true;
        e->at = at;
        e->program = program;
        e->owner = owner;
        return Status::ok;
    }

    // A death from the feed: true when it was one of ours (recorded once; later reports ignored).
    constexpr bool ended(const Address& at, std::uint32_t how, std::uint32_t code) {
        Entry* e = find_mut(at);
        if (!e || e->ended) return false;
        e->ended = true;
        e->how = how;
        e->code = code;
        e->end_order = ++m_ends;
        return true;
    }

    // wait: ok (how, code), would_block (running), not_found (not ours or forgotten).
    constexpr Status wait(const Address& at, WaitReply& out) const {
        const Entry* e = find(at);
        if (!e) return Status::not_found;
        if (!e->ended) return Status::would_block;
        out = {e->how, e->code};
        return Status::ok;
    }

    // May `caller` kill `target`? ok (go ahead: the monitor has the last word), not_found (ours
    // and ended already), permission_denied. `self` is procserv's own address.
    constexpr Status may_kill(const Address& caller, bool privileged, const Address& target, const Address& self) const {
        if (target == self || target == caller) return Status::permission_denied;
        const Entry* e = find(target);
        if (privileged) return e && e->ended ? Status::not_found : Status::ok;
        // Ordinary callers learn nothing about domains that are not theirs: one answer for all.
        if (!e || !(e->owner == caller)) return Status::permission_denied;
        return e->ended ? Status::not_found : Status::ok;
    }

    [[nodiscard]] constexpr const Entry* find(const Address& at) const {
        for (const Entry& e : m_entries)
            if (e.used && e.at == at) return &e;
        return nullptr;
    }
    [[nodiscard]] constexpr std::uint32_t running_of(const Address& owner) const {
        std::uint32_t n = 0;
        for (const Entry& e : m_entries)
            if (e.used && !e.ended && e.owner == owner) ++n;
        return n;
    }
    [[nodiscard]] constexpr std::uint32_t running() const {
        std::uint32_t n = 0;
        for (const Entry& e : m_entries)
            if (e.used && !e.ended) ++n;
        return n;
    }
    [[nodiscard]] constexpr std::uint64_t ends() const { return m_ends; }
    // The i-th slot (for a sweep after the death feed overflowed); null when unused.
    [[nodiscard]] constexpr const Entry* slot(std::uint32_t i) const {
        return i < capacity && m_entries[i].used ? &m_entries[i] : nullptr;
    }

private:
    constexpr Entry* find_mut(const Address& at) {
        for (Entry& e : m_entries)
            if (e.used && e.at == at) return &e;
        return nullptr;
    }
    constexpr Entry* free_slot() {
        for (Entry& e : m_entries)
            if (!e.used) return &e;
        return nullptr;
    }

    Entry m_entries[capacity] = {};
    std::uint64_t m_ends = 0;
};

// Checks a Start request's fields before anything is asked of a monitor: ok, invalid_argument
// (program name; a zero byte in args, which would cut the string), overflow (args too long),
// out_of_range (core beyond `cores`), permission_denied (a privileged program, caller not).
constexpr Status check_start(const Start& r, std::uint32_t cores, const Policy& policy, bool caller_privileged) {
    if (!valid_program(r.program)) return Status::invalid_argument;
    if (r.args.size > max_args) return Status::overflow;
    for (std::size_t i = 0; i < r.args.size && i < wire_args; ++i)
        if (r.args.data[i] == 0) return Status::invalid_argument;
    if (r.core != any_core && r.core >= cores) return Status::out_of_range;
    if (policy.carries_privilege(r.program) && !caller_privileged) return Status::permission_denied;
    return Status::ok;
}

} // namespace myr::procserv
