// libFuzzer target for kvstore's log recovery (replication/include/myr/repl/primary_backup/log.hpp
// over kvstore's machine): a
// replica recovers from a block its crashed predecessor wrote, and a predecessor with a bug may
// have written anything. The input is a series of records, each framed and summed correctly (so
// they reach decoding and replay) but with arbitrary kinds and payloads, and then arbitrary bytes
// over the rest of the log area or over the header. Recovery must stay inside the block, replay
// only records that decode and follow on, and leave a state that checkpoints and recovers again to
// the same state.

#include <myr/kvstore/replica.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

using namespace myr;
using namespace myr::kvstore;

void require(bool ok) {
    if (!ok) std::abort();
}

struct Replica {
    Table table;
    Sessions sessions;
    Position at{};
    Log log;
    bool attach(std::uint8_t* b) { return log.attach(b, log_block_bytes, &table, &sessions, &at); }
};

std::uint64_t* block() {
    static std::uint64_t* words = new std::uint64_t[log_block_bytes / 8];
    return words;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto* b = reinterpret_cast<std::uint8_t*>(block());
    std::memset(b, 0, log_block_bytes);
    auto w = std::make_unique<Replica>();
    require(w->attach(b));
    // A valid start: one key, one checkpoint.
    Key k{};
    require(k.assign_cstr("seed"));
    Value v{};
    require(v.assign("v", 1));
    std::uint64_t version = 0;
    require(w->table.put(k, v, version) == Status::ok);
    w->at = Position{5, 7};
    w->log.checkpoint();
    // Records: [kind byte][length byte][payload]..., until a length runs past the input; a last
    // part (after a 0xff kind) is raw bytes over the log area's remainder or the header.
    std::size_t i = 0;
    while (i + 2 <= size && data[i] != 0xff) {
        const std::uint16_t kind = data[i] % 4;
        const std::size_t n = data[i + 1];
        if (i + 2 + n > size) break;
        (void)w->log.append_raw(kind, data + i + 2, static_cast<std::uint32_t>(n));
        i += 2 + n;
    }
    bool header = false;
    if (i + 2 <= size && data[i] == 0xff) {
        header = (data[i + 1] & 1) != 0;
        const std::uint8_t* rest = data + i + 2;
        const std::size_t n = size - i - 2;
        if (header) {
            std::memcpy(b + 16, rest, n < 32 ? n : 32);  // the state word and what follows it
        } else {
            const auto at = static_cast<std::size_t>(w->log.log_area() - b) + w->log.position();
            std::memcpy(b + at, rest, n < log_block_bytes - at ? n : log_block_bytes - at);
        }
    }
    auto r = std::make_unique<Replica>();
    require(r->attach(b));
    if (r->log.recover()) {
        require(r->table.size() <= Table::capacity);
        // With the header untouched: the image's state, then only records that follow on. (Junk
        // over the header may name the other image, all zeros, with its checksum: a state a
        // predecessor could have written, so nothing to refuse.)
        if (!header) require(r->at.seq >= 7 && r->at.history == 5);
        // The primary's view of the same records: every write after the image, one by one.
        const std::uint64_t from = r->log.oldest();
        std::uint64_t next = from + 1;
        require(r->log.suffix(from, [&](const Apply& a) { return a.seq == next++; }) == Status::ok);
        require(next == r->at.seq + 1);
        // What it recovered checkpoints, and recovers again to the same state (unless junk over
        // the header named the last generation a recover takes: see Log::max_generation).
        if (r->log.generation() + 1 >= Log::max_generation) return 0;
        const std::uint64_t digest = r->table.digest(), seq = r->at.seq;
        const std::size_t answers = r->sessions.size();
        r->log.checkpoint();
        auto again = std::make_unique<Replica>();
        require(again->attach(b));
        require(again->log.recover());
        require(again->table.digest() == digest && again->at.seq == seq && again->sessions.size() == answers);
    } else {
        require(r->table.size() == 0 && r->at == Position{});
    }
    return 0;
}
