// The monitors' name table (names.hpp, docs/monitors.md "Names").
#include "names.hpp"

#include "mesh.hpp"
#include "protocol.hpp"

#include <myr/user/syscall.hpp>

namespace myr::monitor::names {
namespace {

using namespace myr::user;

// Monitor 0: what the last names_sum round brought.
std::uint64_t sums, sum_disagree, sum_unsettled, sum_digest0, sum_count_min, sum_count_max;

} // namespace

void on_sum_request(std::uint64_t from) {
    std::uint64_t d = 0, n = 0, p = 0;
    summary(d, n, p);
    send(from, names_sum, mesh.core, d, n, p);
}

std::uint64_t summaries() { return sums; }

void on_sum(std::uint64_t from, const urpc::Message& m) {
    if (mesh.core != 0 || m.words[0] != from) {
        ++malformed;
        print("names_sum from core {} unexpected: ignored", from);
        return;
    }
    ++sums;
    if (m.words[1] != sum_digest0) ++sum_disagree;
    if (m.words[3] != 0) ++sum_unsettled;
    if (m.words[2] < sum_count_min) sum_count_min = m.words[2];
    if (m.words[2] > sum_count_max) sum_count_max = m.words[2];
}

bool run_step(std::uint64_t want, void (*collect)(std::uint64_t)) {
    // Until every table holds `want` names and no export waits for its outcome (the racers of a
    // round may still be starting), then once more: the tables must agree.
    constexpr unsigned limit = 4000;
    unsigned round = 0;
    std::uint64_t pending0 = 0;
    for (;; ++round) {
        summary(sum_digest0, sum_count_min, pending0);
        sum_count_max = sum_count_min;
        sum_disagree = 0;
        sum_unsettled = pending0 != 0;
        const std::uint64_t target = sums + mesh.cores - 1;
        broadcast(names_sum_req);
        collect(target);
        const bool settled = sum_unsettled == 0 && sum_count_min == want && sum_count_max == want;
        if (settled || round == limit) break;
        for (unsigned i = 0; i < 4; ++i) (void)syscall6(abi::Sys::wait_event);
    }
    const bool ok = round < limit && sum_disagree == 0;
    emit("names cores={} count={} agree={} digest={:#x} rounds={}", mesh.cores, sum_count_max, ok ? "yes" : "no",
         sum_digest0, round + 1);
    if (!ok)
        print("names: {} of {} monitors disagree with monitor 0, counts {}..{}, {} unsettled{}", sum_disagree,
              mesh.cores - 1, sum_count_min, sum_count_max, sum_unsettled, round == limit ? " (gave up waiting)" : "");
    return ok;
}

} // namespace myr::monitor::names
