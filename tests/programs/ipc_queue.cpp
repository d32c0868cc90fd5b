// Endpoint wait queues (cpudriver/src/ipc.cpp keeps them in the endpoint's own memory). On one
// core, three senders hand a controller their self caps over the core endpoint, wait on a
// notification until all have, then each calls again and stays queued. The controller kills one
// of the queued callers (it must leave the queue
// and never be delivered to), takes the other two with polling receives (a third poll finds the
// queue empty), replies to each with a copy of a fresh endpoint, waits until both block
// receiving on it, then revokes and deletes that endpoint: both must wake with connection_lost
// (the queue emptied when the object went) and exit 0. Role chosen by MYRIAD_IPCQ_ROLE.
#include <myr/user/syscall.hpp>

using namespace myr;
using namespace myr::user;

namespace {

[[maybe_unused]] std::uint32_t state(SysResult r) { return static_cast<std::uint32_t>(r.value); }
[[maybe_unused]] std::uint32_t code(SysResult r) { return static_cast<std::uint32_t>(r.value >> 32); }

[[maybe_unused]] int fail(const char* what, Status s) {
    print("test-fail: {}: {}", what, to_string(s));
    return 1;
}

} // namespace

#if MYRIAD_IPCQ_ROLE == 1  // a sender
extern "C" int main(std::uint64_t) {
    Message m{};
    m.w[0] = 1;
    if (const Status s = ipc(abi::Sys::ipc_call, cap::endpoint, m, abi::ipc_cap(cap::self_domain, 21)); s != Status::ok)
        return fail("sender: first call", s);
    if (m.cap_arrived != 1) return fail("sender: no notification in the reply", Status::not_found);
    // Wait (in the notification's queue) until every sender has registered: then the second
    // calls cannot overtake another sender's first one.
    if (const SysResult w = syscall6(abi::Sys::notify_wait, 21); w.status != Status::ok || w.value != 1)
        return fail("sender: notify_wait", w.status);
    m = {};
    m.w[0] = 2;  // queued until the controller takes it (or kills us)
    if (const Status s = ipc(abi::Sys::ipc_call, cap::endpoint, m, abi::ipc_cap(abi::ipc_no_send, 20)); s != Status::ok)
        return fail("sender: second call", s);
    if (m.cap_arrived != 1 || m.w[0] != 3) return fail("sender: no endpoint in the reply", Status::not_found);
    m = {};
    m.w[0] = abi::no_cap;
    const Status s = ipc(abi::Sys::ipc_recv, 20, m);
    if (s != Status::connection_lost) return fail("sender: receive on a deleted endpoint did not answer connection_lost", s);
    print("test-pass: ipcq_sender woke with connection_lost");
    return 0;
}
#else  // the controller
extern "C" int main(std::uint64_t) {
    std::uint64_t badge[3];
    if (retype(cap::ram, captype::notification, 0, 40, 1) != Status::ok) return fail("retype notification", Status::no_memory);
    for (std::uint64_t i = 0; i < 3; ++i) {
        Message m{};
        m.w[0] = 20 + i;  // where the sender's domain cap lands
        if (const Status s = ipc(abi::Sys::ipc_recv, cap::endpoint, m); s != Status::ok) return fail("first receive", s);
        if (m.w[0] != 1 || m.cap_arrived != 1) return fail("first message", Status::malformed);
        badge[i] = m.badge;
        if (const Status s = cap_copy(40, 41 + i, 0xffff); s != Status::ok) return fail("copy notification", s);
        Message r{};
        if (const Status s = ipc(abi::Sys::ipc_reply, 0, r, 41 + i); s != Status::ok || r.cap_arrived != 1)
            return fail("first reply", s);
    }
    const auto all_blocked = [](std::uint64_t first, std::uint64_t n, std::uint64_t skip) {
        for (std::uint64_t t = 0; t < 10000; ++t) {
            bool all = true;
            for (std::uint64_t k = first; k < first + n; ++k)
                if (k != skip && state(domain_status(k)) != static_cast<std::uint32_t>(abi::DomainStatus::blocked)) all = false;
            if (all) return true;
            yield();
        }
        return false;
    };
    if (!all_blocked(20, 3, ~0ull)) return fail("the senders never all waited on the notification", Status::timeout);
    for (std::uint64_t i = 0; i < 3; ++i)  // each signal wakes the longest waiter
        if (const Status s = syscall6(abi::Sys::notify_signal, 40, 1).status; s != Status::ok) return fail("signal", s);
    if (!all_blocked(20, 3, ~0ull)) return fail("the senders never all queued", Status::timeout);
    // Kill one of the queued callers (the second to register; where it is in the queue depends
    // on the order the senders ran after the signals).
    const std::uint64_t victim = 21;
    if (const Status s = domain_kill(victim); s != Status::ok) return fail("kill a queued caller", s);
    if (retype(cap::ram, captype::endpoint, 0, 30, 1) != Status::ok) return fail("retype endpoint", Status::no_memory);
    std::uint64_t got[2];
    for (std::uint64_t k = 0; k < 2; ++k) {
        Message m{};
        m.w[0] = abi::no_cap;
        m.w[1] = abi::recv_poll;
        if (const Status s = ipc(abi::Sys::ipc_recv, cap::endpoint, m); s != Status::ok) return fail("queued caller lost", s);
        if (m.w[0] != 2) return fail("second message", Status::malformed);
        if (m.badge == badge[1]) return fail("delivered to the killed caller", Status::internal);
        got[k] = m.badge;
        if (const Status s = cap_copy(30, 31 + k, 0xffff); s != Status::ok) return fail("copy endpoint", s);
        Message r{};
        r.w[0] = 3;
        if (const Status s = ipc(abi::Sys::ipc_reply, 0, r, 31 + k); s != Status::ok || r.cap_arrived != 1)
            return fail("reply with the endpoint", s);
    }
    if (got[0] == got[1] || (got[0] != badge[0] && got[0] != badge[2]) || (got[1] != badge[0] && got[1] != badge[2]))
        return fail("the survivors did not each arrive once", Status::malformed);
    {
        Message m{};
        m.w[0] = abi::no_cap;
        m.w[1] = abi::recv_poll;
        if (const Status s = ipc(abi::Sys::ipc_recv, cap::endpoint, m); s != Status::would_block)
            return fail("the queue is not empty after the survivors", s);
    }
    if (!all_blocked(20, 3, victim)) return fail("the survivors never blocked on the new endpoint", Status::timeout);
    if (const Status s = cap_revoke(30); s != Status::ok) return fail("revoke the endpoint", s);
    if (const Status s = cap_delete(30); s != Status::ok) return fail("delete the endpoint", s);
    const std::uint64_t survivors[2] = {20, 22};
    for (std::uint64_t k : survivors) {
        std::uint64_t t = 0;
        while (state(domain_status(k)) != static_cast<std::uint32_t>(abi::DomainStatus::exited) && t++ < 10000) yield();
        const SysResult st = domain_status(k);
        if (state(st) != static_cast<std::uint32_t>(abi::DomainStatus::exited) || code(st) != 0)
            return fail("a survivor did not exit 0", Status::internal);
    }
    if (state(domain_status(victim)) != static_cast<std::uint32_t>(abi::DomainStatus::killed))
        return fail("the victim is not reported killed", Status::internal);
    print("test-pass: ipcq queue order, kill while queued and endpoint deletion ok");
    return 0;
}
#endif
