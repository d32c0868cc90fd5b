#pragma once
// kvstore's replicas: replication/'s primary-backup protocol (replication/include/myr/repl/
// primary_backup/, docs/replication.md, "Primary-backup") over kvstore's machine (machine.hpp).
// The server (main.cpp) wraps a ReplicaState with the RPC runtime, nameserv and its monitor.
#include <myr/kvstore/machine.hpp>
#include <myr/repl/primary_backup/replica.hpp>

namespace myr::kvstore {

using ReplicaState = repl::pb::Replica<KvMachine>;
using Log = repl::pb::Log<KvMachine>;
using repl::pb::CatchUp;
using repl::pb::follows_on;
using repl::pb::new_history;
using repl::pb::plan_catch_up;
using repl::pb::Position;
using repl::pb::to_string;

// The block of kept memory each replica asks its monitor for: 512 KiB (about 1 300 single-key
// writes between checkpoints).
inline constexpr unsigned log_block_bits = 19;
inline constexpr std::size_t log_block_bytes = std::size_t{1} << log_block_bits;
static_assert(Log::min_block_bytes() <= log_block_bytes);

} // namespace myr::kvstore
