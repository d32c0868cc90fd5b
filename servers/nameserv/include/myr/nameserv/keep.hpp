#pragma once
// Replica 0's table, kept across its crashes (docs/servers.md, "nameserv", "Replica 0 restarts").
// Replica 0 orders every change of the name table; when it crashed, the order and the table went
// with it. It now writes its replica's snapshot (the table and its log index,
// replication/snapshot.hpp) into its kept memory after every change it ordered and before anyone
// is told of that change, and a restarted instance reads it back: every change a client or
// another replica heard of survives.
//
// Two slots, written in turn: the snapshot goes into the slot that does not hold the newest one,
// then that slot's header takes the next generation. A crash in the middle of a save leaves the
// slot it wrote either with its old generation (older than the other slot's, so not chosen first)
// or with bytes its snapshot check refuses (magic, size, the table's own checks, the digest); the
// other slot then holds the last complete save. What the block holds was written by a program
// that crashed: nothing in it is trusted before those checks.
//
// Pure: the guest maps the kept block and hands its bytes here; the unit tests hand a buffer.
#include <myr/nameserv/table.hpp>
#include <myr/repl/snapshot.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::nameserv {

class KeptTable {
public:
    static constexpr std::uint64_t magic = 0x6b65'7074'6e61'6d65ull;  // "namekept", little-endian
    struct SlotHeader {
        std::uint64_t magic;
        std::uint64_t length;      // snapshot bytes that follow
        std::uint64_t generation;  // 0: never written; the newer slot has the larger one
        std::uint64_t reserved;
    };
    static constexpr std::size_t snapshot_size = repl::snapshot_bytes<Table>();
    static constexpr std::size_t slot_bytes = (sizeof(SlotHeader) + snapshot_size + 63) / 64 * 64;
    static constexpr std::size_t bytes = 2 * slot_bytes;

    // The kept block's bytes (at least `bytes`); false, and nothing kept, when too small.
    bool attach(std::span<std::byte> block) {
        if (block.size() < bytes) return false;
        m_block = block.first(bytes);
        return true;
    }
    [[nodiscard]] bool attached() const { return !m_block.empty(); }
    [[nodiscard]] std::uint64_t generation() const { return m_generation; }

    // The newest slot whose snapshot passes every check, restored into `replica` (which must be
    // idle: a replica just built). not_found: no slot holds one (a new block, or both broken).
    Status load(NameReplica& replica) {
        if (!attached()) return Status::not_found;
        const SlotHeader a = header(0), b = header(1);
        const unsigned first = b.generation > a.generation ? 1 : 0;
        for (unsigned k = 0; k < 2; ++k) {
            const unsigned s = k == 0 ? first : 1 - first;
            const SlotHeader h = header(s);
            if (h.magic != magic || h.generation == 0 || h.length != snapshot_size) continue;
            if (replica.restore(m_block.subspan(s * slot_bytes + sizeof(SlotHeader), snapshot_size)) != Status::ok) continue;
            m_generation = h.generation;
            m_newest = s;
            return Status::ok;
        }
        return Status::not_found;
    }

    // The replica's state into the slot that does not hold the newest save. Afterwards a load
    // gives this state (or a later one).
    Status save(const NameReplica& replica) {
        if (!attached()) return Status::not_found;
        const unsigned s = m_generation == 0 ? 0 : 1 - m_newest;
        std::byte* slot = m_block.data() + s * slot_bytes;
        const Result<std::size_t> n =
            replica.snapshot(std::span<std::byte>(slot + sizeof(SlotHeader), slot_bytes - sizeof(SlotHeader)));
        if (!n.ok()) return n.status();
        // The header last, its generation last of all: until then this slot is the older one.
        volatile SlotHeader* h = reinterpret_cast<volatile SlotHeader*>(slot);
        h->magic = magic;
        h->length = *n;
        h->reserved = 0;
        asm volatile("" ::: "memory");
        h->generation = m_generation + 1;
        ++m_generation;
        m_newest = s;
        ++m_saves;
        return Status::ok;
    }
    [[nodiscard]] std::uint64_t saves() const { return m_saves; }

private:
    SlotHeader header(unsigned s) const {
        SlotHeader h;
        __builtin_memcpy(&h, m_block.data() + s * slot_bytes, sizeof h);
        return h;
    }

    std::span<std::byte> m_block{};
    std::uint64_t m_generation = 0;
    unsigned m_newest = 0;
    std::uint64_t m_saves = 0;
};

} // namespace myr::nameserv
