// The interactive shell on the serial console (docs/shell.md). It must run as the console owner
// (kernel option console=shell): it polls console_read, sleeping in wait_event between polls (a
// timer tick at most), feeds the bytes to the line editor, writes the echo and runs each finished
// line against the command table (myr/shell/table.hpp). At EOF on the host side nothing arrives
// any more: the shell just keeps sleeping, and the run's timeout ends it.
#include <myr/kvstore/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/shell/line_editor.hpp>
#include <myr/shell/table.hpp>
#include <myr/user/args.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/measure.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;

namespace {

constexpr char prompt[] = "myriad> ";

// Globals, not on the 32 KiB stack: 6 KB of editor and history, 4.6 KB of topology. Both are
// constant-initialised (no constructor runs; the runtime has none to run).
shell::LineEditor editor;
abi::TopologyInfo topo;

void console_out(void*, const char* text, std::size_t len) {
    // debug_print takes at most 1024 bytes a call.
    while (len) {
        const std::size_t n = len < 1024 ? len : 1024;
        (void)user::console_write(text, n);
        text += n;
        len -= n;
    }
}

Status topology(abi::TopologyInfo& info) {
    return user::syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&info), sizeof info).status;
}

// ---- The system behind ps, start, kill, services, kv, channels, bench (myr/shell/system.hpp) ----
// Processes through this core's monitor (list, spawn, kill: kill needs kernel option
// monitor.kill=shell), services through nameserv, kv through kvstore, found by name once and
// kept connected (a connection costs ring budget for the domain's whole life).

rpc::Client kv;

void copy_name(const char* from, char* to, std::size_t cap) {
    std::size_t i = 0;
    for (; from[i] && i + 1 < cap; ++i) to[i] = from[i];
    to[i] = '\0';
}

Status sys_process(std::uint32_t core, std::uint32_t index, shell::Process& out) {
    std::uint64_t domain = 0;
    char name[17];
    std::uint32_t restarts = 0;
    const Status s = user::list(core, index, domain, name, 100000, nullptr, &restarts);
    if (s != Status::ok) return s;
    out.restarts = restarts;
    out.core = core;
    out.domain = static_cast<std::uint32_t>(domain);
    copy_name(name, out.program, sizeof out.program);
    return Status::ok;
}

Status sys_start(const char* program, std::uint64_t core, const char* args, shell::Process& out) {
    user::Spawned sp{};
    const Status s = user::spawn(program, core, args, sp);
    if (s != Status::ok) return s;
    out.core = static_cast<std::uint32_t>(sp.core);
    out.domain = static_cast<std::uint32_t>(sp.domain);
    copy_name(program, out.program, sizeof out.program);
    return Status::ok;
}

Status sys_kill(std::uint32_t core, std::uint32_t domain) { return user::kill(core, domain); }

Status sys_services(std::uint32_t from, shell::Service* out, std::uint32_t cap, std::uint32_t& count, std::uint32_t& next,
                    std::uint32_t& total) {
    nameserv::ListReply r{};
    const Status s = nameserv::session().open(200) == Status::ok ? nameserv::session().list(from, r) : Status::not_found;
    if (s != Status::ok) return s;
    count = 0;
    for (std::uint16_t i = 0; i < r.entries.count && count < cap; ++i, ++count) {
        r.entries.items[i].name_.copy_cstr(out[count].name, sizeof out[count].name);
        out[count].core = r.entries.items[i].owner.core;
        out[count].domain = r.entries.items[i].owner.domain;
    }
    next = r.next;
    total = r.total;
    return Status::ok;
}

Status kv_open() {
    if (kv.connected()) return Status::ok;
    return nameserv::connect(kv, kvstore::service, 3000);  // 30 s: kvstore may still be starting
}

bool make_key(const char* text, kvstore::Key& key) { return key.assign_cstr(text) && key.size > 0; }

Status sys_kv_get(const char* key, char* value, std::size_t cap, std::uint64_t& version) {
    kvstore::Get g{};
    if (!make_key(key, g.key)) return Status::invalid_argument;
    if (const Status s = kv_open(); s != Status::ok) return s;
    kvstore::GetReply r{};
    const Status s = kv.call(g, r);
    if (s != Status::ok) return s;
    std::size_t n = r.value.size < cap - 1 ? r.value.size : cap - 1;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t c = r.value.data[i];
        value[i] = c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
    }
    value[n] = '\0';
    version = r.version;
    return Status::ok;
}

