#pragma once
// Core membership: which cores are in the machine, agreed by every monitor, and changed when a
// core stops (docs/monitors.md, "Membership and core failure"). Pure: the monitors drive it from
// their message loop (monitor/membership.cpp), the host tests drive it from a simulated network
// with a crash injected at every step (tests/unit/membership_sim_test.cpp); one implementation.
//
// The protocol, with a fixed coordinator (core 0, which also runs the plan):
//
// * Heartbeats go down the multicast tree of the current view. Every `beat_ticks` the coordinator
//   numbers a beat and sends it to its children; a member forwards each beat from its parent to
//   its children and answers its parent with beat_ack. So each core watches only its children: a
//   child that left more than `misses` forwarded beats unanswered is suspected. The coordinator
//   suspects its own children itself; any other member sends `suspect` to the coordinator, which
//   believes it only from the suspected core's parent in the current tree.
// * A view change: the coordinator removes every suspect, numbers the new view (epoch + 1),
//   builds the new tree without them and sends the view straight to every core of the old view
//   (the removed ones too). A member installs a view with a higher epoch from the coordinator
//   only, acknowledges it, and rebuilds its tree. The coordinator commits a view once every
//   member acknowledged it; a member that does not within `view_ack_ticks` is suspected too.
// * The coordinator then tells every member of the view (`commit`), so each knows that every live
//   core installed it: a monitor acts on a removal there before it acknowledges (it drops what it
//   held of the removed cores), and says that a core is gone to its domains (the death feed, from
//   which memserv gives their memory out again) only at the commit. take_commit() reports the cores
//   removed since the last commit, on every member. A commit of a view already replaced is stale;
//   the newer view's commit covers both.
// * A core removed from the view stops: a core that was only slow learns from the view that it
//   is out and halts (excluded()), so every view tells the truth ("fail-stop conversion"): no
//   core ever works on with a membership that has dropped it. Cores never rejoin.
//
// Every live member ends in the same view, whatever crashed where in the tree: the coordinator
// decides every view alone and the channels are FIFO and lossless. What it does not survive: the
// coordinator's own death (no election). election.hpp is this protocol with an elected
// coordinator: the monitors run that one; this one stays as the simpler baseline its tests and
// the hosted runtime compare with.
#include <myr/result.hpp>
#include <myr/urpc/multicast.hpp>

#include <cstdint>
#include <span>

namespace myr::monitor::membership {

inline constexpr std::uint32_t max_cores = urpc::multicast_max_cores;
inline constexpr std::uint32_t coordinator = 0;

// A set of cores, a bit each (the wire form of a view: four words).
struct CoreSet {
    std::uint64_t w[max_cores / 64] = {};

