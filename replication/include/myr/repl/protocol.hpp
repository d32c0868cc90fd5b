#pragma once
// Which agreement protocol a replicated object uses. Chosen per object at run time: by the config
// (intended key: `[replication] <object> = "<protocol>"`, e.g. `registry = "2pc"`) and by the
// benchmark's --protocol flag. The names below are the config spellings.
#include <myr/result.hpp>

#include <cstdint>
#include <string_view>

namespace myr::repl {

enum class Protocol : std::uint8_t {
    broadcast,  // one phase: origin applies and multicasts; commuting updates only; local reads
    two_pc,     // two-phase commit by the origin (or the owner core); conflicts abort, retry
    sequencer,  // one core orders a log every replica applies in order
    nr,         // node replication: shared log + flat combining, one replica per NUMA node
    shared,     // one copy behind a lock: the monolithic-kernel baseline
};

inline constexpr Protocol all_protocols[] = {Protocol::broadcast, Protocol::two_pc,
                                             Protocol::sequencer, Protocol::nr, Protocol::shared};

[[nodiscard]] constexpr std::string_view to_string(Protocol p) {
    switch (p) {
    case Protocol::broadcast: return "broadcast";
    case Protocol::two_pc: return "2pc";
    case Protocol::sequencer: return "sequencer";
    case Protocol::nr: return "nr";
    case Protocol::shared: return "shared";
    }
    return "?";
}

[[nodiscard]] inline Result<Protocol> parse_protocol(std::string_view name) {
    for (Protocol p : all_protocols)
        if (to_string(p) == name) return p;
    if (name == "two_pc" || name == "2PC") return Protocol::two_pc;
    return Status::invalid_argument;
}

// Message-based protocols run through Replica and a Transport; the others are shared memory.
[[nodiscard]] constexpr bool uses_messages(Protocol p) {
    return p == Protocol::broadcast || p == Protocol::two_pc || p == Protocol::sequencer;
}

} // namespace myr::repl
