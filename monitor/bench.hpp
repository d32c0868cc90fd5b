#pragma once
// The monitors' own round-trip benches (docs/benchmarks.md, `./myriad bench monitors`): a message
// over the URPC mesh and back, beside a raw cache-line ping-pong between the same two cores in the
// same boot. Plan step `bench` measures monitors 0 and 1; `bench:matrix` every ordered pair.
#include "servers.hpp"

#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::monitor::bench {

// bench_start from `from`: echo its pings, then its raw line (the measured monitor's side).
void echo(std::uint64_t from, std::uint64_t rounds, std::uint64_t line_offset, std::uint64_t base);
// Monitor 0 against monitor 1: emits bench-monitors rtt.
void round_trip();
// bench_measure / bench_result lines (protocol.hpp).
void on_measure(std::uint64_t from, const urpc::Message& m);
void on_result(std::uint64_t from, const urpc::Message& m);
// Plan step bench:matrix (monitor 0): every ordered pair of cores, one at a time; emits one
// bench-matrix line per pair. False when a pair could not be measured. forge (bench:matrix:forge):
// first send every other monitor lines it must refuse (the qemu test counts them).
[[nodiscard]] bool run_matrix(servers::Waiter wait, bool forge = false);

} // namespace myr::monitor::bench
