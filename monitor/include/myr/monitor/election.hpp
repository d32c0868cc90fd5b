#pragma once
// Core membership that survives its coordinator (docs/monitors.md, "An elected coordinator";
// docs/faults.md, "Core 0 dies"): the protocol of membership.hpp with the coordinator elected
// instead of fixed. Pure: the monitors run it (monitor/liveness.cpp), the simulation crashes and
// stalls cores at every step (tests/unit/election_sim_test.cpp), and the hosted runtime runs it on
// threads (membership_hosted_test).
//
// It is Raft (Ongaro and Ousterhout) whose log is the view: a view is a whole set of cores, not a
// change, so a core keeps only its newest view, versioned (term, epoch) and compared in that order.
//
// * Terms. A term has at most one coordinator: a candidate asks every core of its view for a vote
//   (vote_req); each core votes once per term, only for a candidate whose view is at least as new
//   as its own, and only when it has not heard from a coordinator for half of `elect_ticks` (so a
//   core that was only slow cannot depose a live one; a coordinator never votes). A majority of
//   the candidate's view elects it. Term 0's coordinator is core 0, by the boot. A newer term is
//   adopted from a vote request not ignored, a vote's answer, or a view or commit of that term's
//   coordinator (a coordinator of an older term then stops); a line of an older term is ignored.
// * Views. The coordinator removes one core per view, so the majorities of two successive views
//   always share a core (Raft's single-server change); a view is chosen once a majority of its own
//   cores acknowledged it, and only then is the next proposed. A core installs a view of the
//   current term's coordinator when it is newer than its own. A new coordinator first proposes
//   its own view again under its term (Raft: an entry of its own term commits the ones before
//   it), then the removal of the coordinator before it. A candidate's view holds every chosen
//   view's removals: each voter that holds a newer view refuses, and a majority of the
//   candidate's view meets a majority of any view chosen after it.
// * Heartbeats go down the view's multicast tree from the coordinator, as in membership.hpp; a
//   core whose children go silent reports them (suspect).
// * Elections start by timeout: a core that hears neither a beat nor a view for `elect_ticks`
//   times (1 + its rank among the view's cores, the coordinator left out) stands; the ranks have
//   the next-lowest core stand first, so two candidates rarely split a term's votes. It first
//   asks for a pre-vote (Raft's PreVote): would a majority vote for it in the next term? Only
//   then does it take that term. A core that was only cut off for a while so never raises the
//   term under a live coordinator, and still takes that coordinator's view that removes it.
// * Cores cut off. A monitor cuts a core off (its lines, rings, bindings) when it installs a view
//   without it, for good. A newer term's view can hold such a core again (an older coordinator's
//   view that removed it was never chosen); every core that cut it then says so to the
//   coordinator (suspect, flagged), which removes it.
// * The commit line goes to the view's cores once every one of them acknowledged it (what lets a
//   monitor free a removed core's memory), as in membership.hpp; a later commit covers an
//   earlier one.
// * A core that installs a view without itself stops (excluded()): a slow core, or a slow
//   coordinator, is removed and halts, never working on beside the others.
//
// What it cannot do: go on once a view's majority is gone (core 1 alone is not a majority of
// {0, 1}: a 2-core machine does not survive core 0); cores dying one at a time are survived as long
// as each view keeps a majority of the one before. Cores never rejoin.
#include <myr/monitor/membership.hpp>

#include <cstdint>