    [[nodiscard]] constexpr bool has(std::uint32_t c) const { return c < max_cores && (w[c / 64] >> (c % 64) & 1) != 0; }
    constexpr void add(std::uint32_t c) {
        if (c < max_cores) w[c / 64] |= std::uint64_t{1} << (c % 64);
    }
    constexpr void remove(std::uint32_t c) {
        if (c < max_cores) w[c / 64] &= ~(std::uint64_t{1} << (c % 64));
    }
    [[nodiscard]] constexpr std::uint32_t count() const {
        std::uint32_t n = 0;
        for (std::uint64_t x : w)
            for (; x; x &= x - 1) ++n;
        return n;
    }
    [[nodiscard]] constexpr bool empty() const { return count() == 0; }
    // Cores in this set and not in `other`.
    [[nodiscard]] constexpr CoreSet minus(const CoreSet& other) const {
        CoreSet r;
        for (unsigned i = 0; i < max_cores / 64; ++i) r.w[i] = w[i] & ~other.w[i];
        return r;
    }
    constexpr void merge(const CoreSet& other) {
        for (unsigned i = 0; i < max_cores / 64; ++i) w[i] |= other.w[i];
    }
    constexpr bool operator==(const CoreSet&) const = default;
    static constexpr CoreSet first(std::uint32_t n) {
        CoreSet s;
        for (std::uint32_t c = 0; c < n && c < max_cores; ++c) s.add(c);
        return s;
    }
};

enum class Kind : std::uint8_t {
    beat = 1,      // [epoch, beat number]            parent -> child, down the tree
    beat_ack = 2,  // [epoch, beat number]            child -> parent
    suspect = 3,   // [epoch, core]                   a member -> coordinator: my child `core` is silent
    view = 4,      // [epoch, members (4 words)]      coordinator -> every core of the old view
    view_ack = 5,  // [epoch]                         member -> coordinator
    commit = 6,    // [epoch]                         coordinator -> every member of that view
};

struct Msg {
    Kind kind = Kind::beat;
    std::uint64_t epoch = 0;
    std::uint64_t value = 0;  // beat, beat_ack: the beat's number; suspect: the core
    CoreSet members;          // view
};

struct Params {
    std::uint64_t beat_ticks = 10;      // the coordinator beats this often (its timer ticks)
    std::uint32_t misses = 4;           // forwarded beats a child may leave unanswered
    std::uint64_t view_ack_ticks = 100; // a member silent this long after a view is suspected
};

struct Topology {
    std::span<const std::uint8_t> distance;   // nodes x nodes (SLIT units)
    std::uint32_t nodes = 0;
    std::span<const std::uint16_t> core_node; // one entry per core
};

struct Stats {
    std::uint64_t beats = 0, acks = 0, suspects = 0, views = 0, ignored = 0;
};

// The heartbeat's bookkeeping at one core of the tree (this protocol's Member and election.hpp's):
// the newest beat number, and per child the newest beat it answered. A child is counted from the
// first beat this core passes to it in a view (its own last number may be old: its parent
// stopped, and the next beat can be several numbers on), and said silent once per view.
struct BeatWatch {
    std::uint64_t seq = 0;                // coordinator: beats numbered; member: last forwarded
    std::uint64_t acked[max_cores] = {};  // per child: the newest beat it answered
    CoreSet said;                         // children said silent in this view
    CoreSet fresh;                        // children not yet sent a beat in this view

    void new_view(const CoreSet& members) {
        fresh = members;
        said = {};
    }
    // Beat `seq` to each of our children: beat(child).
    template <class Beat>
    void beat_children(const urpc::MulticastTree& tree, std::uint32_t self, Beat beat) {
        for (std::uint16_t c : tree.children(self)) {
            if (c < max_cores && fresh.has(c)) {
                acked[c] = seq - 1;
                fresh.remove(c);
            }
            beat(c);
        }
    }
    // Each child that left more than `misses` beats unanswered, once per view: silent(child).
    template <class Silent>
    void check_children(const urpc::MulticastTree& tree, std::uint32_t self, std::uint32_t misses, Silent silent) {
        for (std::uint16_t c : tree.children(self)) {
            if (c >= max_cores || fresh.has(c) || seq <= acked[c] + misses || said.has(c)) continue;
            said.add(c);
            silent(c);
        }
    }
    // A beat_ack of beat `n` from `child`: false when it answers a beat not sent yet.
    bool answered(std::uint32_t child, std::uint64_t n) {
        if (n > seq || child >= max_cores) return false;
        if (n > acked[child]) acked[child] = n;
        return true;
    }
};

// Out: a sink with `void send(std::uint32_t to, const Msg&)`.
class Member {
public:
    // Every core of `topology` in the first view (epoch 1, the membership agreed at boot).
    [[nodiscard]] Status init(std::uint32_t self, const Topology& topology, const Params& params, std::uint64_t now) {
        const auto cores = static_cast<std::uint32_t>(topology.core_node.size());
        if (cores == 0 || cores > max_cores || self >= cores || params.beat_ticks == 0 || params.misses == 0)
            return Status::invalid_argument;
        *this = Member{};
        m_self = self;
        m_cores = cores;
        m_topo = topology;
        m_params = params;
        m_next_beat = now + params.beat_ticks;
        m_committed = 1;
        return install(CoreSet::first(cores), 1);
    }

