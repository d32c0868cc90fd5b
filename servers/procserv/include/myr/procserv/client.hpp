#pragma once
// procserv from a domain (docs/servers.md, "procserv"): bind by the bootstrap name, start, list page
// by page, kill, and wait (client-side polling: procserv answers would_block while the domain
// runs, and this sleeps a wake-up between asks).
#include <myr/procserv/interface.hpp>
#include <myr/nameserv/client.hpp>
#include <myr/rpc/guest.hpp>

namespace myr::procserv {

class Client {
public:
    Status connect(std::uint64_t tries = 3000) { return m_rpc.connected() ? Status::ok : nameserv::connect(m_rpc, service, tries); }

    Status start(const char* program, std::uint32_t core, const char* args, Address& where) {
        Start r{};
        if (!r.program.assign_cstr(program) || !r.args.assign_cstr(args)) return Status::invalid_argument;
        r.core = core;
        StartReply out{};
        const Status s = m_rpc.call(r, out);
        where = out.where;
        return s;
    }
    Status kill(const Address& target) {
        rpc::Empty none{};
        return m_rpc.call(Kill{target}, none);
    }
    // One ask: ok (ended: how, code), would_block (running), not_found.
    Status poll(const Address& target, WaitReply& out) { return m_rpc.call(Wait{target}, out); }
    // Until it ended (timeout after `tries` timer ticks).
    Status wait(const Address& target, WaitReply& out, std::uint64_t tries = 100000) {
        for (user::Deadline limit(tries); !limit.passed();) {
            const Status s = poll(target, out);
            if (s != Status::would_block) return s;
            user::wait_event();
        }
        return Status::timeout;
    }
    // Every listed domain, page by page: fn(const Proc&) for each. At most `pages` pages.
    template <typename Fn>
    Status list(Fn fn, unsigned pages = 64) {
        List r{0, 0};
        for (unsigned p = 0; p < pages; ++p) {
            ListReply out{};
            if (const Status s = m_rpc.call(r, out); s != Status::ok) return s;
            for (std::uint16_t i = 0; i < out.entries.count && i < list_page; ++i) fn(out.entries.items[i]);
            if (out.next_core >= out.cores) return Status::ok;
            r = List{out.next_core, out.next_index};
        }
        return Status::overflow;
    }
    Status stats(StatsReply& out) { return m_rpc.call(Stats{}, out); }

    rpc::Client& rpc() { return m_rpc; }
    void close() { m_rpc.close(); }

private:
    rpc::Client m_rpc;
};

} // namespace myr::procserv
