#include "mechanisms.hpp"

#include <myr/hosted/futex.hpp>
#include <myr/urpc/urpc.hpp>

#include <boost/lockfree/spsc_queue.hpp>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

namespace myr::bench {

namespace {

constexpr std::uint32_t ring_slots = 64;

// ---- myriad ------------------------------------------------------------------------------

struct MyriadEnd {
    urpc::Sender tx;
    urpc::Receiver rx;
    bool pause;
    std::uint64_t w[urpc::payload_words] = {};
    urpc::Message m{};

    void send(std::uint64_t v) {
        w[0] = v;
        while (tx.try_send(1, w) != Status::ok)
            if (pause) urpc::cpu_relax();
    }
    std::uint64_t take() {
        while (rx.try_recv(m) != Status::ok)
            if (pause) urpc::cpu_relax();
        return m.words[0];
    }
    void round_trip(std::uint64_t i) {
        send(i);
        check(take() == i);
    }
    void echo() { send(take()); }
    void recv(std::uint64_t i) { check(take() == i); }
};


// ---- myriad_block: doorbell + futex, receiver never spins --------------------------------

struct BlockingEnd {
    urpc::Sender tx;
    urpc::Receiver rx;
    std::uint64_t spin_ns;
    urpc::PollBlockStats stats{};
    std::uint64_t w[urpc::payload_words] = {};
    urpc::Message m{};

    void send(std::uint64_t v) {
        w[0] = v;
        while (tx.try_send(1, w) != Status::ok) urpc::cpu_relax();
    }
    std::uint64_t take() {
        while (urpc::recv_poll_then_block(rx, m, spin_ns, hosted::now_ns, hosted::futex_block,
                                          &stats) != Status::ok) {
        }
        return m.words[0];
    }
    void round_trip(std::uint64_t i) {
        send(i);
        check(take() == i);
    }
    void echo() { send(take()); }
    void recv(std::uint64_t i) { check(take() == i); }
};


// ---- cacheline: the physical limit --------------------------------------------------------

struct alignas(64) SharedLine {
    std::atomic<std::uint64_t> value{0};  // ping-pong: odd = request i, even = reply
    std::atomic<std::uint64_t> acked{0};  // stream: one-slot hand-off acknowledgement
};

struct LineClient {
    SharedLine* line;
    bool pause;
    void round_trip(std::uint64_t i) {
        line->value.store(2 * i + 1, std::memory_order_release);
        while (line->value.load(std::memory_order_acquire) != 2 * i + 2)
            if (pause) urpc::cpu_relax();
    }
};

struct LineServer {
    SharedLine* line;
    bool pause;
    std::uint64_t k = 0;
    void echo() {
        while (line->value.load(std::memory_order_acquire) != 2 * k + 1)
            if (pause) urpc::cpu_relax();
        line->value.store(2 * k + 2, std::memory_order_release);
        ++k;
    }
};

// Stream on one line: the producer may publish i+1 only once the consumer acknowledged i.
struct LineProducer {
    SharedLine* line;
    bool pause;
    void send(std::uint64_t i) {
        while (line->acked.load(std::memory_order_acquire) != i)
            if (pause) urpc::cpu_relax();
        line->value.store(i + 1, std::memory_order_release);
    }
};

struct LineConsumer {
    SharedLine* line;
    bool pause;
    void recv(std::uint64_t i) {
        while (line->value.load(std::memory_order_acquire) != i + 1)
            if (pause) urpc::cpu_relax();
        line->acked.store(i + 1, std::memory_order_release);
    }
};


// ---- boost::lockfree::spsc_queue ----------------------------------------------------------

struct alignas(64) Line64 {
    std::uint64_t w[8];
};
static_assert(sizeof(Line64) == 64);
using BoostQueue = boost::lockfree::spsc_queue<Line64, boost::lockfree::capacity<ring_slots>>;

struct BoostEnd {
    BoostQueue* out;
    BoostQueue* in;
    bool pause;
    Line64 line{};
    void send(std::uint64_t v) {
        line.w[0] = v;
        while (!out->push(line))
            if (pause) urpc::cpu_relax();
    }
    std::uint64_t take() {
        Line64 got;
        while (!in->pop(got))
            if (pause) urpc::cpu_relax();
        return got.w[0];
    }
    void round_trip(std::uint64_t i) {
        send(i);
        check(take() == i);
    }
    void echo() { send(take()); }
    void recv(std::uint64_t i) { check(take() == i); }
};


// ---- pipe and eventfd ---------------------------------------------------------------------

void write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t k = ::write(fd, p, n);
        if (k <= 0) {
            check(false);
            return;
        }
        p += k;
        n -= static_cast<std::size_t>(k);
    }
}

