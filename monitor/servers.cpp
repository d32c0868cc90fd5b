// Servers and program arguments (servers.hpp, docs/monitors.md "Program arguments", "Servers").
#include "servers.hpp"

#include "binding.hpp"
#include "servers_state.hpp"
#include "liveness.hpp"
#include "mesh.hpp"
#include <myr/monitor/protocol.hpp>

#include <myr/args.hpp>
#include <myr/supervise.hpp>

namespace myr::monitor::servers {
// Shared with supervise.cpp through servers_state.hpp; the rest is this file's own.
namespace detail {

using namespace myr::user;

KernelOption kernel_option = nullptr;

// Bytes of `text` packed little-endian into words (the wire format of names and argument pieces).
void pack(const char* text, std::uint64_t len, std::uint64_t* w, unsigned words) {
    for (unsigned i = 0; i < words; ++i) w[i] = 0;
    for (std::uint64_t i = 0; i < len && i < words * 8ull; ++i)
        w[i / 8] |= std::uint64_t{static_cast<unsigned char>(text[i])} << (8 * (i % 8));
}
// Unpacks up to `words` * 8 bytes, stopping at the first zero; returns how many.
std::uint64_t unpack(const std::uint64_t* w, unsigned words, char* out) {
    std::uint64_t n = 0;
    for (; n < words * 8ull; ++n) {
        const char ch = static_cast<char>(w[n / 8] >> (8 * (n % 8)));
        if (!ch) break;
        out[n] = ch;
    }
    return n;
}

// ---- What this monitor started ---------------------------------------------------------------
// Program and argument string of every domain this monitor started and has not seen end (the
// end is noticed through binding.cpp's domain caps; a domain id the kernel reuses replaces a
// stale record). A spawn with arguments is refused (busy) when the table is full, so a domain
// never runs without the arguments it was given.
Started started[max_started];

Started* record_of(std::uint64_t domain) {
    for (Started& s : started)
        if (s.used && s.domain == domain) return &s;
    return nullptr;
}

// ---- Argument strings from another core ahead of its spawn_req --------------------------------
struct Pending {
    std::uint8_t len;
    bool bad;  // a piece out of order or past max_args: the spawn is refused (malformed)
    char text[max_args];
};
Pending pending[max_cores];

// ---- Spawns asked for by domains of this core -------------------------------------------------
// One argument string in staging per domain (spawn_arg), at most `tickets_per_domain` spawns on
// other cores in flight per domain: a domain spawning in a loop is answered busy, and the
// tables stay for the others.
struct Stage {
    bool used;
    std::uint8_t len;
    std::uint32_t domain;
    char text[max_args];
};
constexpr unsigned max_stages = 8;
Stage stages[max_stages];

struct Ticket {
    bool used, done;
    std::uint16_t gen;
    std::uint32_t domain, core, result;
    Status status;
};
constexpr unsigned max_tickets = 16;
constexpr unsigned tickets_per_domain = 2;
Ticket tickets[max_tickets];
std::uint16_t ticket_gen;
std::uint64_t next_any;  // round robin over the caller's node for spawn_any

// spawn_req tags (word 0): the plan's own are small numbers (plan.cpp); ours carry a kind bit.
constexpr std::uint64_t tag_domain = std::uint64_t{1} << 40;  // | gen << 16 | ticket
constexpr std::uint64_t tag_plan = std::uint64_t{1} << 41;    // | instance index of the round

// Sends an argument string as spawn_args lines, then the spawn_req for `program` on `core`.
void send_spawn(std::uint64_t core, std::uint64_t tag, const char* program, std::uint64_t plen, const char* text,
                std::uint64_t len) {
    for (std::uint64_t off = 0; off < len; off += 40) {
        std::uint64_t w[5];
        pack(text + off, len - off < 40 ? len - off : 40, w, 5);
        send(core, spawn_args, 0, off, w[0], w[1], w[2], w[3], w[4]);
    }
    std::uint64_t n[5];
    pack(program, plen, n, 5);
    send(core, spawn_req, tag, n[0], n[1], n[2], n[3], n[4], ~0ull);
}

void wake_local_domains() { (void)syscall6(abi::Sys::send_ipi, ipi_cap, mesh.core); }

// ---- The boot core's servers and plan steps ---------------------------------------------------
constinit Server configured[max_servers] = {};
unsigned server_count;

// One round of starts (boot, or a start: step): each instance's outcome.
struct Outcome {
    bool done;
    Status status;
    std::uint16_t server;  // index into servers, or max_servers: a plain program
    std::uint32_t core, domain;
};
constexpr unsigned max_round = max_cores;
Outcome round_[max_round];
unsigned round_len, round_done;
char plain_name[name_max + 1];  // the program of a start: step that names no server

bool round_complete() { return round_done == round_len; }

// The argument string of instance `index` of a configured server: its table's words, then
// `replica=I replicas=K` (every instance knows its place). 0 when it does not fit.
std::uint64_t instance_text(const Server& s, unsigned index, char (&text)[max_args]) {
    char suffix[48];
    FixedBuffer out(suffix, sizeof suffix);
    format_to(out, "{}replica={} replicas={}", s.len ? " " : "", index, s.count);
    if (s.len + out.size() > max_args) return 0;
    copy(text, s.text, s.len);
    copy(text + s.len, out.c_str(), out.size());
    return s.len + out.size();
}

// Starts one instance (of configured[server], or of plain_name when server == max_servers) on core.
void start_instance(unsigned server, std::uint64_t core) {
    Outcome& o = round_[round_len];
    o = {false, Status::ok, static_cast<std::uint16_t>(server), static_cast<std::uint32_t>(core), 0};
    const unsigned index = round_len++;
    char text[max_args] = {};
    std::uint64_t len = 0;
    const char* program = plain_name;
    if (server < max_servers) {
        Server& s = configured[server];
        program = s.program;
        len = instance_text(s, s.next, text);
        if (len == 0) {
            o.done = true;
            o.status = Status::overflow;
            ++round_done;
            return;
        }
        ++s.next;
    }
    const std::uint64_t plen = length(program, name_max);
    if (core == mesh.core) {
        const SysResult r = start_local(program, plen, ~0ull, text, len);
        o = {true, r.status, o.server, o.core, static_cast<std::uint32_t>(r.value)};
        ++round_done;
        return;
    }
    send_spawn(core, tag_plan | index, program, plen, text, len);
}

// Prints the round's outcomes; returns how many failed.
unsigned report_round() {
    unsigned failed = 0;
    for (unsigned i = 0; i < round_len; ++i) {
        const Outcome& o = round_[i];
        const char* name = o.server < max_servers ? configured[o.server].name : plain_name;
        if (o.status == Status::ok) {
            emit("server-start name={} core={} domain={}", name, o.core, o.domain);
        } else {
            ++failed;
            emit("server-fail name={} core={} status={}", name, o.core, static_cast<int>(o.status));
            print("cannot start {} on core {}: {}", name, o.core, to_string(o.status));
        }
    }
    return failed;
}

// server.I=NAME:PROGRAM:CORES:ARGS (myriadctl writes it, docs/configs.md): CORES a list of core
// numbers separated by '.', ARGS the argument string with its spaces as commas (may be empty, may
// hold colons). Supervision comes in words of its own (load()).
bool parse_server(char* v, Server& s) {
    s = {};
    char* field[4] = {v, nullptr, nullptr, nullptr};
    for (unsigned f = 1; f < 4; ++f) {
        char* p = field[f - 1];
        while (*p && *p != ':') ++p;
        if (!*p) return false;
        *p = '\0';
        field[f] = p + 1;
    }
    const std::uint64_t nlen = length(field[0], 17), plen = length(field[1], name_max + 1);
    if (nlen == 0 || nlen > 16 || plen == 0 || plen > name_max) return false;
    copy(s.name, field[0], nlen);
    copy(s.program, field[1], plen);
    const std::uint64_t alen = length(field[3], max_args + 1);
    if (alen > max_args) return false;
    copy(s.text, field[3], alen);
    s.len = static_cast<std::uint8_t>(args::decode_commas(s.text, alen));
    for (const char* p = field[2]; *p;) {
        std::uint64_t c = 0;
        if (!args::decimal(p, max_cores, c) || c >= mesh.cores || (*p && *p != '.') || s.count == max_cores) return false;
        s.cores[s.count++] = static_cast<std::uint16_t>(c);
        if (*p) ++p;
    }
    return s.count > 0;
}

// NAME[@CORE] of a plan step: the server (index) or max_servers with plain_name set; core or ~0.
bool parse_spec(const char* spec, unsigned& server, std::uint64_t& core) {
    char name[name_max + 1] = {};
    std::uint64_t n = 0;
    while (spec[n] && spec[n] != '@' && n < name_max) name[n] = spec[n], ++n;
    if (n == 0 || (spec[n] && spec[n] != '@')) return false;
    core = ~0ull;
    if (spec[n] == '@') {
        std::uint64_t c = 0;
        if (!args::whole_decimal(spec + n + 1, max_cores, c) || c >= mesh.cores) return false;
        core = c;
    }
    server = max_servers;
    for (unsigned i = 0; i < server_count; ++i)
        if (same(configured[i].name, name)) server = i;
    if (server == max_servers) copy(plain_name, name, n + 1);
    return true;
}

// A stop round: cores asked, cores done, domains killed.
std::uint64_t stop_tag;
std::uint32_t stops_asked, stops_done, stopped_now;
std::uint64_t stopped_total;
char stop_name[name_max + 1];
bool stop_crash;  // the round is a crash: step
bool stops_complete() { return stops_done == stops_asked; }

// Kills what this monitor started of `program`; calls `killed` for each. `crash`: a fault
// injected by the plan (crash: step), which the supervisor treats as a crash of the instance.
template <typename F>
std::uint32_t kill_local(const char* program, F killed, bool crash = false) {
    std::uint32_t n = 0;
    for (Started& s : started) {
        if (!s.used || !same(s.program, program)) continue;
        s.injected = crash;
        if (binding::kill(s.domain) == Status::ok) {
            ++n;
            killed(s.domain);
        } else {
            s.injected = false;
        }
    }
    return n;
}

// The server tables (kernel options server.I=): every monitor reads them, the boot core's to
// start the instances, every core's to supervise its own. How many words were bad.
bool loaded;
unsigned load(bool report) {
    if (loaded) return 0;
    loaded = true;
    unsigned bad = 0;
    for (unsigned i = 0; i < max_servers; ++i) {
        char key[16];
        FixedBuffer k(key, sizeof key);
        format_to(k, "server.{}", i);
        char value[512];
        if (!kernel_option(k.c_str(), value, sizeof value)) continue;
        if (!parse_server(value, configured[server_count])) {
            if (report) print("bad kernel option {}: not NAME:PROGRAM:CORES:ARGS within this machine", k.c_str());
            ++bad;
            continue;
        }
        // server.I.restart=POLICY (myr/supervise.hpp) and server.I.heartbeat=MS, when set.
        Server& s = configured[server_count];
        char rkey[32], hkey[32];
        FixedBuffer rk(rkey, sizeof rkey);
        format_to(rk, "server.{}.restart", i);
        if (kernel_option(rk.c_str(), value, sizeof value) && !supervise::parse(value, length(value, 64), s.policy)) {
            if (report) print("bad kernel option {}: not never, always@B or N/T@B", rk.c_str());
            ++bad;
            continue;
        }
        FixedBuffer hk(hkey, sizeof hkey);
        format_to(hk, "server.{}.heartbeat", i);
        if (kernel_option(hk.c_str(), value, sizeof value)) {
            std::uint64_t ms = 0;
            if (!args::whole_decimal(value, supervise::max_heartbeat_ms, ms) || ms < supervise::min_heartbeat_ms) {
                if (report) print("bad kernel option {}: not a period of 50-600000 ms", hk.c_str());
                ++bad;
                continue;
            }
            s.heartbeat_ms = ms;
        }
        ++server_count;
    }
    return bad;
}

} // namespace detail

using namespace detail;

void init(KernelOption option) { kernel_option = option; }

SysResult start_local(const char* name, std::uint64_t name_len, std::uint64_t arg, const char* text, std::uint64_t len) {
    if (name_len > name_max) return {Status::not_found, 0};  // longer than any boot module's name
    if (len > max_args) return {Status::overflow, 0};
    Started* rec = nullptr;
    for (Started& s : started)
        if (!s.used) {
            rec = &s;
            break;
        }
    if (!rec && len) return {Status::busy, 0};
    const std::uint64_t slot = binding::spawn_slot();
    const SysResult r = syscall6(abi::Sys::spawn, kernel_cap, reinterpret_cast<std::uint64_t>(name), name_len,
                                 arg == ~0ull ? mesh.core : arg, slot);
    binding::started(r.value, slot, r.status == Status::ok, name, name_len);
    if (r.status != Status::ok) return r;
    // The kernel reuses domain ids: a record left by an earlier domain of this id is stale.
    if (Started* old = record_of(r.value)) {
        supervise_stale(*old);
        old->used = false;
    }
    if (rec) {
        *rec = {};
        rec->used = true;
        rec->domain = static_cast<std::uint32_t>(r.value);
        rec->len = static_cast<std::uint8_t>(len);
        copy(rec->program, name, name_len);
        copy(rec->text, text, len);
        supervise_started(*rec);
    } 
    return r;
}

Answer serve(std::uint64_t domain, const std::uint64_t (&w)[4]) {
    switch (static_cast<abi::MonitorOp>(w[0])) {
    case abi::MonitorOp::heartbeat: return heartbeat(domain);
    case abi::MonitorOp::server_info: {
        (void)load(false);
        char name[17] = {};
        const std::uint64_t nlen = unpack(&w[1], 2, name);
        if (nlen == 0) return {Status::not_found, 0, 0, 0, 0};
        for (unsigned i = 0; i < server_count; ++i)
            if (same(configured[i].name, name) || same(configured[i].program, name))
                return {Status::ok, 0, configured[i].count, i, 0};
        return {Status::not_found, 0, 0, 0, 0};
    }
    case abi::MonitorOp::args: {
        const Started* rec = record_of(domain);
        const std::uint64_t len = rec ? rec->len : 0, off = w[1];
        if (off > len) return {Status::out_of_range, len, 0, 0, 0};
        std::uint64_t out[3];
        pack(rec ? rec->text + off : "", len - off, out, 3);
        return {Status::ok, len, out[0], out[1], out[2]};
    }
    case abi::MonitorOp::spawn_arg: {
        Stage* st = nullptr;
        for (Stage& s : stages)
            if (s.used && s.domain == domain) st = &s;
        for (Stage& s : stages)
            if (!st && !s.used) st = &s, s = {true, 0, static_cast<std::uint32_t>(domain), {}};
        if (!st) return {Status::busy, 0, 0, 0, 0};
        char piece[16];
        const std::uint64_t words[2] = {w[2], w[3]};
        const std::uint64_t n = unpack(words, 2, piece), off = w[1];
        if (off == 0) st->len = 0;
        if (off > st->len) return {Status::invalid_argument, st->len, 0, 0, 0};
        if (off + n > max_args) return {Status::overflow, st->len, 0, 0, 0};
        copy(st->text + off, piece, n);
        st->len = static_cast<std::uint8_t>(off + n);
        return {Status::ok, st->len, 0, 0, 0};
    }
    case abi::MonitorOp::spawn: {
        if (w[1] == 0) {  // poll a ticket
            const std::uint64_t i = w[2] & 0xffff;
            if (i >= max_tickets) return {Status::not_found, 0, 0, 0, 0};
            Ticket& t = tickets[i];
            if (!t.used || t.domain != domain || t.gen != (w[2] >> 16)) return {Status::not_found, 0, 0, 0, 0};
            if (!t.done) return {Status::would_block, 0, w[2], 0, 0};
            const Answer a{t.status, 0, t.core, t.result, 0};
            t = {};
            return a;
        }
        char name[17] = {};
        const std::uint64_t nlen = unpack(&w[1], 2, name);
        std::uint64_t core = w[3];
        if (core == abi::spawn_any) {
            // Round robin over the cores of the caller's node (this core without a topology).
            core = mesh.core;
            if (topo.cores == mesh.cores)
                for (std::uint64_t k = 0; k < mesh.cores; ++k) {
                    const std::uint64_t c = (next_any + k) % mesh.cores;
                    if (topo.core_node[c] == topo.core_node[mesh.core]) {
                        core = c;
                        next_any = c + 1;
                        break;
                    }
                }
        }
        if (core >= mesh.cores) return {Status::out_of_range, 0, 0, 0, 0};
        if (!binding::may_start(domain, name)) return {Status::permission_denied, 0, 0, 0, 0};
        Stage* st = nullptr;
        for (Stage& s : stages)
            if (s.used && s.domain == domain) st = &s;
        const char* text = st ? st->text : "";
        const std::uint64_t len = st ? st->len : 0;
        if (core == mesh.core) {
            const SysResult r = start_local(name, nlen, ~0ull, text, len);
            if (st && r.status != Status::busy) *st = {};
            return {r.status, 0, core, r.status == Status::ok ? r.value : 0, 0};
        }
        unsigned mine = 0;
        Ticket* t = nullptr;
        for (Ticket& k : tickets) {
            mine += k.used && k.domain == domain;
            if (!k.used && !t) t = &k;
        }
        if (mine >= tickets_per_domain || !t) return {Status::busy, 0, 0, 0, 0};
        ++ticket_gen;
        *t = {true, false, ticket_gen, static_cast<std::uint32_t>(domain), static_cast<std::uint32_t>(core), 0, Status::ok};
        const std::uint64_t ticket = static_cast<std::uint64_t>(t - tickets) | std::uint64_t{ticket_gen} << 16;
        send_spawn(core, tag_domain | ticket, name, nlen, text, len);
        if (st) *st = {};
        return {Status::would_block, 0, ticket, 0, 0};
    }
    default: return {Status::invalid_argument, 0, 0, 0, 0};
    }
}

void domain_ended(std::uint64_t domain, std::uint64_t how) {
    for (Started& s : started)
        if (s.used && s.domain == domain) {
            supervise_ended(s, how);
            s.used = false;
        }
    for (Stage& s : stages)
        if (s.used && s.domain == domain) s = {};
    for (Ticket& t : tickets)
        if (t.used && t.domain == domain) t = {};  // a late reply no longer matches (gen)
}

void on_spawn_args(std::uint64_t from, const urpc::Message& m) {
    Pending& p = pending[from];
    const std::uint64_t off = m.words[1];
    if (off == 0) p = {};
    char piece[40];
    const std::uint64_t n = unpack(&m.words[2], 5, piece);
    if (off != p.len || off + n > max_args) {
        p.bad = true;
        return;
    }
    copy(p.text + off, piece, n);
    p.len = static_cast<std::uint8_t>(off + n);
}

void on_spawn_request(std::uint64_t from, const urpc::Message& m) {
    char name[41] = {};
    const std::uint64_t len = unpack(&m.words[1], 5, name);
    Pending& p = pending[from];
    const SysResult r = p.bad || len > name_max ? SysResult{Status::malformed, 0} : start_local(name, len, m.words[6], p.text, p.len);
    if (r.status == Status::ok && (m.words[0] & tag_move) && liveness::enabled() && from == liveness::coordinator()) {
        adopt(r.value);  // a move by the coordinator (supervise.cpp, cores_lost)
        moved_here(m.words[0]);
    }
    if (p.bad) print("spawn of {} from core {}: its argument lines were out of order: refused", name, from);
    p = {};
    send(from, spawn_reply, m.words[0], static_cast<std::uint64_t>(r.status), r.value);
}

bool on_spawn_reply(std::uint64_t from, const urpc::Message& m) {
    const std::uint64_t tag = m.words[0];
    const Status st = static_cast<Status>(static_cast<std::int32_t>(m.words[1]));
    if (tag & tag_domain) {
        const std::uint64_t i = tag & 0xffff;
        if (i < max_tickets && tickets[i].used && !tickets[i].done && tickets[i].gen == ((tag >> 16) & 0xffff) &&
            tickets[i].core == from) {
            tickets[i].done = true;
            tickets[i].status = st;
            tickets[i].result = static_cast<std::uint32_t>(m.words[2]);
            wake_local_domains();  // the caller polls
        }
        return true;
    }
    if (tag & tag_move) {
        const std::uint64_t server = (tag >> 8) & 0xff, index = tag & 0xff;
        if (server >= server_count || index >= configured[server].count) return true;
        Server& sv = configured[server];
        if (st == Status::ok) {
            sv.cores[index] = static_cast<std::uint16_t>(from);
            emit("server-moved name={} replica={} core={} domain={}", sv.name, index, from, m.words[2]);
        } else {
            emit("server-lost name={} replica={} core={} why=start-failed status={}", sv.name, index, from, static_cast<int>(st));
        }
        return true;
    }
    if (tag & tag_plan) {
        const std::uint64_t i = tag & 0xffff;
        if (i < round_len && !round_[i].done && round_[i].core == from) {
            round_[i].done = true;
            round_[i].status = st;
            round_[i].domain = static_cast<std::uint32_t>(m.words[2]);
            ++round_done;
        }
        return true;
    }
    return false;
}

void on_stop_request(std::uint64_t from, const urpc::Message& m) {
    char program[41] = {};
    (void)unpack(&m.words[1], 5, program);
    const std::uint64_t tag = m.words[0];
    const std::uint32_t n = kill_local(program, [&](std::uint64_t d) { send(from, stop_reply, tag, 1, d); }, m.words[6] == 1);
    send(from, stop_reply, tag, 0, n);
}

void on_stop_reply(std::uint64_t from, const urpc::Message& m) {
    if (m.words[0] != stop_tag) return;  // a round that is over
    if (m.words[1] == 1) {
        emit("{} name={} core={} domain={}", stop_crash ? "server-crashed" : "server-stop", stop_name, from, m.words[2]);
        ++stopped_now;
    } else {
        ++stops_done;
    }
}

bool start_boot(Waiter wait) {
    const unsigned bad = load(true);
    if (server_count == 0 && bad == 0) return true;
    round_len = round_done = 0;
    for (unsigned s = 0; s < server_count; ++s)
        for (unsigned i = 0; i < configured[s].count; ++i) start_instance(s, configured[s].cores[i]);
    wait(round_complete);
    const unsigned failed = report_round() + bad;
    emit("servers started={} failed={}", round_len + bad - failed, failed);
    return failed == 0;
}

bool run_start(const char* spec, Waiter wait) {
    unsigned server = 0;
    std::uint64_t core = 0;
    if (!parse_spec(spec, server, core)) return false;
    if (core == ~0ull) core = server < max_servers ? configured[server].cores[0] : mesh.core;
    round_len = round_done = 0;
    start_instance(server, core);
    wait(round_complete);
    return report_round() == 0;
}

bool run_stop(const char* spec, Waiter wait, bool crash) {
    unsigned server = 0;
    std::uint64_t core = 0;
    if (!parse_spec(spec, server, core)) return false;
    const char* program = server < max_servers ? configured[server].program : plain_name;
    const char* name = server < max_servers ? configured[server].name : plain_name;
    copy(stop_name, name, length(name, name_max) + 1);
    stop_crash = crash;
    ++stop_tag;
    stops_asked = stops_done = stopped_now = 0;
    std::uint64_t w[5];
    pack(program, length(program, name_max), w, 5);
    for (std::uint64_t c = 0; c < mesh.cores; ++c) {
        if (core != ~0ull && c != core) continue;
        if (c == mesh.core) {
            stopped_now += kill_local(
                program, [&](std::uint64_t d) { emit("{} name={} core={} domain={}", crash ? "server-crashed" : "server-stop", name, c, d); },
                crash);
            continue;
        }
        send(c, stop_req, stop_tag, w[0], w[1], w[2], w[3], w[4], crash ? 1 : 0);
        ++stops_asked;
    }
    wait(stops_complete);
    stopped_total += stopped_now;
    emit("servers {}={} name={}", crash ? "crashed" : "stopped", stopped_now, name);
    return stopped_now > 0;
}

std::uint64_t stopped() { return stopped_total; }

bool is_instance(std::uint64_t domain) {
    const Started* r = record_of(domain);
    return r && args::value(r->text, r->len, "replicas").found;
}

bool configured_instance(std::uint64_t domain) {
    const Started* r = record_of(domain);
    if (!r) return false;
    (void)load(false);  // the [[server]] tables, read once
    return server_of(*r) < max_servers;
}


std::uint64_t live_servers() {
    std::uint64_t n = 0;
    for (const Started& r : started)
        if (r.used && args::value(r.text, r.len, "replicas").found) ++n;
    return n;
}

} // namespace myr::monitor::servers