namespace myr::monitor::election {

using membership::CoreSet;
using membership::max_cores;
using membership::Topology;

inline constexpr std::uint32_t none = ~0u;

enum class Kind : std::uint8_t {
    beat = 1,      // [term, epoch, beat number]              coordinator -> down the tree
    beat_ack = 2,  // [term, epoch, beat number]              child -> parent
    suspect = 3,   // [term, epoch, core]                     member -> coordinator
    view = 4,      // [term, epoch, view's term, members]     coordinator -> every core of its view before it
    view_ack = 5,  // [term, epoch, view's term]              member -> coordinator
    commit = 6,    // [term, epoch, view's term]              coordinator -> every core of the view
    vote_req = 7,  // [term, epoch, view's term]              candidate -> every core of its view
    vote = 8,      // [term, granted]                         core -> candidate
    prevote_req = 9,  // [term + 1, epoch, view's term]       would-be candidate -> every core of its view
    prevote = 10,     // [term + 1, granted]                  core -> would-be candidate
};

// suspect's value: the core, with this bit when the sender holds it cut off (insist below)
// rather than found it silent as its parent.
inline constexpr std::uint64_t suspect_cut = std::uint64_t{1} << 32;

struct Msg {
    Kind kind = Kind::beat;
    std::uint64_t term = 0;
    std::uint64_t epoch = 0;
    std::uint64_t value = 0;  // beat number; suspect: the core (| suspect_cut); view, view_ack, commit, vote_req,
                              // prevote_req: the view's term; vote, prevote: granted
    CoreSet members;          // view
};

struct Params {
    std::uint64_t beat_ticks = 10;       // the coordinator beats this often
    std::uint32_t misses = 4;            // forwarded beats a child may leave unanswered
    std::uint64_t view_ack_ticks = 100;  // a core silent this long after a view is suspected
    std::uint64_t elect_ticks = 150;     // no beat nor view this long (times 1 + rank): stand
};

struct Stats {
    std::uint64_t beats = 0, suspects = 0, views = 0, prevotes = 0, elections = 0, won = 0, ignored = 0;
};

// Out: a sink with `void send(std::uint32_t to, const Msg&)`.
class Member {
public:
    // Every core of `topology` in the first view (term 0, epoch 1, coordinator core 0).
    [[nodiscard]] Status init(std::uint32_t self, const Topology& topology, const Params& params, std::uint64_t now) {
        const auto cores = static_cast<std::uint32_t>(topology.core_node.size());
        if (cores == 0 || cores > max_cores || self >= cores || params.beat_ticks == 0 || params.misses == 0 ||
            params.elect_ticks == 0)
            return Status::invalid_argument;
        *this = Member{};
        m_self = self;
        m_cores = cores;
        m_topo = topology;
        m_params = params;
        m_leader = 0;
        m_heard = m_timer = now;
        m_next_beat = now + params.beat_ticks;
        if (const Status s = install(View{1, 0, 0, CoreSet::first(cores)}); s != Status::ok) return s;
        m_reported = m_committed_members = m_view.members;
        m_committed = 1;
        m_chosen = true;
        return Status::ok;
    }

    [[nodiscard]] bool is_coordinator() const { return m_leader == m_self && !m_excluded; }
    [[nodiscard]] std::uint32_t coordinator() const { return m_leader; }  // none while unknown
    [[nodiscard]] std::uint64_t heard_at() const { return m_heard; }     // the last line from a coordinator
    [[nodiscard]] std::uint64_t term() const { return m_term; }
    [[nodiscard]] std::uint64_t epoch() const { return m_view.epoch; }
    [[nodiscard]] std::uint64_t view_term() const { return m_view.term; }
    [[nodiscard]] const CoreSet& view() const { return m_view.members; }
    [[nodiscard]] bool excluded() const { return m_excluded; }
    [[nodiscard]] std::uint64_t committed() const { return m_committed; }
    [[nodiscard]] const CoreSet& committed_view() const { return m_committed_members; }
    [[nodiscard]] const Stats& stats() const { return m_stats; }
    [[nodiscard]] const urpc::MulticastTree& tree() const { return m_tree; }
    // Every core some view this core installed left out: its monitor has cut them off for good.
    [[nodiscard]] const CoreSet& cut() const { return m_cut; }

    // True once per commit heard, with the cores removed since the commit reported before it.
    [[nodiscard]] bool take_commit(CoreSet& removed, std::uint64_t& epoch) {
        if (!m_commit_ready) return false;
        m_commit_ready = false;
        removed = m_reported.minus(m_committed_members);
        m_reported = m_committed_members;
        epoch = m_committed;
        return true;
    }