void read_all(int fd, void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
        const ssize_t k = ::read(fd, p, n);
        if (k <= 0) {
            check(false);
            return;
        }
        p += k;
        n -= static_cast<std::size_t>(k);
    }
}

struct PipeEnd {
    int out;
    int in;
    Line64 line{};
    void send(std::uint64_t v) {
        line.w[0] = v;
        write_all(out, &line, sizeof line);
    }
    std::uint64_t take() {
        read_all(in, &line, sizeof line);
        return line.w[0];
    }
    void round_trip(std::uint64_t i) {
        send(i);
        check(take() == i);
    }
    void echo() { send(take()); }
    void recv(std::uint64_t i) { check(take() == i); }
};

struct Fds {
    int fd[4] = {-1, -1, -1, -1};
    Fds(const Fds&) = delete;
    Fds& operator=(const Fds&) = delete;
    Fds() = default;
    ~Fds() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
};


// eventfd carries no payload: an 8-byte counter (the notification cost alone). Semaphore mode
// so that each read consumes exactly one message in the stream.
struct EventEnd {
    int out;
    int in;
    void send(std::uint64_t) {
        const std::uint64_t one = 1;
        write_all(out, &one, sizeof one);
    }
    void take() {
        std::uint64_t v = 0;
        read_all(in, &v, sizeof v);
        check(v == 1);
    }
    void round_trip(std::uint64_t i) {
        send(i);
        take();
    }
    void echo() {
        take();
        send(0);
    }
    void recv(std::uint64_t) { take(); }
};
// ---- the mechanisms as interleavable objects ---------------------------------------------
// Each round gets fresh channel state (formatted again, new queues), so endpoints never attach
// mid-stream; threads are started per round, which also re-synchronises both sides.

class Mechanism {
public:
    Mechanism(const char* name, bool slow) : m_name(name), m_slow(slow) {}
    Mechanism(const Mechanism&) = delete;
    Mechanism& operator=(const Mechanism&) = delete;
    virtual ~Mechanism() = default;
    [[nodiscard]] const char* name() const { return m_name; }
    [[nodiscard]] bool slow() const { return m_slow; }  // system calls: shorter streams, warm-ups
    virtual bool rtt(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t n,
                     std::uint64_t warmup, std::uint32_t* cycles) = 0;
    virtual std::uint64_t stream_ns(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst,
                                    std::uint64_t n) = 0;

private:
    const char* m_name;
    bool m_slow;
};

class MyriadMech final : public Mechanism {
    // (helpers first: their deduced return types must be known where they are used)
    auto poll_end(hosted::ChannelMemory& out, hosted::ChannelMemory& in) {
        return [&out, &in, pause = m_pause] {
            return MyriadEnd{*urpc::Sender::attach(out.bytes()), *urpc::Receiver::attach(in.bytes()), pause};
        };
    }
    static auto block_end(hosted::ChannelMemory& out, hosted::ChannelMemory& in) {
        return [&out, &in] {
            return BlockingEnd{*urpc::Sender::attach(out.bytes(), hosted::futex_wake_hook()),
                               *urpc::Receiver::attach(in.bytes()), 0};
        };
    }


public:
    MyriadMech(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, bool pause, urpc::Wake wake)
        : Mechanism(wake == urpc::Wake::poll ? "myriad" : "myriad_block", wake != urpc::Wake::poll),
          m_pause(pause), m_cfg{ring_slots, wake},
          m_ab(rt.channel(src, dst, m_cfg)), m_ba(rt.channel(dst, src, m_cfg)) {}

