// The paths of ./myriad bench kernel, a few calls each, between marks, for an instruction trace
// (tools/bench/kernel_profile.sh). A mark is a debug_print: the trace is cut where the kernel
// enters sys_debug_print; a section runs from its first mark to its second, and the empty
// section gives what the marks themselves cost, which the script subtracts. Each op runs once first (warm: first-touch page faults and
// the like stay out), then `reps` times inside its section.
#include "kbench_ops.hpp"

using namespace myr;

namespace {

constexpr unsigned reps = 8;

// Every mark prints the same text, so each costs the same instructions: the section names are
// printed once at the end.
void mark() { user::print("kprofile mark"); }

template <typename F>
bool section(F op) {
    bool ok = op();
    mark();
    for (unsigned i = 0; i < reps; ++i) ok = op() && ok;
    mark();
    return ok;
}

} // namespace

extern "C" int main(std::uint64_t) {
    if (!kbench::setup()) {
        user::print("test-fail: kprofile: cannot make the endpoint, frame or page table");
        return 1;
    }
    bool ok = section([] { return true; });
    ok = section([] { kbench::null_call(); return true; }) && ok;
    ok = section(kbench::call_reply) && ok;
    ok = section(kbench::call_reply_with_cap) && ok;
    ok = section(kbench::map_unmap) && ok;
    kbench::stop_pong();
    if (!ok) {
        user::print("test-fail: kprofile: an operation failed");
        return 1;
    }
    user::print("kprofile reps={} sections=empty,null_syscall,ipc_call_reply,ipc_call_reply_with_cap,map_unmap", reps);
    return 0;
}