    template <class Out>
    void tick(std::uint64_t now, Out& out) {
        if (m_excluded) return;
        if (!is_coordinator()) {
            if (now >= m_timer + m_params.elect_ticks * (1 + rank())) stand(now, out);
            insist(out);
            return;
        }
        insist(out);
        if (!m_unacked.empty() && !m_gave_up && now >= m_view_sent + m_params.view_ack_ticks) {
            m_suspects.merge(m_unacked);  // still unacknowledged: no commit line for this view
            m_gave_up = true;
        }
        propose_next(now, out);
        if (now >= m_next_beat) {
            ++m_beat.seq;
            m_next_beat = now + m_params.beat_ticks;
            beat_children(out);
            check_children(out);
        }
    }

    // One line from `from` (the channel says who: a core cannot forge it). ok, or why it was
    // ignored (counted): out_of_range for an old term, epoch or beat; malformed for a line its
    // sender may not send (a beat from a core not our parent, a view from a core not the
    // coordinator of its term, a suspect from a core not the suspect's parent, ...).
    template <class Out>
    Status on(std::uint32_t from, const Msg& m, std::uint64_t now, Out& out) {
        if (m_excluded) return ignore(Status::connection_lost);
        if (from >= m_cores || from == m_self) return ignore(Status::malformed);
        if (m.kind == Kind::vote_req) return on_vote_request(from, m, now, out);
        if (m.kind == Kind::prevote_req) return on_prevote_request(from, m, now, out);
        if (m.kind == Kind::prevote) return on_prevote(from, m, now, out);
        if (m.term < m_term) return ignore(Status::out_of_range);
        const bool from_coordinator = m.kind == Kind::view || m.kind == Kind::commit;
        if (m.term > m_term) {
            // A newer term is taken from its coordinator's lines or a vote's answer; the others
            // (beats passed on, acknowledgements) come from cores that heard of it first: the
            // coordinator's view follows.
            if (!from_coordinator && m.kind != Kind::vote) return ignore(Status::out_of_range);
            adopt(m.term);
        }
        if (from_coordinator) {
            // Only one core wins a term: the first to act as its coordinator is it, and any other
            // that does is lying.
            if (m_leader == none) {
                m_leader = from;
                m_candidate = false;
            }
            if (from != m_leader) return ignore(Status::malformed);
            heard(now);
        }
        switch (m.kind) {
        case Kind::vote:
            if (!m_candidate || m.value != 1 || !view().has(from)) return Status::ok;
            m_votes.add(from);
            if (m_votes.count() * 2 > view().count()) win(now, out);
            return Status::ok;
        case Kind::beat:
            // A view not installed yet (its beats can overtake it through the tree), or an old one.
            if (m.epoch != epoch() || m.term != view_term()) return ignore(Status::out_of_range);
            if (m_tree.parent(m_self) != from) return ignore(Status::malformed);
            if (m.value <= m_beat.seq) return ignore(Status::out_of_range);
            m_beat.seq = m.value;
            heard(now);
            beat_children(out);
            send_to(out, from, Kind::beat_ack, m_beat.seq);
            check_children(out);
            return Status::ok;
        case Kind::beat_ack:
            if (m.epoch != epoch() || m.term != view_term()) return ignore(Status::out_of_range);
            if (!m_tree.reaches(from) || m_tree.parent(from) != m_self || !m_beat.answered(from, m.value))
                return ignore(Status::malformed);
            return Status::ok;
        case Kind::suspect: {
            if (!is_coordinator()) return ignore(Status::malformed);
            if (m.epoch != epoch()) return ignore(Status::out_of_range);
            // Silent: only its parent can tell. Cut off: any core of the view that cut it.
            const std::uint64_t c = m.value & ~suspect_cut;
            const bool cut = (m.value & suspect_cut) != 0;
            if (c >= m_cores || (m.value >> 33) != 0 || !view().has(static_cast<std::uint32_t>(c)) ||
                (cut ? !view().has(from) : m_tree.parent(static_cast<std::uint32_t>(c)) != from))
                return ignore(Status::malformed);
            m_suspects.add(static_cast<std::uint32_t>(c));
            return Status::ok;
        }
        case Kind::view: {
            const CoreSet all = CoreSet::first(m_cores);
            if (!m.members.minus(all).empty() || !m.members.has(from) || m.value != m_term) return ignore(Status::malformed);
            const View v{m.epoch, m.value, from, m.members};
            if (!newer(v, m_view)) {
                if (v.epoch == m_view.epoch && v.term == m_view.term && v.members == m_view.members)
                    send_to(out, from, Kind::view_ack, v.term);  // again: acknowledged again
                return ignore(Status::out_of_range);
            }
            if (install(v) != Status::ok) return ignore(Status::malformed);
            if (!m_excluded) send_to(out, from, Kind::view_ack, v.term);
            insist(out);
            return Status::ok;
        }
        case Kind::view_ack:
            if (!is_coordinator()) return ignore(Status::malformed);
            if (m.epoch != epoch() || m.value != view_term()) return ignore(Status::out_of_range);
            if (!view().has(from)) return ignore(Status::malformed);
            m_unacked.remove(from);
            m_acks.add(from);
            settle(out);
            return Status::ok;
        case Kind::commit:
            if (m.epoch != epoch() || m.value != view_term()) return ignore(Status::out_of_range);
            mark_committed();
            return Status::ok;
        case Kind::vote_req:
        case Kind::prevote_req:
        case Kind::prevote:
            break;
        }
        return ignore(Status::malformed);
    }

private:
    struct View {
        std::uint64_t epoch = 0, term = 0;
        std::uint32_t leader = 0;  // the coordinator that proposed it: its tree's root
        CoreSet members;
    };

