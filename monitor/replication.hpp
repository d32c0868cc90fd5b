#pragma once
// Replicated OS state driven by the monitors (docs/replication.md "In the guest").
// Each monitor holds one replica of the object under test (myr::repl::Replica over the monitor
// mesh) and one client that issues seeded random operations against it. The monitor lends this
// file a narrow hook: messages of the types below are dispatched here from handle(), pump() runs
// from poll() (loop.hpp), and plan step `replicate:...` (plan.cpp, core 0's monitor) calls
// run_step(). run_step is in replication_step.cpp, the rest in replication.cpp
// (replication_state.hpp: what they share).
//
// Everything this file sends goes through the monitor's ordered outbox (mesh.cpp) with a
// non-blocking send, so a full ring never blocks a handler (two monitors with full rings to each
// other cannot deadlock); the outbox drains on every poll.
#include <myr/abi/syscall.hpp>
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::repl {

// What monitor.cpp lends to the replication code.
struct Host {
    std::uint32_t core;
    std::uint32_t cores;
    // Non-blocking: the line joins the monitor's ordered outbox (false only when that is nearly
    // full); it goes out as the destination's ring takes it.
    bool (*try_send)(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]);
    // One round of the monitor's message loop (drains every inbox, calls pump()); true when
    // anything happened.
    bool (*poll)();
    // Lines waiting in the monitor's outbox.
    std::uint32_t (*queued)();
    // The kernel option `key=` into buf (nul-terminated); false when absent.
    bool (*option)(const char* key, char* buf, std::uint64_t size);
    // The machine as the CPU driver parsed it (Sys::topology): the replication trees use its
    // SLIT distances. Null: 10 local, 20 remote.
    const abi::TopologyInfo* topology;
};

void init(const Host& host);

// Monitor message types handled here: the control block in protocol.hpp (repl_first..repl_last)
// and the framework's replication lines (myr::repl::kind_first..kind_last, 0x40..0x4a) and
// forwarding lines of replicas per node (myr::repl::forward_first..forward_last, 0x4b..0x4c).
[[nodiscard]] bool handles(std::uint8_t type);
void on_message(std::uint64_t from, const urpc::Message& m);

// Drives this core's client and pending report. True on progress.
bool pump();

// Core 0: plan step `replicate:OBJECT[:PROTOCOL][:OPS][:add][:node|:core]` (the text after `replicate:`),
// `node_of`: each core's NUMA node (learnt from the hello messages). Prints the result line;
// false when the step is malformed, refused, or the replicas disagree.
[[nodiscard]] bool run_step(char* spec, const std::uint32_t* node_of);

} // namespace myr::monitor::repl
