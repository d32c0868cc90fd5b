#include <myr/config/runner.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace myr::config {

RunExit map_qemu_outcome(const QemuOutcome& o) {
    if (!o.started) return RunExit::qemu_failed;
    if (o.stopped) return RunExit::success;
    if (o.timed_out) return RunExit::timeout;
    if (!o.exited) return RunExit::no_status;
    if (o.exit_code == qemu_exit_code(GuestExit::success)) return RunExit::success;
    if (o.exit_code == qemu_exit_code(GuestExit::check_failed)) return RunExit::check_failed;
    if (o.exit_code == qemu_exit_code(GuestExit::panic)) return RunExit::panic;
    if (o.exit_code == 1 && o.serial_bytes == 0) return RunExit::qemu_failed;
    return RunExit::no_status;
}

const char* describe(RunExit e) {
    switch (e) {
    case RunExit::success: return "success";
    case RunExit::check_failed: return "the guest reported a failed check";
    case RunExit::panic: return "the guest panicked";
    case RunExit::timeout: return "timeout: QEMU was killed";
    case RunExit::no_status: return "QEMU exited without a guest status (triple fault? reset?)";
    case RunExit::bad_config: return "config refused";
    case RunExit::qemu_failed: return "QEMU could not be started or refused its command line";
    }
    return "unknown";
}

namespace {

// Exec failure is reported through this pipe (close-on-exec: EOF means exec worked).
constexpr int exec_failed_code = 127;

void drain(int& fd, const std::function<void(std::string_view)>& sink, std::size_t* count) {
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
        if (count) *count += static_cast<std::size_t>(n);
        if (sink) sink(std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fd);
        fd = -1;
    }
}

} // namespace

// Writes all of `bytes` (QEMU reads its stdin as the guest takes bytes; a short script line fits
// the pipe's buffer at once). False when QEMU is gone (EPIPE: SIGPIPE is ignored meanwhile).
bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

QemuOutcome run_qemu(const RunRequest& req) {
    QemuOutcome out;
    int input[2] = {-1, -1};
    if (req.input && ::pipe2(input, O_CLOEXEC) != 0) return out;
    // Closes the input pipe on every way out below.
    struct InputPipe {
        int* fds;
        ~InputPipe() {
            for (int i = 0; i < 2; ++i)
                if (fds[i] >= 0) ::close(fds[i]);
        }
    } input_guard{input};
    int serial[2];
    int err[2];
    int exec_status[2];
    if (::pipe2(serial, O_CLOEXEC) != 0) return out;
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(serial[0]);
        ::close(serial[1]);
        return out;
    }
    if (::pipe2(exec_status, O_CLOEXEC) != 0) {
        for (int fd : {serial[0], serial[1], err[0], err[1]}) ::close(fd);
        return out;
    }
    std::vector<char*> argv;
    for (const std::string& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {serial[0], serial[1], err[0], err[1], exec_status[0], exec_status[1]}) ::close(fd);
        return out;
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec. stdin stays ours (interactive shell)
        // unless the input is scripted.
        if (input[0] >= 0) ::dup2(input[0], STDIN_FILENO);
        ::dup2(serial[1], STDOUT_FILENO);
        ::dup2(err[1], STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        const int e = errno;
        [[maybe_unused]] const ssize_t w = ::write(exec_status[1], &e, sizeof e);
        ::_exit(exec_failed_code);
    }
    ::close(serial[1]);
    ::close(err[1]);
    ::close(exec_status[1]);
    if (input[0] >= 0) {
        ::close(input[0]);
        input[0] = -1;
    }
    // A write to the input pipe after QEMU ended must be an error, not a signal that kills us.
    struct sigaction ignore {}, saved {};
    ignore.sa_handler = SIG_IGN;
    const bool pipe_signal = req.input && ::sigaction(SIGPIPE, &ignore, &saved) == 0;
    struct RestoreSigpipe {
        bool active;
        struct sigaction* saved;
        ~RestoreSigpipe() {
            if (active) ::sigaction(SIGPIPE, saved, nullptr);
        }
    } restore{pipe_signal, &saved};
    const auto on_serial = [&](std::string_view s) {
        if (req.on_serial) req.on_serial(s);
        if (req.input && input[1] >= 0) {
            const std::string bytes = req.input(s);
            if (!bytes.empty() && !write_all(input[1], bytes)) {
                ::close(input[1]);
                input[1] = -1;
            }
        }
    };
    int exec_errno = 0;
    const ssize_t got = ::read(exec_status[0], &exec_errno, sizeof exec_errno);
    ::close(exec_status[0]);
    out.started = got <= 0;

    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::seconds(req.timeout_s);
    int fds[2] = {serial[0], err[0]};
    std::size_t serial_count = 0;
    while (fds[0] >= 0 || fds[1] >= 0) {
        int wait_ms = -1;
        if (req.timeout_s != 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) {
                out.timed_out = true;
                break;
            }
            wait_ms = static_cast<int>(std::min<long long>(left, 1000));
        }
        pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        const int r = ::poll(p, 2, wait_ms);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        if (fds[0] >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) drain(fds[0], on_serial, &serial_count);
        if (req.stop && req.stop()) {
            out.stopped = true;
            break;
        }
        if (fds[1] >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            drain(fds[1], [&](std::string_view s) {
                out.stderr_text.append(s);
                if (req.on_stderr) req.on_stderr(s);
            }, nullptr);
    }
    out.serial_bytes = serial_count;

    int status = 0;
    if (out.timed_out || out.stopped) {
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 20 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (::waitpid(pid, &status, WNOHANG) == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
    } else {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    for (int fd : fds)
        if (fd >= 0) ::close(fd);
    if (WIFEXITED(status)) {
        out.exited = true;
        out.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out.signal = WTERMSIG(status);
    }
    return out;
}

} // namespace myr::config
