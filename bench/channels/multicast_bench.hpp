#pragma once
// Multicast to all cores: topology tree vs sequential unicast, measured on this machine, plus
// the schedules' message counts on modelled larger machines (no timing: counts only).
#include "measure.hpp"

#include <myr/hosted/runtime.hpp>

#include <string>
#include <vector>

namespace myr::bench {

struct MulticastRow {
    std::string machine;  // "host" (measured) or a modelled topology
    std::string mode;     // tree | sequential
    std::uint32_t cores = 0;
    std::uint32_t messages = 0;
    std::uint32_t cross_node = 0;
    std::uint32_t critical_path_sends = 0;
    std::uint32_t depth = 0;
    bool measured = false;
    Latency latency;      // root send -> last core's acknowledgement back at the root
};

std::vector<MulticastRow> measure_multicast(hosted::Runtime& rt, const hosted::Tsc& tsc,
                                            const std::vector<std::uint32_t>& cores,
                                            std::uint64_t rounds);

} // namespace myr::bench
