// procserv's pure parts (servers/procserv): the table of started programs and their ends, the
// rules of who may start and kill what, and the request handling over a fake set of monitors
// (the same Service the server runs), through the interface's strict dispatch.
#include <myr/procserv/interface.hpp>
#include <myr/procserv/service.hpp>
#include <myr/procserv/table.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace myr {
namespace {

using namespace procserv;

Program prog(const char* s) {
    Program p{};
    EXPECT_TRUE(p.assign_cstr(s));
    return p;
}

// Monitors of a 4-core machine: each core a list of (domain, program, server) in start order.
struct FakeMonitors {
    struct Dom {
        std::uint32_t domain;
        std::string program;
        bool server;
        bool alive = true;
    };
    std::vector<Dom> doms[4];
    std::uint32_t next_domain[4] = {10, 10, 10, 10};
    std::vector<Address> killed;
    unsigned list_calls = 0;

    std::uint32_t cores() const { return 4; }
    Address add(std::uint32_t core, const char* program, bool server = false) {
        const std::uint32_t d = next_domain[core]++;
        doms[core].push_back({d, program, server});
        return {core, d};
    }
    Status spawn(const Program& p, std::uint32_t core, const char* args, Address& out) {
        std::string name(reinterpret_cast<const char*>(p.data), p.size);
        if (name != "hello" && name != "worker" && name != "procserv" && name != "shell") return Status::not_found;
        if (std::strlen(args) > max_args) return Status::overflow;
        if (core == any_core) core = 3;
        if (core >= 4) return Status::out_of_range;
        out = add(core, name.c_str());
        return Status::ok;
    }
    Status kill(const Address& a) {
        if (a.core >= 4) return Status::invalid_argument;
        for (Dom& d : doms[a.core])
            if (d.alive && d.domain == a.domain) {
                if (d.program == "monitor") return Status::permission_denied;
                d.alive = false;
                killed.push_back(a);
                return Status::ok;
            }
        return Status::not_found;
    }
    Status list(std::uint32_t core, std::uint32_t index, std::uint32_t& domain, Program& name, bool& server) {
        ++list_calls;
        for (const Dom& d : doms[core]) {
            if (!d.alive || d.program == "monitor") continue;
            if (index-- == 0) {
                domain = d.domain;
                name = Program{};
                (void)name.assign(d.program.data(), d.program.size());
                server = d.server;
                return Status::ok;
            }
        }
        return Status::not_found;
    }
};

struct Fixture {
    FakeMonitors mon;
    Address self{}, shell{}, alice{}, bob{}, nameserv{};
    Policy policy{"shell", 5, "procserv"};
    Service<FakeMonitors> svc;
    Fixture() : self(mon.add(0, "procserv", true)), svc(mon, policy, self) {
        (void)mon.add(0, "monitor");
        nameserv = mon.add(0, "nameserv", true);
        shell = mon.add(1, "shell");
        alice = mon.add(2, "client");
        bob = mon.add(3, "client");
    }
    static rpc::Caller as(const Address& a, std::uint32_t conn) { return {a.core, a.domain, conn}; }
    Status start(const Address& who, std::uint32_t conn, const char* program, std::uint32_t core, Address& where,
                 const char* args = "") {
        Start r{};
        (void)r.program.assign(program, std::strlen(program));
        r.core = core;
        EXPECT_TRUE(r.args.assign(args, std::strlen(args)));
        StartReply out{};
        const Status s = svc.handle(as(who, conn), r, out);
        where = out.where;
        return s;
    }
    Status kill(const Address& who, std::uint32_t conn, const Address& target) {
        rpc::Empty e{};
        return svc.handle(as(who, conn), Kill{target}, e);
    }
};

TEST(ProcservList, NamesSeparatedByPlus) {
    EXPECT_TRUE(in_list("shell+ksh", 9, prog("ksh")));
    EXPECT_TRUE(in_list("shell+ksh", 9, prog("shell")));
    EXPECT_FALSE(in_list("shell+ksh", 9, prog("sh")));
    EXPECT_FALSE(in_list("shell+ksh", 9, prog("shell+ksh")));
    EXPECT_FALSE(in_list("", 0, prog("shell")));
    EXPECT_FALSE(in_list("shell++", 7, prog("x")));
}

TEST(ProcservTable, QuotaEvictionAndWait) {
    Table t;
    const Address owner{1, 5};
    for (std::uint32_t i = 0; i < Table::max_per_owner; ++i) {
        ASSERT_EQ(t.reserve(owner), Status::ok);
        ASSERT_EQ(t.add({2, 100 + i}, prog("worker"), owner), Status::ok);
    }
    EXPECT_EQ(t.reserve(owner), Status::busy);  // its quota
    WaitReply w{};
    EXPECT_EQ(t.wait({2, 100}, w), Status::would_block);
    EXPECT_TRUE(t.ended({2, 100}, static_cast<std::uint32_t>(abi::DomainStatus::exited), 42));
    EXPECT_FALSE(t.ended({2, 100}, static_cast<std::uint32_t>(abi::DomainStatus::killed), 1));  // once
    EXPECT_FALSE(t.ended({2, 999}, 2, 0));                                                       // not ours
    ASSERT_EQ(t.wait({2, 100}, w), Status::ok);
    EXPECT_EQ(w.how, static_cast<std::uint32_t>(abi::DomainStatus::exited));
    EXPECT_EQ(w.code, 42u);
    EXPECT_EQ(t.wait({2, 999}, w), Status::not_found);
    EXPECT_EQ(t.reserve(owner), Status::ok);  // one ended: room in the quota again
    EXPECT_EQ(t.add({2, 100}, prog("worker"), owner), Status::exists);

    // A full table forgets the oldest ended entry first, and refuses when all run.
    Table full;
    for (std::uint32_t i = 0; i < Table::capacity; ++i) {
        const Address o{0, i};  // a different owner each: no quota in the way
        ASSERT_EQ(full.reserve(o), Status::ok);
        ASSERT_EQ(full.add({1, i}, prog("hello"), o), Status::ok);
    }
    EXPECT_EQ(full.reserve({3, 3}), Status::busy);
    EXPECT_TRUE(full.ended({1, 7}, 2, 0));
    EXPECT_TRUE(full.ended({1, 3}, 2, 0));
    ASSERT_EQ(full.reserve({3, 3}), Status::ok);
    EXPECT_EQ(full.wait({1, 7}, w), Status::not_found);  // ended first: forgotten
    EXPECT_EQ(full.wait({1, 3}, w), Status::ok);
}

// The hostile cases first: an ordinary caller may kill only what it started through procserv.
TEST(ProcservKill, OrdinaryCallerKillsOnlyItsOwn) {
    Fixture f;
    Address mine{}, theirs{};
    ASSERT_EQ(f.start(f.alice, 0, "worker", 1, mine), Status::ok);
    ASSERT_EQ(f.start(f.bob, 1, "worker", 2, theirs), Status::ok);
    // Not procserv, not nameserv, not the monitor, not the shell, not another client's program,
    // not a domain that never existed, not itself: all one answer.
    for (const Address& t : {f.self, f.nameserv, Address{0, 11}, f.shell, f.bob, theirs, Address{2, 4000}, f.alice})
        EXPECT_EQ(f.kill(f.alice, 0, t), Status::permission_denied) << t.core << "/" << t.domain;
    EXPECT_TRUE(f.mon.killed.empty());
    EXPECT_EQ(f.kill(f.alice, 0, mine), Status::ok);
    ASSERT_EQ(f.mon.killed.size(), 1u);
    EXPECT_EQ(f.mon.killed[0], mine);
    EXPECT_EQ(f.kill(f.alice, 0, Address{9, 1}), Status::out_of_range);
    // Once its end is in the feed: not_found (already ended), and wait says how.
    EXPECT_TRUE(f.svc.death(mine, static_cast<std::uint32_t>(abi::DomainStatus::killed), 1));
    EXPECT_EQ(f.kill(f.alice, 0, mine), Status::not_found);
    WaitReply w{};
    EXPECT_EQ(f.svc.handle(Fixture::as(f.alice, 0), Wait{mine}, w), Status::ok);
    EXPECT_EQ(w.how, static_cast<std::uint32_t>(abi::DomainStatus::killed));
    EXPECT_EQ(f.svc.handle(Fixture::as(f.alice, 0), Wait{theirs}, w), Status::would_block);
}

TEST(ProcservKill, PrivilegedCallerKillsAnyButProcserv) {
    Fixture f;
    Address theirs{};
    ASSERT_EQ(f.start(f.bob, 1, "worker", 2, theirs), Status::ok);
    EXPECT_EQ(f.kill(f.shell, 2, f.self), Status::permission_denied);
    EXPECT_EQ(f.kill(f.shell, 2, f.shell), Status::permission_denied);
    EXPECT_EQ(f.kill(f.shell, 2, Address{0, 11}), Status::permission_denied);  // the monitor refuses
    EXPECT_EQ(f.kill(f.shell, 2, theirs), Status::ok);
    EXPECT_EQ(f.kill(f.shell, 2, f.nameserv), Status::ok);
    EXPECT_EQ(f.kill(f.shell, 2, Address{2, 4000}), Status::not_found);
}

TEST(ProcservKill, PrivilegeIsThePrograms) {
    // A caller whose program is not in the admin list stays ordinary whatever it asks; the
    // cached answer belongs to the connection's domain, not the connection slot.
    Fixture f;
    Address theirs{};
    ASSERT_EQ(f.start(f.bob, 1, "worker", 2, theirs), Status::ok);
    EXPECT_EQ(f.kill(f.shell, 3, f.nameserv), Status::ok);
    f.svc.closed(Fixture::as(f.shell, 3));
    EXPECT_EQ(f.kill(f.alice, 3, theirs), Status::permission_denied);  // alice on the shell's old slot
}

TEST(ProcservStart, PrivilegedProgramsOnlyForPrivilegedCallers) {
    Fixture f;
    Address where{};
    EXPECT_EQ(f.start(f.alice, 0, "procserv", 1, where), Status::permission_denied);
    EXPECT_EQ(f.start(f.alice, 0, "shell", 1, where), Status::permission_denied);
    EXPECT_EQ(f.start(f.shell, 1, "shell", 1, where), Status::ok);
}

TEST(ProcservStart, BadRequestsRefused) {
    Fixture f;
    Address where{};
    EXPECT_EQ(f.start(f.alice, 0, "nosuch", 1, where), Status::not_found);
    EXPECT_EQ(f.start(f.alice, 0, "hello", 4, where), Status::out_of_range);
    EXPECT_EQ(f.start(f.alice, 0, "", 1, where), Status::invalid_argument);
    EXPECT_EQ(f.start(f.alice, 0, "he llo", 1, where), Status::invalid_argument);
    const std::string long_args(max_args + 1, 'x');
    EXPECT_EQ(f.start(f.alice, 0, "hello", 1, where, long_args.c_str()), Status::overflow);
    const std::string max(max_args, 'x');
    EXPECT_EQ(f.start(f.alice, 0, "hello", 1, where, max.c_str()), Status::ok);
    Start zero{};
    (void)zero.program.assign_cstr("hello");
    zero.core = 1;
    (void)zero.args.assign("a\0b", 3);
    StartReply out{};
    EXPECT_EQ(f.svc.handle(Fixture::as(f.alice, 0), zero, out), Status::invalid_argument);
    EXPECT_EQ(f.start(f.alice, 0, "hello", any_core, where), Status::ok);
    EXPECT_EQ(where.core, 3u);
    // Quota: max_per_owner running, then busy.
    for (std::uint32_t i = 2; i < Table::max_per_owner; ++i) ASSERT_EQ(f.start(f.alice, 0, "hello", 1, where), Status::ok);
    EXPECT_EQ(f.start(f.alice, 0, "hello", 1, where), Status::busy);
    EXPECT_EQ(f.start(f.bob, 1, "hello", 1, where), Status::ok);
}

TEST(ProcservList, PagesOverEveryCore) {
    Fixture f;
    Address mine{};
    ASSERT_EQ(f.start(f.alice, 0, "worker", 1, mine), Status::ok);
    std::vector<Proc> all;
    List r{0, 0};
    for (int pages = 0; pages < 20; ++pages) {
        ListReply out{};
        ASSERT_EQ(f.svc.handle(Fixture::as(f.alice, 0), r, out), Status::ok);
        EXPECT_EQ(out.cores, 4u);
        for (std::uint16_t i = 0; i < out.entries.count; ++i) all.push_back(out.entries.items[i]);
        if (out.next_core >= out.cores) break;
        r = List{out.next_core, out.next_index};
    }
    // procserv, nameserv (core 0), shell + worker (1), alice (2), bob (3); never the monitor.
    ASSERT_EQ(all.size(), 6u);
    unsigned servers = 0, ours = 0;
    for (const Proc& p : all) {
        servers += p.server;
        if (p.procserv) {
            ++ours;
            EXPECT_EQ(p.at, mine);
            EXPECT_EQ(p.owner, f.alice);
            EXPECT_TRUE(p.program.equals_cstr("worker"));
        }
        EXPECT_FALSE(p.program.equals_cstr("monitor"));
    }
    EXPECT_EQ(servers, 2u);
    EXPECT_EQ(ours, 1u);
    ListReply out{};
    EXPECT_EQ(f.svc.handle(Fixture::as(f.alice, 0), List{5, 0}, out), Status::out_of_range);
    EXPECT_EQ(f.svc.handle(Fixture::as(f.alice, 0), List{4, 0}, out), Status::ok);  // the end
    EXPECT_EQ(out.entries.count, 0u);
}

TEST(ProcservDispatch, BadFramesAnswered) {
    Fixture f;
    std::uint8_t out[rpc::max_frame];
    std::size_t len = 0;
    auto status_of = [&](std::span<const std::uint8_t> frame) {
        EXPECT_EQ(rpc::dispatch(Interface{}, f.svc, Fixture::as(f.alice, 0), frame, out, len), Status::ok);
        rpc::FrameHeader h{};
        std::span<const std::uint8_t> body;
        EXPECT_EQ(rpc::split_frame(std::span<const std::uint8_t>(out, len), h, body), Status::ok);
        return static_cast<Status>(h.status);
    };
    // Unknown operation, truncated body, args longer than the wire allows: bad_request.
    const std::uint8_t unknown[] = {1, 0, 0, 0, 99, 0, 0, 0};
    EXPECT_EQ(status_of(unknown), Status::bad_request);
    const std::uint8_t truncated[] = {2, 0, 0, 0, 1, 0, 0, 0, 5, 0, 'h', 'e'};
    EXPECT_EQ(status_of(truncated), Status::bad_request);
    std::uint8_t big[rpc::max_frame];
    std::size_t n = 0;
    Start s{};
    (void)s.program.assign_cstr("hello");
    s.core = 1;
    ASSERT_EQ(rpc::encode_frame(rpc::FrameHeader{3, Start::op, 0}, &s, big, n), Status::ok);
    big[n - 2] = 200;  // args length 200 > wire_args
    EXPECT_EQ(status_of(std::span<const std::uint8_t>(big, n)), Status::bad_request);
    big[n - 2] = 0;
    EXPECT_EQ(status_of(std::span<const std::uint8_t>(big, n)), Status::ok);
}

} // namespace
} // namespace myr
