#pragma once
// An interface is a list of operations, each a request struct with its number, its name and its
// reply type (docs/servers.md, "Defining an interface"):
//
//     struct Get {
//         static constexpr std::uint16_t op = 1;
//         static constexpr const char* name = "get";
//         using Reply = GetReply;
//         Key key;
//         MYR_RPC_FIELDS(key)
//     };
//     using Interface = rpc::Interface<Get, Put, Delete>;
//
// From that one definition come the client stub (Client::call<Get>, guest.hpp) and the server
// dispatch (dispatch() below): decode the request strictly, call the handler's
// `Status handle(const Caller&, const Get&, GetReply&)`, encode the reply.
//
// A message on a channel is a frame: FrameHeader then the encoded struct, sent as one URPC
// message (fragmented over several lines when long, interconnect/fragment.hpp).
#include <myr/rpc/wire.hpp>

namespace myr::rpc {

inline constexpr std::size_t max_frame = 1536;   // bytes, header included: 28 of a ring's 32 lines
inline constexpr std::size_t header_bytes = 12;
inline constexpr std::size_t max_body = max_frame - header_bytes;
inline constexpr std::uint8_t type_request = 0x30;  // URPC line types of the RPC runtime
inline constexpr std::uint8_t type_reply = 0x31;

// id: chosen by the client, echoed in the reply (0 in a reply: the request could not be read at
// all, e.g. longer than max_frame, so its id is unknown). status: 0 in requests. session: the
// client's (one per Client object of its domain, never 0; 0 in replies and from raw senders). A
// client numbers its requests 1, 2, 3, ... within its session, across reconnections, and sends
// a request it retries after a lost connection with the same id: (caller's core and domain,
// session, id) names one request for the life of the client, so a server that remembers what it
// answered can answer a retry without doing it twice (docs/servers.md, "Retries").
struct FrameHeader {
    std::uint32_t id;
    std::uint16_t op;
    std::int16_t status;
    std::uint32_t session = 0;
    MYR_RPC_FIELDS(id, op, status, session)
};

// Who sent a request: the connection's peer as the monitors set up the binding, and the
// request's session and id from its header (see FrameHeader).
struct Caller {
    std::uint32_t core;
    std::uint32_t domain;
    std::uint32_t connection;  // the server's own index of the connection
    std::uint32_t session = 0;
    std::uint32_t request = 0;
};

// Whether the client runtime may send Op again after the connection to its server was lost or
// its reply did not come: reads, and writes the server recognises when retried. An operation
// says so with `static constexpr bool retry = true;` (default: not retried).
template <typename Op>
constexpr bool retryable() {
    if constexpr (requires { Op::retry; }) return Op::retry;
    else return false;
}

template <typename... Ops>
struct Interface {
    static constexpr std::size_t size = sizeof...(Ops);
};

namespace detail {
template <typename Op>
constexpr bool op_numbers_distinct() { return true; }
template <typename A, typename B, typename... Rest>
constexpr bool op_numbers_distinct() {
    return A::op != B::op && op_numbers_distinct<A, Rest...>() && op_numbers_distinct<B, Rest...>();
}
} // namespace detail

// Encodes a frame (header + message) into out; its total length in `length`.
template <typename M>
constexpr Status encode_frame(const FrameHeader& h, const M* body, std::span<std::uint8_t> out, std::size_t& length) {
    Writer w(out);
    h.visit(w);
    if (body) body->visit(w);
    if (!w.ok()) return w.overflowed() ? Status::overflow : Status::invalid_argument;
    length = w.size();
    return Status::ok;
}

struct Empty {
    MYR_RPC_FIELDS()
};

// Splits a received frame into its header and body; bad_request when shorter than a header.
constexpr Status split_frame(std::span<const std::uint8_t> frame, FrameHeader& h, std::span<const std::uint8_t>& body) {
    if (frame.size() < header_bytes) return Status::bad_request;
    Reader r(frame.first(header_bytes));
    h.visit(r);
    body = frame.subspan(header_bytes);
    return Status::ok;
}

// Server side: answers one request frame. Returns the reply frame's length in `length` (a reply,
// also for an unknown operation or an undecodable body: then status bad_request and no body;
// length 0 only when the handler returned Status::answer_later: it answers later, encode_answer).
// The handler's status goes in the reply header; its reply struct is encoded whatever the status,
// so an error can carry data (a compare-and-swap that failed returns the current value).
template <typename Handler, typename... Ops>
Status dispatch(Interface<Ops...>, Handler& handler, const Caller& caller, std::span<const std::uint8_t> frame,
                std::span<std::uint8_t> out, std::size_t& length) {
    static_assert(detail::op_numbers_distinct<Ops...>(), "two operations of an interface share a number");
    FrameHeader h{};
    std::span<const std::uint8_t> body;
    if (split_frame(frame, h, body) != Status::ok) {
        const FrameHeader bad{0, 0, static_cast<std::int16_t>(Status::bad_request)};
        return encode_frame<Empty>(bad, nullptr, out, length);
    }
    bool found = false;
    Status result = Status::ok;
    auto one = [&]<typename Op>(Op*) {
        if (found || h.op != Op::op) return;
        found = true;
        // Static storage is not possible in a generic handler; requests are small (<= 1 KiB).
        Op request{};
        typename Op::Reply reply{};
        if (decode(body, request) != Status::ok) {
            const FrameHeader bad{h.id, h.op, static_cast<std::int16_t>(Status::bad_request)};
            result = encode_frame<Empty>(bad, nullptr, out, length);
            return;
        }
        Caller who = caller;
        who.session = h.session;
        who.request = h.id;
        const Status s = handler.handle(who, request, reply);
        if (s == Status::answer_later) {
            // The handler kept `who` and answers with encode_answer<Op> once it can: no frame now.
            length = 0;
            return;
        }
        const FrameHeader rh{h.id, h.op, static_cast<std::int16_t>(s)};
        result = encode_frame(rh, &reply, out, length);
        if (result != Status::ok) {
            // The handler built a reply too large for a frame: a server bug, reported, not sent half.
            const FrameHeader bad{h.id, h.op, static_cast<std::int16_t>(Status::internal)};
            result = encode_frame<Empty>(bad, nullptr, out, length);
        }
    };
    (one(static_cast<Ops*>(nullptr)), ...);
    if (!found) {
        const FrameHeader bad{h.id, h.op, static_cast<std::int16_t>(Status::bad_request)};
        return encode_frame<Empty>(bad, nullptr, out, length);
    }
    return result;
}

// A reply the handler gave later (it returned Status::answer_later for that request): the frame
// for `caller`'s request of operation Op with `status` and `reply`, as dispatch would have built it.
template <typename Op>
constexpr Status encode_answer(const Caller& caller, Status status, const typename Op::Reply& reply,
                               std::span<std::uint8_t> out, std::size_t& length) {
    if (status == Status::answer_later) return Status::invalid_argument;
    const FrameHeader rh{caller.request, Op::op, static_cast<std::int16_t>(status)};
    return encode_frame(rh, &reply, out, length);
}

// Client side: the reply frame for request `id` of operation Op. The call's status is the one in
// the header; reply is filled when the frame carries a body. bad_request when the frame is not a
// reply to this request (wrong id or op, undecodable body) unless the server said so itself.
template <typename Op>
Status decode_reply(std::span<const std::uint8_t> frame, std::uint32_t id, typename Op::Reply& reply, Status& call_status) {
    FrameHeader h{};
    std::span<const std::uint8_t> body;
    if (split_frame(frame, h, body) != Status::ok) return Status::bad_request;
    if (h.id == 0 && h.status == static_cast<std::int16_t>(Status::bad_request)) {
        call_status = Status::bad_request;  // the server could not read our frame at all
        return Status::ok;
    }
    if (h.id != id || h.op != Op::op) return Status::bad_request;
    call_status = static_cast<Status>(h.status);
    if (!body.empty() && decode(body, reply) != Status::ok) return Status::bad_request;
    return Status::ok;
}

} // namespace myr::rpc
