#pragma once
// kvstore as a primary-backup machine (replication/include/myr/repl/primary_backup/machine.hpp):
// its table is the state, its client sessions' kept answers the answers, and its RPC messages
// (interface.hpp) the protocol's wire. A write is a transaction of puts and deletes, as the
// primary decided it (a cas or a transaction with checks is decided once, at the primary).
#include <myr/kvstore/sessions.hpp>
#include <myr/kvstore/table.hpp>
#include <myr/repl/primary_backup/machine.hpp>
#include <myr/rpc/wire.hpp>

namespace myr::kvstore {

struct KvMachine {
    using State = Table;
    using Answers = Sessions;
    using Write = Txn;
    using Answer = kvstore::Answer;
    using Entry = SnapEntry;
    using Apply = kvstore::Apply;
    using ApplyReply = kvstore::ApplyReply;
    using Stats = kvstore::Stats;
    using StatsReply = kvstore::StatsReply;
    using Dump = kvstore::Dump;
    using DumpReply = kvstore::DumpReply;
    using Load = kvstore::Load;
    using DumpAnswers = kvstore::DumpAnswers;
    using DumpAnswersReply = kvstore::DumpAnswersReply;
    using KeepAnswer = kvstore::KeepAnswer;
    using Rebase = kvstore::Rebase;
    using Resume = kvstore::Resume;
    static constexpr std::size_t page_entries = snap_page;

    static Status apply(Table& t, const Txn& w) {
        TxnReply ignored{};
        return t.txn(w, ignored);
    }
    // Table::load checks every entry as it comes (a key twice, an empty key, too many).
    static Status loaded(const Table&) { return Status::ok; }
    template <typename T>
    static Status encode(const T& m, std::span<std::uint8_t> out, std::size_t& len) {
        return rpc::encode(m, out, len);
    }
    template <typename T>
    static Status decode(std::span<const std::uint8_t> in, T& m) {
        return rpc::decode(in, m);
    }
};
static_assert(repl::pb::Machine<KvMachine>);

} // namespace myr::kvstore
