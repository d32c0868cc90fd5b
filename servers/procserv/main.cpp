// procserv: the process server (docs/servers.md, "procserv"). Starts programs by name on a core (or
// where the monitors choose) with an argument string, lists every core's live domains, kills
// domains under the rule of procserv/table.hpp, and remembers how each program it started ended
// (from the death feed) so that clients can wait for it. Built on the monitor operations spawn,
// spawn_arg, list, kill and deaths; it holds the kill privilege through the kernel option
// `monitor.kill=procserv`.
//
// Name: "procserv", in nameserv when the machine runs it, else in the monitors' table
// (nameserv::publish). One instance per machine: a second finds the name taken and exits 1.
//
// Arguments: the string `admin=NAME[+NAME...]` (programs whose callers are privileged: may kill
// any domain a monitor started but procserv, and may start procserv or admin programs) and
// `exit_after=N` (exit once N client connections have closed; 0 or absent: serve until killed;
// tests use it to end a run plan's `wait`). Started by a plan's spawn: step without a string,
// bits 16-31 of the number in rdi give exit_after.
#include <myr/nameserv/client.hpp>
#include <myr/procserv/service.hpp>
#include <myr/rpc/server.hpp>
#include <myr/user/args.hpp>
#include <myr/user/domains.hpp>

using namespace myr;
using namespace myr::procserv;

namespace {

// Monitor calls to another core poll with wait_event; a monitor that does not answer within
// this many wake-ups (about 20 s at 100 Hz) fails the request instead of holding procserv.
constexpr std::uint64_t monitor_tries = 2000;

struct GuestMonitors {
    std::uint32_t n_cores = 1;

    std::uint32_t cores() const { return n_cores; }

    Status spawn(const Program& p, std::uint32_t core, const char* args, Address& out) {
        char name[max_program + 1];
        p.copy_cstr(name, sizeof name);
        user::Spawned s{};
        const Status st = user::spawn(name, core == any_core ? abi::spawn_any : core, args, s, monitor_tries);
        if (st == Status::ok) out = {static_cast<std::uint32_t>(s.core), static_cast<std::uint32_t>(s.domain)};
        return st;
    }
    Status kill(const Address& a) {
        const Status s = user::kill(a.core, a.domain, monitor_tries);
        // The monitor's own refusal for a target it may not end (a monitor) reads the same as ours.
        return s == Status::invalid_argument ? Status::out_of_range : s;
    }
    Status list(std::uint32_t core, std::uint32_t index, std::uint32_t& domain, Program& name, bool& server) {
        std::uint64_t d = 0;
        char text[17];
        const Status s = user::list(core, index, d, text, monitor_tries, &server);
        if (s != Status::ok) return s;
        domain = static_cast<std::uint32_t>(d);
        name = Program{};
        (void)name.assign_cstr(text);
        return s;
    }
};

Address self_address() {
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    return Address{static_cast<std::uint32_t>(info >> 32), static_cast<std::uint32_t>(info)};
}

std::uint32_t machine_cores() {
    static abi::TopologyInfo topo;  // 4.6 KiB: not on the stack
    if (user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo).status != Status::ok ||
        topo.cores == 0)
        return 1;
    return topo.cores;
}

GuestMonitors monitors;
char admin_text[args::max_len + 1];
constexpr unsigned max_connections = 14;
using Svc = Service<GuestMonitors, max_connections>;
Svc* svc_ptr = nullptr;
std::uint64_t death_cursor = 0;
std::uint64_t feed_overflows = 0;

// The ends of programs we started, from this core's monitor's death feed. When the feed moved
// past our cursor, deaths were missed: every running entry is asked about with `alive`.
void reap() {
    for (unsigned n = 0; n < 64; ++n) {
        user::Death d{};
        const Status s = user::next_death(death_cursor, d);
        if (s == Status::would_block) return;
        if (s == Status::overflow) {
            ++feed_overflows;
            death_cursor = d.cursor;
            for (std::uint32_t i = 0; i < Table::capacity; ++i) {
                const Table::Entry* e = svc_ptr->table().slot(i);
                if (e && !e->ended && user::alive(e->at.core, e->at.domain) == Status::connection_lost)
                    (void)svc_ptr->death(e->at, abi::death_unknown, 0);
            }
            continue;
        }
        if (s != Status::ok) return;
        death_cursor = d.cursor;
        (void)svc_ptr->death(Address{d.core, d.domain}, static_cast<std::uint32_t>(d.how), d.code);
    }
}

// Forwards to the Service; wait and kill first read the feed so their answer is current.
struct Handler {
    template <typename Op>
    Status handle(const rpc::Caller& c, const Op& r, typename Op::Reply& out) {
        if constexpr (__is_same(Op, Wait) || __is_same(Op, Kill)) reap();
        return svc_ptr->handle(c, r, out);
    }
    void closed(const rpc::Caller& c) { svc_ptr->closed(c); }
};

Handler handler;
rpc::Server<Interface, Handler, max_connections> server(handler);

} // namespace

extern "C" int main(std::uint64_t arg) {
    std::uint64_t exit_after = (arg >> 16) & 0xffff;
    char text[args::max_len + 1];
    std::uint64_t admin_len = 0;
    const Result<std::uint64_t> len = user::read_args(text, sizeof text);
    if (len.ok() && *len > 0) {
        exit_after = 0;
        (void)args::number(text, *len, "exit_after", exit_after);
        const args::View v = args::value(text, *len, "admin");
        if (v.found) {
            for (std::uint64_t i = 0; i < v.len && i < args::max_len; ++i) admin_text[i] = v.text[i];
            admin_len = v.len;
        }
        std::uint64_t replica = 0;
        if (args::number(text, *len, "replica", replica) && replica != 0) {
            user::print("procserv: replica {}: procserv runs once per machine", replica);
            return 1;
        }
    }
    monitors.n_cores = machine_cores();
    const Address self = self_address();
    static Svc svc(monitors, Policy{admin_text, admin_len, "procserv"}, self);
    svc_ptr = &svc;
    if (const Status s = nameserv::publish(server, procserv::service); s != Status::ok) {
        user::print("procserv: cannot register {}: {}", procserv::service, to_string(s));
        return 1;
    }
    nameserv::session().close();  // not needed again: a connection of the node's replica, which has few
    user::print("procserv: serving on core {} domain {} cores={} admin={} exit_after={}", self.core, self.domain,
                monitors.n_cores, admin_len ? admin_text : "-", exit_after);
    for (std::uint64_t idle = 0, passes = 0;; ++passes) {
        svc.set_bad(server.bad_requests());
        if (exit_after != 0 && svc.closed_connections() >= exit_after) break;
        idle = server.poll() ? 0 : idle + 1;
        // Background work costs monitor calls: when idle, and every 256 busy passes.
        if (idle > 200 || (passes & 255) == 0) {
            reap();
            if (idle > 200 && !server.accept()) user::wait_event();  // a new client first: see it now
        }
    }
    StatsReply st{};
    (void)svc.handle(rpc::Caller{}, Stats{}, st);
    user::print("procserv: done: {} requests, {} bad, started={} refused={} killed={} kill_refused={} ended={} running={} "
                "feed_overflows={}",
                server.served(), server.bad_requests(), st.started, st.refused, st.killed, st.kill_refused, st.ended,
                st.running, feed_overflows);
    nameserv::session().close();
    return 0;
}
