#pragma once
// Snapshots for joins and restarts: a header (magic, size, digest) then the object's bytes.
// Restore validates the header, the digest and the object's own invariants before it replaces
// anything, so a torn or hostile snapshot is refused and the replica keeps its state.
#include <myr/repl/object.hpp>
#include <myr/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::repl {

inline constexpr std::uint64_t snapshot_magic = 0x4d59525f534e4150ULL;  // "MYR_SNAP"

struct SnapshotHeader {
    std::uint64_t magic;
    std::uint64_t size;
    std::uint64_t digest;
    std::uint64_t applied;  // log position the state includes (sequencer), 0 otherwise
};

template <ReplicatedObject Obj>
[[nodiscard]] constexpr std::size_t snapshot_bytes() {
    return sizeof(SnapshotHeader) + sizeof(Obj);
}

template <ReplicatedObject Obj>
[[nodiscard]] Result<std::size_t> write_snapshot(const Obj& obj, std::uint64_t applied,
                                                 std::span<std::byte> out) {
    if (out.size() < snapshot_bytes<Obj>()) return Status::overflow;
    const SnapshotHeader h{snapshot_magic, sizeof(Obj), obj.digest(), applied};
    __builtin_memcpy(out.data(), &h, sizeof h);
    __builtin_memcpy(out.data() + sizeof h, &obj, sizeof(Obj));
    return snapshot_bytes<Obj>();
}

// On success `obj` holds the snapshot's state and `applied` its log position.
template <ReplicatedObject Obj>
[[nodiscard]] Status read_snapshot(std::span<const std::byte> in, Obj& obj, std::uint64_t& applied) {
    if (in.size() < sizeof(SnapshotHeader)) return Status::truncated;
    SnapshotHeader h;
    __builtin_memcpy(&h, in.data(), sizeof h);
    if (h.magic != snapshot_magic || h.size != sizeof(Obj)) return Status::malformed;
    if (in.size() < snapshot_bytes<Obj>()) return Status::truncated;
    Obj candidate;
    __builtin_memcpy(&candidate, in.data() + sizeof h, sizeof(Obj));
    if (!candidate.valid_state()) return Status::malformed;
    if (candidate.digest() != h.digest) return Status::bad_checksum;
    obj = candidate;
    applied = h.applied;
    return Status::ok;
}

} // namespace myr::repl
