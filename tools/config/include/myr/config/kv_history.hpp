#pragma once
// The fault campaign's key histories (docs/faults.md, "Linearizability"): every client
// (tests/programs/kv_load.cpp) times each call it makes with the guest's time-stamp counter and
// prints `kvhist` lines as it goes, for the one key all clients share and for each of its own:
//
//   kvhist core=C [key=K] op=put value=V inv=T0                             a put starts
//   kvhist core=C [key=K] op=put value=V result=ok|unknown inv=T0 res=T1     it ended
//   kvhist core=C key=K op=cas expect=E value=V inv=T0                      a compare-and-swap starts
//   kvhist core=C key=K op=cas expect=E value=V result=ok|failed|unknown|void inv=T0 res=T1
//   kvhist core=C [key=K] op=get value=V result=ok|absent inv=T0 res=T1
//
// Values are numbers; 0 is never written and stands for an absent key (a read's `absent`, a
// compare-and-swap that expects the key not to exist). A line without `key=` is of the shared key
// (`hist0`). A compare-and-swap sets the key to V if it holds E (ok), or changes nothing because it
// does not (failed); `void`: it did nothing to this key, for a reason that says nothing about it
// (a transaction that failed on its other key's check), and is left out. A transaction's reads
// and writes are printed per key, with the transaction's times.
//
// `unknown`: the call failed even after the runtime's retries, so the write may or may not have
// taken effect; a write that started and never ended (its client was killed, or its core stopped,
// or the server refused it) is the same. Both are checked as still open at the end of the
// history: each may take effect at any point after it began, or never. Reads that failed are not
// printed. A client's calls are sequential: a start while the same client's last write is still
// open leaves that one open. A put's value is unique to its key.
// check_kv_history parses the lines of a whole boot log and asks the simulation's
// linearizability checker (replication/sim), key by key, whether some order of the key's calls,
// each placed between its start and its end, explains every answer of a sequential register.
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
    std::size_t keys = 0;        // keys whose histories were checked
    std::size_t explored = 0;    // states the checker visited
    std::vector<std::string> problems;  // malformed lines, answers no put explains
};

KvHistoryCheck check_kv_history(std::string_view log);

} // namespace myr::config
