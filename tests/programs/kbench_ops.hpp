#pragma once
// The kernel paths ./myriad bench kernel measures, defined once for kbench (timed loops) and
// kprofile (an instruction trace of a few calls of each, tools/bench/kernel_profile.sh).
// Both run on core 0 beside ipc_pong, which serves the core endpoint.
#include <myr/user/syscall.hpp>
#include <myr/user/vspace.hpp>

namespace kbench {

using myr::Status;
namespace abi = myr::abi;
namespace user = myr::user;

inline constexpr std::uint64_t endpoint_slot = 12;  // an endpoint to send along a call
inline constexpr std::uint64_t frame_slot = 13;     // the frame map + unmap maps
inline constexpr std::uint64_t page = 0x10000000ull;

inline void null_call() { (void)user::syscall6(abi::Sys::domain_info); }

// One call + reply through ipc_pong, register message only.
inline bool call_reply() {
    user::Message m{};
    m.w[0] = 1;
    return user::ipc(abi::Sys::ipc_call, user::cap::endpoint, m) == Status::ok;
}

// The same carrying a capability; ipc_pong identifies it and deletes its copy.
inline bool call_reply_with_cap() {
    user::Message m{};
    m.w[3] = 1;
    return user::ipc(abi::Sys::ipc_call, user::cap::endpoint, m, endpoint_slot) == Status::ok;
}

inline bool map_unmap() {
    bool ok = user::map(frame_slot, page, abi::map_write) == Status::ok;
    return user::unmap(frame_slot) == Status::ok && ok;
}

// The endpoint and the frame, and the page table under `page` (made once, outside any
// measurement: map + unmap measures mapping a frame into a table that exists).
inline bool setup() {
    if (user::retype(user::cap::ram, user::captype::endpoint, 0, endpoint_slot, 1) != Status::ok) return false;
    if (user::retype(user::cap::ram, user::captype::frame, 12, frame_slot, 1) != Status::ok) return false;
    user::TableSlots tables{14, 16};
    return user::map_with_tables(frame_slot, page, abi::map_write, user::cap::ram, tables) == Status::ok &&
           user::unmap(frame_slot) == Status::ok;
}

// Tells ipc_pong to exit.
inline void stop_pong() {
    user::Message q{};
    q.w[0] = ~0ull;
    (void)user::ipc(abi::Sys::ipc_send, user::cap::endpoint, q);
}

} // namespace kbench
