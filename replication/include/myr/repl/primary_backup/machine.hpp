#pragma once
// Primary-backup replication (docs/replication.md, "Primary-backup"): what a replicated state
// machine supplies to run under it. The protocol (replica.hpp), its log (log.hpp) and its
// histories (history.hpp) are generic over a Machine `M`; kvstore is one
// (servers/kvstore/include/myr/kvstore/machine.hpp, its RPC messages as the wire), and
// object_machine.hpp makes one of every catalogued replicated object (messages as plain bytes).
//
// The state is split in two, both trivially copyable and fixed in size (the log copies them
// whole into its checkpoint images):
//   M::State    the object ("table"): what writes change. It is sent to a joining replica in
//               pages of M::page_entries entries (dump from a slot, load entry by entry; the
//               first page clears, the last carries a scalar `clock` beside the entries and is
//               checked by M::loaded before the replica takes it);
//   M::Answers  the last answer given to each client session ("sessions"): a client that
//               resends a write after a crash gets its first answer, and the write is not done
//               twice. Sent to a joining replica after the table, one per call.
//
// Messages (M's types; the names are the protocol's, the fields those named here):
//   Apply{history, seq, write, answer}     primary -> backup: the next write, in order
//   ApplyReply{applied}                    the backup's position after any of these
//   Stats -> StatsReply{applied, history, keys, digest}        where a replica stands
//   Dump{from} -> DumpReply{seq, clock, next, done, entries}   a replica's table, page by page
//   Load{first, last, seq, clock, entries}                     the primary's table into a backup
//   DumpAnswers{from} -> DumpAnswersReply{next, done, answers} a replica's kept answers, one a call
//   KeepAnswer{answer}                                         a kept answer into a backup
//   Rebase{from_history, from_seq, history}                    a backup at the fork point moves
//   Resume{history, seq}                                       the backup holds the primary's state
//
// and these functions:
//   M::apply(State&, const Write&) -> Status     a write the primary ordered (deterministic)
//   M::loaded(const State&) -> Status            a table that came in pages, before it is used
//   M::encode(const T&, span<uint8_t>, size_t&) / M::decode(span<const uint8_t>, T&) -> Status
//                                                log records (Apply, KeepAnswer)
// State: clear(), size(), digest(), dump(from, DumpReply&) const, load(const Entry&) -> Status,
// clock(), set_clock(uint64). Answers: keep(const Answer&), clear(), size(), capacity,
// next_from(i), at(i), page(from, DumpAnswersReply&) const.
#include <myr/status.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace myr::repl::pb {

// The kept answer at index `from` or after it, into a DumpAnswersReply (one a call), and where to
// ask next: what every Answers' page() does.
template <typename Answers, typename Reply>
void answer_page(const Answers& kept, std::uint32_t from, Reply& out) {
    out = Reply{};
    const std::size_t i = kept.next_from(from);
    out.done = i >= Answers::capacity;
    if (out.done) return;
    (void)out.answers.push(kept.at(i));
    out.next = static_cast<std::uint32_t>(i + 1);
    out.done = kept.next_from(i + 1) >= Answers::capacity;
}

template <typename M>
concept Machine =
    std::is_trivially_copyable_v<typename M::State> && std::is_trivially_copyable_v<typename M::Answers> &&
    std::is_default_constructible_v<typename M::State> && std::is_default_constructible_v<typename M::Answers> &&
    requires(typename M::State& st, const typename M::State& cst, typename M::Answers& an, const typename M::Answers& can,
             const typename M::Write& w, const typename M::Answer& a, typename M::Apply& ap,
             typename M::DumpReply& dr, typename M::DumpAnswersReply& dar, const typename M::Entry& e,
             std::span<std::uint8_t> out, std::span<const std::uint8_t> in, std::size_t& len) {
        { M::page_entries } -> std::convertible_to<std::size_t>;
        { M::apply(st, w) } -> std::same_as<Status>;
        { M::loaded(cst) } -> std::same_as<Status>;
        { M::encode(ap, out, len) } -> std::same_as<Status>;
        { M::decode(in, ap) } -> std::same_as<Status>;
        st.clear();
        { cst.size() } -> std::convertible_to<std::size_t>;
        { cst.digest() } -> std::same_as<std::uint64_t>;
        cst.dump(std::uint32_t{0}, dr);
        { st.load(e) } -> std::same_as<Status>;
        { cst.clock() } -> std::same_as<std::uint64_t>;
        st.set_clock(std::uint64_t{0});
        an.keep(a);
        an.clear();
        { can.size() } -> std::convertible_to<std::size_t>;
        { can.next_from(std::size_t{0}) } -> std::same_as<std::size_t>;
        { can.at(std::size_t{0}) } -> std::convertible_to<const typename M::Answer&>;
        can.page(std::uint32_t{0}, dar);
        ap.history = std::uint64_t{0};
        ap.seq = std::uint64_t{0};
        ap.write = w;
        ap.answer = a;
    };

} // namespace myr::repl::pb
