#pragma once
// Messages longer than one line: split into full 56-byte fragments plus a last one, sent
// back-to-back only when the ring has room for all of them (so fragments of two messages never
// interleave on one channel, and a sender never stalls half way). The receiver reassembles into
// a buffer it owns; anything out of sequence is rejected, never written past the buffer.
#include <myr/result.hpp>
#include <myr/urpc/message.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace myr::urpc {

[[nodiscard]] constexpr std::size_t fragments_for(std::size_t length) {
    return length == 0 ? 1 : (length + payload_bytes - 1) / payload_bytes;
}

// try_send_message: ok, would_block (not enough free slots now; nothing was sent), overflow
// (longer than the ring can ever hold), invalid_argument (type 0).
[[nodiscard]] inline Status try_send_message(Sender& tx, std::uint8_t type,
                                             std::span<const std::uint8_t> bytes) {
    if (type == type_invalid) return Status::invalid_argument;
    const std::size_t count = fragments_for(bytes.size());
    if (count > tx.capacity()) return Status::overflow;
    if (Status s = tx.reserve(static_cast<std::uint32_t>(count)); s != Status::ok) return s;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t offset = i * payload_bytes;
        const std::size_t length = bytes.size() - offset < payload_bytes ? bytes.size() - offset
                                                                         : payload_bytes;
        std::uint64_t words[payload_words];
        pack_bytes(words, bytes.data() + offset, length);
        std::uint8_t flags = 0;
        if (i == 0) flags |= frag_first;
        if (i + 1 == count) flags |= frag_last;
        // Cannot fail: type and length are valid and reserve() guaranteed the slots.
        Status s = tx.try_send(type, words, static_cast<std::uint8_t>(length), flags,
                               static_cast<std::uint8_t>(i));
        if (s != Status::ok) return Status::internal;
    }
    return Status::ok;
}

class Reassembler {
public:
    explicit Reassembler(std::span<std::uint8_t> buffer) : m_buffer(buffer) {}

    // feed one decoded line. ok: a whole message is ready (type(), bytes()); would_block: more
    // fragments needed; malformed: out of sequence (continuation without a start, start while
    // one is open, type change, wrong index); overflow: larger than the buffer. After an error
    // the partial message is dropped and the next first fragment starts afresh.
    [[nodiscard]] Status feed(const Message& m) {
        const Header& h = m.header;
        const bool first = (h.flags & frag_first) != 0;
        if (first) {
            if (m_open) {
                reset();
                return Status::malformed;
            }
            m_open = true;
            m_type = h.type;
            m_length = 0;
            m_next = 0;
        } else if (!m_open || h.type != m_type || h.frag != m_next) {
            reset();
            return Status::malformed;
        }
        if (h.length > payload_bytes) {  // decode() rules this out; kept for hand-made Messages
            reset();
            return Status::malformed;
        }
        if (m_buffer.size() - m_length < h.length) {
            reset();
            return Status::overflow;
        }
        unpack_bytes(m.words, m_buffer.data() + m_length, h.length);
        m_length += h.length;
        m_next = static_cast<std::uint8_t>(m_next + 1);
        if ((h.flags & frag_last) == 0) return Status::would_block;
        m_open = false;
        m_done_type = m_type;
        m_done_length = m_length;
        return Status::ok;
    }

    // The last completed message (valid until the next feed()).
    [[nodiscard]] std::uint8_t type() const { return m_done_type; }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const {
        return m_buffer.first(m_done_length);
    }

    void reset() {
        m_open = false;
        m_length = 0;
        m_next = 0;
    }

private:
    std::span<std::uint8_t> m_buffer;
    std::size_t m_length = 0;
    std::size_t m_done_length = 0;
    std::uint8_t m_type = 0;
    std::uint8_t m_done_type = 0;
    std::uint8_t m_next = 0;
    bool m_open = false;
};

// try_recv_message: pull one line and feed it. ok means a whole message is in `r`.
[[nodiscard]] inline Status try_recv_message(Receiver& rx, Reassembler& r) {
    Message m{};  // zeroed: g++ -O3 cannot see that try_recv fills it whenever it returns ok
    if (Status s = rx.try_recv(m); s != Status::ok) return s;
    return r.feed(m);
}

} // namespace myr::urpc
