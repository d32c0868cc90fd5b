#pragma once
// The memory layout of one channel (single producer, single consumer), defined once. The caller
// owns the memory (kernel, monitor, hosted runtime each place it on the node they choose) and
// hands it in as bytes; format_channel() lays it out and both ends attach to it.
//
//   line 0        Descriptor  written once by format_channel, read-only afterwards
//   line 1        CreditLine  written by the receiver only (consumed position)
//   line 2        padding     keeps the credit and doorbell lines out of one 128-byte pair
//                             (adjacent-line prefetchers move lines in pairs)
//   line 3        Doorbell    armed by the receiver before it blocks, cleared by the waker
//   line 4..4+N   Slot[N]     the ring; each slot is written by the sender, read by the receiver
#include <myr/result.hpp>
#include <myr/urpc/message.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

namespace myr::urpc {

inline constexpr std::uint32_t channel_magic = 0x43505255u;  // "URPC" little-endian
inline constexpr std::uint32_t channel_version = 1;
inline constexpr std::uint32_t min_slots = 2;
inline constexpr std::uint32_t max_slots = 1u << 20;

// How a receiver learns of a message: it polls, or (doorbell) it may also block, and the sender
// then checks the doorbell after every send. The doorbell costs the sender a full fence per
// message, so it is a per-channel choice, not a default.
enum class Wake : std::uint8_t { poll = 0, doorbell = 1 };

struct ChannelConfig {
    std::uint32_t slots = 64;   // power of two, min_slots..max_slots
    Wake wake = Wake::poll;
};

struct alignas(line_bytes) Descriptor {
    std::uint32_t magic;     // published last by format_channel (release), read first (acquire)
    std::uint32_t version;
    std::uint32_t slots;
    std::uint8_t wake;
};

struct alignas(line_bytes) CreditLine {
    std::atomic<std::uint64_t> consumed;  // receiver position; release-stored, acquire-loaded
};

struct alignas(line_bytes) PadLine {
    std::uint64_t unused[8];
};

struct alignas(line_bytes) DoorbellLine {
    std::atomic<std::uint32_t> armed;     // 32-bit so a futex can wait on it directly
};

struct ChannelControl {
    Descriptor descriptor;
    CreditLine credit;
    PadLine pad;
    DoorbellLine doorbell;
};

static_assert(sizeof(Descriptor) == line_bytes && sizeof(CreditLine) == line_bytes);
static_assert(sizeof(PadLine) == line_bytes && sizeof(DoorbellLine) == line_bytes);
static_assert(offsetof(ChannelControl, descriptor) == 0 * line_bytes);
static_assert(offsetof(ChannelControl, credit) == 1 * line_bytes);
static_assert(offsetof(ChannelControl, doorbell) == 3 * line_bytes);
static_assert(sizeof(ChannelControl) == 4 * line_bytes, "slots start at line 4");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

[[nodiscard]] constexpr bool valid_slot_count(std::uint32_t slots) {
    return slots >= min_slots && slots <= max_slots && (slots & (slots - 1)) == 0;
}

// Bytes a channel of `slots` slots needs (64-byte aligned).
[[nodiscard]] constexpr std::size_t channel_bytes(std::uint32_t slots) {
    return sizeof(ChannelControl) + std::size_t{slots} * sizeof(Slot);
}

// The typed view of formatted channel memory, shared by Sender and Receiver.
struct ChannelView {
    ChannelControl* control;
    Slot* slots;
    std::uint32_t slot_count;
    Wake wake;
};

namespace detail {
[[nodiscard]] inline Status check_region(std::span<std::byte> memory) {
    if (memory.data() == nullptr) return Status::invalid_argument;
    if (reinterpret_cast<std::uintptr_t>(memory.data()) % line_bytes != 0) return Status::invalid_argument;
    if (memory.size() < channel_bytes(min_slots)) return Status::truncated;
    return Status::ok;
}
} // namespace detail

// format_channel: lay out a fresh channel in `memory`. The peer may already be polling it (a
// bound domain's peer, a monitor waiting for another's inbox: they attach as soon as the magic
// reads right), so the magic is published last, with release, after every other line is laid
// out; attach reads it first, with acquire (view_channel), and nothing else before it. Written
// the other way round, a peer could attach between the magic and the slots, send, and have its
// first line wiped by the slot initialisation that followed. Formatting a channel a peer is
// attached to is not supported (the magic is retracted first only so that a half-formatted
// region is never taken for an old channel).
[[nodiscard]] inline Status format_channel(std::span<std::byte> memory, ChannelConfig config) {
    if (Status s = detail::check_region(memory); s != Status::ok) return s;
    if (!valid_slot_count(config.slots)) return Status::invalid_argument;
    if (config.wake != Wake::poll && config.wake != Wake::doorbell) return Status::invalid_argument;
    if (memory.size() < channel_bytes(config.slots)) return Status::truncated;
    auto* control = std::launder(reinterpret_cast<ChannelControl*>(memory.data()));
    std::atomic_ref<std::uint32_t> magic(control->descriptor.magic);
    magic.store(0, std::memory_order_relaxed);
    // Every line but the magic word: plain stores, ordered before the release below. (No
    // placement-new of the whole control block: it would store the magic word non-atomically.)
    control->descriptor.version = channel_version;
    control->descriptor.slots = config.slots;
    control->descriptor.wake = static_cast<std::uint8_t>(config.wake);
    new (&control->credit) CreditLine{};
    new (&control->pad) PadLine{};
    new (&control->doorbell) DoorbellLine{};
    control->credit.consumed.store(0, std::memory_order_relaxed);
    control->doorbell.armed.store(0, std::memory_order_relaxed);
    std::byte* base = memory.data() + sizeof(ChannelControl);
    for (std::uint32_t i = 0; i < config.slots; ++i) new (base + std::size_t{i} * sizeof(Slot)) Slot{};
    magic.store(channel_magic, std::memory_order_release);
    return Status::ok;
}

// retract_channel: make `memory` read as no channel, so that attach refuses it until its
// receiver formats it; writes the magic word only (format_channel lays out everything else).
// For memory that is set up long before its receiver starts: the boot core retracts every
// monitor inbox channel (N per core) instead of zeroing N^2 channels of memory.
inline void retract_channel(std::span<std::byte> memory) {
    if (detail::check_region(memory) != Status::ok || memory.size() < sizeof(ChannelControl)) return;
    auto* control = std::launder(reinterpret_cast<ChannelControl*>(memory.data()));
    std::atomic_ref<std::uint32_t>(control->descriptor.magic).store(0, std::memory_order_release);
}

// view_channel: validate a formatted region (a wrong or stale region is refused, not trusted).
[[nodiscard]] inline Result<ChannelView> view_channel(std::span<std::byte> memory) {
    if (Status s = detail::check_region(memory); s != Status::ok) return s;
    auto* control = std::launder(reinterpret_cast<ChannelControl*>(memory.data()));
    // The magic first, with acquire (pairs with format_channel's release): only then are the
    // other descriptor fields, the credit line and the slots initialised and safe to read.
    if (std::atomic_ref<std::uint32_t>(control->descriptor.magic).load(std::memory_order_acquire) != channel_magic)
        return Status::malformed;
    const Descriptor& d = control->descriptor;
    if (d.version != channel_version) return Status::malformed;
    if (!valid_slot_count(d.slots) || d.wake > static_cast<std::uint8_t>(Wake::doorbell))
        return Status::malformed;
    if (memory.size() < channel_bytes(d.slots)) return Status::truncated;
    auto* slots = std::launder(reinterpret_cast<Slot*>(memory.data() + sizeof(ChannelControl)));
    return ChannelView{control, slots, d.slots, static_cast<Wake>(d.wake)};
}

} // namespace myr::urpc