    bool rtt(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t n,
             std::uint64_t warmup, std::uint32_t* cycles) override {
        if (!reset()) return false;
        if (m_cfg.wake == urpc::Wake::poll)
            return ping_pong(rt, src, dst, n, warmup, cycles, poll_end(*m_ab, *m_ba), poll_end(*m_ba, *m_ab));
        return ping_pong(rt, src, dst, n, warmup, cycles, block_end(*m_ab, *m_ba), block_end(*m_ba, *m_ab));
    }
    std::uint64_t stream_ns(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst,
                            std::uint64_t n) override {
        if (!reset()) return 0;
        if (m_cfg.wake == urpc::Wake::poll)
            return stream(rt, src, dst, n, poll_end(*m_ab, *m_ba), poll_end(*m_ba, *m_ab));
        return stream(rt, src, dst, n, block_end(*m_ab, *m_ba), block_end(*m_ba, *m_ab));
    }

private:
    bool reset() {
        return m_ab.ok() && m_ba.ok() && urpc::format_channel(m_ab->bytes(), m_cfg) == Status::ok &&
               urpc::format_channel(m_ba->bytes(), m_cfg) == Status::ok;
    }
    bool m_pause;
    urpc::ChannelConfig m_cfg;
    Result<hosted::ChannelMemory> m_ab;
    Result<hosted::ChannelMemory> m_ba;
};

class CachelineMech final : public Mechanism {
public:
    CachelineMech(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, bool pause)
        : Mechanism("cacheline", false), m_pause(pause),
          m_mem(rt.channel(src, dst, urpc::ChannelConfig{2, urpc::Wake::poll})) {}

    bool rtt(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t n,
             std::uint64_t warmup, std::uint32_t* cycles) override {
        SharedLine* line = reset();
        if (line == nullptr) return false;
        return ping_pong(rt, src, dst, n, warmup, cycles, [&] { return LineClient{line, m_pause}; },
                         [&] { return LineServer{line, m_pause, 0}; });
    }
    std::uint64_t stream_ns(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst,
                            std::uint64_t n) override {
        SharedLine* line = reset();
        if (line == nullptr) return 0;
        return stream(rt, src, dst, n, [&] { return LineProducer{line, m_pause}; },
                      [&] { return LineConsumer{line, m_pause}; });
    }

private:
    SharedLine* reset() { return m_mem.ok() ? new (m_mem->bytes().data()) SharedLine{} : nullptr; }
    bool m_pause;
    Result<hosted::ChannelMemory> m_mem;  // receiver-placed like our rings
};

class BoostMech final : public Mechanism {
    auto end(BoostQueue* out, BoostQueue* in) {
        return [out, in, pause = m_pause] { return BoostEnd{out, in, pause}; };
    }

public:
    explicit BoostMech(bool pause) : Mechanism("boost_spsc", false), m_pause(pause) {}
    bool rtt(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t n,
             std::uint64_t warmup, std::uint32_t* cycles) override {
        reset();
        return ping_pong(rt, src, dst, n, warmup, cycles, end(m_ab.get(), m_ba.get()),
                         end(m_ba.get(), m_ab.get()));
    }
    std::uint64_t stream_ns(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst,
                            std::uint64_t n) override {
        reset();
        return stream(rt, src, dst, n, end(m_ab.get(), m_ba.get()), end(m_ba.get(), m_ab.get()));
    }

private:
    void reset() {
        m_ab = std::make_unique<BoostQueue>();
        m_ba = std::make_unique<BoostQueue>();
    }
    bool m_pause;
    std::unique_ptr<BoostQueue> m_ab;
    std::unique_ptr<BoostQueue> m_ba;
};

