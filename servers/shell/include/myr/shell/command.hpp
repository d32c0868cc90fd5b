#pragma once
// The shell's command line: words, the command table, dispatch. Pure (no system calls): a command
// reaches the system only through the Context it is given (an output sink and the function
// pointers there), so the host tests and the fuzzer run every command against fakes.
//
// Adding a command (docs/shell.md): write `Outcome my_command(Context&, const Args&)`, give it a
// `Command` entry {name, usage, summary, min_args, max_args, run} and put the entry in the table
// the shell dispatches on (servers/shell/main.cpp, `commands`). The dispatcher checks the number
// of arguments against min/max_args and prints `error: usage: USAGE` itself; a command that finds
// an argument it cannot use returns Outcome::usage for the same message. `help` lists the table.
#include <myr/abi/syscall.hpp>
#include <myr/format.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::shell {

inline constexpr std::size_t max_words = 16;  // the command's name and up to 15 arguments

// Where a command's text goes (the console in the guest, a string in the tests).
struct Out {
    void (*write)(void* ctx, const char* text, std::size_t len);
    void* ctx;

    void put(const char* s) const {
        std::size_t n = 0;
        while (s[n]) ++n;
        write(ctx, s, n);
    }
    // One formatted line (myr/format.hpp: "{}" decimal, "{:s}" text) and its newline.
    template <typename... A>
    void line(const char* fmt, const A&... args) const {
        char buf[512];
        FixedBuffer b(buf, sizeof buf - 1);
        format_to(b, fmt, args...);
        buf[b.size()] = '\n';
        write(ctx, buf, b.size() + 1);
    }
};

// The words of a line: v[0] is the command's name, v[1..count) its arguments.
struct Args {
    std::size_t count;
    const char* const* v;
};

enum class Outcome : std::uint8_t {
    ok,
    failed,  // the command said what went wrong
    usage,   // bad arguments: the dispatcher prints `error: usage: USAGE`
    exit,    // the shell ends (shutdown)
};

struct Context;
struct System;  // system.hpp: processes, services, kvstore

// One entry of the command table: the extension point for later commands (ps, services, kv, ...).
struct Command {
    const char* name;
    const char* usage;    // the whole call: "echo [WORD...]"
    const char* summary;  // one line for help
    std::uint8_t min_args, max_args;  // arguments after the name
    Outcome (*run)(Context& ctx, const Args& args);
};

// What commands may use. Later commands that talk to servers add their handles here.
struct Context {
    Out out;
    std::span<const Command> commands;                  // the table help lists
    Status (*topology)(abi::TopologyInfo& info);        // Sys::topology in the guest
    abi::TopologyInfo* topo_buf;                        // 4.6 KB scratch for it (not the stack)
    const System* system = nullptr;                     // system.hpp; null: those commands say not available
};

// Splits `line` at spaces and tabs into `words` (a copy of the line with NULs between words) and
// `v`. Returns the number of words, or max_words + 1 when there are more than max_words.
inline std::size_t tokenize(const char* line, char* words, std::size_t words_cap, const char** v) {
    std::size_t n = 0, w = 0;
    const char* p = line;
    while (true) {
        while (*p == ' ' || *p == '\t') ++p;
        if (!*p) return n;
        if (n == max_words) return max_words + 1;
        if (w + 1 >= words_cap) return n;  // the caller's copy is full: cut, never overrun
        v[n++] = words + w;
        while (*p && *p != ' ' && *p != '\t' && w + 1 < words_cap) words[w++] = *p++;
        words[w++] = '\0';
        while (*p && *p != ' ' && *p != '\t') ++p;  // what did not fit is dropped with its word
    }
}

inline bool same_word(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

inline const Command* find_command(std::span<const Command> table, const char* name) {
    for (const Command& c : table)
        if (same_word(c.name, name)) return &c;
    return nullptr;
}

inline void unknown_command(const Out& out, const char* name) {
    out.line("error: unknown command '{}' (try help)", name);
}

// Runs one finished line against the context's table. An empty line does nothing.
inline Outcome run_line(Context& ctx, const char* line) {
    constexpr std::size_t words_cap = 256;
    char words[words_cap];
    const char* v[max_words];
    const std::size_t n = tokenize(line, words, words_cap, v);
    if (n == 0) return Outcome::ok;
    if (n > max_words) {
        ctx.out.line("error: too many words (at most {})", max_words);
        return Outcome::failed;
    }
    const Command* c = find_command(ctx.commands, v[0]);
    if (!c) {
        unknown_command(ctx.out, v[0]);
        return Outcome::failed;
    }
    Outcome r = Outcome::usage;
    if (n - 1 >= c->min_args && n - 1 <= c->max_args) r = c->run(ctx, Args{n, v});
    if (r == Outcome::usage) ctx.out.line("error: usage: {}", c->usage);
    return r;
}

} // namespace myr::shell
