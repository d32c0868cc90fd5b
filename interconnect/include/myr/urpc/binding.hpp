#pragma once
// A binding: the two channels of a conversation, one per direction. Each channel's memory is
// handed in separately because each is placed by its own receiver's policy (receiver-local by
// default), so the two halves of a binding usually live on different nodes.
#include <myr/result.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>

namespace myr::urpc {

struct Binding {
    Sender tx;
    Receiver rx;

    [[nodiscard]] static Result<Binding> attach(std::span<std::byte> outgoing,
                                                std::span<std::byte> incoming,
                                                WakeHook hook = {}) {
        Result<Sender> tx = Sender::attach(outgoing, hook);
        if (!tx.ok()) return tx.status();
        Result<Receiver> rx = Receiver::attach(incoming);
        if (!rx.ok()) return rx.status();
        return Binding{*tx, *rx};
    }
};

} // namespace myr::urpc
