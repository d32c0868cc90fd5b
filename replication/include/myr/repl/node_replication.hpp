#pragma once
// `nr`: node replication in the manner of NrOS (Bhardwaj et al., ASPLOS'21), written from the
// idea: one replica of the object per NUMA node, one shared operation log, flat combining.
//
// A thread posts its update in its per-thread slot on its node's replica. Whoever takes the
// replica's combiner lock collects every posted slot, reserves that many log positions with one
// fetch_add, writes the entries, then brings its replica up to the end of its reservation (other
// nodes' entries included), handing each posted thread its result. Other replicas replay the
// same log in the same order when their own combiners run, so all copies agree. Reads take the
// replica's reader lock after the replica has caught up with `completed`, the log position every
// finished update lies below: that makes reads linearizable and keeps them node-local.
//
// The log is a ring: a position may be rewritten only after every replica has applied the entry
// one lap earlier. A combiner that finds the ring full helps: it replays its own replica and,
// with try_lock, any lagging replica whose combiner is idle (NrOS helps laggards likewise).
// Freestanding: atomics and fixed arrays; the caller provides the (large) object's memory.
#include <myr/repl/object.hpp>
#include <myr/repl/spin.hpp>
#include <myr/result.hpp>

#include <atomic>
#include <cstdint>

namespace myr::repl {

struct NrHandle {
    std::uint32_t replica;
    std::uint32_t slot;
};

template <ReplicatedObject Obj, std::uint32_t LogEntries = 4096, std::uint32_t MaxReplicas = 8,
          std::uint32_t MaxThreads = 32, typename Relax = CpuRelax>
class NodeReplicated {
    static_assert((LogEntries & (LogEntries - 1)) == 0 && LogEntries >= MaxThreads);

public:
    using Op = typename Obj::Op;
    using Res = typename Obj::Result;

    NodeReplicated() = default;
    NodeReplicated(const NodeReplicated&) = delete;
    NodeReplicated& operator=(const NodeReplicated&) = delete;

    // Before any thread runs: how many replicas (one per NUMA node, or more for tests).
    [[nodiscard]] Status init(std::uint32_t replicas) {
        if (replicas == 0 || replicas > MaxReplicas) return Status::invalid_argument;
        m_replicas = replicas;
        return Status::ok;
    }
    // One handle per thread, registered before the threads run (not thread-safe).
    [[nodiscard]] Result<NrHandle> register_thread(std::uint32_t replica) {
        if (replica >= m_replicas) return Status::invalid_argument;
        if (m_rep[replica].threads >= MaxThreads) return Status::overflow;
        return NrHandle{replica, m_rep[replica].threads++};
    }

    [[nodiscard]] Res execute(const Op& op, NrHandle h) {
        return Obj::is_read(op) ? read(op, h.replica) : update(op, h);
    }

    [[nodiscard]] std::uint32_t replicas() const { return m_replicas; }
    // After the run (no thread executing): replica r's copy, brought up to the log's tail.
    [[nodiscard]] const Obj& replica_object(std::uint32_t r) {
        Replica& rep = m_rep[r];
        while (!rep.combiner.try_lock()) Relax::pause(0);
        catch_up(r, m_tail.load(std::memory_order_acquire));
        rep.combiner.unlock();
        return rep.object;
    }
    [[nodiscard]] std::uint64_t log_tail() const { return m_tail.load(std::memory_order_acquire); }

private:
    enum : std::uint32_t { slot_empty = 0, slot_posted = 1, slot_done = 2 };
    struct alignas(64) Slot {
        std::atomic<std::uint32_t> state{slot_empty};
        Op op;
        Res result;
    };
    struct alignas(64) Entry {
        std::atomic<std::uint64_t> tag{0};  // position + 1 once written (a lap number in effect)
        std::uint32_t replica;
        std::uint32_t slot;
        Op op;
    };
    struct alignas(64) Replica {
        alignas(64) SpinLock<Relax> combiner;
        alignas(64) RwSpinLock<Relax> rw;
        alignas(64) std::atomic<std::uint64_t> applied{0};  // log positions replayed here
        std::uint32_t threads = 0;
        std::uint32_t batch[MaxThreads] = {};
        Slot slots[MaxThreads];
        alignas(64) Obj object{};
    };

