#pragma once
// The nameserv unit tests' shared pieces (nameserv_test.cpp, nameserv_restart_test.cpp): names,
// owners, and a replica group wired as nameserv wires it.
#include <myr/nameserv/interface.hpp>
#include <myr/nameserv/table.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

namespace myr {
namespace {

using namespace nameserv;

Name nm(const char* s) {
    Name n{};
    EXPECT_TRUE(n.assign_cstr(s));
    return n;
}

constexpr Address a1{1, 10}, a2{2, 20}, a3{1, 11};

// K replicas wired as nameserv wires them: replica 0 with the hub, every other with an uplink;
// `exchange(i)` is one call from replica i, through the request/reply structs and the codec.
struct Cluster {
    unsigned k;
    GroupSetup setup;
    HubTransport hub;
    std::vector<std::unique_ptr<Uplink>> up;
    std::vector<std::unique_ptr<NameReplica>> r;
    std::uint64_t token = 0;
    std::vector<Address> dead_checked;

    explicit Cluster(unsigned replicas) : k(replicas) {
        EXPECT_EQ(setup.build(k), Status::ok);
        hub.count = k;
        up.resize(k);
        r.emplace_back(std::make_unique<NameReplica>(setup.group, 0, hub));
        for (unsigned i = 1; i < k; ++i) {
            up[i] = std::make_unique<Uplink>();
            r.emplace_back(std::make_unique<NameReplica>(setup.group, static_cast<std::uint16_t>(i), up[i]->transport));
        }
    }
    template <typename T>
    static T wire(const T& v) {  // through the codec, as RPC carries it
        std::uint8_t buf[rpc::max_frame];
        std::size_t len = 0;
        EXPECT_EQ(rpc::encode(v, buf, len), Status::ok);
        T back{};
        EXPECT_EQ(rpc::decode(std::span<const std::uint8_t>(buf, len), back), Status::ok);
        return back;
    }
    // One exchange from replica i; the reply is lost when lose_reply.
    Status exchange(unsigned i, bool lose_reply = false) {
        Exchange req{};
        up[i]->request(req, *r[i]);
        ExchangeReply reply{};
        const Status s = serve_exchange(*r[0], hub, static_cast<std::uint16_t>(i), wire(req), reply,
                                        [&](const Line&) {});
        if (s != Status::ok || lose_reply) return s;
        return up[i]->take(*r[i], wire(reply));
    }
    // A change at replica i, completed as nameserv does: exchange until the completion comes.
    Table::Result change(unsigned i, const Table::Op& op, std::mt19937_64* lossy = nullptr) {
        const std::uint64_t t = ++token;
        EXPECT_EQ(r[i]->submit(op, t), Status::ok);
        for (unsigned round = 0; round < 100; ++round) {
            repl::Completion<Table> c{};
            while (r[i]->take_completion(c))
                if (c.token == t) return c.result;
            if (i == 0) break;
            EXPECT_EQ(exchange(i, lossy != nullptr && (*lossy)() % 3 == 0), Status::ok);
        }
        ADD_FAILURE() << "no completion";
        return {};
    }
    // Replica i's successor, new and empty, joins replica 0 (after its crash or move, or after a
    // new replica 0 started).
    void rejoin(unsigned i) {
        up[i] = std::make_unique<Uplink>();
        r[i] = std::make_unique<NameReplica>(setup.group, static_cast<std::uint16_t>(i), up[i]->transport);
        std::vector<std::byte> snap(repl::snapshot_bytes<Table>());
        const Result<std::size_t> n = start_join(*r[0], hub, static_cast<std::uint16_t>(i), snap);
        ASSERT_TRUE(n.ok());
        snap.resize(*n);
        ASSERT_EQ(finish_join(*r[i], *up[i], snap), Status::ok);
    }
    void drain() {
        for (unsigned i = 1; i < k; ++i)
            for (unsigned round = 0; round < 200 && !(up[i]->caught_up && hub.peers[i].out.unacked() == 0); ++round)
                ASSERT_EQ(exchange(i), Status::ok);
    }
};

// Changes from every replica's clients, with a third of the replies lost, in random order: every
// replica ends with replica 0's table (digests compared at equal log indexes along the way
// too), every add race has one winner everywhere, and a change's origin reads it at once.

} // namespace
} // namespace myr