Status sys_kv_put(const char* key, const char* value, std::uint64_t& version) {
    kvstore::Put p{};
    if (!make_key(key, p.key)) return Status::invalid_argument;
    std::size_t n = 0;
    while (value[n]) ++n;
    if (!p.value.assign(value, n)) return Status::invalid_argument;
    if (const Status s = kv_open(); s != Status::ok) return s;
    kvstore::PutReply r{};
    const Status s = kv.call(p, r);
    version = r.version;
    return s;
}

Status sys_kv_del(const char* key, bool& existed) {
    kvstore::Delete d{};
    if (!make_key(key, d.key)) return Status::invalid_argument;
    if (const Status s = kv_open(); s != Status::ok) return s;
    kvstore::DeleteReply r{};
    const Status s = kv.call(d, r);
    existed = r.existed;
    return s;
}

Status sys_connection(std::uint32_t index, shell::Connection& out) {
    const rpc::Client* clients[] = {&nameserv::session().rpc(), &kv};
    const char* names[] = {"nameserv", "kvstore"};
    std::uint32_t n = 0;
    for (unsigned i = 0; i < 2; ++i) {
        if (!clients[i]->connected()) continue;
        if (n++ != index) continue;
        copy_name(names[i], out.service, sizeof out.service);
        out.core = clients[i]->peer_core();
        out.domain = clients[i]->peer_domain();
        out.lines_out = clients[i]->connection().link.lines_out();
        out.lines_in = clients[i]->connection().link.lines_in();
        return Status::ok;
    }
    return Status::not_found;
}

Status sys_bench(std::uint32_t rounds, std::uint64_t& rpc_ticks, std::uint64_t& null_ticks) {
    if (const Status s = kv_open(); s != Status::ok) return s;
    const unsigned batches = rounds < 10 ? 1 : 10;
    const std::uint64_t per = rounds / batches;
    Status bad = Status::ok;
    rpc_ticks = user::median_ticks(batches, per, [&](std::uint64_t) {
        kvstore::StatsReply r{};
        const Status s = kv.call(kvstore::Stats{}, r);
        if (s != Status::ok) bad = s;
    });
    null_ticks = user::median_ticks(batches, per, [](std::uint64_t) { (void)user::syscall6(abi::Sys::domain_info); });
    return bad;
}

const shell::System system_table{sys_process, sys_start,  sys_kill,       sys_services, sys_kv_get,
                                 sys_kv_put,  sys_kv_del, sys_connection, sys_bench};

} // namespace

extern "C" int main(std::uint64_t) {
    shell::Context ctx{{console_out, nullptr}, shell::commands, topology, &topo, &system_table};
    // Not the console owner (no console=shell on the kernel command line): say so in the log, the
    // one place this domain can still write to, and end with a failure.
    if (const Status s = user::console_write("", 0); s != Status::ok) {
        user::print("cannot write to the console: {} (is console=shell on the kernel command line?)", to_string(s));
        return 1;
    }
    ctx.out.line("myriad shell: type help for the commands");
    ctx.out.put(prompt);
    char in[64];
    for (;;) {
        const user::SysResult r = user::console_read(in, sizeof in);
        if (r.status != Status::ok) {
            user::print("console_read: {}", to_string(r.status));
            return 1;
        }
        if (r.value == 0) {
            user::wait_event();
            continue;
        }
        for (std::uint64_t i = 0; i < r.value; ++i) {
            char echo_buf[shell::LineEditor::echo_max];
            FixedBuffer echo(echo_buf, sizeof echo_buf);
            const auto ev = editor.feed(in[i], echo);
            if (echo.size()) console_out(nullptr, echo.c_str(), echo.size());
            if (ev != shell::LineEditor::Event::line) continue;
            if (shell::run_line(ctx, editor.line()) == shell::Outcome::exit) return 0;
            ctx.out.put(prompt);
        }
    }
}
