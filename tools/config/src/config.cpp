#include <myr/config/config.hpp>

namespace myr::config {

unsigned Config::node_of(unsigned cpu) const {
    for (unsigned n = 0; n < nodes.size(); ++n)
        for (unsigned c : nodes[n].cpus)
            if (c == cpu) return n;
    return 0;  // unreachable for a validated config: every CPU is in exactly one node
}

unsigned Config::memory_home(unsigned node) const {
    if (nodes[node].memory_bytes != 0) return node;
    unsigned best = node;
    unsigned best_distance = ~0u;
    for (unsigned n = 0; n < nodes.size(); ++n) {
        if (nodes[n].memory_bytes == 0) continue;
        if (distances[node][n] < best_distance) {  // strict: ties keep the lowest index
            best = n;
            best_distance = distances[node][n];
        }
    }
    return best;
}

const char* to_string(Accel a) {
    switch (a) {
    case Accel::automatic: return "auto";
    case Accel::tcg: return "tcg";
    case Accel::kvm: return "kvm";
    }
    return "?";
}

const char* to_string(TcgThreads t) {
    switch (t) {
    case TcgThreads::automatic: return "auto";
    case TcgThreads::single: return "single";
    case TcgThreads::multi: return "multi";
    }
    return "?";
}

} // namespace myr::config
