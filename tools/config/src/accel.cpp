#include <myr/config/accel.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace myr::config {

bool cpuinfo_has_hw_virt(std::string_view cpuinfo) {
    std::size_t pos = 0;
    while (pos < cpuinfo.size()) {
        std::size_t eol = cpuinfo.find('\n', pos);
        if (eol == std::string_view::npos) eol = cpuinfo.size();
        const std::string_view line = cpuinfo.substr(pos, eol - pos);
        pos = eol + 1;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view key = line.substr(0, colon);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
        if (key != "flags") continue;
        // Whole words only: "svm" must not match inside e.g. "nsvm" or "vmx_foo".
        std::string_view rest = line.substr(colon + 1);
        while (!rest.empty()) {
            const std::size_t start = rest.find_first_not_of(" \t");
            if (start == std::string_view::npos) break;
            rest.remove_prefix(start);
            const std::size_t end = std::min(rest.find_first_of(" \t"), rest.size());
            const std::string_view flag = rest.substr(0, end);
            if (flag == "vmx" || flag == "svm") return true;
            rest.remove_prefix(end);
        }
    }
    return false;
}

Accel resolve_accel(Accel requested, bool kvm_usable, std::string_view cpuinfo) {
    if (requested != Accel::automatic) return requested;
    return kvm_usable && cpuinfo_has_hw_virt(cpuinfo) ? Accel::kvm : Accel::tcg;
}

TcgThreads resolve_tcg_threads(TcgThreads requested, unsigned vcpus, unsigned host_cores) {
    if (requested != TcgThreads::automatic) return requested;
    return vcpus > host_cores ? TcgThreads::single : TcgThreads::multi;
}

HostFacts probe_host() {
    HostFacts f;
    const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        f.kvm_usable = true;
        ::close(fd);
    }
    std::ifstream in("/proc/cpuinfo");
    std::ostringstream text;
    text << in.rdbuf();
    f.cpuinfo = text.str();
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    f.host_cores = online > 0 ? static_cast<unsigned>(online) : std::max(1u, std::thread::hardware_concurrency());
    return f;
}

} // namespace myr::config