    [[nodiscard]] bool is_coordinator() const { return m_self == coordinator; }
    [[nodiscard]] std::uint64_t epoch() const { return m_epoch; }
    [[nodiscard]] const CoreSet& view() const { return m_view; }
    [[nodiscard]] bool excluded() const { return m_excluded; }
    [[nodiscard]] const urpc::MulticastTree& tree() const { return m_tree; }
    [[nodiscard]] const Stats& stats() const { return m_stats; }
    [[nodiscard]] std::uint64_t committed() const { return m_committed; }

    // True once for each committed view, with the cores removed since the commit before it (the
    // coordinator's monitor then starts their servers elsewhere; every monitor reports them in its
    // death feed).
    [[nodiscard]] bool take_commit(CoreSet& removed, std::uint64_t& epoch) {
        if (!m_commit_ready) return false;
        m_commit_ready = false;
        removed = m_removed;
        m_removed = {};
        epoch = m_committed;
        return true;
    }

    template <class Out>
    void tick(std::uint64_t now, Out& out) {
        if (m_excluded || !is_coordinator()) return;
        if (!m_pending.empty() && now >= m_view_sent + m_params.view_ack_ticks) m_suspects.merge(m_pending);
        if (!m_suspects.empty()) new_view(now, out);
        if (now >= m_next_beat) {
            ++m_beat.seq;
            m_next_beat = now + m_params.beat_ticks;
            beat_children(out);
            check_children(out);
        }
    }

    // One message from `from` (the channel it came on says who: a monitor cannot forge it).
    // ok, or a reason it was ignored (counted in stats().ignored): out_of_range for an epoch or a
    // beat that is not the current one (stale, or a view not installed yet), malformed for a
    // message this core may not send or receive (a beat from a core not its parent, a suspect
    // from a core not the suspect's parent, a view not from the coordinator).
    template <class Out>
    Status on(std::uint32_t from, const Msg& m, [[maybe_unused]] std::uint64_t now, Out& out) {
        if (m_excluded) return ignore(Status::connection_lost);
        if (from >= m_cores || from == m_self) return ignore(Status::malformed);
        switch (m.kind) {
        case Kind::beat:
            if (m.epoch != m_epoch) return ignore(Status::out_of_range);  // a view not installed yet, or an old one
            if (is_coordinator() || m_tree.parent(m_self) != from) return ignore(Status::malformed);
            if (m.value <= m_beat.seq) return ignore(Status::out_of_range);
            m_beat.seq = m.value;
            beat_children(out);
            send(out, from, Kind::beat_ack, m_beat.seq);
            check_children(out);
            return Status::ok;
        case Kind::beat_ack:
            if (m.epoch != m_epoch) return ignore(Status::out_of_range);
            if (!m_tree.reaches(from) || m_tree.parent(from) != m_self || !m_beat.answered(from, m.value))
                return ignore(Status::malformed);
            ++m_stats.acks;
            return Status::ok;
        case Kind::suspect: {
            if (!is_coordinator()) return ignore(Status::malformed);
            if (m.epoch != m_epoch) return ignore(Status::out_of_range);
            // Only the parent of the suspected core in this view's tree may say it is silent: no
            // member can have another removed.
            if (m.value >= m_cores || !m_view.has(static_cast<std::uint32_t>(m.value)) ||
                m_tree.parent(static_cast<std::uint32_t>(m.value)) != from)
                return ignore(Status::malformed);
            m_suspects.add(static_cast<std::uint32_t>(m.value));
            return Status::ok;
        }
        case Kind::view: {
            if (from != coordinator || is_coordinator()) return ignore(Status::malformed);
            if (m.epoch <= m_epoch) return ignore(Status::out_of_range);
            // Views only shrink, and always hold the coordinator.
            if (!m.members.minus(m_view).empty() || !m.members.has(coordinator)) return ignore(Status::malformed);
            if (install(m.members, m.epoch) != Status::ok) return ignore(Status::malformed);
            if (!m_view.has(m_self)) {
                m_excluded = true;
                return Status::ok;
            }
            send(out, coordinator, Kind::view_ack, 0);
            return Status::ok;
        }
        case Kind::view_ack:
            if (!is_coordinator()) return ignore(Status::malformed);
            if (m.epoch != m_epoch) return ignore(Status::out_of_range);
            if (!m_pending.has(from)) return ignore(Status::out_of_range);
            m_pending.remove(from);
            if (m_pending.empty()) commit(out);
            return Status::ok;
        case Kind::commit:
            if (from != coordinator || is_coordinator() || m.epoch > m_epoch) return ignore(Status::malformed);
            if (m.epoch < m_epoch || m.epoch <= m_committed) return ignore(Status::out_of_range);  // replaced, or again
            m_committed = m.epoch;
            m_commit_ready = true;
            return Status::ok;
        }
        return ignore(Status::malformed);
    }

private:
    template <class Out>
    void send(Out& out, std::uint32_t to, Kind kind, std::uint64_t value) {
        Msg m;
        m.kind = kind;
        m.epoch = m_epoch;
        m.value = value;
        if (kind == Kind::beat) ++m_stats.beats;
        if (kind == Kind::suspect) ++m_stats.suspects;
        out.send(to, m);
    }

