#include "report.hpp"

#include <arch/platform.hpp>
#include <myr/kernel/console.hpp>
#include <myr/kernel/percore.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>

#include <new>

namespace myr::kernel {
namespace {

// This core's ends of the channels (its own memory; only the channels are shared).
constinit urpc::Sender to_boot;
// Boot core: from[c].rx receives core c's reports. A union, so the array starts all zero in bss
// (linker.ld forbids .data, and Receiver's default state is not all zero); attach constructs.
union ReceiverSlot {
    constexpr ReceiverSlot() : none{} {}
    std::byte none;
    urpc::Receiver rx;
};
constinit ReceiverSlot from[acpi::max_cpus];
bool reported[acpi::max_cpus];
DomainCounts received[acpi::max_cpus];

std::span<std::byte> channel(const BootBlock& bb, std::uint32_t core) {
    return {arch::phys_to_virt<std::byte>(bb.report_phys + core * bb.report_bytes), bb.report_bytes};
}

} // namespace

Status reports_attach(const BootBlock& bb) {
    if (bb.core != bb.boot_core) {
        to_boot = MYR_TRY(urpc::Sender::attach(channel(bb, bb.core)));
        return Status::ok;
    }
    for (std::uint32_t c = 0; c < bb.num_cores; ++c)
        if (c != bb.core) new (&from[c].rx) urpc::Receiver(MYR_TRY(urpc::Receiver::attach(channel(bb, c))));
    return Status::ok;
}

void report_domains_done(const DomainCounts& counts) {
    const std::uint64_t words[urpc::payload_words] = {counts.started, counts.exited, counts.failed, counts.faulted};
    // One report per run on a ring of report_slots: it cannot be full.
    if (const Status s = to_boot.try_send(report_type_domains_done, words, 4 * 8); s != Status::ok) {
        log("cannot report to the boot core: {}", to_string(s));
        return;
    }
    arch::lapic_send_ipi(this_core.boot_apic, arch::vector_wakeup);
}

bool reports_all_done(DomainCounts& total) {
    const std::uint32_t n = this_core.info.num_cores;
    bool all = true;
    for (std::uint32_t c = 0; c < n; ++c) {
        if (c == this_core.core) continue;
        urpc::Message m{};
        while (!reported[c] && from[c].rx.try_recv(m) == Status::ok) {
            if (m.header.type != report_type_domains_done) continue;  // a kernel peer: never expected
            received[c] = {static_cast<std::uint32_t>(m.words[0]), static_cast<std::uint32_t>(m.words[1]),
                           static_cast<std::uint32_t>(m.words[2]), static_cast<std::uint32_t>(m.words[3])};
            reported[c] = true;
        }
        all = all && reported[c];
    }
    if (!all) return false;
    for (std::uint32_t c = 0; c < n; ++c) {
        if (c == this_core.core) continue;
        total.started += received[c].started;
        total.exited += received[c].exited;
        total.failed += received[c].failed;
        total.faulted += received[c].faulted;
    }
    return true;
}

} // namespace myr::kernel
