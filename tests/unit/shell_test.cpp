// The shell's pure core (servers/shell/include/myr/shell): the line editor byte by byte, the
// tokenizer, dispatch with its error messages, and every built-in command against a fake topology.
#include <myr/shell/line_editor.hpp>
#include <myr/shell/table.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace myr;
using namespace myr::shell;

namespace {

// Feeds bytes; collects the echo and the finished lines.
struct Term {
    std::unique_ptr<LineEditor> ed = std::make_unique<LineEditor>();
    std::string echo;
    std::vector<std::string> lines;
    void type(const std::string& bytes) {
        for (char c : bytes) {
            char buf[LineEditor::echo_max];
            FixedBuffer e(buf, sizeof buf);
            if (ed->feed(c, e) == LineEditor::Event::line) lines.emplace_back(ed->line());
            ASSERT_FALSE(e.truncated()) << "echo_max must hold any one byte's echo";
            echo.append(buf, e.size());
        }
    }
};

const std::string up = "\x1b[A", down = "\x1b[B";

TEST(ShellEditor, TypesEchoesAndFinishesOnCrOrLf) {
    Term t;
    t.type("help\r");
    t.type("cores\n");
    t.type("x\r\n");  // CR LF is one Enter
    t.type("\n");     // a lone LF after that is an Enter of its own
    EXPECT_EQ(t.lines, (std::vector<std::string>{"help", "cores", "x", ""}));
    EXPECT_EQ(t.echo, "help\ncores\nx\n\n");
}

TEST(ShellEditor, BackspaceAndDelRemoveTheLastByte) {
    Term t;
    t.type("helx\x7f");
    t.type("p\x08\x08lp\r");
    EXPECT_EQ(t.lines, (std::vector<std::string>{"help"}));
    EXPECT_EQ(t.echo, "helx\b \bp\b \b\b \blp\n");
    Term empty;
    empty.type("\x7f\x08\r");
    EXPECT_EQ(empty.lines, (std::vector<std::string>{""}));
    EXPECT_EQ(empty.echo, "\n") << "nothing to erase: nothing echoed";
}

TEST(ShellEditor, CtrlUKillsTheLine) {
    Term t;
    t.type("abc\x15nodes\r");
    EXPECT_EQ(t.lines, (std::vector<std::string>{"nodes"}));
    EXPECT_EQ(t.echo, "abc\b \b\b \b\b \bnodes\n");
}

TEST(ShellEditor, OtherControlBytesAndSequencesAreIgnored) {
    Term t;
    t.type(std::string("a\x01\x02\x03\tb\x00\x80\xff", 9));
    t.type("\x1b[C\x1b[1;5D\x1b[3~\x1bxc\x1bOD\r");  // right, ctrl-left, delete, ESC x, SS3 left
    EXPECT_EQ(t.lines, (std::vector<std::string>{"abc"}));
    EXPECT_EQ(t.echo, "abc\n");
}

TEST(ShellEditor, AControlByteCutsAnEscapeSequenceAndCountsOnItsOwn) {
    Term t;
    t.type("ab\x1b[\r");
    EXPECT_EQ(t.lines, (std::vector<std::string>{"ab"}));
}

TEST(ShellEditor, LongLinesStopAtTheLimit) {
    Term t;
    t.type(std::string(500, 'x') + "\r");
    ASSERT_EQ(t.lines.size(), 1u);
    EXPECT_EQ(t.lines[0], std::string(LineEditor::line_max - 1, 'x'));
    EXPECT_EQ(t.echo.size(), LineEditor::line_max) << "only what was kept is echoed, then the newline";
}

TEST(ShellEditor, UpAndDownRecallHistoryAndTheDraft) {
    Term t;
    t.type("one\rtwo\rthree\r");
    t.echo.clear();
    t.type("dr" + up);
    EXPECT_STREQ(t.ed->current(), "three");
    EXPECT_EQ(t.echo, "dr\b \b\b \bthree");
    t.type(up + up);
    EXPECT_STREQ(t.ed->current(), "one");
    t.type(up);  // past the oldest: stays
    EXPECT_STREQ(t.ed->current(), "one");
    t.type(down);
    EXPECT_STREQ(t.ed->current(), "two");
    t.type(down + down);
    EXPECT_STREQ(t.ed->current(), "dr") << "down past the newest brings back what was typed";
    t.type(down);
    EXPECT_STREQ(t.ed->current(), "dr");
    t.type(up + "\x7f" + "ee\r");  // edit a recalled line
    EXPECT_EQ(t.lines.back(), "threee");
    EXPECT_STREQ(t.ed->history(0), "threee");
    EXPECT_STREQ(t.ed->history(1), "three") << "the recalled entry itself is unchanged";
    t.type("\x1bOA\r");  // SS3 up (application cursor keys)
    EXPECT_EQ(t.lines.back(), "threee");
}

TEST(ShellEditor, HistorySkipsBlanksAndRepeatsAndKeepsTheNewest) {
    Term t;
    t.type("a\r\r   \ra\rb\r");
    EXPECT_EQ(t.ed->history_count(), 2u);
    EXPECT_STREQ(t.ed->history(0), "b");
    EXPECT_STREQ(t.ed->history(1), "a");
    for (int i = 0; i < 40; ++i) t.type("cmd" + std::to_string(i) + "\r");
    EXPECT_EQ(t.ed->history_count(), LineEditor::history_max);
    EXPECT_STREQ(t.ed->history(0), "cmd39");
    EXPECT_STREQ(t.ed->history(LineEditor::history_max - 1), "cmd24");
    EXPECT_STREQ(t.ed->history(LineEditor::history_max), "") << "out of range: empty, never past the array";
    for (std::size_t i = 0; i < LineEditor::history_max + 3; ++i) t.type(up);
    EXPECT_STREQ(t.ed->current(), "cmd24");
}

TEST(ShellTokenize, SplitsAtSpacesAndTabs) {
    char words[64];
    const char* v[max_words];
    EXPECT_EQ(tokenize("", words, sizeof words, v), 0u);
    EXPECT_EQ(tokenize("  \t ", words, sizeof words, v), 0u);
    ASSERT_EQ(tokenize("  echo a\tbb   c ", words, sizeof words, v), 4u);
    EXPECT_STREQ(v[0], "echo");
    EXPECT_STREQ(v[1], "a");
    EXPECT_STREQ(v[2], "bb");
    EXPECT_STREQ(v[3], "c");
    std::string many;
    for (std::size_t i = 0; i <= max_words; ++i) many += "w ";
    EXPECT_EQ(tokenize(many.c_str(), words, sizeof words, v), max_words + 1);
    char small[8];
    const std::size_t n = tokenize("abcdefghij k", small, sizeof small, v);
    ASSERT_GE(n, 1u);
    EXPECT_STREQ(v[0], "abcdefg") << "a copy that does not fit is cut, never overrun";
}

// A Context writing into a string, with a fake 2-socket topology (or a failing one).
struct Shell {
    std::string out;
    myr::abi::TopologyInfo topo{};
    static inline myr::abi::TopologyInfo fake{};
    static inline Status fake_status = Status::ok;
    Context ctx{{[](void* c, const char* s, std::size_t n) { static_cast<Shell*>(c)->out.append(s, n); }, this},
                commands,
                [](myr::abi::TopologyInfo& t) {
                    t = fake;
                    return fake_status;
                },
                &topo};
    Outcome run(const char* line) {
        out.clear();
        return run_line(ctx, line);
    }
};

void two_sockets() {
    Shell::fake = {};
    Shell::fake_status = Status::ok;
    Shell::fake.cores = 8;
    Shell::fake.nodes = 2;
    for (int c = 0; c < 8; ++c) Shell::fake.core_node[c] = static_cast<std::uint16_t>(c / 4);
    const std::uint8_t d[] = {10, 20, 20, 10};
    for (int i = 0; i < 4; ++i) Shell::fake.distance[i] = d[i];
}

TEST(ShellCommands, HelpListsEveryCommandWithItsUsage) {
    Shell s;
    EXPECT_EQ(s.run("help"), Outcome::ok);
    EXPECT_EQ(s.out.rfind("commands:\n", 0), 0u);
    for (const Command& c : commands) {
        const std::string want = std::string("  ") + c.usage;
        EXPECT_NE(s.out.find(want), std::string::npos) << c.name;
        EXPECT_NE(s.out.find(c.summary), std::string::npos) << c.name;
    }
    std::size_t lines = 0;
    for (char c : s.out) lines += c == '\n';
    EXPECT_EQ(lines, std::size(commands) + 1);
    EXPECT_EQ(s.run("help echo"), Outcome::ok);
    EXPECT_EQ(s.out, "usage: echo [WORD...]\n  print the words\n");
    EXPECT_EQ(s.run("help nosuch"), Outcome::failed);
    EXPECT_EQ(s.out, "error: unknown command 'nosuch' (try help)\n");
}

TEST(ShellCommands, CoresAndNodesFromTheTopology) {
    two_sockets();
    Shell s;
    EXPECT_EQ(s.run("cores"), Outcome::ok);
    EXPECT_EQ(s.out, "8 cores, 2 nodes\n  core 0 node 0\n  core 1 node 0\n  core 2 node 0\n  core 3 node 0\n"
                     "  core 4 node 1\n  core 5 node 1\n  core 6 node 1\n  core 7 node 1\n");
    EXPECT_EQ(s.run("nodes"), Outcome::ok);
    EXPECT_EQ(s.out, "2 nodes, distances in ACPI SLIT units (10 = local)\n"
                     "  node 0 cores 0-3 distances 10 20\n  node 1 cores 4-7 distances 20 10\n");
    // Interleaved cores, a memory-and-CPU-less node.
    Shell::fake.nodes = 3;
    const std::uint16_t nodes[] = {0, 1, 0, 1, 0, 0, 1, 1};
    for (int c = 0; c < 8; ++c) Shell::fake.core_node[c] = nodes[c];
    for (int i = 0; i < 9; ++i) Shell::fake.distance[i] = static_cast<std::uint8_t>(i == 0 || i == 4 || i == 8 ? 10 : 30);
    EXPECT_EQ(s.run("nodes"), Outcome::ok);
    EXPECT_NE(s.out.find("  node 0 cores 0,2,4-5 distances 10 30 30\n"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("  node 1 cores 1,3,6-7 distances 30 10 30\n"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("  node 2 cores none distances 30 30 10\n"), std::string::npos) << s.out;
}

TEST(ShellCommands, ATopologyOutOfRangeOrRefusedIsAnErrorNotAnOverrun) {
    two_sockets();
    Shell s;
    Shell::fake.cores = myr::abi::topo_max_cores + 1;
    EXPECT_EQ(s.run("cores"), Outcome::failed);
    EXPECT_EQ(s.out, "error: topology: 257 cores, 2 nodes is out of range\n");
    Shell::fake.cores = 8;
    Shell::fake.nodes = 0;
    EXPECT_EQ(s.run("nodes"), Outcome::failed);
    two_sockets();
    Shell::fake_status = Status::invalid_argument;
    EXPECT_EQ(s.run("nodes"), Outcome::failed);
    EXPECT_EQ(s.out, "error: topology: invalid argument\n");
}

TEST(ShellCommands, EchoUnknownUsageAndShutdown) {
    Shell s;
    EXPECT_EQ(s.run("echo  hello \t world"), Outcome::ok);
    EXPECT_EQ(s.out, "hello world\n");
    EXPECT_EQ(s.run("echo"), Outcome::ok);
    EXPECT_EQ(s.out, "\n");
    EXPECT_EQ(s.run("   "), Outcome::ok);
    EXPECT_EQ(s.out, "");
    EXPECT_EQ(s.run("hlep"), Outcome::failed);
    EXPECT_EQ(s.out, "error: unknown command 'hlep' (try help)\n");
    EXPECT_EQ(s.run("cores 3"), Outcome::usage);
    EXPECT_EQ(s.out, "error: usage: cores\n");
    EXPECT_EQ(s.run("help a b"), Outcome::usage);
    EXPECT_EQ(s.out, "error: usage: help [COMMAND]\n");
    EXPECT_EQ(s.run("shutdown now"), Outcome::usage);
    EXPECT_EQ(s.run("a b c d e f g h i j k l m n o p q"), Outcome::failed);
    EXPECT_EQ(s.out, "error: too many words (at most 16)\n");
    EXPECT_EQ(s.run("shutdown"), Outcome::exit);
    EXPECT_EQ(s.out, "shell: exiting (the run plan's shutdown step ends the run)\n");
}

TEST(ShellCommands, TheTableIsWellFormed) {
    for (std::size_t i = 0; i < std::size(commands); ++i) {
        const Command& c = commands[i];
        EXPECT_LE(c.min_args, c.max_args) << c.name;
        EXPECT_LT(c.max_args, max_words) << c.name;
        EXPECT_EQ(std::string(c.usage).rfind(c.name, 0), 0u) << "usage starts with the name: " << c.name;
        for (std::size_t j = i + 1; j < std::size(commands); ++j) EXPECT_STRNE(c.name, commands[j].name);
    }
}


// ---- The system commands (myr/shell/system.hpp) against a fake machine: two cores' process
// lists, a kvstore map, a kill log. ----
struct FakeSystem {
    static inline std::vector<Process> procs;
    static inline std::map<std::string, std::pair<std::string, std::uint64_t>> kv;
    static inline std::vector<std::pair<std::uint32_t, std::uint32_t>> killed;
    static void reset() {
        procs = {{0, 2, "nameserv", 0}, {1, 2, "kvstore", 0}, {1, 3, "hello", 0}, {1, 4, "kvstore", 2}};
        kv.clear();
        killed.clear();
    }
    static Status process(std::uint32_t core, std::uint32_t index, Process& out) {
        std::uint32_t n = 0;
        for (const Process& p : procs)
            if (p.core == core && n++ == index) {
                out = p;
                return Status::ok;
            }
        return Status::not_found;
    }
    static Status kill(std::uint32_t core, std::uint32_t domain) {
        if (core > 1) return Status::invalid_argument;
        if (domain == 1) return Status::permission_denied;
        for (auto it = procs.begin(); it != procs.end(); ++it)
            if (it->core == core && it->domain == domain) {
                procs.erase(it);
                killed.emplace_back(core, domain);
                return Status::ok;
            }
        return Status::not_found;
    }
    static Status get(const char* key, char* value, std::size_t cap, std::uint64_t& version) {
        auto it = kv.find(key);
        if (it == kv.end()) return Status::not_found;
        std::snprintf(value, cap, "%s", it->second.first.c_str());
        version = it->second.second;
        return Status::ok;
    }
    static Status put(const char* key, const char* value, std::uint64_t& version) {
        auto& e = kv[key];
        e = {value, e.second + 1};
        version = e.second;
        return Status::ok;
    }
};

struct SystemShell : Shell {
    System sys{};
    SystemShell() {
        FakeSystem::reset();
        sys.process = FakeSystem::process;
        sys.kill = FakeSystem::kill;
        sys.kv_get = FakeSystem::get;
        sys.kv_put = FakeSystem::put;
        ctx.system = &sys;
        Shell::fake = {};
        Shell::fake_status = Status::ok;
        Shell::fake.cores = 2;
        Shell::fake.nodes = 1;
    }
};

TEST(ShellSystem, PsListsEveryCoreOrOne) {
    SystemShell s;
    EXPECT_EQ(s.run("ps"), Outcome::ok);
    EXPECT_EQ(s.out, "  core 0 domain 2 nameserv\n  core 1 domain 2 kvstore\n  core 1 domain 3 hello\n"
                     "  core 1 domain 4 kvstore (restarted 2 times)\n4 domains\n");
    EXPECT_EQ(s.run("ps 0"), Outcome::ok);
    EXPECT_EQ(s.out, "  core 0 domain 2 nameserv\n1 domains\n");
    EXPECT_EQ(s.run("ps x"), Outcome::usage);
    EXPECT_EQ(s.out, "error: usage: ps [CORE]\n");
}

TEST(ShellSystem, StopKillsEveryInstanceOfOneProgramOnly) {
    SystemShell s;
    EXPECT_EQ(s.run("stop kvstore"), Outcome::ok);
    EXPECT_EQ(FakeSystem::killed, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{1, 2}, {1, 4}}));
    EXPECT_EQ(s.run("ps 1"), Outcome::ok);
    EXPECT_EQ(s.out, "  core 1 domain 3 hello\n1 domains\n");
    EXPECT_EQ(s.run("stop kvstore"), Outcome::failed);
    EXPECT_EQ(s.out, "error: stop: no running kvstore\n");
    EXPECT_EQ(s.run("stop hello 1"), Outcome::usage) << "the core is written @CORE";
    EXPECT_EQ(s.run("stop hello @0"), Outcome::failed) << "hello runs on core 1 only";
    EXPECT_EQ(FakeSystem::killed.size(), 2u);
}

TEST(ShellSystem, KillReportsTheRefusal) {
    SystemShell s;
    EXPECT_EQ(s.run("kill 0 1"), Outcome::failed);
    EXPECT_EQ(s.out, "error: kill: permission denied\n");
    EXPECT_EQ(s.run("kill 0 x"), Outcome::usage);
    EXPECT_EQ(s.run("kill 4294967296 1"), Outcome::usage) << "more than 32 bits";
    EXPECT_EQ(s.run("kill 1 3"), Outcome::ok);
    EXPECT_EQ(s.out, "killed core 1 domain 3\n");
}

TEST(ShellSystem, KvGetPutAndItsUsage) {
    SystemShell s;
    EXPECT_EQ(s.run("kv get a"), Outcome::failed);
    EXPECT_EQ(s.out, "error: kv get: not found\n");
    EXPECT_EQ(s.run("kv put a 1"), Outcome::ok);
    EXPECT_EQ(s.out, "ok (version 1)\n");
    EXPECT_EQ(s.run("kv get a"), Outcome::ok);
    EXPECT_EQ(s.out, "a = 1 (version 1)\n");
    EXPECT_EQ(s.run("kv put a"), Outcome::usage);
    EXPECT_EQ(s.run("kv get a b"), Outcome::usage);
    EXPECT_EQ(s.run("kv frob a"), Outcome::usage);
    EXPECT_EQ(s.out, "error: usage: kv get KEY | kv put KEY VALUE | kv del KEY\n");
    EXPECT_EQ(s.run("kv del a"), Outcome::failed) << "no kv_del in this system";
    EXPECT_EQ(s.out, "error: kv: not available\n");
}

TEST(ShellSystem, WithoutASystemEveryCommandSaysNotAvailable) {
    Shell s;
    for (const char* line : {"ps", "services", "channels", "start hello", "stop hello", "kill 0 2", "kv get a", "bench"}) {
        EXPECT_EQ(s.run(line), Outcome::failed) << line;
        EXPECT_NE(s.out.find(": not available\n"), std::string::npos) << line << ": " << s.out;
    }
}

} // namespace
