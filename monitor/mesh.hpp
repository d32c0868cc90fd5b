#pragma once
// The monitors' message layer: the URPC mesh of inboxes, the ordered outbox every line leaves
// through, the channel graph (full mesh, or relays through node leaders) and broadcasts down the
// topology-aware multicast tree. Message meaning lives in monitor.cpp (handle), binding in
// binding.cpp, replication in replication.cpp. Wire format of the lines: protocol.hpp.
#include <myr/abi/syscall.hpp>
#include <myr/urpc/multicast.hpp>
#include <myr/urpc/receiver.hpp>
#include <myr/urpc/sender.hpp>

#include <cstdint>
#include <span>

namespace myr::monitor {

inline constexpr std::uint64_t kernel_cap = 5;  // cnode slots a monitor starts with (abi/syscall.hpp)
inline constexpr std::uint64_t ipi_cap = 6;
inline constexpr std::uint32_t max_cores = 256;

struct Mesh {
    std::uint64_t core, cores, base, stride, chan, node;
    std::span<std::byte> channel(std::uint64_t receiver, std::uint64_t sender) const {
        return {reinterpret_cast<std::byte*>(base + receiver * stride + sender * chan), chan};
    }
};

extern Mesh mesh;
extern abi::TopologyInfo topo;
extern bool tree_broadcast;  // broadcasts down the multicast tree (else one line per core)
extern bool graph_nodes;     // monitor.graph=nodes: relay through node leaders
extern urpc::Receiver rx[max_cores];
extern urpc::Sender tx[max_cores];  // attached once the receiver formatted its inbox (bench rounds use them directly)
// Attaches tx[to] if it is not yet (lines go to a core only when the graph needs them, so a
// channel nobody used is not attached); false while `to` has not formatted its inbox.
[[nodiscard]] bool tx_attach(std::uint64_t to);
// Counters: messages sent (by type), received, malformed; lines put on rings, lines relayed.
extern std::uint64_t sent, received, malformed, lines_sent, lines_forwarded;
extern std::uint64_t sent_by_type[32];

// Formats this core's inbox (one channel per sender) and settles the topology and the graph.
// Returns false when the inbox cannot be formatted.
[[nodiscard]] bool mesh_init(const Mesh& m, bool topo_ok, bool unicast_broadcast, bool node_graph);

// A message to `to` (words 0..6), through the outbox and the graph; never blocks on a full ring.
void send(std::uint64_t to, std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
          std::uint64_t w3 = 0, std::uint64_t w4 = 0, std::uint64_t w5 = 0, std::uint64_t w6 = 0);
// The same for a line whose words are ready; false (nothing sent) while the outbox is nearly full.
[[nodiscard]] bool try_send_words(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]);
// To every other monitor (words 0..3; word 6 carries the tree mark and origin).
void broadcast(std::uint8_t type, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0, std::uint64_t w3 = 0);
// The multicast tree rooted at `origin` (null without a topology).
const urpc::MulticastTree* tree_of(std::uint64_t origin);

// Core membership (membership.cpp): a core removed from the membership gets no more lines (what
// waits for it in the outbox goes, later sends to it are dropped and counted) and broadcasts pass
// it over: a monitor forwards to a removed child's children instead.
void mesh_exclude(std::uint64_t core);
// Straight to `to` even when it was removed (a membership view that removes it again must reach
// it: monitor/liveness.cpp).
void send_past_cut(std::uint64_t to, std::uint8_t type, const std::uint64_t (&words)[urpc::payload_words]);
[[nodiscard]] bool mesh_alive(std::uint64_t core);

// The cores a round still waits for: one answer each. A core the membership removes meanwhile is
// waited for no more (its answer never comes), so a round ends whenever a core stops.
struct Awaited {
    std::uint64_t bits[max_cores / 64];
    void reset() {
        for (std::uint64_t& b : bits) b = 0;
    }
    void ask(std::uint64_t c) { bits[c / 64] |= std::uint64_t{1} << (c % 64); }
    // Whether `c` is awaited.
    [[nodiscard]] bool has(std::uint64_t c) const { return c < max_cores && (bits[c / 64] >> (c % 64) & 1u); }
    // Whether `c` was awaited (and now is not).
    bool got(std::uint64_t c) {
        if (!has(c)) return false;
        bits[c / 64] &= ~(std::uint64_t{1} << (c % 64));
        return true;
    }
    [[nodiscard]] bool done() const {
        for (std::uint64_t c = 0; c < mesh.cores; ++c)
            if (has(c) && mesh_alive(c)) return false;
        return true;
    }
};
// Cores in the membership, this one included.
[[nodiscard]] std::uint64_t mesh_live();
extern std::uint64_t lines_dropped;  // sent to removed cores

// Lines waiting in the outbox.
[[nodiscard]] std::uint32_t queued();
// Sends what the outbox holds; true when any line went.
bool flush();
// Until the outbox is empty (before a bench round that uses tx/rx directly).
void drain_outbox();
// flush(), then drains every inbox channel of the graph once, relaying and forwarding as needed
// and handing each message for us to handle(); true when anything moved.
bool poll_mesh();
// Channels of the graph in use (ordered pairs).
[[nodiscard]] std::uint64_t graph_channels();

// monitor.cpp: one message for this monitor, after routing and tree forwarding; `from` is its
// origin.
void handle(std::uint64_t from, const urpc::Message& m);

} // namespace myr::monitor