    Res update(const Op& op, NrHandle h) {
        Replica& rep = m_rep[h.replica];
        Slot& s = rep.slots[h.slot];
        s.op = op;
        s.state.store(slot_posted, std::memory_order_release);
        for (std::uint32_t spins = 0;; ++spins) {
            if (s.state.load(std::memory_order_acquire) == slot_done) {
                const Res r = s.result;
                s.state.store(slot_empty, std::memory_order_relaxed);
                return r;
            }
            if (rep.combiner.try_lock()) {
                combine(h.replica);
                rep.combiner.unlock();
                continue;
            }
            Relax::pause(spins);
        }
    }

    Res read(const Op& op, std::uint32_t r) {
        Replica& rep = m_rep[r];
        // Every update that finished before this read began lies below `completed`.
        const std::uint64_t target = m_completed.load(std::memory_order_acquire);
        for (std::uint32_t spins = 0; rep.applied.load(std::memory_order_acquire) < target; ++spins) {
            if (rep.combiner.try_lock()) {
                catch_up(r, target);
                rep.combiner.unlock();
            } else {
                Relax::pause(spins);
            }
        }
        SharedGuard<RwSpinLock<Relax>> g(rep.rw);
        return rep.object.read(op);
    }

    // Holder of replica r's combiner lock: log the posted updates, replay up to their end.
    void combine(std::uint32_t r) {
        Replica& rep = m_rep[r];
        std::uint32_t n = 0;
        for (std::uint32_t i = 0; i < rep.threads; ++i)
            if (rep.slots[i].state.load(std::memory_order_acquire) == slot_posted) rep.batch[n++] = i;
        if (n == 0) return;
        const std::uint64_t start = m_tail.fetch_add(n, std::memory_order_acq_rel);
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint64_t pos = start + k;
            wait_for_space(r, pos);
            Entry& e = m_log[pos & (LogEntries - 1)];
            e.replica = r;
            e.slot = rep.batch[k];
            e.op = rep.slots[rep.batch[k]].op;
            e.tag.store(pos + 1, std::memory_order_release);
        }
        catch_up(r, start + n);
        // Publish completion: readers anywhere must now see these updates.
        std::uint64_t c = m_completed.load(std::memory_order_relaxed);
        while (c < start + n &&
               !m_completed.compare_exchange_weak(c, start + n, std::memory_order_acq_rel)) {
        }
    }

    // Holder of r's combiner lock: replay until r has applied everything below `target`.
    void catch_up(std::uint32_t r, std::uint64_t target) {
        for (std::uint32_t spins = 0; !replay(r, target); ++spins) {
            help_others(r);
            Relax::pause(spins);
        }
    }

    // Holder of r's combiner lock: replay written entries below `target`; true when done.
    bool replay(std::uint32_t r, std::uint64_t target) {
        Replica& rep = m_rep[r];
        std::uint64_t pos = rep.applied.load(std::memory_order_relaxed);
        if (pos >= target) return true;
        Guard<RwSpinLock<Relax>> g(rep.rw);
        for (; pos < target; ++pos) {
            Entry& e = m_log[pos & (LogEntries - 1)];
            if (e.tag.load(std::memory_order_acquire) != pos + 1) break;  // writer not done yet
            const Res res = rep.object.apply(e.op);
            if (e.replica == r) {
                Slot& s = rep.slots[e.slot];
                s.result = res;
                s.state.store(slot_done, std::memory_order_release);
            }
            rep.applied.store(pos + 1, std::memory_order_release);
        }
        return pos >= target;
    }

    void help_others(std::uint32_t r) {
        const std::uint64_t tail = m_tail.load(std::memory_order_acquire);
        for (std::uint32_t q = 0; q < m_replicas; ++q) {
            if (q == r || !m_rep[q].combiner.try_lock()) continue;
            (void)replay(q, tail);
            m_rep[q].combiner.unlock();
        }
    }

    // Position `pos` reuses the entry of pos - LogEntries: every replica must be past it.
    void wait_for_space(std::uint32_t r, std::uint64_t pos) {
        for (std::uint32_t spins = 0;; ++spins) {
            std::uint64_t low = ~std::uint64_t{0};
            for (std::uint32_t q = 0; q < m_replicas; ++q) {
                const std::uint64_t a = m_rep[q].applied.load(std::memory_order_acquire);
                low = a < low ? a : low;
            }
            if (pos < low + LogEntries) return;
            (void)replay(r, pos);
            help_others(r);
            Relax::pause(spins);
        }
    }

    std::uint32_t m_replicas = 1;
    alignas(64) std::atomic<std::uint64_t> m_tail{0};       // next free log position
    alignas(64) std::atomic<std::uint64_t> m_completed{0};  // all updates below are finished
    Replica m_rep[MaxReplicas];
    Entry m_log[LogEntries];
};

} // namespace myr::repl
