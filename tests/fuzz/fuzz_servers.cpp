// libFuzzer target for the servers' request decoding (servers/rpc + each server's interface): the
// bytes a hostile client can put in a frame. Every input must get a reply frame that fits
// max_frame and says ok or an error; a request that decodes must re-encode to exactly the same
// bytes (the encoding is canonical, so two readers cannot disagree about one message); a refused
// request must leave the server's state unchanged.
#include <myr/kvstore/interface.hpp>
#include <myr/kvstore/sessions.hpp>
#include <myr/kvstore/table.hpp>
#include <myr/rpc/interface.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

using namespace myr;
using namespace myr::kvstore;

void require(bool ok) {
    if (!ok) std::abort();
}

struct Handler {
    Table table;
    Sessions sessions;
    Status handle(const rpc::Caller&, const Get& r, GetReply& out) { return table.get(r.key, out); }
    Status handle(const rpc::Caller&, const Put& r, PutReply& out) { return table.put(r.key, r.value, out.version); }
    Status handle(const rpc::Caller&, const Delete& r, DeleteReply& out) { return table.del(r.key, out.existed); }
    Status handle(const rpc::Caller&, const Cas& r, CasReply& out) { return table.cas(r.key, r.expected, r.value, out); }
    Status handle(const rpc::Caller&, const Txn& r, TxnReply& out) { return table.txn(r, out); }
    Status handle(const rpc::Caller&, const Apply& r, ApplyReply&) { return Table::read_only(r.write) ? Status::ok : Status::out_of_range; }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        out.keys = table.size();
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Dump& r, DumpReply& out) {
        table.dump(r.from, out);
        return Status::ok;
    }
    // Kept answers from the wire (a backup keeps what the primary sends): whatever they hold, the
    // session table stays within its capacity, a kept answer is found again in the slot it named,
    // and one not kept (session 0, a slot out of range) changes nothing.
    Status handle(const rpc::Caller&, const KeepAnswer& r, ApplyReply&) {
        const std::size_t before = sessions.size();
        const bool kept_it = sessions.keep(r.answer);
        require(kept_it == (r.answer.session != 0 && r.answer.slot < Sessions::capacity));
        require(sessions.size() <= Sessions::capacity);
        require(kept_it || sessions.size() == before);
        const Answer* kept = nullptr;
        const auto seen = sessions.check(r.answer.core, r.answer.domain, r.answer.session, r.answer.request,
                                         r.answer.op, kept);
        require(!kept_it || (seen == Sessions::Seen::answered && kept == &sessions.at(r.answer.slot)));
        // The primary's choice for the same client is the slot it now holds.
        if (kept_it) require(sessions.place(r.answer.core, r.answer.domain, r.answer.session,
                                            [](std::uint32_t, std::uint32_t) { return true; }) == r.answer.slot);
        return Status::ok;
    }
    // Catch-up steps: plain numbers, any of which decode (what a backup does with them: history.hpp).
    Status handle(const rpc::Caller&, const Rebase&, ApplyReply&) { return Status::out_of_range; }
    Status handle(const rpc::Caller&, const Resume&, ApplyReply&) { return Status::out_of_range; }
    Status handle(const rpc::Caller&, const DumpAnswers& r, DumpAnswersReply& out) {
        sessions.page(r.from, out);
        require(out.answers.count <= 1 && (out.done || out.answers.count == 1));
        return Status::ok;
    }
    // A load applies decoded entries to a table: whatever they hold, the table stays consistent
    // (a digest it can compute, never more keys than its capacity).
    Status handle(const rpc::Caller&, const Load& r, ApplyReply&) {
        if (r.first) table.clear();
        for (std::uint16_t i = 0; i < r.entries.count && i < snap_page; ++i) (void)table.load(r.entries.items[i]);
        if (r.last) table.set_clock(r.clock);
        require(table.size() <= Table::capacity);
        (void)table.digest();
        return Status::ok;
    }
};

// Decodes the body as Op when the header names it, and checks the canonical re-encoding.
template <typename Op>
void check_canonical(const rpc::FrameHeader& h, std::span<const std::uint8_t> body) {
    if (h.op != Op::op) return;
    static Op m;
    m = Op{};
    if (rpc::decode(body, m) != Status::ok) return;
    static std::uint8_t again[rpc::max_frame];
    std::size_t len = 0;
    require(rpc::encode(m, again, len) == Status::ok);
    require(len == body.size() && std::memcmp(again, body.data(), len) == 0);
}

Handler handler;  // state carries over between inputs, as in a long-running server

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> frame(data, size);
    static std::uint8_t out[rpc::max_frame];
    std::size_t len = 0;
    const std::uint64_t digest = handler.table.digest();
    require(rpc::dispatch(Interface{}, handler, rpc::Caller{1, 2, 3}, frame, out, len) == Status::ok);
    require(len >= rpc::header_bytes && len <= rpc::max_frame);
    rpc::FrameHeader rh{};
    std::span<const std::uint8_t> body;
    require(rpc::split_frame(std::span<const std::uint8_t>(out, len), rh, body) == Status::ok);
    if (rh.status == static_cast<std::int16_t>(Status::bad_request)) {
        require(body.empty());
        require(handler.table.digest() == digest);  // a refused request changed nothing
    }
    rpc::FrameHeader h{};
    std::span<const std::uint8_t> req;
    if (rpc::split_frame(frame, h, req) == Status::ok) {
        if (rh.id != 0) require(rh.id == h.id && rh.op == h.op);
        check_canonical<Get>(h, req);
        check_canonical<Put>(h, req);
        check_canonical<Delete>(h, req);
        check_canonical<Cas>(h, req);
        check_canonical<Txn>(h, req);
        check_canonical<Apply>(h, req);
        check_canonical<Dump>(h, req);
        check_canonical<Load>(h, req);
        check_canonical<KeepAnswer>(h, req);
        check_canonical<DumpAnswers>(h, req);
    }
    return 0;
}