class PipeMech final : public Mechanism {
public:
    PipeMech() : Mechanism("pipe", true) {}
    bool rtt(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t n,
             std::uint64_t warmup, std::uint32_t* cycles) override {
        Fds fds;
        if (::pipe(fds.fd) != 0 || ::pipe(fds.fd + 2) != 0) return false;
        return ping_pong(rt, src, dst, n, warmup, cycles, [&] { return PipeEnd{fds.fd[1], fds.fd[2]}; },
                         [&] { return PipeEnd{fds.fd[3], fds.fd[0]}; });
    }
    std::uint64_t stream_ns(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst,
                            std::uint64_t n) override {
        Fds fds;
        if (::pipe(fds.fd) != 0 || ::pipe(fds.fd + 2) != 0) return 0;
        return stream(rt, src, dst, n, [&] { return PipeEnd{fds.fd[1], fds.fd[2]}; },
                      [&] { return PipeEnd{fds.fd[3], fds.fd[0]}; });
    }
};

class EventfdMech final : public Mechanism {
public:
    EventfdMech() : Mechanism("eventfd", true) {}
    bool rtt(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst, std::uint64_t n,
             std::uint64_t warmup, std::uint32_t* cycles) override {
        Fds fds;
        if (!open(fds)) return false;
        return ping_pong(rt, src, dst, n, warmup, cycles, [&] { return EventEnd{fds.fd[0], fds.fd[1]}; },
                         [&] { return EventEnd{fds.fd[1], fds.fd[0]}; });
    }
    std::uint64_t stream_ns(hosted::Runtime& rt, std::uint32_t src, std::uint32_t dst,
                            std::uint64_t n) override {
        Fds fds;
        if (!open(fds)) return 0;
        return stream(rt, src, dst, n, [&] { return EventEnd{fds.fd[0], fds.fd[1]}; },
                      [&] { return EventEnd{fds.fd[1], fds.fd[0]}; });
    }

private:
    static bool open(Fds& fds) {
        fds.fd[0] = ::eventfd(0, EFD_SEMAPHORE);
        fds.fd[1] = ::eventfd(0, EFD_SEMAPHORE);
        return fds.fd[0] >= 0 && fds.fd[1] >= 0;
    }
};

bool wanted(const std::vector<std::string>& only, const char* name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
}

} // namespace

std::vector<Figures> measure_pair(hosted::Runtime& rt, const hosted::Tsc& tsc, std::uint32_t src,
                                  std::uint32_t dst, const Settings& st, PollPolicy poll,
                                  const std::vector<std::string>& only) {
    std::vector<std::unique_ptr<Mechanism>> mechs;
    if (wanted(only, "myriad"))
        mechs.push_back(std::make_unique<MyriadMech>(rt, src, dst, poll.pause, urpc::Wake::poll));
    if (wanted(only, "cacheline")) mechs.push_back(std::make_unique<CachelineMech>(rt, src, dst, poll.pause));
    if (wanted(only, "boost_spsc")) mechs.push_back(std::make_unique<BoostMech>(poll.pause));
    if (wanted(only, "pipe")) mechs.push_back(std::make_unique<PipeMech>());
    if (wanted(only, "eventfd")) mechs.push_back(std::make_unique<EventfdMech>());
    if (wanted(only, "myriad_block"))
        mechs.push_back(std::make_unique<MyriadMech>(rt, src, dst, poll.pause, urpc::Wake::doorbell));

    // Interleaved rounds: on a shared, noisy machine every mechanism sees the same mix of
    // conditions, so the ratios between them stay meaningful even when absolute figures drift.
    const std::uint64_t rounds = std::max<std::uint64_t>(1, st.rounds);
    const std::uint64_t per_round = (st.round_trips + rounds - 1) / rounds;
    std::vector<std::vector<std::uint32_t>> cycles(mechs.size(),
                                                   std::vector<std::uint32_t>(per_round * rounds));
    std::vector<std::uint64_t> stream_ns(mechs.size(), 0);
    std::vector<std::uint64_t> stream_msgs(mechs.size(), 0);
    for (std::uint64_t r = 0; r < rounds; ++r) {
        for (std::size_t m = 0; m < mechs.size(); ++m) {
            Mechanism& mech = *mechs[m];
            const std::uint64_t warmup = mech.slow() ? st.warmup / 10 : st.warmup;
            if (!mech.rtt(rt, src, dst, per_round, warmup, cycles[m].data() + r * per_round))
                check(false);
            const std::uint64_t n = (mech.slow() ? st.stream_slow : st.stream_fast) / rounds;
            stream_ns[m] += mech.stream_ns(rt, src, dst, n);
            stream_msgs[m] += n;
        }
    }
    std::vector<Figures> out;
    for (std::size_t m = 0; m < mechs.size(); ++m) {
        Figures f{mechs[m]->name(), latency_of(cycles[m], tsc), 0};
        if (stream_ns[m] > 0)
            f.msgs_per_s = static_cast<double>(stream_msgs[m]) * 1e9 / static_cast<double>(stream_ns[m]);
        out.push_back(f);
    }
    return out;
}

