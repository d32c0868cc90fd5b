#pragma once
// Protocol nodes spread over host threads, as the hosted runs of the monitors' protocols use them
// (cap_run.hpp, ring_run.hpp): node k runs on thread k % threads (thread t pinned to host core t),
// so a 2-core machine still runs a protocol of four nodes with two threads truly at once; and a
// URPC channel for every ordered pair of nodes, in the receiving node's thread's memory. Host only.
#include <myr/hosted/runtime.hpp>
#include <myr/urpc/urpc.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

namespace myr::monitor::hosted {

class NodeMesh {
public:
    // n nodes over at most as many threads as the host has cores. False when a channel cannot be made.
    [[nodiscard]] bool make(myr::hosted::Runtime& rt, std::uint32_t n) {
        m_nodes = n;
        m_threads = static_cast<std::uint32_t>(std::min<std::size_t>(n, rt.cores().size()));
        if (n == 0 || m_threads == 0) return false;
        m_chan.assign(std::size_t{n} * n, nullptr);
        for (std::uint32_t f = 0; f < n; ++f)
            for (std::uint32_t t = 0; t < n; ++t) {
                if (f == t) continue;
                auto c = rt.channel(f % m_threads, t % m_threads, urpc::ChannelConfig{64, urpc::Wake::poll});
                if (!c.ok()) return false;
                m_chan[std::size_t{f} * n + t] = std::make_shared<myr::hosted::ChannelMemory>(std::move(*c));
            }
        return true;
    }
    [[nodiscard]] std::uint32_t nodes() const { return m_nodes; }
    [[nodiscard]] std::uint32_t threads() const { return m_threads; }
    // The host cores the threads run on (for Runtime::run): 0 .. threads-1.
    [[nodiscard]] std::vector<std::uint32_t> cores() const {
        std::vector<std::uint32_t> c(m_threads);
        for (std::uint32_t t = 0; t < m_threads; ++t) c[t] = t;
        return c;
    }
    // Node k's ends: to[o] sends to node o, from[o] receives from it (k's own entries stay empty).
    // False when one does not attach.
    [[nodiscard]] bool attach(std::uint32_t k, std::vector<urpc::Sender>& to, std::vector<urpc::Receiver>& from) const {
        to.assign(m_nodes, urpc::Sender{});
        from.assign(m_nodes, urpc::Receiver{});
        for (std::uint32_t o = 0; o < m_nodes; ++o) {
            if (o == k) continue;
            auto tx = urpc::Sender::attach(m_chan[std::size_t{k} * m_nodes + o]->bytes());
            auto rx = urpc::Receiver::attach(m_chan[std::size_t{o} * m_nodes + k]->bytes());
            if (!tx.ok() || !rx.ok()) return false;
            to[o] = *tx;
            from[o] = *rx;
        }
        return true;
    }

private:
    std::uint32_t m_nodes = 0, m_threads = 0;
    std::vector<std::shared_ptr<myr::hosted::ChannelMemory>> m_chan;  // [from * nodes + to]
};

} // namespace myr::monitor::hosted
