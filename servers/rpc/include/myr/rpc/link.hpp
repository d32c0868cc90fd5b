#pragma once
// One end of an RPC connection over a bound URPC channel pair: frames out (fragmented when longer
// than a line), frames in (reassembled into a buffer the link owns). Pure: the guest runtime
// (guest.hpp, server.hpp), the host tests and the fuzzers drive this same code over real channel
// memory.
#include <myr/rpc/interface.hpp>
#include <myr/urpc/fragment.hpp>

namespace myr::rpc {

inline constexpr std::uint8_t type_close = 0x32;  // the client is going away (no body)

class Link {
public:
    Link() = default;
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    void attach(const urpc::Sender& tx, const urpc::Receiver& rx) {
        m_tx = tx;
        m_rx = rx;
        m_re.reset();
        m_skipping = false;
        m_lines_out = m_lines_in = 0;
    }

    // ok, would_block (the ring has no room for the whole frame now: nothing sent), overflow
    // (longer than max_frame).
    [[nodiscard]] Status send(std::uint8_t type, std::span<const std::uint8_t> frame) {
        if (frame.size() > max_frame) return Status::overflow;
        const Status s = urpc::try_send_message(m_tx, type, frame);
        if (s == Status::ok) m_lines_out += urpc::fragments_for(frame.size());
        return s;
    }

    // ok: a whole frame is in type()/frame(); would_block: nothing complete yet; bad_request:
    // what arrived is not a frame (out-of-sequence fragments, longer than max_frame, an
    // undecodable line). After bad_request the link goes on with the next message.
    [[nodiscard]] Status poll() {
        for (unsigned lines = 0; lines < 32; ++lines) {  // bounded: one peer cannot keep us here
            urpc::Message m{};
            const Status r = m_rx.try_recv(m);
            if (r == Status::would_block) return r;
            ++m_lines_in;
            if (r != Status::ok) {
                m_re.reset();
                return fail();
            }
            // After a bad message, the rest of its fragments are dropped quietly: one bad
            // message is one bad_request, not one per line.
            if (m_skipping && (m.header.flags & urpc::frag_first) == 0) continue;
            m_skipping = false;
            const Status s = m_re.feed(m);
            if (s == Status::ok) return s;
            if (s != Status::would_block) return fail();
        }
        return Status::would_block;
    }

    [[nodiscard]] std::uint8_t type() const { return m_re.type(); }
    // Cache lines (URPC messages) sent and received on this link since it was attached.
    [[nodiscard]] std::uint64_t lines_out() const { return m_lines_out; }
    [[nodiscard]] std::uint64_t lines_in() const { return m_lines_in; }
    [[nodiscard]] std::span<const std::uint8_t> frame() const { return m_re.bytes(); }

private:
    urpc::Sender m_tx;
    urpc::Receiver m_rx;
    std::uint8_t m_buf[max_frame] = {};
    urpc::Reassembler m_re{std::span<std::uint8_t>(m_buf, max_frame)};
    bool m_skipping = false;
    std::uint64_t m_lines_out = 0, m_lines_in = 0;

    Status fail() {
        m_skipping = true;
        return Status::bad_request;
    }
};

} // namespace myr::rpc
