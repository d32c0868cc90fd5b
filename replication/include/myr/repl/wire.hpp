#pragma once
// Replication messages, defined once. Every protocol message is one URPC line
// (message.hpp): the URPC type byte says which kind, the seven payload words are
//
//   word 0   object (16) | origin (16) | root (16) | from (16)
//            object: which replicated object (a monitor hosts many and dispatches on it); the
//                    monitors use the low object_id_bits for the catalogue's object id (1..14; 15 is the monitors' name table,
//                    objects/catalog.hpp) and the bits above for a run number (stale lines)
//            origin: the core whose client submitted the operation
//            root:   the core whose multicast tree this message travels (coordinator, sequencer)
//            from:   the immediate sender, checked against the tree before anything is applied
//   word 1   id      request or transaction id: origin << 40 | per-origin sequence number
//   word 2   aux     log index (sequencer), vote (2pc: 1 yes, 0 no), read index
//   word 3-6 body    the operation (or a result), object::op_words words
#include <myr/repl/object.hpp>
#include <myr/urpc/message.hpp>

#include <cstddef>
#include <cstdint>

namespace myr::repl {

// Type bytes 0x40.. so replication traffic cannot be mistaken for other monitor messages.
enum class Kind : std::uint8_t {
    bcast = 0x40,        // broadcast: an applied update travelling down the origin's tree
    seq_request = 0x41,  // origin -> sequencer: please order this op
    seq_entry = 0x42,    // sequencer tree: log entry `aux` = index
    seq_read = 0x43,     // origin -> sequencer: which index must I reach for a linearizable read?
    seq_read_index = 0x44,  // sequencer -> origin: aux = the index
    tpc_prepare = 0x45,  // coordinator tree: lock the key, vote
    tpc_vote = 0x46,     // child -> parent: aux = 1 when the whole subtree voted yes
    tpc_commit = 0x47,   // coordinator tree: apply and unlock
    tpc_abort = 0x48,    // coordinator tree: unlock
    owner_request = 0x49,  // origin -> owner core (2pc coordinated by the owner)
    owner_reply = 0x4a,    // owner -> origin: aux = Status, body = result
    seq_resend = 0x4d,     // seq_resend_kind below
    seq_state = 0x4e,      // takeover (seq_state_kind below)
    seq_ready = 0x4f,
};
inline constexpr std::uint8_t kind_first = 0x40;
inline constexpr std::uint8_t kind_last = 0x4a;
// After a membership change (a core on the sequencer's tree stopped): replica -> sequencer, aux =
// the first log index it lacks; the sequencer resends what its log still holds, straight to it,
// or answers with this kind (aux = its oldest index) when that is too old. Outside the range
// above: 0x4b and 0x4c are endpoint.hpp's forwarding lines.
inline constexpr std::uint8_t seq_resend_kind = 0x4d;
// The sequencer stopped (Replica::sequencer_gone): every replica -> the new sequencer, aux = the
// last index it applied (origin = the replica); or the new sequencer -> a replica, asking for
// that again (origin = the new sequencer). Then the new sequencer -> every replica: seq_ready,
// aux = the index the new log goes on from.
inline constexpr std::uint8_t seq_state_kind = 0x4e;
inline constexpr std::uint8_t seq_ready_kind = 0x4f;
[[nodiscard]] constexpr bool is_packet_kind(std::uint8_t t) {
    return (t >= kind_first && t <= kind_last) || (t >= seq_resend_kind && t <= seq_ready_kind);
}

struct Packet {
    Kind kind;
    std::uint16_t object;
    std::uint16_t origin;
    std::uint16_t root;
    std::uint16_t from;
    std::uint64_t id;
    std::uint64_t aux;
    std::uint64_t body[op_words];
};

// Object ids in the low 4 bits of `object` (0 is none).
inline constexpr unsigned object_id_bits = 4;
inline constexpr std::size_t max_object_ids = (std::size_t{1} << object_id_bits) - 1;
// The last id is the monitors' own name table (monitor/names.cpp, never a replicate run), so the
// catalogue holds at most 14 objects.
inline constexpr std::uint16_t names_object_id = max_object_ids;
inline constexpr std::size_t max_catalogued_objects = max_object_ids - 1;

inline constexpr std::uint8_t packet_length = urpc::payload_bytes;  // always the full line

[[nodiscard]] constexpr std::uint64_t make_id(std::uint16_t origin, std::uint64_t seq) {
    return (std::uint64_t{origin} << 40) | (seq & ((std::uint64_t{1} << 40) - 1));
}
[[nodiscard]] constexpr std::uint16_t id_origin(std::uint64_t id) {
    return static_cast<std::uint16_t>(id >> 40);
}

constexpr void encode(const Packet& p, std::uint64_t (&w)[urpc::payload_words]) {
    w[0] = std::uint64_t{p.object} | (std::uint64_t{p.origin} << 16) |
           (std::uint64_t{p.root} << 32) | (std::uint64_t{p.from} << 48);
    w[1] = p.id;
    w[2] = p.aux;
    for (std::size_t i = 0; i < op_words; ++i) w[3 + i] = p.body[i];
}

// decode: structural checks only (type range, full line, single fragment); whether the packet
// makes sense in the protocol's state is the replica's business.
[[nodiscard]] inline Result<Packet> decode(const urpc::Message& m) {
    if (!is_packet_kind(m.header.type)) return Status::malformed;
    if (m.header.length != packet_length || m.header.flags != urpc::frag_single)
        return Status::malformed;
    Packet p{};
    p.kind = static_cast<Kind>(m.header.type);
    p.object = static_cast<std::uint16_t>(m.words[0]);
    p.origin = static_cast<std::uint16_t>(m.words[0] >> 16);
    p.root = static_cast<std::uint16_t>(m.words[0] >> 32);
    p.from = static_cast<std::uint16_t>(m.words[0] >> 48);
    p.id = m.words[1];
    p.aux = m.words[2];
    for (std::size_t i = 0; i < op_words; ++i) p.body[i] = m.words[3 + i];
    return p;
}

// The object id a monitor's dispatcher routes on, without decoding the rest.
[[nodiscard]] constexpr std::uint16_t packet_object(const urpc::Message& m) {
    return static_cast<std::uint16_t>(m.words[0]);
}

} // namespace myr::repl
