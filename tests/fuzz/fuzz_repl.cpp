// libFuzzer target for replication wire decoding and the replica's message handlers (the lines a
// hostile or buggy monitor could put on the mesh). The input picks a protocol, the group size and
// this replica's core, then is cut into records: a source core, a selector, and a 64-byte line.
// The selector can make a line plausible (replication type, full length, single fragment, this
// object, sender = channel core, cores in range) so the protocol state machines are reached;
// otherwise it stays raw. Client submissions are interleaved so pending ops, transactions and
// log positions exist. Nothing may crash or read out of bounds (ASan/UBSan), decode() must keep
// its promises, and every refusal must be counted exactly once in stats().rejected.
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/replica.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

using namespace myr;
using namespace myr::repl;

void require(bool ok) {
    if (!ok) std::abort();
}

class CountingTransport final : public Transport {
public:
    Status send(std::uint16_t dst, std::uint8_t type, const std::uint64_t (&)[urpc::payload_words]) override {
        require(is_packet_kind(type));
        ++sent;
        return dst < 64 ? Status::ok : Status::invalid_argument;
    }
    std::uint64_t sent = 0;
};

template <typename Obj>
void drive(const Group& group, std::uint16_t self, const std::uint8_t* data, std::size_t size,
           typename Obj::Op (*make)(std::uint64_t)) {
    static CountingTransport transport;
    static Replica<Obj> replica(group, self, transport);
    replica.~Replica<Obj>();
    new (&replica) Replica<Obj>(group, self, transport);
    const std::uint32_t n = group.cores();
    constexpr std::size_t record = 2 + 64;
    for (std::size_t off = 0; off + record <= size; off += record) {
        const std::uint8_t src = data[off] % (n + 1);  // n: an impossible channel
        const std::uint8_t sel = data[off + 1];
        urpc::Message m{};
        std::memcpy(&m.header.type, data + off + 2, 1);
        std::memcpy(&m.header.length, data + off + 3, 1);
        std::memcpy(&m.header.flags, data + off + 4, 1);
        std::memcpy(m.words, data + off + 2 + 8, sizeof m.words);
        if (sel & 1) {  // plausible
            // Every kind a replica takes: 0x40..0x4a, and the resync and takeover lines 0x4d..0x4f.
            constexpr unsigned kinds = (kind_last - kind_first + 1) + (seq_ready_kind - seq_resend_kind + 1);
            const unsigned k = m.header.type % kinds;
            m.header.type = static_cast<std::uint8_t>(k <= kind_last - kind_first ? kind_first + k
                                                                                 : seq_resend_kind + (k - (kind_last - kind_first + 1)));
            m.header.length = packet_length;
            m.header.flags = urpc::frag_single;
            Packet p = *decode(m);
            p.object = group.config().object;
            p.from = src;
            p.origin = static_cast<std::uint16_t>(p.origin % n);
            p.root = static_cast<std::uint16_t>(p.root % n);
            if (sel & 2) p.id = make_id(p.origin, p.id & 7);  // ids that may match real ones
            if (sel & 4) p.aux &= 7;
            if (sel & 8) {  // a valid op in the body
                const auto op = make(p.body[0]);
                to_words(op, p.body);
            }
            encode(p, m.words);
        }
        if ((sel & 0xe0) == 0xe0) {
            // The membership's calls: the sequencer stopped (a new one named), or another core.
            const std::uint64_t live[1] = {~std::uint64_t{0}};
            if (sel & 16) replica.sequencer_gone(static_cast<std::uint16_t>(m.words[2] % n), live);
            else replica.core_stopped(static_cast<std::uint16_t>(m.words[2] % n));
        }
        if (sel & 16) {
            (void)replica.submit(make(m.words[1]), off);
            Completion<Obj> c;
            while (replica.take_completion(c)) require(c.status == Status::ok || c.status == Status::busy);
        }
        const Result<Packet> d = decode(m);
        if (d.ok()) {
            require(is_packet_kind(m.header.type));
            require(m.header.length == packet_length && m.header.flags == urpc::frag_single);
            require(d->object == packet_object(m));
        }
        const std::uint64_t before = replica.stats().rejected;
        const Status s = replica.on_message(src, m);
        require(replica.stats().rejected == before + (s == Status::ok ? 0 : 1));
        require(replica.object().valid_state());
    }
}

KvMap::Op kv_op(std::uint64_t x) {
    const std::uint64_t k = 1 + (x >> 8) % 4;
    switch (x % 4) {
    case 0: return KvMap::get(k);
    case 1: return KvMap::put(k, x >> 16);
    case 2: return KvMap::add(k, 1);
    default: return KvMap::erase(k);
    }
}
Registry::Op registry_op(std::uint64_t x) {
    const char name[2] = {static_cast<char>('a' + (x >> 8) % 4), 0};
    const std::uint16_t core = static_cast<std::uint16_t>((x >> 16) % 4);
    switch (x % 3) {
    case 0: return Registry::lookup(name);
    case 1: return Registry::add(name, core, 7);
    default: return Registry::remove(name, core);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    static constexpr Protocol protocols[] = {Protocol::broadcast, Protocol::two_pc, Protocol::sequencer};
    static const std::uint16_t nodes_of[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    static const std::uint8_t distance[16] = {10, 20, 20, 20, 20, 10, 20, 20, 20, 20, 10, 20, 20, 20, 20, 10};
    GroupConfig cfg{};
    cfg.protocol = protocols[data[0] % 3];
    cfg.cores = 2 + data[1] % 7;  // 2..8
    cfg.nodes = 4;
    cfg.distance = distance;
    cfg.core_node = std::span<const std::uint16_t>(nodes_of, cfg.cores);
    cfg.object = 9;
    cfg.sequencer = static_cast<std::uint16_t>((data[2] >> 4) % cfg.cores);
    cfg.owner = cfg.sequencer;
    cfg.coordinator = data[2] & 1 ? Coordinator::owner : Coordinator::origin;
    cfg.reads = data[2] & 2 ? ReadMode::linearizable : ReadMode::local;
    cfg.fanout = data[2] & 4 ? Fanout::unicast : Fanout::tree;
    static Group group;
    require(group.build(cfg) == Status::ok);
    const std::uint16_t self = static_cast<std::uint16_t>(data[3] % cfg.cores);
    if (data[2] & 8) drive<KvMap>(group, self, data + 4, size - 4, kv_op);
    else drive<Registry>(group, self, data + 4, size - 4, registry_op);
    return 0;
}