    Status ignore(Status s) {
        ++m_stats.ignored;
        return s;
    }

    Status install(const CoreSet& members, std::uint64_t epoch) {
        const urpc::MulticastInput in{m_topo.distance, m_topo.nodes, m_topo.core_node, coordinator, members.w};
        if (const Status s = urpc::build_multicast_tree(in, m_tree); s != Status::ok) return s;
        m_removed.merge(m_view.minus(members));
        m_view = members;
        m_epoch = epoch;
        // Every child starts with a full allowance of misses in the new tree, counted from the
        // first beat this core passes on in it: a member's last beat number may be old (its
        // parent stopped), and the next beat can be several numbers on.
        m_beat.new_view(members);
        return Status::ok;
    }

    template <class Out>
    void beat_children(Out& out) {
        m_beat.beat_children(m_tree, m_self, [&](std::uint32_t c) { send(out, c, Kind::beat, m_beat.seq); });
    }

    template <class Out>
    void check_children(Out& out) {
        m_beat.check_children(m_tree, m_self, m_params.misses, [&](std::uint32_t c) {
            if (is_coordinator()) m_suspects.add(c);
            else send(out, coordinator, Kind::suspect, c);
        });
    }

    template <class Out>
    void new_view(std::uint64_t now, Out& out) {
        const CoreSet old = m_view;
        const CoreSet next = m_view.minus(m_suspects);
        m_suspects = {};
        if (install(next, m_epoch + 1) != Status::ok) return;  // cannot happen: the coordinator stays
        ++m_stats.views;
        Msg v;
        v.kind = Kind::view;
        v.epoch = m_epoch;
        v.members = next;
        for (std::uint32_t c = 0; c < m_cores; ++c)
            if (c != m_self && old.has(c)) out.send(c, v);
        m_pending = next;
        m_pending.remove(m_self);
        m_view_sent = now;
        m_next_beat = now;  // beat down the new tree at once
        if (m_pending.empty()) commit(out);
    }

    template <class Out>
    void commit(Out& out) {
        m_committed = m_epoch;
        m_commit_ready = true;
        for (std::uint32_t c = 0; c < m_cores; ++c)
            if (c != m_self && m_view.has(c)) send(out, c, Kind::commit, 0);
    }

    std::uint32_t m_self = 0, m_cores = 0;
    Topology m_topo;
    Params m_params;
    std::uint64_t m_epoch = 0;
    CoreSet m_view;
    urpc::MulticastTree m_tree;
    bool m_excluded = false;
    BeatWatch m_beat;
    CoreSet m_removed;                      // removed since the last commit
    std::uint64_t m_committed = 0;          // the newest view known committed
    bool m_commit_ready = false;
    // Coordinator only.
    std::uint64_t m_next_beat = 0;
    CoreSet m_suspects, m_pending;
    std::uint64_t m_view_sent = 0;
    Stats m_stats;
};

} // namespace myr::monitor::membership
