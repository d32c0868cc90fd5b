#pragma once
// procserv's request handling, pure over a Monitors backend (the guest's monitor calls in
// servers/procserv/main.cpp; a fake in tests/unit/procserv_test.cpp and tests/fuzz/fuzz_procserv.cpp),
// so the server, the host tests and the fuzzer run the same decisions. Monitors provides:
//   std::uint32_t cores();
//   Status spawn(const Program&, std::uint32_t core /* or any_core */, const char* args, Address& out);
//   Status kill(const Address&);
//   Status list(std::uint32_t core, std::uint32_t index, std::uint32_t& domain, Program& name, bool& server);
#include <myr/procserv/table.hpp>

namespace myr::procserv {

template <typename Monitors, unsigned MaxConnections = 16>
class Service {
public:
    Service(Monitors& m, const Policy& p, Address self) : m_mon(m), m_policy(p), m_self(self) {}

    Status handle(const rpc::Caller& c, const Start& r, StartReply& out) {
        const Address caller{c.core, c.domain};
        const Status checked = check_start(r, m_mon.cores(), m_policy, r.program.size ? privileged(c) : false);
        if (checked != Status::ok) return refuse(checked);
        if (const Status s = m_table.reserve(caller); s != Status::ok) return refuse(s);
        char name[max_program + 1];
        r.program.copy_cstr(name, sizeof name);
        char text[max_args + 1];
        r.args.copy_cstr(text, sizeof text);
        const Status s = m_mon.spawn(r.program, r.core, text, out.where);
        if (s != Status::ok) return refuse(s);
        // The table had room (reserve); a failure here would be an address the monitors gave twice.
        if (m_table.add(out.where, r.program, caller) != Status::ok) return Status::internal;
        ++m_started;
        return Status::ok;
    }

    Status handle(const rpc::Caller&, const List& r, ListReply& out) {
        const std::uint32_t cores = m_mon.cores();
        out.cores = cores;
        if (r.core > cores) return Status::out_of_range;
        std::uint32_t core = r.core, index = r.index;
        // At most list_page domains and a bounded number of monitor calls per request: the
        // server answers one request at a time, so one list must not hold up the others long.
        for (unsigned calls = 0; core < cores && out.entries.count < list_page && calls < list_page + 8; ++calls) {
            Proc p{};
            std::uint32_t domain = 0;
            const Status s = m_mon.list(core, index, domain, p.program, p.server);
            if (s == Status::not_found) {
                ++core;
                index = 0;
                continue;
            }
            if (s != Status::ok) return s;  // a monitor did not answer: the client may retry
            p.at = Address{core, domain};
            if (const Table::Entry* e = m_table.find(p.at)) {
                p.procserv = true;
                p.owner = e->owner;
            }
            (void)out.entries.push(p);
            ++index;
        }
        out.next_core = core;
        out.next_index = index;
        return Status::ok;
    }

    Status handle(const rpc::Caller& c, const Kill& r, rpc::Empty&) {
        if (r.target.core >= m_mon.cores()) return Status::out_of_range;
        const Address caller{c.core, c.domain};
        const Status may = m_table.may_kill(caller, privileged(c), r.target, m_self);
        if (may != Status::ok) {
            ++m_kill_refused;
            return may;
        }
        const Status s = m_mon.kill(r.target);
        if (s == Status::ok) {
            ++m_killed;
        } else {
            ++m_kill_refused;
        }
        return s;
    }

    Status handle(const rpc::Caller&, const Wait& r, WaitReply& out) { return m_table.wait(r.target, out); }

    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        out = {m_started, m_refused, m_killed, m_kill_refused, m_table.ends(), m_table.running(), m_bad};
        return Status::ok;
    }

    // A connection ended: the next one in its place is another caller.
    void closed(const rpc::Caller& c) {
        if (c.connection < MaxConnections) m_priv[c.connection] = {};
        ++m_closed;
    }

    // A death from the feed.
    bool death(const Address& at, std::uint32_t how, std::uint32_t code) { return m_table.ended(at, how, code); }

    Table& table() { return m_table; }
    [[nodiscard]] std::uint64_t closed_connections() const { return m_closed; }
    void set_bad(std::uint64_t bad) { m_bad = bad; }

private:
    // Whether the caller runs a privileged program: asked of its monitor once per connection (the
    // program name the monitor started it under, which the caller cannot choose).
    bool privileged(const rpc::Caller& c) {
        if (m_policy.admins_len == 0) return false;
        PrivCache* p = c.connection < MaxConnections ? &m_priv[c.connection] : nullptr;
        if (p && p->known && p->at == Address{c.core, c.domain}) return p->privileged;
        bool result = false;
        for (std::uint32_t i = 0; i < 64; ++i) {
            std::uint32_t domain = 0;
            Program name{};
            bool server = false;
            if (m_mon.list(c.core, i, domain, name, server) != Status::ok) break;
            if (domain == c.domain) {
                result = m_policy.privileged(name);
                break;
            }
        }
        if (p) *p = {true, Address{c.core, c.domain}, result};
        return result;
    }

    Status refuse(Status s) {
        ++m_refused;
        return s;
    }

    struct PrivCache {
        bool known = false;
        Address at{};
        bool privileged = false;
    };

    Monitors& m_mon;
    Policy m_policy;
    Address m_self;
    Table m_table;
    PrivCache m_priv[MaxConnections] = {};
    std::uint64_t m_started = 0, m_refused = 0, m_killed = 0, m_kill_refused = 0, m_closed = 0, m_bad = 0;
};

} // namespace myr::procserv
