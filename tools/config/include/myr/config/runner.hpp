#pragma once
// Running QEMU: start it, stream its serial output (our pipe on its stdout), enforce a timeout,
// and turn how it ended into a RunExit. The status mapping is a pure function for tests.
#include <myr/exit_codes.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace myr::config {

struct QemuOutcome {
    bool started = false;        // fork+exec succeeded
    bool timed_out = false;      // we killed it at the deadline
    bool stopped = false;        // we killed it because request.stop said so
    bool exited = false;         // exited normally (else killed by a signal)
    int exit_code = 0;           // when exited
    int signal = 0;              // when !exited
    std::size_t serial_bytes = 0;// serial output seen (QEMU's own usage errors print none)
    std::string stderr_text;     // what QEMU wrote to stderr
};

// Stopped on request -> success; success<<1|1 -> success, check_failed<<1|1 -> check_failed, panic<<1|1 -> panic; a timeout ->
// timeout; not started, or exit 1 with no serial output (QEMU refusing its command line: the
// guest cannot produce 1 except by writing 0 to the port, and it prints before that) ->
// qemu_failed; anything else -> no_status.
[[nodiscard]] RunExit map_qemu_outcome(const QemuOutcome& o);
[[nodiscard]] const char* describe(RunExit e);

struct RunRequest {
    std::vector<std::string> argv;                 // from qemu_args()
    unsigned timeout_s = 0;                        // 0: no timeout (gdb sessions)
    std::function<void(std::string_view)> on_serial;  // called with each chunk of serial output
    std::function<void(std::string_view)> on_stderr;  // called with each chunk of QEMU's stderr
    // Scripted input (InputPacer): when set, QEMU's stdin (the serial port's input with -serial
    // stdio) is a pipe instead of ours; after each serial chunk (after on_serial) the bytes this
    // returns are written to it. The pipe stays open until QEMU ends: QEMU never sees EOF.
    std::function<std::string(std::string_view)> input;
    // Asked after each chunk of serial output: true ends the run there (QEMU is killed as at the
    // deadline; outcome.stopped). myriadctl run --until.
    std::function<bool()> stop;
};

// Blocks until QEMU ends (or is killed at the deadline: SIGTERM, then SIGKILL after 2 s).
[[nodiscard]] QemuOutcome run_qemu(const RunRequest& request);

} // namespace myr::config
