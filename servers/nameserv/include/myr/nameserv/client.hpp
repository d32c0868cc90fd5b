#pragma once
// nameserv from a domain (docs/servers.md, "nameserv"): a session with this node's replica
// ("nameserv.<node>", a bootstrap name in the monitors' table; "nameserv.0" when the node has
// none), calls that retry while the replica catches up (busy), wait_for; publish(): a server's
// name goes into nameserv when the config runs nameserv, else into the monitors' table; and
// connect(): bind to a service by its nameserv name (bind by address), or by a bootstrap name.
#include <myr/nameserv/interface.hpp>
#include <myr/rpc/guest.hpp>
#include <myr/user/domains.hpp>

namespace myr::nameserv {

// This core's NUMA node (0 when the topology call fails).
inline std::uint32_t my_node() {
    static abi::TopologyInfo topo;  // 4.6 KiB: not on the stack
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
    if (user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo).status != Status::ok ||
        core >= topo.cores || core >= abi::topo_max_cores)
        return 0;
    return topo.core_node[core];
}

// "nameserv.N" (N < 100).
inline void replica_name(std::uint32_t n, char (&out)[16]) {
    const char base[] = "nameserv.";
    unsigned i = 0;
    for (; base[i]; ++i) out[i] = base[i];
    if (n >= 10) out[i++] = static_cast<char>('0' + (n / 10) % 10);
    out[i++] = static_cast<char>('0' + n % 10);
    out[i] = '\0';
}

inline bool to_name(const char* s, Name& out) {
    out = Name{};
    return out.assign_cstr(s) && valid_name(out);
}

class Session {
public:
    // Wake-ups a call waits while the replica answers busy (catching up with the orderer).
    std::uint64_t busy_tries = 3000;

    Status open(std::uint64_t tries = 3000) {
        if (m_rpc.connected()) return Status::ok;
        char name[16];
        replica_name(my_node(), name);
        Status s = m_rpc.connect(name, tries);
        if (s == Status::not_found) s = m_rpc.connect("nameserv.0", tries);
        return s;
    }

    template <typename Op>
    Status call(const Op& request, typename Op::Reply& reply) {
        Status s = Status::busy;
        user::Backoff pause;
        for (user::Deadline limit(busy_tries); !limit.passed();) {
            s = m_rpc.call(request, reply);
            if (s != Status::busy) return s;
            pause.wait();
        }
        return s;
    }

    Status register_name(const char* name, Address& owner) { return named<Register>(name, owner); }
    Status lookup(const char* name, Address& owner) { return named<Lookup>(name, owner); }
    // A lookup that waits at most `busy` wake-ups while the replica answers busy (a server that
    // must not stall its own serving on it), the session's own busy_tries unchanged.
    Status lookup(const char* name, Address& owner, std::uint64_t busy) {
        const std::uint64_t saved = busy_tries;
        busy_tries = busy;
        const Status s = lookup(name, owner);
        busy_tries = saved;
        return s;
    }
    Status unregister(const char* name, Address& owner) { return named<Unregister>(name, owner); }

    // Waits until `name` exists (client-side: a lookup per wake-up at this node's replica, which
    // holds no state for waiters); timeout after `tries` timer ticks.
    Status wait_for(const char* name, Address& owner, std::uint64_t tries) {
        user::Backoff pause;
        for (user::Deadline limit(tries); !limit.passed();) {
            const Status s = lookup(name, owner);
            if (s != Status::not_found) return s;
            pause.wait();
        }
        return Status::timeout;
    }

    Status list(std::uint32_t from, ListReply& out) { return call(List{from}, out); }

    rpc::Client& rpc() { return m_rpc; }
    void close() { m_rpc.close(); }

private:
    template <typename Op>
    Status named(const char* name, Address& owner) {
        owner = Address{};
        Op r{};
        if (!to_name(name, r.name_)) return Status::invalid_argument;
        if (const Status s = open(); s != Status::ok) return s;
        OwnerReply out{};
        const Status s = call(r, out);
        owner = out.owner;
        return s;
    }

    rpc::Client m_rpc;
};

