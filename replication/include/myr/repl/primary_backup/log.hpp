#pragma once
// Primary-backup replication's log (docs/replication.md, "Primary-backup"; kvstore's use:
// docs/servers.md, "kvstore", "The log"): each replica writes its state to a block of memory that
// outlives its crashes (in Myriad, kept memory its monitor holds: docs/monitors.md, "Kept
// memory"), so a replica restarted there takes its state from its own log instead of from another
// replica, and a write is lost only when every replica that held it lost that memory.
//
// The block holds a header, two checkpoint images (the machine's whole state and kept answers,
// the history and the write sequence number, as the replica held them: history.hpp) and a log of
// records after the current image: one per write the replica took (the write as the primary
// forwards it, with its answer) and one per answer a backup was given. Recovery copies the current
// image back and replays the records in order, up to the first that does not check.
//
// What a crashed program left may be half written. A record is its payload, then its head (size,
// kind, generation, checksum over all of it): a record cut short fails the checksum. A checkpoint
// writes the other image and its checksum, then switches the header's one state word (generation
// and which image) with a single store; records carry their generation, so those of an older one
// that still lie in the log area are never replayed. Recovery ends with a checkpoint, so after
// every restart one instance writes a fresh generation from the start of the log area.
//
// The primary also reads its records back (suffix): a backup that missed writes since the last
// checkpoint is sent those writes instead of the whole table.
//
// Generic over a Machine (machine.hpp): records are its Apply and KeepAnswer messages in its own
// encoding. Pure and host-tested (tests/unit/kvstore_log_test.cpp: cut records at every byte, a
// crash in the middle of a checkpoint, a full log, stale generations, corrupt images, suffixes;
// repl_primary_backup_test with every catalogued object); freestanding.
#include <myr/repl/primary_backup/history.hpp>
#include <myr/repl/primary_backup/machine.hpp>

#include <type_traits>

namespace myr::repl::pb {

template <Machine M>
class Log {
public:
    using Table = typename M::State;
    using Sessions = typename M::Answers;
    using Apply = typename M::Apply;
    using KeepAnswer = typename M::KeepAnswer;

    // recover() refuses a generation from here on. An honest log never gets near (one per
    // checkpoint); a block a predecessor filled with junk may name one, and the checkpoint after
    // it would overflow the state word. A log recovered at max_generation - 1 checkpoints once
    // more, into a generation the next recover refuses.
    static constexpr std::uint64_t max_generation = std::uint64_t{1} << 62;
    // The smallest block that holds the header, both images and a page of records.
    static constexpr std::size_t min_block_bytes() { return log_start + 4096; }

    struct Counts {
        std::uint64_t records = 0;      // records written since attach
        std::uint64_t checkpoints = 0;  // checkpoints written since attach
        std::uint64_t replayed = 0;     // records the last recover() replayed
    };

    // The log over [base, base + size) (8-byte aligned) for the replica's live state (`at`: its
    // history and write sequence number). false when the block is too small for two images and
    // some log.
    bool attach(std::uint8_t* base, std::size_t size, Table* table, Sessions* sessions, Position* at) {
        m_base = nullptr;
        if (!base || (reinterpret_cast<std::uintptr_t>(base) & 7) || size < min_block_bytes()) return false;
        m_base = base;
        m_size = size;
        m_table = table;
        m_sessions = sessions;
        m_at = at;
        m_image_seq = 0;
        m_gen = 0;
        m_cur = 0;
        m_pos = 0;
        return true;
    }
    [[nodiscard]] bool attached() const { return m_base != nullptr; }
    [[nodiscard]] const Counts& counts() const { return m_counts; }
    [[nodiscard]] std::uint64_t generation() const { return m_gen; }
    // The write number the current image holds: the log's records hold every write after it.
    [[nodiscard]] std::uint64_t oldest() const { return m_image_seq; }

    // The state the block holds, into the live table, answers and sequence number: the current
    // image, then its generation's records in order. false, with the live state cleared, when the
    // block holds none (never written, another layout, or an image that does not check); false,
    // the live state untouched, when not attached.
    bool recover() {
        m_counts.replayed = 0;
        if (!attached()) return false;
        clear_live();
        const Header& h = header();
        const std::uint64_t state = load_state();
        const std::uint64_t gen = state >> 1, cur = state & 1;
        // A generation no honest log reaches (one per checkpoint) is refused: the next
        // checkpoint's number would not fit the state word, and wrapping to small numbers would
        // let stale records of those generations replay (the fuzzer found the overflow).
        if (h.magic != magic || h.layout != layout || gen == 0 || gen >= max_generation || h.image_gen[cur] != gen ||
            h.image_sum[cur] != sum_bytes(image(cur), sizeof(Image)))
            return false;
        const Image& img = *reinterpret_cast<const Image*>(image(cur));
        __builtin_memcpy(m_table, &img.table, sizeof(Table));
        __builtin_memcpy(m_sessions, &img.sessions, sizeof(Sessions));
        *m_at = img.at;
        m_image_seq = img.at.seq;
        m_gen = gen;
        m_cur = static_cast<unsigned>(cur);
        m_pos = 0;
        while (replay_one()) ++m_counts.replayed;
        return true;
    }

