// `myriadctl run CONFIG --kernel K ...`: boot a config in QEMU, stream the serial log, return the
// guest's exit status (RunExit). `myriadctl check-log CONFIG --log LOG`: check a captured log.
// `myriadctl check-history LOG`: the fault campaign's key histories, each checked for
// linearizability (myr/config/kv_history.hpp).
#include "commands.hpp"

#include <myr/boot_limits.hpp>
#include <myr/config/accel.hpp>
#include <myr/config/boot_log.hpp>
#include <myr/config/input_pacer.hpp>
#include <myr/config/kv_history.hpp>
#include <myr/config/load.hpp>
#include <myr/config/qemu_args.hpp>
#include <myr/config/runner.hpp>
#include <myr/exit_codes.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>

namespace myr::tool {
namespace {

struct RunOptions {
    std::string file;
    std::string kernel;
    std::string accel;         // empty: the config's
    std::string tcg_threads;   // empty: the config's
    bool gdb = false;
    std::optional<unsigned> timeout;
    std::string log;
    bool check = false;
    bool quiet = false;
    std::vector<std::string> append;
    std::vector<std::string> modules;  // user programs passed as multiboot modules
    std::vector<std::string> qemu_args;  // raw extra QEMU arguments
    std::string programs;      // where [system] programs are (default: <kernel dir>/../user)
    bool no_system = false;    // ignore the config's [system] (bare CPU drivers)
    bool default_system = false;  // a config without [system] runs the monitor and hello
    std::string input;         // scripted serial input (empty: stdin stays QEMU's)
    std::string prompt = "myriad> ";  // what the guest prints before it takes the next input line
    std::string until;         // an extended regex: the run ends at the until_count-th log line it matches
    unsigned until_count = 1;
};

struct CheckLogOptions {
    std::string file;
    std::string log;
};

constexpr int bad_config = static_cast<int>(RunExit::bad_config);

std::optional<config::Config> load_or_report(const std::string& file) {
    auto loaded = config::load_config_file(file);
    if (!loaded.ok()) {
        for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
        return std::nullopt;
    }
    for (const std::string& w : loaded.config->warnings) fmt::print(stderr, "{}: warning: {}\n", file, w);
    return std::move(loaded.config);
}

// --append "a b" and --append a --append b both give words.
std::vector<std::string> split_words(const std::vector<std::string>& items) {
    std::vector<std::string> words;
    for (const std::string& item : items) {
        std::istringstream in(item);
        for (std::string w; in >> w;) words.push_back(w);
    }
    return words;
}

void print_problems(const std::vector<std::string>& problems, const std::string& what) {
    fmt::print(stderr, "check-log: {} problem(s) in {}\n", problems.size(), what);
    for (const std::string& p : problems) fmt::print(stderr, "  - {}\n", p);
}

int run(const RunOptions& o) {
    const auto cfg = load_or_report(o.file);
    if (!cfg) return bad_config;
    const config::Config& c = *cfg;

    config::Accel accel = c.accel;
    if (o.accel == "tcg") accel = config::Accel::tcg;
    else if (o.accel == "kvm") accel = config::Accel::kvm;
    else if (o.accel == "auto") accel = config::Accel::automatic;
    config::TcgThreads threads = c.tcg_threads;
    if (o.tcg_threads == "single") threads = config::TcgThreads::single;
    else if (o.tcg_threads == "multi") threads = config::TcgThreads::multi;
    else if (o.tcg_threads == "auto") threads = config::TcgThreads::automatic;

    const config::HostFacts host = config::probe_host();
    config::QemuOptions q;
    q.kernel = o.kernel;
    q.extra_qemu = o.qemu_args;
    // [system]: its programs become boot modules (ahead of any --module); its monitor, spawn and
    // plan words are on the kernel command line (config::kernel_command_line, ahead of --append,
    // so --append can still override). This run's [system]: the config's, none, or the default.
    config::Config run_cfg = c;
    config::System& sys = run_cfg.system;
    if (o.no_system) sys = config::System{};
    else if (!sys.present && o.default_system) {
        sys.monitor = "monitor";
        sys.programs = {"hello"};
    }
    std::vector<std::string> modules;
    const std::filesystem::path dir =
        !o.programs.empty() ? std::filesystem::path(o.programs)
                            : std::filesystem::path(o.kernel).parent_path().parent_path() / "user";
    for (const std::string& name : sys.modules()) {
        const std::filesystem::path p = dir / name;
        if (!std::filesystem::is_regular_file(p)) {
            fmt::print(stderr, "myriadctl: {}: system names program '{}' but {} does not exist (build it, or --programs DIR)\n",
                       o.file, name, p.string());
            return bad_config;
        }
        modules.push_back(p.string());
    }
    for (const std::string& m : o.modules)
        if (std::find(modules.begin(), modules.end(), m) == modules.end()) modules.push_back(m);
    for (const std::string& m : modules) {
        // QEMU's -initrd separates modules with commas (a literal comma would be ",,").
        if (m.find(',') != std::string::npos) {
            std::fprintf(stderr, "myriadctl: module path '%s' contains a comma\n", m.c_str());
            return static_cast<int>(RunExit::bad_config);
        }
        q.initrd += (q.initrd.empty() ? "" : ",") + m;
    }
    q.accel = config::resolve_accel(accel, host.kvm_usable, host.cpuinfo);
    q.tcg_multi = config::resolve_tcg_threads(threads, c.cpu_count(), host.host_cores) == config::TcgThreads::multi;
    q.gdb = o.gdb;
    q.extra_append = split_words(o.append);
    // The loader checked the config's own words; these are the words this run gives the kernel.
    if (const auto problems = config::kernel_word_problems(run_cfg, q.extra_append); !problems.empty()) {
        for (const config::KernelWordProblem& p : problems) fmt::print(stderr, "myriadctl: {}: {}\n", p.from, p.problem);
        return bad_config;
    }
    // The boot loader hands the kernel its path, a space and the -append words: all of it must
    // fit the kernel's buffer, or the boot stops at once with a panic.
    if (const std::size_t n = o.kernel.size() + 1 + config::kernel_command_line(run_cfg, q.extra_append).size();
        n >= kernel_cmdline_bytes) {
        fmt::print(stderr, "myriadctl: the kernel command line would be {} bytes (the kernel's path and the config's "
                           "words); the kernel takes at most {}\n", n, kernel_cmdline_bytes - 1);
        return bad_config;
    }
    const std::vector<std::string> argv = config::qemu_args(run_cfg, q);

    if (!o.quiet) fmt::print(stderr, "myriadctl: {}\n", config::shell_join(argv));
    if (o.gdb)
        fmt::print(stderr, "myriadctl: QEMU waits for gdb (no timeout); attach with:\n  gdb {} -ex 'target remote :1234'\n",
                   o.kernel);

    // Scripted input: read and check the whole script before QEMU starts.
    std::optional<config::InputPacer> pacer;
    if (!o.input.empty()) {
        std::ifstream in(o.input, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        std::string error;
        auto lines = in ? config::parse_input_script(text.str(), error) : std::nullopt;
        if (!in) error = "cannot read it";
        if (!lines) {
            fmt::print(stderr, "myriadctl: --input {}: {}\n", o.input, error);
            return bad_config;
        }
        if (o.prompt.empty()) {
            fmt::print(stderr, "myriadctl: --prompt must not be empty\n");
            return bad_config;
        }
        pacer.emplace(std::move(*lines), o.prompt);
    }

    std::ofstream log_file;
    if (!o.log.empty()) {
        log_file.open(o.log, std::ios::binary | std::ios::trunc);
        if (!log_file) {
            fmt::print(stderr, "myriadctl: cannot write log file {}\n", o.log);
            return static_cast<int>(RunExit::qemu_failed);
        }
    }
    // --until: whole lines of the log, matched as they come.
    std::optional<std::regex> until;
    if (!o.until.empty()) {
        try {
            until.emplace(o.until, std::regex::extended);
        } catch (const std::regex_error& e) {
            fmt::print(stderr, "myriadctl: --until {}: not an extended regular expression ({})\n", o.until, e.what());
            return bad_config;
        }
    }
    std::string line;
    unsigned matches = 0;
    const auto watch = [&](std::string_view s) {
        for (const char ch : s) {
            if (ch == '\r') continue;
            if (ch != '\n') {
                line.push_back(ch);
                continue;
            }
            if (matches < o.until_count && std::regex_search(line, *until)) ++matches;
            line.clear();
        }
    };

    std::string captured;
    config::RunRequest req;
    req.argv = argv;
    req.timeout_s = o.gdb ? 0 : o.timeout.value_or(c.timeout_s);
    req.on_serial = [&](std::string_view s) {
        captured.append(s);
        if (until) watch(s);
        if (log_file) log_file.write(s.data(), static_cast<std::streamsize>(s.size())).flush();
        if (!o.quiet) {
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
        }
    };
    req.on_stderr = [](std::string_view s) { std::fwrite(s.data(), 1, s.size(), stderr); };
    if (pacer) req.input = [&](std::string_view s) { return pacer->on_output(s); };
    if (until) req.stop = [&] { return matches >= o.until_count; };

    const config::QemuOutcome outcome = config::run_qemu(req);
    const RunExit status = config::map_qemu_outcome(outcome);
    int rc = static_cast<int>(status);
    if (status == RunExit::timeout)
        fmt::print(stderr, "myriadctl: timeout after {} s: QEMU killed\n", req.timeout_s);
    if (outcome.stopped && !o.quiet) fmt::print(stderr, "myriadctl: --until matched a line: QEMU stopped\n");
    else if (!outcome.started)
        fmt::print(stderr, "myriadctl: cannot start {}\n", argv[0]);
    if (status != RunExit::success)
        fmt::print(stderr, "myriadctl: exit {}: {} (QEMU {} {})\n", rc, config::describe(status),
                   outcome.exited ? "exit status" : "signal", outcome.exited ? outcome.exit_code : outcome.signal);

    if (pacer && (!pacer->done() || !o.quiet))
        fmt::print(stderr, "myriadctl: --input: sent {} of {} line(s); saw the prompt {} time(s)\n", pacer->sent(),
                   pacer->total(), pacer->prompts_seen());

    if (o.check && outcome.started) {
        config::BootLogOptions bo;
        bo.extra_kernel_words = q.extra_append;
        const auto problems = config::check_boot_log(run_cfg, captured, bo);
        if (!problems.empty()) {
            print_problems(problems, "the serial log");
            if (rc == 0) rc = static_cast<int>(RunExit::check_failed);
        } else if (!o.quiet) {
            fmt::print(stderr, "check-log: ok\n");
        }
    }
    return rc;
}

int check_log(const CheckLogOptions& o) {
    const auto cfg = load_or_report(o.file);
    if (!cfg) return bad_config;
    std::ifstream in(o.log, std::ios::binary);
    if (!in) {
        fmt::print(stderr, "check-log: cannot read {}\n", o.log);
        return static_cast<int>(RunExit::check_failed);
    }
    std::ostringstream text;
    text << in.rdbuf();
    const auto problems = config::check_boot_log(*cfg, text.str());
    if (!problems.empty()) {
        print_problems(problems, o.log);
        return static_cast<int>(RunExit::check_failed);
    }
    fmt::print("ok {}\n", o.log);
    return 0;
}

int check_history(const std::string& log) {
    std::ifstream in(log, std::ios::binary);
    if (!in) {
        fmt::print(stderr, "check-history: cannot read {}\n", log);
        return static_cast<int>(RunExit::check_failed);
    }
    std::ostringstream text;
    text << in.rdbuf();
    const config::KvHistoryCheck c = config::check_kv_history(text.str());
    if (!c.problems.empty()) {
        fmt::print("check-history: {} calls ({} unknown) on {} keys from {} clients: {} problem(s)\n", c.calls, c.unknown,
                   c.keys, c.clients, c.problems.size());
        for (const std::string& p : c.problems) fmt::print("  - {}\n", p);
        return static_cast<int>(RunExit::check_failed);
    }
    fmt::print("check-history: {} calls ({} unknown) on {} keys from {} clients: linearizable, key by key ({} states "
               "explored)\n", c.calls, c.unknown, c.keys, c.clients, c.explored);
    return 0;
}

} // namespace

void register_run(CLI::App& app, Context& ctx) {
    auto ro = std::make_shared<RunOptions>();
    CLI::App* r = app.add_subcommand("run", "Boot a config in QEMU; exit status: 0 ok, 1 check failed, 2 panic, "
                                            "3 timeout, 4 no status, 5 bad config, 6 QEMU failed");
    r->add_option("config", ro->file, "config file (TOML)")->required();
    r->add_option("--kernel", ro->kernel, "kernel image (multiboot ELF) for -kernel")->required();
    r->add_option("--accel", ro->accel, "auto | tcg | kvm (default: the config's run.accel)")
        ->check(CLI::IsMember({"auto", "tcg", "kvm"}));
    r->add_option("--tcg-threads", ro->tcg_threads, "auto | single | multi (default: the config's run.tcg_threads)")
        ->check(CLI::IsMember({"auto", "single", "multi"}));
    r->add_flag("--gdb", ro->gdb, "start halted with a gdb stub on :1234 (disables the timeout)");
    r->add_option("--timeout", ro->timeout, "seconds before QEMU is killed (default: run.timeout)")
        ->check(CLI::Range(1u, 86400u));
    r->add_option("--log", ro->log, "also write the serial log to this file");
    r->add_flag("--check", ro->check, "check the serial log against the config afterwards (see check-log)");
    r->add_flag("--quiet", ro->quiet, "do not echo the serial log");
    r->add_option("--append", ro->append, "extra kernel command-line words (repeatable)");
    r->add_option("--module", ro->modules, "user program to load as a boot module (repeatable)");
    r->add_option("--programs", ro->programs, "directory of the user programs [system] names (default: the kernel's ../user)");
    r->add_flag("--no-system", ro->no_system, "ignore the config's [system]: no monitor, no programs (bare CPU drivers)");
    r->add_flag("--default-system", ro->default_system, "a config without [system] runs the monitor and hello");
    r->add_option("--input", ro->input,
                  "scripted serial input: send FILE's lines (escapes \\e, \\xHH, \\\\) one per prompt, "
                  "then run on until the guest ends or the timeout")
        ->check(CLI::ExistingFile);
    r->add_option("--until", ro->until,
                  "end the run (exit 0) at the first serial line this extended regex matches, e.g. when the "
                  "plan cannot end it (its core was stopped)");
    r->add_option("--until-count", ro->until_count, "with --until: end at the N-th line it matches (default 1)")
        ->check(CLI::Range(1u, 1000000u));
    r->add_option("--prompt", ro->prompt, "with --input: the text the guest prints before each line (default \"myriad> \")");
    r->add_option("--qemu-arg", ro->qemu_args, "raw QEMU argument appended last (repeatable), e.g. --qemu-arg=-icount --qemu-arg=shift=0")
        ->allow_extra_args(false);
    r->callback([ro, &ctx] { ctx.exit_code = run(*ro); });

    auto co = std::make_shared<CheckLogOptions>();
    CLI::App* cl = app.add_subcommand("check-log", "Check a captured serial log against its config (exit 1 on problems)");
    cl->add_option("config", co->file, "config file (TOML)")->required();
    cl->add_option("--log", co->log, "captured serial log")->required();
    cl->callback([co, &ctx] { ctx.exit_code = check_log(*co); });

    auto hist = std::make_shared<std::string>();
    CLI::App* ch = app.add_subcommand("check-history", "Check the fault campaign's key histories (kvhist lines of a "
                                                       "boot log) for linearizability, key by key (exit 1 when one is not)");
    ch->add_option("log", *hist, "captured serial log")->required();
    ch->callback([hist, &ctx] { ctx.exit_code = check_history(*hist); });
}

} // namespace myr::tool
