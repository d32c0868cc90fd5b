#pragma once
// The consumer end of a channel. It polls the header of the one slot it expects next: no shared
// head index, so an empty poll reads a line the sender will write, and nothing else.
//
// Credits (the consumed position) go back on their own line in batches of a quarter ring while
// busy, and all at once when a poll finds the ring empty: the sender reads that line only when it
// believes the ring full, so returning early costs a store to a line this core already owns.
#include <myr/result.hpp>
#include <myr/urpc/channel_layout.hpp>
#include <myr/urpc/message.hpp>

#include <atomic>
#include <cstdint>

namespace myr::urpc {

class Receiver {
public:
    Receiver() = default;

    [[nodiscard]] static Result<Receiver> attach(std::span<std::byte> memory) {
        Result<ChannelView> view = view_channel(memory);
        if (!view.ok()) return view.status();
        Receiver r;
        r.m_slots = view->slots;
        r.m_control = view->control;
        r.m_mask = view->slot_count - 1;
        r.m_batch = view->slot_count / 4 == 0 ? 1 : view->slot_count / 4;
        r.m_pos = view->control->credit.consumed.load(std::memory_order_acquire);
        r.m_credited = r.m_pos;
        return r;
    }

    // try_recv: ok (out filled), would_block (nothing yet), or malformed: the line was consumed
    // and rejected (bad type/length/flags); the channel stays usable.
    [[nodiscard]] Status try_recv(Message& out) {
        Slot& slot = m_slots[m_pos & m_mask];
        const std::uint64_t word = slot.header.load(std::memory_order_acquire);
        if (header_seq(word) != static_cast<std::uint32_t>(m_pos + 1)) {
            if (m_pos != m_credited) return_credits();
            return Status::would_block;
        }
        Result<Header> h = decode(word);
        if (h.ok()) {
            out.header = *h;
            for (std::size_t w = 0; w < payload_words; ++w) out.words[w] = slot.payload[w];
        }
        // Only now, after the payload is copied out, may the slot be handed back.
        ++m_pos;
        if (m_pos - m_credited >= m_batch) return_credits();
        return h.ok() ? Status::ok : Status::malformed;
    }

    // pending: is the next line there? (acquire, so a following try_recv sees its payload)
    [[nodiscard]] bool pending() const {
        const std::uint64_t word = m_slots[m_pos & m_mask].header.load(std::memory_order_acquire);
        return header_seq(word) == static_cast<std::uint32_t>(m_pos + 1);
    }

    // Blocking, step 1: arm the doorbell. Returns true when the caller may sleep on
    // doorbell_word() while it still reads 1; false when a message slipped in (already disarmed).
    [[nodiscard]] bool arm() {
        return_credits();  // a sleeping receiver must not hold back a sender
        std::atomic<std::uint32_t>& armed = m_control->doorbell.armed;
        armed.store(1, std::memory_order_seq_cst);  // pairs with Sender::ring_doorbell
        const std::uint64_t word = m_slots[m_pos & m_mask].header.load(std::memory_order_seq_cst);
        if (header_seq(word) == static_cast<std::uint32_t>(m_pos + 1)) {
            armed.store(0, std::memory_order_relaxed);
            return false;
        }
        return true;
    }

    // Blocking, step 2 (after waking, or after giving up on sleeping).
    void disarm() { m_control->doorbell.armed.store(0, std::memory_order_relaxed); }

    [[nodiscard]] std::atomic<std::uint32_t>& doorbell_word() { return m_control->doorbell.armed; }

    void return_credits() {
        m_credited = m_pos;
        m_control->credit.consumed.store(m_pos, std::memory_order_release);
    }

    [[nodiscard]] std::uint64_t received() const { return m_pos; }

private:
    Slot* m_slots = nullptr;
    ChannelControl* m_control = nullptr;
    std::uint64_t m_mask = 0;
    std::uint64_t m_pos = 0;       // next position to read
    std::uint64_t m_credited = 0;  // last position published on the credit line
    std::uint64_t m_batch = 1;
};

} // namespace myr::urpc