    // A checkpoint of the live state: the other image, then the switch; the log starts empty in
    // the new generation. Also what attach's caller does first on a block it does not recover.
    void checkpoint() {
        if (!attached()) return;
        Header& h = header();
        if (h.magic != magic || h.layout != layout) {  // a fresh block, or another program's layout
            h.magic = magic;
            h.layout = layout;
            h.image_gen[0] = h.image_gen[1] = 0;
            store_state(0);
            m_gen = 0;
            m_cur = 0;
        }
        const unsigned other = m_cur ^ 1;
        const std::uint64_t gen = m_gen + 1;
        Image& img = *reinterpret_cast<Image*>(image(other));
        __builtin_memcpy(&img.table, m_table, sizeof(Table));
        __builtin_memcpy(&img.sessions, m_sessions, sizeof(Sessions));
        img.at = *m_at;
        h.image_gen[other] = gen;
        h.image_sum[other] = sum_bytes(image(other), sizeof(Image));
        store_state(gen << 1 | other);  // the commit: one store
        m_gen = gen;
        m_cur = other;
        m_pos = 0;
        m_image_seq = m_at->seq;
        ++m_counts.checkpoints;
    }

    // A write the live state has taken (seq: its number; the answer kept already), as a record.
    // When the log area is full, a checkpoint of the live state (which holds it) instead.
    void apply(std::uint64_t seq, const typename M::Write& write, const typename M::Answer& answer) {
        if (!attached()) return;
        Apply a{};
        a.history = m_at->history;
        a.seq = seq;
        a.write = write;
        a.answer = answer;
        append(kind_apply, a);
    }
    // An answer a backup was given (keep_answer) and has kept.
    void keep(const typename M::Answer& answer) {
        KeepAnswer k{};
        k.answer = answer;
        append(kind_answer, k);
    }

    // The writes after write `after` of the live history, as this generation's records hold them,
    // each handed to send(const Apply&) in order (send returns false: stop). ok when every write
    // from after + 1 to the live state's was handed over (none when `after` is the live state's);
    // not_found when the records do not reach back that far (a checkpoint since); out_of_range
    // when `after` is past the live state; connection_lost when send stopped; internal when the
    // records do not run on one by one to the live state (never, for a log this replica wrote).
    template <typename Send>
    Status suffix(std::uint64_t after, Send&& send) const {
        if (!attached()) return Status::not_found;
        if (after > m_at->seq) return Status::out_of_range;
        if (after < m_image_seq) return Status::not_found;
        std::uint64_t next = m_image_seq + 1;
        for (std::size_t pos = 0; pos < m_pos;) {
            const std::uint8_t* at = log_area() + pos;
            RecordHead r;
            __builtin_memcpy(&r, at, sizeof r);
            if (r.gen != m_gen || span_of(r.size) > m_pos - pos || r.sum != record_sum(r, at + sizeof(RecordHead)))
                return Status::internal;
            pos += span_of(r.size);
            if (r.kind != kind_apply) continue;
            Apply a{};
            if (M::decode(std::span<const std::uint8_t>(at + sizeof(RecordHead), r.size), a) != Status::ok ||
                a.seq != next || a.history != m_at->history)
                return Status::internal;
            ++next;
            if (a.seq > after && !send(static_cast<const Apply&>(a))) return Status::connection_lost;
        }
        return next == m_at->seq + 1 ? Status::ok : Status::internal;
    }

    // Test hooks: where the next record goes, the log area, and a call just before the header's
    // state word is stored (the block as a crash at that moment would leave it, and the new word).
    [[nodiscard]] std::size_t position() const { return m_pos; }
    [[nodiscard]] std::uint8_t* log_area() const { return m_base + log_start; }
    // A record of `kind` whose payload is n arbitrary bytes, framed and summed as append does:
    // what a predecessor that wrote nonsense would leave (the fuzzer's view of recovery).
    bool append_raw(std::uint16_t kind, const std::uint8_t* p, std::uint32_t n) {
        if (!attached() || span_of(n) > log_bytes() - m_pos) return false;
        std::uint8_t* at = log_area() + m_pos;
        __builtin_memcpy(at + sizeof(RecordHead), p, n);
        RecordHead r{n, kind, 0, m_gen, 0};
        r.sum = record_sum(r, at + sizeof(RecordHead));
        __builtin_memcpy(at, &r, sizeof r);
        m_pos += span_of(n);
        return true;
    }
    using StoreHook = void (*)(void* arg, std::uint64_t new_state);
    void set_store_hook(StoreHook hook, void* arg) {
        m_store_hook = hook;
        m_hook_arg = arg;
    }

private:
    struct Image {
        Table table;
        Sessions sessions;
        Position at;
    };
    static_assert(std::is_trivially_copyable_v<Table> && std::is_trivially_copyable_v<Sessions>);
    struct Header {
        std::uint64_t magic, layout;
        std::uint64_t state;  // generation << 1 | current image; written with one store
        std::uint64_t image_gen[2], image_sum[2];
    };
    struct RecordHead {
        std::uint32_t size;
        std::uint16_t kind, zero;
        std::uint64_t gen, sum;
    };
    static constexpr std::uint64_t magic = 0x4b56'4c4f'4732'0001ull;  // "KVLOG2": images with their history (kvstore's first)
    static constexpr std::uint16_t kind_apply = 1, kind_answer = 2;
    static constexpr std::size_t image_span = (sizeof(Image) + 4095) / 4096 * 4096;
    static constexpr std::size_t log_start = 4096 + 2 * image_span;
    // A block written by a build with other sizes is not read.
    static constexpr std::uint64_t layout = std::uint64_t{sizeof(Image)} << 16 | sizeof(RecordHead) << 8 | 1;

