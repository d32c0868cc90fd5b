// libFuzzer target for memserv's request decoding and bookkeeping (docs/servers.md, "memserv"): the
// input is a sequence of requests, each a caller (core, domain: one byte each) and a frame length
// (one byte) then that many bytes of frame, dispatched through the RPC runtime into a Book as the
// server does. Every frame must get a reply the client stub can read, nothing may read or write
// out of bounds (ASan/UBSan), and the book's invariants (disjoint grants, each owned in the
// memory-ownership object, quotas matching the grants, pool = granted + free) must hold after
// every request, whatever the frames say.
#include <myr/memserv/book.hpp>
#include <myr/rpc/interface.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using namespace myr;
using namespace myr::memserv;

void require(bool ok) {
    if (!ok) std::abort();
}

struct Handler {
    Book book;
    unsigned node = 1;
    Status handle(const rpc::Caller& c, const Alloc& r, AllocReply& out) {
        return book.alloc(c.core, c.domain, c.core % 2, r.bytes, out);
    }
    Status handle(const rpc::Caller& c, const Free& r, FreeReply& out) { return book.free(c.core, c.domain, r.base, out); }
    Status handle(const rpc::Caller&, const Lookup& r, LookupReply& out) { return book.lookup(r.ticket, out); }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        book.stats(out);
        return Status::ok;
    }
};

template <typename Op>
void check_reply(std::span<const std::uint8_t> reply, std::uint32_t id, std::uint16_t op) {
    if (op != Op::op) return;
    typename Op::Reply r{};
    Status call = Status::internal;
    require(rpc::decode_reply<Op>(reply, id, r, call) == Status::ok);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Handler h;
    // A small pool and quota so that refusals of every kind happen within one input.
    h.book.init(1, std::uint64_t{2} << 40, 64 * page, 16 * page);
    std::size_t at = 0;
    while (at + 3 <= size) {
        const rpc::Caller caller{data[at] % 8u, data[at + 1] % 4u, 0};
        std::size_t len = data[at + 2];
        at += 3;
        if (len > size - at) len = size - at;
        const std::span<const std::uint8_t> frame(data + at, len);
        at += len;
        std::uint8_t out[rpc::max_frame];
        std::size_t out_len = 0;
        require(rpc::dispatch(Interface{}, h, caller, frame, out, out_len) == Status::ok);
        const std::span<const std::uint8_t> reply(out, out_len);
        rpc::FrameHeader rh{};
        std::span<const std::uint8_t> body;
        require(rpc::split_frame(reply, rh, body) == Status::ok);
        if (rh.id != 0 && rh.status != static_cast<std::int16_t>(Status::bad_request)) {
            check_reply<Alloc>(reply, rh.id, rh.op);
            check_reply<Free>(reply, rh.id, rh.op);
            check_reply<Lookup>(reply, rh.id, rh.op);
            check_reply<Stats>(reply, rh.id, rh.op);
        }
        require(h.book.valid());
    }
    return 0;
}
