// Exports a name late: waits `arg` timer ticks (100 a second by default), then exports
// `late.<core>` through the monitors' name table and binds to nothing. qemu_core0_failure starts
// it on cores 1-15 before core 0 stops, so the exports come after the table's sequencer (monitor
// 0) is gone: a live core must have taken over the ordering (Replica::sequencer_gone), or the
// export never completes. Prints `namelate core=C exported=late.C status=S waited_ticks=T`.
#include <myr/user/bind.hpp>
#include <myr/user/syscall.hpp>

using namespace myr;

extern "C" int main(std::uint64_t arg) {
    const std::uint64_t core = user::syscall6(abi::Sys::domain_info).value >> 32;
    for (user::Deadline wait(arg); !wait.passed();) user::wait_event();
    char name[17] = {};
    FixedBuffer n(name, sizeof name);
    format_to(n, "late.{}", core);
    const std::uint64_t t0 = user::ticks();
    // 30 s at most: the membership must notice the stop, and the new sequencer take over.
    const Status s = user::export_name(n.c_str(), 3000);
    user::print("namelate core={} exported={} status={} waited_ticks={}", core, n.c_str(), to_string(s), user::ticks() - t0);
    if (s != Status::ok) user::print("test-fail: namelate: export of {} answered {}", n.c_str(), to_string(s));
    return s == Status::ok ? 0 : 1;
}
