#pragma once
// One status enum for the whole system: return value of fallible functions, and (later) the
// system-call and message ABI. Values are stable: append, never renumber.
#include <cstdint>

namespace myr {

enum class [[nodiscard]] Status : std::int32_t {
    ok = 0,
    invalid_argument = 1,  // a parameter is outside its documented domain
    out_of_range = 2,      // an index/offset/length points outside its container
    no_memory = 3,         // an allocation could not be satisfied
    not_found = 4,         // a looked-up item does not exist
    bad_checksum = 5,      // a checksummed structure failed its check
    truncated = 6,         // input ends before a structure it announces
    malformed = 7,         // input is structurally invalid (bad type, bad length, bad order)
    unsupported = 8,       // valid but not handled by this implementation
    exists = 9,            // the item already exists
    busy = 10,             // resource temporarily unavailable; retry may succeed
    would_block = 11,      // non-blocking operation could not proceed
    timeout = 12,          // a deadline passed
    permission_denied = 13,// caller lacks the right
    overflow = 14,         // a fixed-capacity container is full / arithmetic overflow
    internal = 15,         // an invariant of ours was violated (a bug)
    wrong_type = 16,       // a capability (or object) of another type than the operation needs
    connection_lost = 17,  // the peer of an IPC went away (died, or its endpoint was deleted)
    bad_request = 18,      // a server could not decode a request (unknown operation, truncated, a field
                           // over its limit); the connection stays usable
    answer_later = 19,     // an RPC handler answers this request later (servers/rpc: no reply frame
                           // now; a same-core caller's call returns, and it waits for the frame)
};

constexpr const char* to_string(Status s) {
    switch (s) {
    case Status::ok: return "ok";
    case Status::invalid_argument: return "invalid argument";
    case Status::out_of_range: return "out of range";
    case Status::no_memory: return "out of memory";
    case Status::not_found: return "not found";
    case Status::bad_checksum: return "bad checksum";
    case Status::truncated: return "truncated";
    case Status::malformed: return "malformed";
    case Status::unsupported: return "unsupported";
    case Status::exists: return "already exists";
    case Status::busy: return "busy";
    case Status::would_block: return "would block";
    case Status::timeout: return "timeout";
    case Status::permission_denied: return "permission denied";
    case Status::overflow: return "overflow";
    case Status::internal: return "internal error";
    case Status::wrong_type: return "wrong type";
    case Status::connection_lost: return "connection lost";
    case Status::bad_request: return "bad request";
    case Status::answer_later: return "answered later";
    }
    return "unknown status";
}

} // namespace myr
