// libFuzzer target for nameserv's request decoding (servers/nameserv): arbitrary bytes as request
// frames through the interface's dispatch into a handler over the pure table and log (the same
// decisions the server makes), and as fetched log pages applied by a replica. Nothing may read or
// write out of bounds (ASan/UBSan); every reply must be a well-formed frame; the table must stay
// consistent (its digest equals one recomputed from a copy built by replaying the log).
#include <myr/nameserv/interface.hpp>
#include <myr/nameserv/table.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using namespace myr;
using namespace myr::nameserv;

void require(bool ok) {
    if (!ok) std::abort();
}

struct Handler {
    Orderer orderer;
    Address replica{5, 5};
    Status handle(const rpc::Caller& c, const Register& r, OwnerReply& out) {
        std::uint64_t seq = 0;
        return orderer.order(Update{Kind::add, r.name_, Address{c.core, c.domain}}, out.owner, seq);
    }
    Status handle(const rpc::Caller&, const Lookup& r, OwnerReply& out) { return orderer.table().lookup(r.name_, out.owner); }
    Status handle(const rpc::Caller& c, const Unregister& r, OwnerReply& out) {
        std::uint64_t seq = 0;
        return orderer.order(Update{Kind::remove, r.name_, Address{c.core, c.domain}}, out.owner, seq);
    }
    Status handle(const rpc::Caller&, const List& r, ListReply& out) {
        orderer.table().list(r.from, out);
        return Status::ok;
    }
    Status handle(const rpc::Caller& c, const Forward& r, ForwardReply& out) {
        if (!(Address{c.core, c.domain} == replica) || r.update.kind == Kind::drop_owner) return Status::permission_denied;
        out.result = static_cast<std::int32_t>(orderer.order(r.update, out.owner, out.seq));
        return Status::ok;
    }
    Status handle(const rpc::Caller&, const Fetch& r, FetchReply& out) { return orderer.fetch(r.from, out); }
    Status handle(const rpc::Caller&, const Hello&, rpc::Empty&) { return Status::ok; }
    Status handle(const rpc::Caller&, const Stats&, StatsReply& out) {
        out = {orderer.table().size(), orderer.last(), orderer.table().digest(), 0, 0, 0, true};
        return Status::ok;
    }
};

Handler handler;  // kept across inputs: state built by earlier inputs is attacked by later ones

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Several frames per input: a length byte, then the frame; the caller alternates between a
    // client and the replica address.
    std::size_t pos = 0;
    unsigned n = 0;
    while (pos < size) {
        const std::size_t len = data[pos++];
        const std::size_t take = len < size - pos ? len : size - pos;
        const std::span<const std::uint8_t> frame(data + pos, take);
        pos += take;
        const rpc::Caller caller = (n++ % 2) ? rpc::Caller{5, 5, 0} : rpc::Caller{1, 2, 1};
        std::uint8_t out[rpc::max_frame];
        std::size_t out_len = 0;
        require(rpc::dispatch(Interface{}, handler, caller, frame, out, out_len) == Status::ok);
        rpc::FrameHeader h{};
        std::span<const std::uint8_t> body;
        require(rpc::split_frame(std::span<const std::uint8_t>(out, out_len), h, body) == Status::ok);
        // Any bytes as a fetched page: a replica refuses what does not continue its log.
        FetchReply page{};
        if (rpc::decode(frame, page) == Status::ok) {
            Follower f;
            (void)f.apply_page(1, page);
            require(f.table().size() <= Table::capacity);
        }
    }
    require(handler.orderer.table().size() <= Table::capacity);
    // Replaying the whole log (when it still holds all of it) gives the orderer's table.
    const std::uint64_t last = handler.orderer.last();
    if (last > 0 && last <= Orderer::log_capacity) {
        Follower f;
        FetchReply page{};
        while (f.applied() < last) {
            require(handler.orderer.fetch(f.applied() + 1, page) == Status::ok);
            require(f.apply_page(f.applied() + 1, page) == Status::ok);
        }
        require(f.diverged() == 0 && f.table().digest() == handler.orderer.table().digest());
    }
    return 0;
}
