// Compiled only into the freestanding object library: instantiates every inline path of the
// interconnect with the kernel flags, so a heap allocation, an exception, an SSE instruction or a
// libc call sneaking into the headers breaks the build (see check_symbols.cmake).
#include <myr/urpc/urpc.hpp>

namespace myr::urpc::freestanding_check {

Status send_line(Sender& tx, const std::uint64_t (&words)[payload_words]) {
    return tx.try_send(1, words);
}

Status recv_line(Receiver& rx, Message& out) { return rx.try_recv(out); }

Status send_bytes(Sender& tx, std::span<const std::uint8_t> bytes) {
    return try_send_message(tx, 2, bytes);
}

Status recv_bytes(Receiver& rx, Reassembler& r) { return try_recv_message(rx, r); }

Status format(std::span<std::byte> memory) { return format_channel(memory, ChannelConfig{}); }

Result<Binding> bind(std::span<std::byte> out, std::span<std::byte> in, WakeHook hook) {
    return Binding::attach(out, in, hook);
}

Status recv_blocking(Receiver& rx, Message& out, std::uint64_t (*now)(),
                     void (*block)(std::atomic<std::uint32_t>&, std::uint32_t)) {
    return recv_poll_then_block(rx, out, 1000, now, block);
}

Status tree(const MulticastInput& in, MulticastTree& out) { return build_multicast_tree(in, out); }

} // namespace myr::urpc::freestanding_check
