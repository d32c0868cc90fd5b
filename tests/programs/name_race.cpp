// Concurrent exports of one name (`namerace`, issue 10 item 6). Argument r < 256: a racer of
// round r; the plan spawns one on every other core in one step, so they all export "race<r>" at
// about the same moment. Exactly one may win (ok) and it then waits to serve one client; every
// other racer must get `exists` and exits. Argument 256 + r: the client of round r, which binds to
// "race<r>" and names the core it reached (the winner's, on every monitor that agrees).
#include <myr/user/bind.hpp>

using namespace myr;
using namespace myr::user;

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t round = arg & 0xff;
    char name[8] = {'r', 'a', 'c', 'e', static_cast<char>('0' + round % 10), 0, 0, 0};
    const std::uint64_t core = syscall6(abi::Sys::domain_info).value >> 32;
    if (arg >= 256) {
        Binding b{};
        const Status s = bind(name, b, 20000);
        if (s != Status::ok) {
            print("test-fail: namerace: client of {} on core {}: bind: {}", name, core, to_string(s));
            return 1;
        }
        print("namerace: client bound {} to core {}", name, b.peer_core);
        return 0;
    }
    const Status s = export_name(name);
    print("namerace: core {} export {}: {}", core, name, to_string(s));
    if (s == Status::exists) return 0;
    if (s != Status::ok) {
        print("test-fail: namerace: core {} export {}: {}", core, name, to_string(s));
        return 1;
    }
    Binding b{};
    if (const Status a = accept(b, 20000); a != Status::ok) {
        print("test-fail: namerace: winner of {} on core {} got no client: {}", name, core, to_string(a));
        return 1;
    }
    print("namerace: winner of {} on core {} served a client from core {}", name, core, b.peer_core);
    return 0;
}