    // (term, epoch) order: a view of a newer term replaces one of an older term whatever the
    // epochs (an older coordinator's last view may never have been chosen).
    static bool newer(const View& a, const View& b) { return a.term > b.term || (a.term == b.term && a.epoch > b.epoch); }

    Status ignore(Status s) {
        ++m_stats.ignored;
        return s;
    }

    void adopt(std::uint64_t term) {
        m_term = term;
        m_voted = none;
        m_leader = none;
        m_candidate = false;
        m_prevoting = false;
        m_beat = {};  // a new coordinator numbers its beats from 1
        m_suspects = m_unacked = m_acks = {};
        m_gave_up = false;
    }

    // Our place among the view's cores, its coordinator left out: the next-lowest stands first.
    std::uint64_t rank() const {
        std::uint64_t r = 0;
        for (std::uint32_t c = 0; c < m_self; ++c)
            if (view().has(c) && c != m_view.leader) ++r;
        return r;
    }

    template <class Out>
    void send_to(Out& out, std::uint32_t to, Kind kind, std::uint64_t value) {
        Msg m;
        m.kind = kind;
        m.term = m_term;
        m.epoch = epoch();
        m.value = value;
        if (kind == Kind::beat) ++m_stats.beats;
        if (kind == Kind::suspect) ++m_stats.suspects;
        out.send(to, m);
    }

    Status install(const View& v) {
        urpc::MulticastTree t;
        const urpc::MulticastInput in{m_topo.distance, m_topo.nodes, m_topo.core_node, v.leader, v.members.w};
        if (const Status s = urpc::build_multicast_tree(in, t); s != Status::ok) return s;
        if (m_view.epoch != 0) m_cut.merge(m_view.members.minus(v.members));
        m_view = v;
        m_insist = v.members;
        m_insist.remove(m_self);
        m_insist = m_insist.minus(m_insist.minus(m_cut));  // the view's cores we cut off before
        m_tree = t;
        m_beat.new_view(v.members);
        if (!v.members.has(m_self)) m_excluded = true;
        return Status::ok;
    }

    template <class Out>
    Status on_vote_request(std::uint32_t from, const Msg& m, std::uint64_t now, Out& out) {
        // A coordinator heard from lately is alive: a candidate that did not hear it was only
        // slow, and its newer term must not depose it (nor does it count as heard).
        if (coordinator_heard(now)) return ignore(Status::busy);
        if (m.term < m_term) {
            send_to(out, from, Kind::vote, 0);
            return ignore(Status::out_of_range);
        }
        if (m.term > m_term) adopt(m.term);
        const View theirs{m.epoch, m.value, 0, {}};
        const bool up_to_date = !newer(m_view, theirs);
        const bool grant = up_to_date && (m_voted == none || m_voted == from);
        if (grant) {
            m_voted = from;
            m_timer = now;  // a vote given defers our own candidacy
        }
        Msg r;
        r.kind = Kind::vote;
        r.term = m_term;
        r.value = grant ? 1 : 0;
        out.send(from, r);
        return Status::ok;
    }

