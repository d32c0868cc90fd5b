// libFuzzer target for procserv's request decoding and rules (servers/procserv): arbitrary bytes
// as request frames through the interface's dispatch into the same Service the server runs, over
// fake monitors of a 4-core machine. Nothing may read or write out of bounds (ASan/UBSan); every
// reply must be a well-formed frame; and the kill rule must hold whatever arrives: an ordinary
// caller's kill reaches the monitors only for a running domain that caller started through
// procserv, and procserv itself is never killed.
#include <myr/procserv/service.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using namespace myr;
using namespace myr::procserv;

void require(bool ok) {
    if (!ok) std::abort();
}

constexpr Address self{0, 1};
constexpr rpc::Caller ordinary[2] = {{1, 2, 0}, {2, 3, 1}};

struct Monitors {
    std::uint32_t next = 100;
    Table* table = nullptr;      // procserv's table, to check each kill against the rule
    bool caller_privileged = false;
    Address caller{};
    std::uint32_t cores() const { return 4; }
    Status spawn(const Program& p, std::uint32_t core, const char* args, Address& out) {
        if (p.size == 1) return Status::not_found;
        if (args[0] == 'b') return Status::busy;
        out = {core == any_core ? 3 : core, next++};
        return Status::ok;
    }
    Status kill(const Address& a) {
        require(!(a == self));
        if (!caller_privileged) {
            const Table::Entry* e = table->find(a);
            require(e && !e->ended && e->owner == caller);
        }
        return a.domain % 3 == 0 ? Status::not_found : Status::ok;
    }
    Status list(std::uint32_t core, std::uint32_t index, std::uint32_t& domain, Program& name, bool& server) {
        if (index >= 5) return Status::not_found;
        domain = core * 10 + index + 1;
        name = Program{};
        (void)name.assign_cstr(core == 3 && index == 0 ? "admin" : "prog");
        server = index == 1;
        return Status::ok;
    }
};

Monitors monitors;
Service<Monitors> svc(monitors, Policy{"admin", 5, "procserv"}, self);

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    monitors.table = &svc.table();
    // Several frames per input: a length byte, then the frame. Callers: two ordinary clients and
    // core 3's domain 1 (program "admin": privileged); a death from the feed now and then.
    std::size_t pos = 0;
    unsigned n = 0;
    while (pos < size) {
        const std::size_t len = data[pos++];
        const std::size_t take = len < size - pos ? len : size - pos;
        const std::span<const std::uint8_t> frame(data + pos, take);
        pos += take;
        const unsigned who = n++ % 3;
        const rpc::Caller caller = who < 2 ? ordinary[who] : rpc::Caller{3, 1, 2};
        monitors.caller = Address{caller.core, caller.domain};
        monitors.caller_privileged = who == 2;
        std::uint8_t out[rpc::max_frame];
        std::size_t out_len = 0;
        require(rpc::dispatch(Interface{}, svc, caller, frame, out, out_len) == Status::ok);
        rpc::FrameHeader h{};
        std::span<const std::uint8_t> body;
        require(rpc::split_frame(std::span<const std::uint8_t>(out, out_len), h, body) == Status::ok);
        if (take >= 2 && frame[0] == 0xde) (void)svc.death(Address{3, 100u + frame[1] % 32u}, 2, frame[1]);
    }
    require(svc.table().running() <= Table::capacity);
    return 0;
}
