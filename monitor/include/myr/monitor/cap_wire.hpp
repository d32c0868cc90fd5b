#pragma once
// The lines of the capability protocol across cores (cap_protocol.hpp, CapNode) and their wire
// form, defined once: the guest monitors (monitor/frames.cpp), the host threads
// (monitor/hosted/myr/monitor/hosted/cap_run.hpp) and the tests carry them as six words.
#include <myr/caps/cap.hpp>
#include <myr/status.hpp>

#include <cstdint>

namespace myr::monitor {

enum class CapLine : std::uint8_t {
    install,      // owner -> core: one copy of obj; `arg` = its home (the core whose memory it is)
    xfer_req,     // core -> owner: copy obj to core `arg`; answered xfer_done to `asker`
    xfer_done,    // owner -> asker: `status`
    gone,         // core -> owner: no copy of obj is left here; `arg` = copies received since it last forgot it
    revoke_req,   // core -> owner: revoke obj, keeping the asker's copy in slot `arg`
    revoke,       // owner -> core: remove every copy inside `obj` (frame: of it; untyped: carved from
                  // it), except slot `arg` on the asker's core
    revoked,      // core -> owner: done; `arg` = copies received that it forgot with the frame
    revoke_done,  // owner -> asker: `status`
    moving,       // owner -> core in its set: ownership of obj moves to core `arg`; hold your lines
    moving_ack,   // core -> owner: `arg` = 1 when it holds a copy
    move,         // owner -> new owner: you own obj; `arg` = the cores holding copies (bit per core),
                  // `tag` = its home
    owner,        // new owner -> holder, `status` ok: obj is owned by `arg` (= the sender) now; or the
                  // old owner, `status` the reason: `arg` = itself, the move was called off; `arg` =
                  // the new owner, which was lost after the hand-over: drop it
    move_done,    // new owner -> old owner: ownership taken; `tag` = its home
};
inline constexpr CapLine cap_last_line = CapLine::move_done;

inline constexpr unsigned cap_max_cores = 64;

struct CapMsg {
    CapLine type{};
    std::uint32_t from = 0, to = 0;
    std::uint64_t op = 0;     // the asker's operation (answers carry it back)
    std::uint32_t asker = 0;  // xfer_req, revoke_req, revoke: whose operation it is
    caps::Cap obj{};          // the object (type, base, size; rights are not carried)
    std::uint64_t arg = 0;
    Status status = Status::ok;
    std::uint64_t tag = 0;    // xfer_req, install: the caller's word for the copy (e.g. the domain it
                              // is for), handed to CapOut::installed where it lands
};

// The wire form of a CapMsg: six 64-bit words, the same wherever a caller carries the lines (a
// URPC channel between threads in monitor/hosted/.../cap_run.hpp). Not carried: the object's
// rights, word and flags (a copy gets the rights of its type), and its aux (0 for frames and
// untyped, the only objects the protocol moves).
inline constexpr unsigned cap_wire_words = 6;
inline void encode(const CapMsg& m, std::uint64_t (&w)[cap_wire_words]) {
    w[0] = static_cast<std::uint64_t>(m.type) | std::uint64_t{m.from & 0xff} << 8 | std::uint64_t{m.to & 0xff} << 16 |
           std::uint64_t{m.asker & 0xff} << 24 | std::uint64_t{static_cast<std::uint32_t>(m.status) & 0xff} << 32 |
           std::uint64_t{static_cast<std::uint8_t>(m.obj.type)} << 40;
    w[1] = m.op;
    w[2] = m.obj.base;
    w[3] = m.obj.size;
    w[4] = m.arg;
    w[5] = m.tag;
}
// The line five words carry, or false for words no CapNode sends (a line type or object type out of
// range, or a status that is not one): the caller drops those and counts them.
[[nodiscard]] inline bool decode(const std::uint64_t (&w)[cap_wire_words], CapMsg& m) {
    const auto type = static_cast<std::uint8_t>(w[0]);
    const auto obj_type = static_cast<std::uint8_t>(w[0] >> 40);
    const auto status = static_cast<std::uint8_t>(w[0] >> 32);
    if (type > static_cast<std::uint8_t>(cap_last_line) || obj_type >= caps::cap_type_count) return false;
    if (status > static_cast<std::uint8_t>(Status::bad_request) || (w[0] >> 48) != 0) return false;
    m = {};
    m.type = static_cast<CapLine>(type);
    m.from = static_cast<std::uint32_t>(w[0] >> 8 & 0xff);
    m.to = static_cast<std::uint32_t>(w[0] >> 16 & 0xff);
    m.asker = static_cast<std::uint32_t>(w[0] >> 24 & 0xff);
    m.status = static_cast<Status>(status);
    m.op = w[1];
    m.obj.type = static_cast<caps::CapType>(obj_type);
    m.obj.base = w[2];
    m.obj.size = w[3];
    m.arg = w[4];
    m.tag = w[5];
    return true;
}

} // namespace myr::monitor
