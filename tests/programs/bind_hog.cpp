// Exhaustion attack on the monitors' binding service (issue 10, item 4), two roles by argument:
//
// 1 `bindhog`: exports names and binds to "sink" (another core) in a loop, as a hostile program
//   would to use up its monitor's and the server monitor's tables and ring memory. It must be
//   refused with a clear answer: `busy` once it holds setup_per_domain (2) bindings whose rings it
//   has not taken, `no_memory` once it used rings_per_domain (8) rings, `no_memory` for a fifth
//   name. Then it exits; its monitor frees what it held (names included).
// 0 the sink: exports "sink", accepts every binding and drops it (takes both rings, deletes
//   them), and ends once the hog's name "hog" has disappeared (which only happens if the hog's
//   monitor noticed the hog ended and withdrew its names everywhere).
//
// The plan then binds the usual clients to bindsrv (tests/qemu/CMakeLists.txt): the machine's
// binding service must still work for everybody.
#include "expect.hpp"

#include <myr/user/bind.hpp>

using namespace myr;
using namespace myr::user;
using namespace myr::test;

namespace {

Status op(abi::MonitorOp o, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t reply_slot = 0) {
    Message m{};
    m.w[0] = static_cast<std::uint64_t>(o);
    m.w[1] = a;
    m.w[2] = b;
    return monitor_call(m, reply_slot);
}

// Takes a binding's two rings and deletes them at once: the binding is over for us.
Status drop(const Binding& b) {
    for (std::uint64_t which = 0; which < 2; ++which) {
        if (const Status s = op(abi::MonitorOp::take_ring, b.id, which, 10 + which); s != Status::ok) return s;
        if (const Status s = cap_delete(10 + which); s != Status::ok) return s;
    }
    return Status::ok;
}

int sink() {
    if (const Status s = export_name("sink"); s != Status::ok) {
        print("test-fail: sink: export: {}", to_string(s));
        return 1;
    }
    std::uint64_t w0 = 0, w1 = 0;
    pack_name16("hog", w0, w1);
    std::uint64_t accepted = 0;
    bool seen = false;
    for (std::uint64_t round = 0; round < 200000; ++round) {
        Binding b{};
        while (try_accept(b) == Status::ok) {
            if (const Status s = drop(b); s != Status::ok) {
                print("test-fail: sink: dropping binding {}: {}", b.id, to_string(s));
                return 1;
            }
            ++accepted;
        }
        // Is "hog" still exported? A bind is the only question the service answers about names;
        // ours are refused (busy) soon, and never poll them: what matters is not_found or not.
        const Status s = op(abi::MonitorOp::bind, w0, w1);
        if (s != Status::not_found) seen = true;
        else if (seen) {
            print("test-pass: sink: the hog's name went away after it ended; {} bindings dropped", accepted);
            return 0;
        }
        wait_event();
    }
    print("test-fail: sink: the name \"hog\" {} (bindings dropped: {})", seen ? "never went away" : "never came", accepted);
    return 1;
}

int hog() {
    expect("export hog", export_name("hog"), Status::ok);
    Binding b[2]{};
    Status s = Status::not_found;
    for (unsigned t = 0; t < 3000 && s == Status::not_found; ++t) {
        s = bind("sink", b[0]);
        if (s == Status::not_found) wait_event();
    }
    expect("first binding", s, Status::ok);
    expect("second binding", bind("sink", b[1]), Status::ok);
    Binding extra{};
    expect("a third binding while two are in set-up", bind("sink", extra), Status::busy);
    expect("drop the first", drop(b[0]), Status::ok);
    expect("drop the second", drop(b[1]), Status::ok);
    // Bind, take and delete the rings, again and again: ring memory is never reused, so this is
    // what would empty both cores' channel pools. The sink may lag (its monitor then answers
    // busy for requests it has not accepted yet): wait and go on.
    std::uint64_t made = 2, busy = 0;
    Status last = Status::ok;
    for (unsigned t = 0; t < 4000; ++t) {
        Binding x{};
        last = bind("sink", x);
        if (last == Status::busy) {
            ++busy;
            wait_event();
            continue;
        }
        if (last != Status::ok) break;
        ++made;
        if (const Status d = drop(x); d != Status::ok) {
            expect("drop", d, Status::ok);
            break;
        }
    }
    expect("binding once the ring budget is spent", last, Status::no_memory);
    ++checks;
    if (made != 8) {
        ++failures;
        print("test-fail: hog: {} bindings made before out of memory, want 8", made);
    }
    expect("export a second name", export_name("hog2"), Status::ok);
    expect("export a third name", export_name("hog3"), Status::ok);
    expect("export a fourth name", export_name("hog4"), Status::ok);
    expect("export a fifth name", export_name("hog5"), Status::no_memory);
    if (failures) {
        print("test-fail: hog: {} of {} checks failed", failures, checks);
        return 1;
    }
    print("test-pass: hog refused: busy with 2 in set-up, out of memory after {} bindings ({} busy answers on the way), "
          "names after 4; {} checks", made, busy, checks);
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t role) { return role == 1 ? hog() : sink(); }
