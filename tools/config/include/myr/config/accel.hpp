#pragma once
// Choosing the accelerator and TCG threading. The decisions are pure functions of host facts;
// probe_host() gathers those facts (the only part that touches the host).
#include <myr/config/config.hpp>

#include <string>
#include <string_view>

namespace myr::config {

struct HostFacts {
    bool kvm_usable = false;     // /dev/kvm opens read-write
    std::string cpuinfo;         // text of /proc/cpuinfo
    unsigned host_cores = 1;     // online host CPUs
};

[[nodiscard]] HostFacts probe_host();

// True when a `flags` line of /proc/cpuinfo lists vmx (Intel VT-x) or svm (AMD-V). A software
// KVM (kvm_pvm on this project's build machines) has /dev/kvm without them and runs guests
// ~1000x slower than TCG, so /dev/kvm alone is not enough.
[[nodiscard]] bool cpuinfo_has_hw_virt(std::string_view cpuinfo);

// auto -> kvm only when KVM is usable and the CPU has vmx/svm, else tcg. Explicit choices stay.
[[nodiscard]] Accel resolve_accel(Accel requested, bool kvm_usable, std::string_view cpuinfo);

// auto -> single when vCPUs outnumber host cores (oversubscribed multi-threaded TCG spins), else multi.
[[nodiscard]] TcgThreads resolve_tcg_threads(TcgThreads requested, unsigned vcpus, unsigned host_cores);

} // namespace myr::config
