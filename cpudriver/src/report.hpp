#pragma once
// Kernel-to-kernel reports (docs/share-nothing.md): what the boot core must learn of another core
// at run time travels by message, never through a shared counter. One URPC channel per core into
// the boot core's node (receiver-local), formatted by the boot core before any core starts; the
// wake-up IPI is the doorbell. One report so far: "all my domains are gone", with the counts.
#include <myr/kernel/boot_block.hpp>
#include <myr/result.hpp>

#include <cstdint>

namespace myr::kernel {

// How this core's domains ended, counted by this core alone.
struct DomainCounts {
    std::uint32_t started;
    std::uint32_t exited;    // with code 0
    std::uint32_t failed;    // with a non-zero code
    std::uint32_t faulted;   // killed by a CPU exception or by domain_kill
};

// At boot, from the hand-over: every other core attaches the sending end of its channel, the
// boot core the receiving end of all of them.
Status reports_attach(const BootBlock& bb);
// A core other than the boot core: its domains are all gone. Sent once; rings the boot core.
void report_domains_done(const DomainCounts& counts);
// Boot core: takes what has arrived; true once every other core has reported, with their
// counts added to `total`.
bool reports_all_done(DomainCounts& total);

} // namespace myr::kernel
