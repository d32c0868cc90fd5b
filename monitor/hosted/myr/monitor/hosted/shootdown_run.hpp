#pragma once
// The TLB shootdown protocol (myr/monitor/shootdown.hpp) on Linux threads: member i on host core i,
// URPC channels along the plan's edges (requests down, acknowledgements up), broadcast's one shared
// line, and for `ipi` a futex doorbell per member that every line's sender rings (members sleep
// instead of polling). The same ShootNode as the guest monitors and the simulation; each member's
// replica of the mappings is an array of entries in memory it allocates itself. Member 0 unmaps
// `count` pages one after another and, after each returns (outside the timed part), checks that no
// member's replica still holds the page. Used by tests/hosted/shootdown_hosted_test.cpp (also under
// TSan) and by `./myriad bench unmap` (bench/unmap). Host only.
#include <myr/hosted/clock.hpp>
#include <myr/hosted/futex.hpp>
#include <myr/hosted/runtime.hpp>
#include <myr/monitor/shootdown.hpp>
#include <myr/urpc/urpc.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace myr::monitor::hosted {

struct ShootRun {
    bool ok = false;              // the threads ran (pinned) and every channel was made
    std::uint64_t completed = 0;  // unmaps that returned
    std::uint64_t malformed = 0;  // lines a ShootNode refused (0 in an honest run)
    std::uint64_t miscounted = 0; // unmaps whose line count differs from the plan's
    std::uint64_t reachable = 0;  // (unmap, member) pairs where the page was still in the replica when it returned
};

namespace shootdown_detail {

inline void encode(const ShootMsg& m, std::uint64_t (&w)[urpc::payload_words]) {
    w[0] = static_cast<std::uint64_t>(m.type) | std::uint64_t{m.initiator} << 8 | std::uint64_t{m.seq} << 32;
    w[1] = m.vaddr;
    w[2] = m.lines;
}
inline ShootMsg decode(const urpc::Message& msg) {
    ShootMsg m;
    m.type = static_cast<ShootLine>(msg.words[0] & 0xff);
    m.initiator = static_cast<std::uint16_t>(msg.words[0] >> 8);
    m.seq = static_cast<std::uint32_t>(msg.words[0] >> 32);
    m.vaddr = msg.words[1];
    m.lines = static_cast<std::uint32_t>(msg.words[2]);
    return m;
}

// broadcast's one shared line: written by the initiator (seq last, release), read by every member.
struct alignas(64) SharedLine {
    std::atomic<std::uint64_t> seq{0};
    std::uint64_t vaddr = 0;
};

inline constexpr std::uint64_t page = 4096;
inline constexpr std::uint64_t span_base = 0x4000'0000;

} // namespace shootdown_detail

