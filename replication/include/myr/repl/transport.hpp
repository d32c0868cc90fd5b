#pragma once
// How a replica reaches other cores. A monitor implements it over its URPC bindings; the hosted
// driver over hosted channels (with an unbounded outbox, so a full ring never blocks a handler);
// the simulation over queues its seeded scheduler drains. send() must not call back into the
// replica: the replica may be in the middle of a handler.
//
// Not abstract on purpose: a pure virtual would need __cxa_pure_virtual in the kernel, and a
// virtual destructor operator delete; the destructor is protected so nobody deletes through it.
#include <myr/status.hpp>
#include <myr/urpc/message.hpp>

#include <cstdint>

namespace myr::repl {

class Transport {
public:
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Queue one line for core `dst`. A non-ok status is counted by the replica as a send
    // failure; protocols do not retransmit (channels are reliable), so the driver should buffer.
    [[nodiscard]] virtual Status send(std::uint16_t dst, std::uint8_t type,
                                      const std::uint64_t (&words)[urpc::payload_words]) {
        (void)dst;
        (void)type;
        (void)words;
        return Status::unsupported;
    }

protected:
    Transport() = default;
    ~Transport() = default;
};

} // namespace myr::repl
