#pragma once
// The producer end of a channel. Owned by exactly one thread/core; its own fields live in that
// core's memory, so the only shared lines it touches are the slot it writes, the credit line
// when it believes the ring full, and (doorbell channels) the doorbell.
#include <myr/result.hpp>
#include <myr/urpc/channel_layout.hpp>
#include <myr/urpc/message.hpp>
#include <myr/urpc/wake.hpp>

#include <atomic>
#include <cstdint>

namespace myr::urpc {

class Sender {
public:
    // A detached sender; only attach() makes a usable one.
    Sender() = default;

    [[nodiscard]] static Result<Sender> attach(std::span<std::byte> memory, WakeHook hook = {}) {
        Result<ChannelView> view = view_channel(memory);
        if (!view.ok()) return view.status();
        if (view->wake == Wake::doorbell && hook.wake == nullptr) return Status::invalid_argument;
        Sender s;
        s.m_slots = view->slots;
        s.m_control = view->control;
        s.m_mask = view->slot_count - 1;
        s.m_capacity = view->slot_count;
        s.m_doorbell = view->wake == Wake::doorbell;
        s.m_hook = hook;
        // Attaching mid-stream is not supported: the sender starts where the receiver has
        // consumed up to, which is 0 on a freshly formatted channel.
        s.m_pos = view->control->credit.consumed.load(std::memory_order_acquire);
        s.m_limit = s.m_pos + s.m_capacity;
        return s;
    }

    // try_send: one line. ok, would_block (ring full), or invalid_argument (type 0, length > 56,
    // flags out of range). Payload words beyond `length` are sent as given.
    [[nodiscard]] Status try_send(std::uint8_t type, const std::uint64_t (&words)[payload_words],
                                  std::uint8_t length = payload_bytes,
                                  std::uint8_t flags = frag_single, std::uint8_t frag = 0) {
        if (type == type_invalid || length > payload_bytes || flags > frag_single) [[unlikely]]
            return Status::invalid_argument;
        if (m_pos == m_limit) [[unlikely]] {
            if (!refresh_credits()) return Status::would_block;
        }
        Slot& slot = m_slots[m_pos & m_mask];
        // Plain stores: the receiver reads them only after acquiring the header below, and we
        // rewrite this slot only after acquiring a credit that covers the receiver's reads.
        for (std::size_t w = 0; w < payload_words; ++w) slot.payload[w] = words[w];
        const Header h{static_cast<std::uint32_t>(m_pos + 1), type, length, flags, frag};
        if (m_doorbell) [[unlikely]] {
            // seq_cst store, then seq_cst load of the doorbell: see ring_doorbell().
            slot.header.store(encode(h), std::memory_order_seq_cst);
            ++m_pos;
            ring_doorbell();
            return Status::ok;
        }
        slot.header.store(encode(h), std::memory_order_release);
        ++m_pos;
        return Status::ok;
    }

    // reserve: make sure `count` slots are free (so a fragmented message goes out whole).
    [[nodiscard]] Status reserve(std::uint32_t count) {
        if (count > m_capacity) return Status::overflow;
        if (m_limit - m_pos >= count) return Status::ok;
        refresh_credits();
        return m_limit - m_pos >= count ? Status::ok : Status::would_block;
    }

    [[nodiscard]] std::uint32_t capacity() const { return m_capacity; }
    [[nodiscard]] std::uint64_t sent() const { return m_pos; }

private:
    bool refresh_credits() {
        // Acquire pairs with the receiver's release: its reads of the slots we now reuse are
        // complete before our next plain stores to them.
        m_limit = m_control->credit.consumed.load(std::memory_order_acquire) + m_capacity;
        return m_pos != m_limit;
    }

    void ring_doorbell() {
        // Dekker with Receiver::arm(): we store the header then load `armed`, it stores `armed`
        // then loads the header, all four seq_cst, so in their single total order at least one
        // side sees the other's store: never both "no message" and "not armed". (seq_cst
        // operations rather than fences: same code on x86 -- one xchg -- and ThreadSanitizer
        // understands them.) Poll-only channels pay none of this.
        std::atomic<std::uint32_t>& armed = m_control->doorbell.armed;
        if (armed.load(std::memory_order_seq_cst) != 0 &&
            armed.exchange(0, std::memory_order_acq_rel) != 0)
            m_hook.wake(armed, m_hook.context);
    }

    Slot* m_slots = nullptr;
    ChannelControl* m_control = nullptr;
    std::uint64_t m_mask = 0;
    std::uint64_t m_pos = 0;     // next position to write
    std::uint64_t m_limit = 0;   // first position we may not write (cached consumed + capacity)
    std::uint32_t m_capacity = 0;
    bool m_doorbell = false;
    WakeHook m_hook{};
};

} // namespace myr::urpc