// `count` unmaps of pages first..first+count-1 from member 0 along `plan` (plan.initiator() must
// be 0; members on host cores 0..members-1); cycles gets each unmap's TSC cycles at member 0.
inline ShootRun run_shootdowns(myr::hosted::Runtime& rt, const ShootPlan& plan, std::uint64_t first,
                               std::uint64_t count, std::vector<std::uint32_t>& cycles) {
    using namespace shootdown_detail;
    ShootRun result;
    const std::uint32_t n = plan.members();
    if (plan.initiator() != 0 || n > rt.cores().size()) return result;
    const urpc::ChannelConfig cfg{64, urpc::Wake::poll};
    // NUMA-aware multicast puts each channel in its receiver's memory; the others leave it where
    // the sender is (for unicast: every request channel on the initiator's node).
    const myr::hosted::Placement where = plan.protocol() == ShootProtocol::numa_multicast
                                             ? myr::hosted::Placement::receiver
                                             : myr::hosted::Placement::sender;
    std::vector<std::unique_ptr<myr::hosted::ChannelMemory>> down(n), up(n);  // parent -> m, m -> parent
    for (std::uint32_t m = 1; m < n; ++m) {
        const std::uint32_t p = plan.parent(m);
        if (plan.protocol() != ShootProtocol::broadcast) {
            auto d = rt.channel(p, m, cfg, where);
            if (!d.ok()) return result;
            down[m] = std::make_unique<myr::hosted::ChannelMemory>(std::move(*d));
        }
        auto u = rt.channel(m, p, cfg, where);
        if (!u.ok()) return result;
        up[m] = std::make_unique<myr::hosted::ChannelMemory>(std::move(*u));
    }
    SharedLine line;
    std::atomic<std::uint64_t> bad{0}, miscounted{0}, reachable{0}, completed{0};
    // ipi: members sleep on their doorbell word; every line's sender bumps it and wakes them (the
    // host's analogue of an inter-processor interrupt: a futex wake).
    const bool ipi = plan.protocol() == ShootProtocol::ipi;
    std::unique_ptr<std::atomic<std::uint32_t>[]> bell(new std::atomic<std::uint32_t>[n]);
    // Each member's replica, allocated by the member itself (its node's memory); published before
    // it first acknowledges, so the initiator reads it only after an acknowledgement ordered it.
    std::unique_ptr<std::atomic<std::atomic<std::uint64_t>*>[]> replicas(new std::atomic<std::atomic<std::uint64_t>*>[n]);
    std::vector<std::unique_ptr<std::atomic<std::uint64_t>[]>> owned(n);  // freed after every thread ended
    for (std::uint32_t c = 0; c < n; ++c) {
        bell[c].store(0);
        replicas[c].store(nullptr);
    }
    std::vector<std::uint32_t> cores(n);
    for (std::uint32_t c = 0; c < n; ++c) cores[c] = c;
    const std::uint64_t pages = first + count;
    cycles.reserve(cycles.size() + count);
    const Status s = rt.run(cores, [&](std::uint32_t me) {
        ShootNode node(static_cast<std::uint16_t>(me));
        owned[me].reset(new std::atomic<std::uint64_t>[pages]);
        std::atomic<std::uint64_t>* replica = owned[me].get();
        for (std::uint64_t i = 0; i < pages; ++i) replica[i].store(1, std::memory_order_relaxed);
        replicas[me].store(replica, std::memory_order_release);
        std::vector<urpc::Sender> to(n);
        struct From {
            std::uint16_t member;
            urpc::Receiver rx;
        };
        std::vector<From> from;
        for (std::uint16_t child : plan.request_to(me)) {
            if (down[child]) to[child] = *urpc::Sender::attach(down[child]->bytes());
            from.push_back({child, *urpc::Receiver::attach(up[child]->bytes())});
        }
        if (me != 0) {
            to[plan.parent(me)] = *urpc::Sender::attach(up[me]->bytes());
            if (down[me]) from.push_back({plan.parent(me), *urpc::Receiver::attach(down[me]->bytes())});
        }
        bool finished = false;
        std::uint64_t acks_sent = 0;
        std::uint32_t lines_seen = 0;
        struct Env {
            std::atomic<std::uint64_t>* replica;
            std::uint64_t pages;
            std::vector<urpc::Sender>& to;
            SharedLine& line;
            bool& finished;
            std::uint64_t& acks_sent;
            std::uint32_t& lines_seen;
            std::atomic<std::uint32_t>* bell;
            bool ipi;
            void unmap_local(std::uint64_t vaddr) {
                const std::uint64_t i = (vaddr - span_base) / page;
                if (i < pages) replica[i].store(0, std::memory_order_relaxed);
            }
            void send(std::uint16_t member, const ShootMsg& m) {
                std::uint64_t w[urpc::payload_words] = {};
                encode(m, w);
                while (to[member].try_send(1, w) != Status::ok) urpc::cpu_relax();
                acks_sent += m.type == ShootLine::ack;
                if (ipi) {
                    bell[member].fetch_add(1, std::memory_order_release);
                    myr::hosted::futex_wake(bell[member]);
                }
            }
            void post(const ShootMsg& m) {
                line.vaddr = m.vaddr;
                line.seq.store(m.seq, std::memory_order_release);
            }
            void done(std::uint32_t, std::uint64_t, std::uint32_t lines) {
                finished = true;
                lines_seen = lines;
            }
        } env{replica, pages, to, line, finished, acks_sent, lines_seen, bell.get(), ipi};
        std::uint64_t line_seen = 0;
        auto poll_once = [&] {
            bool got = false;
            const std::uint32_t rung = ipi ? bell[me].load(std::memory_order_acquire) : 0;
            urpc::Message msg{};
            for (From& f : from) {
                if (f.rx.try_recv(msg) == Status::ok) {
                    node.receive(plan, f.member, decode(msg), env);
                    got = true;
                }
            }
            if (me != 0 && plan.protocol() == ShootProtocol::broadcast) {
                const std::uint64_t seq = line.seq.load(std::memory_order_acquire);
                if (seq != line_seen) {
                    line_seen = seq;
                    node.receive(plan, 0, ShootMsg{ShootLine::request, 0, static_cast<std::uint32_t>(seq), line.vaddr, 0}, env);
                    got = true;
                }
            }
            if (!got) {
                if (ipi) myr::hosted::futex_block(bell[me], rung);
                else urpc::cpu_relax();
            }
        };
        if (me == 0) {
            for (std::uint64_t i = 0; i < count; ++i) {
                finished = false;
                const std::uint64_t vaddr = span_base + (first + i) * page;
                const std::uint64_t t0 = myr::hosted::Tsc::read();
                if (node.start(plan, vaddr, env) != Status::ok) break;
                while (!finished) poll_once();
                cycles.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(myr::hosted::Tsc::read() - t0, UINT32_MAX)));
                completed.fetch_add(1, std::memory_order_relaxed);
                if (lines_seen != plan.request_lines() + plan.ack_lines()) miscounted.fetch_add(1);
                // No member may still reach the page now (their stores happened before their
                // acknowledgements, which happened before this).
                for (std::uint32_t c = 0; c < n; ++c) {
                    std::atomic<std::uint64_t>* r = replicas[c].load(std::memory_order_acquire);
                    if (!r || r[first + i].load(std::memory_order_relaxed) != 0) reachable.fetch_add(1);
                }
            }
        } else {
            while (acks_sent < count) poll_once();
        }
        bad.fetch_add(node.malformed());
    });
    result.ok = s == Status::ok;
    result.completed = completed.load();
    result.malformed = bad.load();
    result.miscounted = miscounted.load();
    result.reachable = reachable.load();
    return result;
}

} // namespace myr::monitor::hosted
