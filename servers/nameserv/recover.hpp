#pragma once
// nameserv's replica 0 without a kept table (moved off a stopped core): the table it takes from
// the other replicas before it serves (docs/servers.md, "Replica 0 moves"). Guest code, included
// by main.cpp only.
#include <myr/nameserv/client.hpp>
#include <myr/nameserv/table.hpp>
#include <myr/repl/snapshot.hpp>
#include <myr/rpc/guest.hpp>

namespace myr::nameserv {

// A new replica 0 without a kept table (moved off a stopped core, or its table lost): before it
// serves (and before it exports nameserv.0, so no replica waits to connect to it meanwhile), it
// asks every replica i > 0 for the table it held when it lost replica 0 (recover), and takes the
// furthest one: every change anyone was answered is in it, since replica 0 answered its own
// clients' changes only once another replica held them, and a replica answers its clients only
// once it applied theirs. Waits up to 5 s for every replica to answer (each either gives its
// table, or says it holds none); a replica that does not answer in time is left out (said so).
inline bool recover_from_replicas(NameReplica& replica, unsigned replicas) {
    static rpc::Client link[max_replicas];
    constexpr std::size_t snapshot_size = repl::snapshot_bytes<Table>();
    static std::byte page_buf[snapshot_size], best[snapshot_size];
    bool done[max_replicas] = {};
    std::uint32_t best_len = 0, best_from = 0;
    std::uint64_t best_applied = 0;
    unsigned answered = 0, held = 0;
    user::Backoff pause;
    for (user::Deadline limit(500); !limit.passed() && answered + 1 < replicas;) {
        for (unsigned r = 1; r < replicas; ++r) {
            if (done[r]) continue;
            char name[16];
            replica_name(r, name);
            if (!link[r].connected() && link[r].connect(name, 100) != Status::ok) continue;
            link[r].timeout_ticks = 100;  // a replica busy elsewhere is asked again, within the 5 s
            std::uint32_t total = 0;
            std::uint64_t applied = 0;
            Status s = Status::ok;
            for (std::uint32_t off = 0; s == Status::ok && (off == 0 || off < total);) {
                JoinReply page{};
                s = link[r].call(Recover{off}, page);
                if (s != Status::ok) break;
                if (off == 0) {
                    total = page.total;
                    applied = page.applied;
                }
                if (page.total != total || page.applied != applied || total > snapshot_size || page.bytes.size == 0 ||
                    page.bytes.size > total - off) {
                    s = Status::malformed;
                    break;
                }
                for (std::uint16_t i = 0; i < page.bytes.size; ++i) page_buf[off + i] = static_cast<std::byte>(page.bytes.data[i]);
                off += page.bytes.size;
            }
            if (s == Status::not_found) {  // it holds no table (a new instance itself)
                done[r] = true;
                ++answered;
                continue;
            }
            if (s != Status::ok) continue;  // busy (it has not seen replica 0 go yet), or a broken read: again
            done[r] = true;
            ++answered;
            ++held;
            if (best_len == 0 || applied > best_applied) {
                for (std::uint32_t i = 0; i < total; ++i) best[i] = page_buf[i];
                best_len = total;
                best_applied = applied;
                best_from = r;
            }
        }
        if (answered + 1 < replicas) pause.wait();
    }
    for (unsigned r = 1; r < replicas; ++r) link[r].close();
    for (unsigned r = 1; r < replicas; ++r)
        if (!done[r]) user::print("nameserv: replica 0 had no answer from replica {} in 5 s: recovering without it", r);
    if (best_len == 0) {
        user::print("nameserv: replica 0 found no replica holding the table ({} of {} answered)", answered,
                    replicas - 1);
        return false;
    }
    if (const Status s = replica.restore(std::span<const std::byte>(best, best_len)); s != Status::ok) {
        user::print("nameserv: replica 0 refused replica {}'s table: {}", best_from, to_string(s));
        return false;
    }
    user::print("nameserv: replica 0 took the table from replica {}: {} names at entry {} ({} of {} replicas held one)",
                best_from, replica.object().size(), replica.applied_index(), held, replicas - 1);
    return true;
}

} // namespace myr::nameserv
