#include <myr/config/qemu_args.hpp>
#include <myr/config/units.hpp>
#include <myr/exit_codes.hpp>

#include <cstdio>

namespace myr::config {
namespace {

std::string hex(unsigned v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
}

} // namespace

std::vector<KernelWord> kernel_command_words(const Config& c, const std::vector<std::string>& extra) {
    std::vector<KernelWord> words{{"timer_hz=" + std::to_string(c.timer_hz), "config"}, {"config=" + c.name, "config"}};
    for (std::size_t i = 0; i < c.kernel_options.size(); ++i)
        words.push_back({c.kernel_options[i], "kernel.options[" + std::to_string(i) + "]"});
    if (std::string r = replication_kernel_option(c.replication); !r.empty()) words.push_back({std::move(r), "replication"});
    for (std::string& w : c.system.kernel_words()) {
        const bool plan = w.rfind("plan=", 0) == 0;
        words.push_back({std::move(w), plan ? "system.plan" : "system"});
    }
    for (const std::string& w : extra) words.push_back({w, "--append"});
    return words;
}

std::string kernel_command_line(const Config& c, const std::vector<std::string>& extra) {
    std::string s;
    for (const KernelWord& w : kernel_command_words(c, extra)) s += (s.empty() ? "" : " ") + w.text;
    return s;
}

std::vector<KernelWordProblem> kernel_word_problems(const Config& c, const std::vector<std::string>& extra) {
    std::vector<KernelWordProblem> problems;
    // Every plan= word, not only the last (the one the monitor reads): a config's plan that a
    // later word overrides in this run is the one that runs where that word is not given.
    for (const KernelWord& w : kernel_command_words(c, extra)) {
        if (w.text.rfind("plan=", 0) == 0 && w.text.size() - 5 > max_plan)
            problems.push_back({w.from, "a plan of " + std::to_string(w.text.size() - 5) + " characters; at most " +
                                            std::to_string(max_plan) + " (the monitor reads a plan into 1 024 "
                                            "bytes and runs its default plan in place of one that does not fit)"});
        // The replication settings: one that does not fit the monitor's 512 bytes would be read
        // as none, and every object would run its default protocol: another experiment, silently.
        if (w.text.rfind("repl=", 0) == 0 && w.text.size() - 5 > max_repl)
            problems.push_back({w.from, "replication settings of " + std::to_string(w.text.size() - 5) +
                                            " characters; at most " + std::to_string(max_repl) +
                                            " (the monitor reads them into 512 bytes and would run every "
                                            "object's default protocol in place of settings that do not fit)"});
    }
    return problems;
}

std::vector<std::string> qemu_args(const Config& c, const QemuOptions& o) {
    std::vector<std::string> a{o.qemu, "-machine", "q35"};
    // `-cpu host` aborts on this project's software KVM (MSR 0x10a); max without
    // arch-capabilities works under both accelerators.
    const bool kvm = o.accel == Accel::kvm;
    a.insert(a.end(), {"-cpu", kvm ? "max,-arch-capabilities" : "max"});
    a.insert(a.end(), {"-m", std::to_string(c.memory_bytes / mib) + "M"});
    a.insert(a.end(), {"-smp", std::to_string(c.cpu_count()) + ",sockets=" + std::to_string(c.sockets) +
                                   ",cores=" + std::to_string(c.cores) + ",threads=" + std::to_string(c.threads)});
    for (std::size_t n = 0; n < c.nodes.size(); ++n) {
        const Node& node = c.nodes[n];
        const std::string id = std::to_string(n);
        std::string spec = "node,nodeid=" + id;
        // A non-contiguous set needs one cpus= clause per range (QEMU's list syntax).
        for (auto [lo, hi] : cpu_ranges(node.cpus))
            spec += ",cpus=" + std::to_string(lo) + (hi != lo ? "-" + std::to_string(hi) : "");
        if (node.memory_bytes != 0) {
            a.insert(a.end(), {"-object", "memory-backend-ram,id=m" + id + ",size=" +
                                              std::to_string(node.memory_bytes / mib) + "M"});
            spec += ",memdev=m" + id;
        }
        a.insert(a.end(), {"-numa", spec});
    }
    // Every pair, defaults included: QEMU builds a SLIT only when some distance is given, and
    // the kernel should always see one.
    if (c.nodes.size() > 1)
        for (std::size_t i = 0; i < c.nodes.size(); ++i)
            for (std::size_t j = 0; j < c.nodes.size(); ++j)
                a.insert(a.end(), {"-numa", "dist,src=" + std::to_string(i) + ",dst=" + std::to_string(j) +
                                                ",val=" + std::to_string(c.distances[i][j])});
    a.insert(a.end(), {"-kernel", o.kernel, "-append", kernel_command_line(c, o.extra_append)});
    if (!o.initrd.empty()) a.insert(a.end(), {"-initrd", o.initrd});
    a.insert(a.end(), {"-serial", o.serial, "-display", "none", "-monitor", "none", "-no-reboot"});
    a.insert(a.end(), {"-device", "isa-debug-exit,iobase=" + hex(debug_exit_port) + ",iosize=0x04"});
    if (kvm) a.insert(a.end(), {"-accel", "kvm"});
    else a.insert(a.end(), {"-accel", std::string("tcg,thread=") + (o.tcg_multi ? "multi" : "single")});
    if (o.gdb) a.insert(a.end(), {"-s", "-S"});
    a.insert(a.end(), o.extra_qemu.begin(), o.extra_qemu.end());
    return a;
}

std::string shell_join(const std::vector<std::string>& argv) {
    std::string out;
    for (const std::string& w : argv) {
        if (!out.empty()) out += ' ';
        const bool plain = !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789-_=.,/:+@%") == std::string::npos;
        if (plain) {
            out += w;
            continue;
        }
        out += '\'';
        for (char ch : w) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
        out += '\'';
    }
    return out;
}

} // namespace myr::config
