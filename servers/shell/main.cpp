// The interactive shell on the serial console (docs/shell.md). It must run as the console owner
// (kernel option console=shell): it polls console_read, sleeping in wait_event between polls (a
// timer tick at most), feeds the bytes to the line editor, writes the echo and runs each finished
// line against the command table (myr/shell/table.hpp). At EOF on the host side nothing arrives
// any more: the shell just keeps sleeping, and the run's timeout ends it.
#include <myr/shell/line_editor.hpp>
#include <myr/shell/table.hpp>
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

} // namespace

extern "C" int main(std::uint64_t) {
    shell::Context ctx{{console_out, nullptr}, shell::commands, topology, &topo};
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
