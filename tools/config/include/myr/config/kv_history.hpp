#pragma once
// The fault campaign's shared-key history (docs/faults.md, "Linearizability"): every client
// (tests/programs/kv_load.cpp) puts to and reads one key that all of them share, times each call
// with the guest's time-stamp counter, and prints `kvhist` lines as it goes:
//
//   kvhist core=C op=put value=V inv=T0                          a put starts
//   kvhist core=C op=put value=V result=ok|unknown inv=T0 res=T1  it ended
//   kvhist core=C op=get value=V result=ok|absent inv=T0 res=T1
//
// `unknown`: the call failed even after the runtime's retries, so the put may or may not have
// taken effect; a put that started and never ended (its client was killed, or its core stopped)
// is the same. Both are checked as still open at the end of the history: each may take effect at
// any point after it began, or never. Reads that failed are not printed; a put the server
// refused prints its start only. A put's value is unique (client, operation).
// check_kv_history parses the lines of a whole boot log and asks the simulation's
// linearizability checker (replication/sim) whether some order of the calls, each placed
// between its start and its end, explains every answer of a sequential key-value map.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace myr::config {

struct KvHistoryCheck {
    bool linearizable = false;   // meaningful only without problems
    std::size_t calls = 0;       // kvhist lines taken
    std::size_t unknown = 0;     // of them puts with unknown outcome
    std::size_t clients = 0;     // distinct cores
    std::size_t explored = 0;    // states the checker visited
    std::vector<std::string> problems;  // malformed lines, answers no put explains
};

KvHistoryCheck check_kv_history(std::string_view log);

} // namespace myr::config