// One session per domain: connections cost ring budget for the domain's whole life.
inline Session& session() {
    static Session s;
    return s;
}

// Whether this machine runs nameserv: the config places it ([[server]]), or a replica 0 started
// otherwise (a plan step) exported its bootstrap name already. Asked of this core's monitor (no
// messages) until the answer is yes, which is kept. Without nameserv, servers export their names
// in the monitors' table and clients bind by those names.
inline bool present() {
    static bool known = false;
    if (!known) {
        std::uint64_t instances = 0;
        known = (user::server_configured("nameserv", instances) == Status::ok && instances > 0) ||
                user::server_configured("nameserv.0", instances) == Status::ok;
    }
    return known;
}

// Makes `name` known for `server` (an rpc::Server): registered in nameserv when the config runs
// it (then the monitors' table never holds it), else exported in the monitors' table. A name a
// dead predecessor still holds (a restarted server, before nameserv or the monitors processed the
// death) is asked for again for up to `tries` timer ticks; so is a nameserv not up yet. exists:
// a live domain holds it.
template <typename S>
Status publish(S& server, const char* name, std::uint64_t tries = 3000) {
    Status s = Status::timeout;
    if (!present()) {
        for (user::Deadline limit(tries); (s = server.start(name)) == Status::exists && !limit.passed();) user::wait_beating();
        return s;
    }
    // One server asking (a restart's critical path): at the pace of wake-ups, no backoff.
    for (user::Deadline limit(tries); !limit.passed();) {
        Address owner{};
        s = session().register_name(name, owner);
        if (s == Status::ok || s == Status::invalid_argument || s == Status::bad_request) return s;
        if (s == Status::exists && user::alive(owner.core, owner.domain) != Status::connection_lost) return s;
        user::wait_beating();
    }
    return s;
}

// Connects `c` to the service `name`: looked up in nameserv and bound by address, or, when
// nameserv does not know it and it fits the monitors' 16 bytes, bound by the monitors' bootstrap
// table (user::bind). Waits up to `tries` timer ticks for either to know it. Without nameserv in
// the config, only the monitors' table is asked.
inline Status connect(rpc::Client& c, const char* name, std::uint64_t tries = 3000) {
    // A lost connection binds again the same way (rpc::Client::call of a retryable operation).
    c.set_rebind(name, [](rpc::Client& again, const char* n) { return connect(again, n); });
    std::size_t len = 0;
    while (name[len] && len <= max_name) ++len;
    user::Backoff pause;
    for (user::Deadline limit(tries); !limit.passed();) {
        Address a{};
        if (present() && session().lookup(name, a) == Status::ok) {
            // not_found: the server registered its name before its first accept (bind_to reaches
            // only a domain that accepts): ask again below while time is left.
            // connection_lost: the domain that holds the name ended (a crashed server whose
            // restart registers again): ask again below too.
            const Status cs = c.connect_to(a.core, a.domain, 0, tries);
            if (cs != Status::not_found && cs != Status::connection_lost) return cs;
        }
        if (len <= 16) {
            user::Binding b{};
            user::Message m{};
            m.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind);
            user::pack_name16(name, m.w[1], m.w[2]);
            const Status bs = user::monitor_call(m);
            if (bs == Status::ok) {
                user::Message poll{};
                poll.w[0] = static_cast<std::uint64_t>(abi::MonitorOp::bind_poll);
                poll.w[1] = m.w[1];
                const Status ps = user::poll_binding(poll, b, tries);
                if (ps == Status::ok) {
                    const Status as = c.attach(b, tries);
                    if (as != Status::connection_lost) return as;  // lost: it ended meanwhile, again
                }
                else if (ps != Status::busy && ps != Status::not_found) return ps;  // busy, or not yet there: again
            } else if (bs != Status::not_found && bs != Status::busy) {
                return bs;  // busy: retry below
            }
            // (The bind itself answered ok but its poll busy or not_found: again. Returning `bs`
            // here answered ok with no connection; svcheck saw `connection lost` on its first call.)
        }
        pause.wait();
    }
    return Status::not_found;
}

} // namespace myr::nameserv
