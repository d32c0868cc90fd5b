#pragma once
// The tutorial's counter service (docs/servers.md, "Write your own server"): add(n) returns the
// new total, get the total.
#include <myr/rpc/interface.hpp>

namespace myr::counter {

struct Total {
    std::uint64_t total;
    MYR_RPC_FIELDS(total)
};
struct Add {
    static constexpr std::uint16_t op = 1;
    static constexpr const char* name = "add";
    using Reply = Total;
    std::uint64_t n;
    MYR_RPC_FIELDS(n)
};
struct Get {
    static constexpr std::uint16_t op = 2;
    static constexpr const char* name = "get";
    using Reply = Total;
    MYR_RPC_FIELDS()
};
using Interface = rpc::Interface<Add, Get>;

} // namespace myr::counter