PolicyPoint measure_policy(hosted::Runtime& rt, const hosted::Tsc& tsc, std::uint32_t src,
                           std::uint32_t dst, std::uint64_t round_trips, std::uint64_t gap_ns,
                           std::uint64_t spin_ns) {
    const urpc::ChannelConfig cfg{ring_slots, urpc::Wake::doorbell};
    auto ab = rt.channel(src, dst, cfg);
    auto ba = rt.channel(dst, src, cfg);
    PolicyPoint p{gap_ns, spin_ns, {}, 0};
    if (!ab.ok() || !ba.ok()) return p;
    urpc::PollBlockStats server_stats;
    // The client thinks for gap_ns (busy, so it stays on its core) before each request; the
    // client itself spins for its reply, so only the server's policy varies.
    struct Client {
        BlockingEnd end;
        std::uint64_t gap;
        void round_trip(std::uint64_t i) {
            const std::uint64_t until = hosted::now_ns() + gap;
            while (hosted::now_ns() < until) urpc::cpu_relax();
            end.send(i);
            check(end.take() == i);
        }
    };
    struct Server {
        BlockingEnd end;
        urpc::PollBlockStats* out;
        void echo() {
            end.send(end.take());
            *out = end.stats;
        }
    };
    const std::uint64_t never_block = ~0ULL >> 2;
    std::vector<std::uint32_t> cycles(round_trips);
    const bool ran = ping_pong(
        rt, src, dst, round_trips, 100, cycles.data(),
        [&] {
            return Client{BlockingEnd{*urpc::Sender::attach(ab->bytes(), hosted::futex_wake_hook()),
                                      *urpc::Receiver::attach(ba->bytes()), never_block},
                          gap_ns};
        },
        [&] {
            return Server{BlockingEnd{*urpc::Sender::attach(ba->bytes(), hosted::futex_wake_hook()),
                                      *urpc::Receiver::attach(ab->bytes()), spin_ns},
                          &server_stats};
        });
    if (!ran) return p;
    p.rtt = latency_of(cycles, tsc);
    // The ping-pong times the gap too; take it out (it is a busy wait of known length).
    p.rtt.p50_ns = std::max(0.0, p.rtt.p50_ns - static_cast<double>(gap_ns));
    p.rtt.p99_ns = std::max(0.0, p.rtt.p99_ns - static_cast<double>(gap_ns));
    p.blocked_share = server_stats.received == 0
                          ? 0
                          : static_cast<double>(server_stats.blocked) /
                                static_cast<double>(server_stats.received);
    return p;
}

} // namespace myr::bench