    Header& header() const { return *reinterpret_cast<Header*>(m_base); }
    std::uint8_t* image(std::uint64_t i) const { return m_base + 4096 + i * image_span; }
    std::size_t log_bytes() const { return m_size - log_start; }
    std::uint64_t load_state() const { return *static_cast<volatile const std::uint64_t*>(&header().state); }
    void store_state(std::uint64_t v) {
        if (m_store_hook) m_store_hook(m_hook_arg, v);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);  // everything before it is in memory first
        *static_cast<volatile std::uint64_t*>(&header().state) = v;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }

    static std::uint64_t mix(std::uint64_t h, std::uint64_t v) { return (h ^ v) * 0x100000001b3ull; }
    static std::uint64_t sum_bytes(const std::uint8_t* p, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ull) {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t w;
            __builtin_memcpy(&w, p + i, 8);
            h = mix(h, w);
        }
        for (; i < n; ++i) h = mix(h, p[i]);
        return h ^ (h >> 29);
    }
    static std::uint64_t record_sum(const RecordHead& r, const std::uint8_t* payload) {
        std::uint64_t h = mix(mix(mix(0xcbf29ce484222325ull, r.size), r.kind), r.gen);
        return sum_bytes(payload, r.size, h);
    }
    static std::size_t span_of(std::uint32_t size) { return (sizeof(RecordHead) + size + 7) / 8 * 8; }

    void clear_live() {
        m_table->clear();
        m_sessions->clear();
        *m_at = Position{};
    }

    template <typename Msg>
    void append(std::uint16_t kind, const Msg& m) {
        if (!attached()) return;
        std::uint8_t* at = log_area() + m_pos;
        std::size_t len = 0;
        const std::size_t room = log_bytes() - m_pos;
        if (room <= sizeof(RecordHead) ||
            M::encode(m, std::span<std::uint8_t>(at + sizeof(RecordHead), room - sizeof(RecordHead)), len) != Status::ok ||
            span_of(static_cast<std::uint32_t>(len)) > room) {
            checkpoint();  // full: the live state holds this write already
            return;
        }
        RecordHead r{static_cast<std::uint32_t>(len), kind, 0, m_gen, 0};
        r.sum = record_sum(r, at + sizeof(RecordHead));
        __atomic_signal_fence(__ATOMIC_SEQ_CST);  // the payload first, the head (which checks it) last
        __builtin_memcpy(at, &r, sizeof r);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        m_pos += span_of(r.size);
        ++m_counts.records;
    }

    // The record at m_pos, applied to the live state: false at the end of the generation's
    // records (a head of another generation, a cut or corrupt record, one that does not apply).
    bool replay_one() {
        if (log_bytes() - m_pos < sizeof(RecordHead)) return false;
        const std::uint8_t* at = log_area() + m_pos;
        RecordHead r;
        __builtin_memcpy(&r, at, sizeof r);
        if (r.gen != m_gen || r.zero != 0 || span_of(r.size) > log_bytes() - m_pos) return false;
        if (r.sum != record_sum(r, at + sizeof(RecordHead))) return false;
        const std::span<const std::uint8_t> payload(at + sizeof(RecordHead), r.size);
        if (r.kind == kind_apply) {
            Apply a{};
            if (M::decode(payload, a) != Status::ok || a.history != m_at->history || a.seq != m_at->seq + 1) return false;
            if (M::apply(*m_table, a.write) != Status::ok) return false;
            m_sessions->keep(a.answer);
            m_at->seq = a.seq;
        } else if (r.kind == kind_answer) {
            KeepAnswer k{};
            if (M::decode(payload, k) != Status::ok) return false;
            m_sessions->keep(k.answer);
        } else {
            return false;
        }
        m_pos += span_of(r.size);
        return true;
    }

    std::uint8_t* m_base = nullptr;
    std::size_t m_size = 0;
    Table* m_table = nullptr;
    Sessions* m_sessions = nullptr;
    Position* m_at = nullptr;
    std::uint64_t m_image_seq = 0;
    std::uint64_t m_gen = 0;
    unsigned m_cur = 0;
    std::size_t m_pos = 0;
    Counts m_counts{};
    StoreHook m_store_hook = nullptr;
    void* m_hook_arg = nullptr;
};

} // namespace myr::repl::pb