    // Pre-vote (Raft's, Ongaro's thesis 9.6): would a majority vote for us in the next term? Asked
    // without taking that term, so a core that was only cut off for a while (its lines late) does
    // not raise the term under a live coordinator: it keeps taking that coordinator's lines, the
    // view that removes it among them, and halts.
    [[nodiscard]] bool coordinator_heard(std::uint64_t now) const {
        return m_leader != none && (m_leader == m_self || now < m_heard + m_params.elect_ticks / 2);
    }

    template <class Out>
    Status on_prevote_request(std::uint32_t from, const Msg& m, std::uint64_t now, Out& out) {
        const View theirs{m.epoch, m.value, 0, {}};
        const bool grant = m.term > m_term && !coordinator_heard(now) && !newer(m_view, theirs);
        Msg r;
        r.kind = Kind::prevote;
        r.term = m.term;
        r.value = grant ? 1 : 0;
        out.send(from, r);
        return grant ? Status::ok : ignore(Status::busy);
    }

    template <class Out>
    Status on_prevote(std::uint32_t from, const Msg& m, std::uint64_t now, Out& out) {
        if (!m_prevoting || m.term != m_term + 1) return ignore(Status::out_of_range);
        if (m.value != 1 || !view().has(from)) return Status::ok;
        m_prevotes.add(from);
        if (m_prevotes.count() * 2 > view().count()) campaign(now, out);
        return Status::ok;
    }

    void heard(std::uint64_t now) {
        m_heard = m_timer = now;
        m_prevoting = false;
    }

    template <class Out>
    void stand(std::uint64_t now, Out& out) {
        m_timer = now;
        m_prevoting = true;
        m_prevotes = {};
        m_prevotes.add(m_self);
        ++m_stats.prevotes;
        Msg m;
        m.kind = Kind::prevote_req;
        m.term = m_term + 1;
        m.epoch = epoch();
        m.value = m_view.term;
        for (std::uint32_t c = 0; c < m_cores; ++c)
            if (c != m_self && view().has(c)) out.send(c, m);
        if (m_prevotes.count() * 2 > view().count()) campaign(now, out);
    }

    // A core of our view we cut off before (an older coordinator's view left it out, one never
    // chosen, and a newer term's view holds it again): it must leave the view, or it stays in it
    // while some monitors no longer talk to it. Told to the coordinator, which removes it.
    template <class Out>
    void insist(Out& out) {
        if (m_insist.empty() || m_excluded) return;
        if (is_coordinator()) {
            m_suspects.merge(m_insist);
        } else {
            if (m_leader == none) return;  // told to the term's coordinator once it is known
            for (std::uint32_t c = 0; c < m_cores; ++c)
                if (m_insist.has(c)) send_to(out, m_leader, Kind::suspect, c | suspect_cut);
        }
        m_insist = {};
    }

    template <class Out>
    void campaign(std::uint64_t now, Out& out) {
        adopt(m_term + 1);
        m_voted = m_self;
        m_candidate = true;
        m_votes = {};
        m_votes.add(m_self);
        m_timer = now;
        ++m_stats.elections;
        for (std::uint32_t c = 0; c < m_cores; ++c)
            if (c != m_self && view().has(c)) send_to(out, c, Kind::vote_req, m_view.term);
        if (m_votes.count() * 2 > view().count()) win(now, out);
    }

    template <class Out>
    void win(std::uint64_t now, Out& out) {
        m_candidate = false;
        m_leader = m_self;
        ++m_stats.won;
        m_next_beat = now;
        // The coordinator before us stopped beating (why we stood): it goes first.
        const std::uint32_t old = m_view.leader;
        // Our view again under our term, then the removals.
        propose(view(), now, out, true);
        if (old != m_self && view().has(old)) m_suspects.add(old);
        insist(out);
    }

    template <class Out>
    void propose_next(std::uint64_t now, Out& out) {
        if (!m_chosen || m_suspects.empty()) return;
        for (std::uint32_t c = 0; c < m_cores; ++c) {
            if (!m_suspects.has(c)) continue;
            m_suspects.remove(c);
            if (!view().has(c) || c == m_self) continue;
            CoreSet next = view();
            next.remove(c);
            propose(next, now, out, false);
            return;
        }
    }

    // Proposes `members` (our view minus one core; `again`: our view itself, re-proposed under our
    // term) to every core of our view.
    template <class Out>
    void propose(const CoreSet& members, std::uint64_t now, Out& out, bool again) {
        const CoreSet old = view();
        const View v{again ? m_view.epoch : m_view.epoch + 1, m_term, m_self, members};
        if (install(v) != Status::ok) return;
        ++m_stats.views;
        Msg msg;
        msg.kind = Kind::view;
        msg.term = m_term;
        msg.epoch = v.epoch;
        msg.value = v.term;
        msg.members = members;
        for (std::uint32_t c = 0; c < m_cores; ++c)
            if (c != m_self && old.has(c)) out.send(c, msg);
        m_chosen = false;
        m_view_sent = now;
        m_next_beat = now;
        m_unacked = members;
        m_unacked.remove(m_self);
        m_acks = {};
        m_acks.add(m_self);
        m_gave_up = false;
        settle(out);
    }

    // The newest view is chosen once a majority of its cores acknowledged it (the next may then
    // be proposed), and committed, told to its cores, once every one of them did.
    template <class Out>
    void settle(Out& out) {
        if (m_acks.count() * 2 > view().count()) m_chosen = true;
        if (!m_unacked.empty() || m_committed_epoch_term_is_current()) return;
        mark_committed();
        for (std::uint32_t c = 0; c < m_cores; ++c)
            if (c != m_self && view().has(c)) send_to(out, c, Kind::commit, m_view.term);
    }

    bool m_committed_epoch_term_is_current() const { return m_commit_term == m_view.term && m_committed == m_view.epoch; }

    void mark_committed() {
        m_committed = m_view.epoch;
        m_commit_term = m_view.term;
        m_committed_members = m_view.members;
        m_commit_ready = true;
    }

    template <class Out>
    void beat_children(Out& out) {
        m_beat.beat_children(m_tree, m_self, [&](std::uint32_t c) { send_to(out, c, Kind::beat, m_beat.seq); });
    }

    template <class Out>
    void check_children(Out& out) {
        m_beat.check_children(m_tree, m_self, m_params.misses, [&](std::uint32_t c) {
            if (is_coordinator()) m_suspects.add(c);
            else if (m_leader != none) send_to(out, m_leader, Kind::suspect, c);
        });
    }

    std::uint32_t m_self = 0, m_cores = 0;
    Topology m_topo;
    Params m_params;
    std::uint64_t m_term = 0;
    std::uint32_t m_voted = none, m_leader = none;
    View m_view;
    urpc::MulticastTree m_tree;
    bool m_excluded = false;
    std::uint64_t m_heard = 0;  // the last line from the coordinator
    std::uint64_t m_timer = 0;  // the election timer's start: that line, a vote given, our own standing
    CoreSet m_cut, m_insist;    // cores a view we installed left out; of those, the ones our view holds
    membership::BeatWatch m_beat;
    std::uint64_t m_committed = 0, m_commit_term = 0;
    CoreSet m_committed_members, m_reported;
    bool m_commit_ready = false;
    // Candidate.
    bool m_prevoting = false, m_candidate = false;
    CoreSet m_prevotes;
    CoreSet m_votes;
    // Coordinator.
    std::uint64_t m_next_beat = 0, m_view_sent = 0;
    bool m_chosen = false, m_gave_up = false;
    CoreSet m_suspects, m_unacked, m_acks;
    Stats m_stats;
};

} // namespace myr::monitor::election
