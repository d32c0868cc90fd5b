// Frames across cores (`frameshare`, docs/capabilities.md, "Frames across cores in the guest").
// Started without arguments it is the giver: it carves a 4 KiB frame from a memserv grant, maps
// it and writes a pattern, then
//   - tries what must be refused: a give to its own core (invalid_argument), of its untyped
//     (never copied: invalid_argument), of an endpoint (wrong_type), with no capability sent
//     (invalid_argument), to a domain that ended
//     (connection_lost), to domain 0 (invalid_argument); a revoke of a frame it never gave
//     (not_found); a poll of a ticket that is not its own (not_found);
//   - gives the frame to two `frameshare sitter`s on core `target`, which never take it: a give to
//     a third domain there is refused busy (the givers of one core fill at most half of another
//     core's waiting offers), while the `frameshare orphan` (below) on the next core still gives to
//     that core; then revokes, which withdraws the offers (the sitters end when it does);
//   - gives the frame to a `frameshare taker` it spawned on core `target` (argument, another
//     node), waits until the taker wrote its acknowledgement into the frame, revokes, and checks
//     through the death feed that the taker then faulted on its next read of the frame;
//   - gives it to a `frameshare passer` on core `target`, which passes its copy on to a taker on
//     core 0; that taker acknowledges, and one revoke takes both copies (both fault);
//   - moves the ownership to a `frameshare owner` on core `target` (flow A), which passes a copy on
//     to core 0 and revokes it (that taker faults, the giver's copy stays) and ends owning it: the
//     ownership comes back to the giver's core;
//   - gives it to a `frameshare leaver` on the same core, which checks the pattern and exits still
//     holding its copy;
//   - moves the ownership to a second `frameshare owner` (flow B) and revokes through it: that
//     owner faults, the giver's copy stays; the grant then goes back (return_ram);
//   - (while the sitters' offers wait) spawns a `frameshare orphan` on the next core, which gives
//     a frame of its own grant to a taker and exits without revoking: its monitor revokes the copy
//     before it reports the death.
// Prints `test-pass: frameshare core C target T checks=N`.
// With bit 16 of its argument set ("stay", qemu_frames_lost_owner): carves a frame, gives it to a
// taker on core `target`, waits for its acknowledgement, exports the name `frameshare.stay` (the
// plan waits for it), prints `frameshare staying core C: its frame is on core T`, and stays
// until its core is stopped. Once the other monitors removed that
// core, the taker's monitor drops the copy of the lost owner's frame and the taker faults.
// With bit 17 set ("home", qemu_frames_lost_new_owner): gives a frame to a taker on core `target`,
// moves the ownership to it, exports `frameshare.stay`, and once the plan stopped that core checks
// that the frame is owned here again and still reads, and that the grant goes back; prints
// `test-pass: frameshare home core C: kept its frame and owns it again after core T was lost`.
// As taker/leaver (argument string "taker" / "leaver"): takes the frame, maps it, checks the
// pattern, tries to pass its copy to the giver's core (invalid_argument: that core holds the
// memory), to revoke it (permission_denied: it holds no grant for it) and to move its ownership
// (permission_denied: it does not own it), and acknowledges in the
// frame's second word; the taker then reads the frame until it faults, the leaver exits.
// As passer ("passer TTTT"): takes the frame and passes its copy on to a taker it spawns on core
// TTTT (through the owner's monitor), writing that taker's domain into the frame's fourth word;
// then reads until it faults.
#include <myr/memserv/client.hpp>
#include <myr/user/args.hpp>
#include <myr/user/bind.hpp>
#include <myr/user/domains.hpp>
#include <myr/user/frames.hpp>
#include <myr/user/vspace.hpp>

using namespace myr;
using namespace myr::memserv;

namespace {

std::uint32_t core, domain;
unsigned checks, failures;
Allocator mem;  // its connections are large: not on the stack

constexpr std::uint64_t untyped_slot = 40, frame_slot = 41, taken_slot = 42, window = 0x0000'4000'0000'0000;
constexpr std::uint64_t sit_untyped_slot = 43, sit_frame_slot = 44;  // 44..46: the sitters' frames
constexpr std::uint64_t page = 4096, magic = 0x5eed'f4a3'0000'0000ull, ack = 0xacc0'0000'0000'0000ull;
user::TableSlots tables{48, 56};

void expect(const char* what, Status got, Status want) {
    ++checks;
    if (got == want) return;
    ++failures;
    user::print("test-fail: frameshare core {}: {}: got '{}', want '{}'", core, what, to_string(got), to_string(want));
}

// frame_give, asked again while its monitor answers busy (no slot free to take the capability in,
// or no room for another operation: MonitorOp::frame_give says to call again).
Status give_frame(std::uint64_t slot, std::uint64_t c, std::uint64_t d) {
    Status s = Status::busy;
    for (unsigned tries = 0; s == Status::busy && tries < 200; ++tries) {
        s = user::frame_give(slot, c, d);
        if (s == Status::busy) user::wait_event();
    }
    return s;
}

volatile std::uint64_t* map_frame(std::uint64_t slot) {
    if (const Status s = user::map_with_tables(slot, window, abi::map_write, user::cap::ram, tables); s != Status::ok) {
        expect("map the frame", s, Status::ok);
        return nullptr;
    }
    return reinterpret_cast<volatile std::uint64_t*>(window);
}

// ---- holders: taker, leaver, passer -----------------------------------------------------------
// Takes the frame given to this domain, maps it and checks the giver's pattern (words 0, 1 and 3
// are the giver's and the passer's); null after a test-fail line.
volatile std::uint64_t* take_checked(const char* role, user::GivenFrame& g) {
    if (const Status s = user::frame_take(taken_slot, g); s != Status::ok) {
        expect("frame_take", s, Status::ok);
        return nullptr;
    }
    volatile std::uint64_t* w = map_frame(taken_slot);
    if (!w) return nullptr;
    unsigned bad = 0;
    for (unsigned k = 2; k < page / 8; ++k) bad += k != 3 && w[k] != (magic | k);
    if (bad || g.size != page) {
        user::print("test-fail: frameshare {} core {}: the frame from core {} reads wrong ({} words, size {})", role, core,
                    g.from_core, bad, g.size);
        return nullptr;
    }
    return w;
}

// Reads until the giver's revoke takes the frame away: the read after it faults and ends this domain.
int read_until_revoked(const char* role, volatile std::uint64_t* w) {
    for (;;) {
        if (w[0] != magic) {
            user::print("test-fail: frameshare {} core {}: the frame changed under it", role, core);
            return 1;
        }
        user::wait_event();
    }
}

int receive(bool stay) {
    user::GivenFrame g{};
    volatile std::uint64_t* w = take_checked(stay ? "taker" : "leaver", g);
    if (!w) return 1;
    // A holder may pass its copy on (the passer does), but not to the giver's core, which holds
    // the memory already; and it holds no grant for it, so it cannot revoke the giver's copies.
    expect("a holder passing its copy to the giver's core", give_frame(taken_slot, g.from_core, 1),
           Status::invalid_argument);
    expect("a holder revoking", user::frame_revoke(taken_slot), Status::permission_denied);
    // Nor move the ownership: only the owner may (to the giver's core, which holds a copy).
    expect("a holder moving the ownership", user::frame_move(taken_slot, g.from_core), Status::permission_denied);
    if (failures) return 1;
    user::print("frameshare {} core {}: took the frame of core {}: pattern ok", stay ? "taker" : "leaver", core, g.from_core);
    w[1] = ack | core;
    if (!stay) return 0;  // ends holding its copy
    return read_until_revoked("taker", w);
}

// ---- a passer: a holder that passes its copy on -----------------------------------------------
// Takes the frame, gives its copy to a taker it spawns on core `to` (the monitors ask the owner,
// which sends that copy), writes the taker's domain into the frame's fourth word for the giver,
// then reads until the giver's revoke takes its own copy too.
int pass(std::uint64_t to) {
    user::GivenFrame g{};
    volatile std::uint64_t* w = take_checked("passer", g);
    if (!w) return 1;
    user::Spawned t{};
    expect("spawn the passer's taker", user::spawn("frameshare", to, "taker", t), Status::ok);
    expect("pass the copy on", give_frame(taken_slot, t.core, t.domain), Status::ok);
    expect("pass it on again to the same core", give_frame(taken_slot, t.core, t.domain), Status::exists);
    // Only now may the giver revoke (it waits for this word as well as for the taker's
    // acknowledgement): a revoke under way would answer the give above busy, and one finished
    // would have taken our copy.
    w[3] = t.domain;
    if (failures) return 1;
    user::print("frameshare passer core {}: passed the frame of core {} on to core {}", core, g.from_core, t.core);
    return read_until_revoked("passer", w);
}

// ---- an owner: a holder the giver moves the frame's ownership to ------------------------------
// Takes the frame, acknowledges, and waits for the giver's word in the frame's second word:
// `moved` (flow A): it owns the frame now, so it passes its copy on to a taker it spawns on core
// `to` (its own monitor sends that copy, asking nobody), revokes it once that taker acknowledged (the
// taker faults; the giver's core keeps its copy: the memory is its grant), and ends owning it: its
// monitor moves the ownership back to the giver's core. `moved_b` (flow B): the giver will revoke
// through it, so it reads until that revoke takes its copy.
constexpr std::uint64_t moved = 0x0e1e'0000'0000'000aull, moved_b = 0x0e1e'0000'0000'000bull;
int own(std::uint64_t to) {
    user::GivenFrame g{};
    volatile std::uint64_t* w = take_checked("owner", g);
    if (!w) return 1;
    w[1] = ack | core;
    user::Deadline limit(100000);
    while (w[1] != moved && w[1] != moved_b && !limit.passed()) user::wait_event();
    if (w[1] == moved_b) return read_until_revoked("owner", w);
    expect("the giver moved the ownership here", w[1] == moved ? Status::ok : Status::timeout, Status::ok);
    expect("an owner moving it to a core with no copy", user::frame_move(taken_slot, to), Status::not_found);
    user::Spawned t{};
    expect("spawn the owner's taker", user::spawn("frameshare", to, "taker", t), Status::ok);
    w[3] = t.domain;
    expect("the owner passes its copy on", give_frame(taken_slot, t.core, t.domain), Status::ok);
    for (user::Deadline l(100000); w[1] != (ack | t.core) && !l.passed();) user::wait_event();
    expect("its taker acknowledged", w[1] == (ack | t.core) ? Status::ok : Status::timeout, Status::ok);
    expect("the owner revokes", user::frame_revoke(taken_slot), Status::ok);
    if (failures) return 1;
    user::print("frameshare owner core {}: owns the frame of core {}: passed it on to core {} and revoked it", core,
                g.from_core, t.core);
    return 0;  // ends owning it
}

// ---- an orphan: a giver that ends with its frame given ----------------------------------------
Status wait_ack(volatile std::uint64_t* w, std::uint64_t from);
Status carve(AllocReply& grant, volatile std::uint64_t*& w);

// Spawns `frameshare ROLE` on `target`, gives it the frame and waits for its acknowledgement.
user::Spawned hand_to(const char* role, std::uint64_t target, volatile std::uint64_t* w) {
    w[1] = 0;
    user::Spawned d{};
    expect(role, user::spawn("frameshare", target, role, d), Status::ok);
    expect("give", give_frame(frame_slot, d.core, d.domain), Status::ok);
    expect("it acknowledged", wait_ack(w, d.core), Status::ok);
    return d;
}

int orphan(std::uint64_t target) {
    AllocReply grant{};
    volatile std::uint64_t* w = nullptr;
    if (carve(grant, w) != Status::ok) return 1;
    const user::Spawned taker = hand_to("taker", target, w);
    if (failures) return 1;
    // Ends holding the grant and with the copy out: its monitor revokes the copy, then reports the
    // death (memserv frees the grant from that report).
    user::print("frameshare orphan core {}: ends with its frame on core {}", core, taker.core);
    mem.close();  // the connection, not the grant (memserv frees that at the death report)
    return 0;
}

// ---- a giver whose core is stopped under it ---------------------------------------------------
int stay(std::uint64_t target) {
    AllocReply grant{};
    volatile std::uint64_t* w = nullptr;
    if (carve(grant, w) != Status::ok) return 1;
    const user::Spawned taker = hand_to("taker", target, w);
    // The plan waits for this name (names:2, with memserv.0) before it stops our core.
    expect("export a name for the plan", user::export_name("frameshare.stay"), Status::ok);
    if (failures) return 1;
    user::print("frameshare staying core {}: its frame is on core {}", core, taker.core);
    for (;;) user::wait_event();
}

// ---- a home whose frame's new owner loses its core --------------------------------------------
Status return_grant(const AllocReply& grant);
Status death_of(std::uint64_t c, std::uint64_t d, abi::DomainStatus& how);
int home(std::uint64_t target) {
    AllocReply grant{};
    volatile std::uint64_t* w = nullptr;
    if (carve(grant, w) != Status::ok) return 1;
    const user::Spawned taker = hand_to("taker", target, w);
    expect("move the ownership to it", user::frame_move(frame_slot, taker.core), Status::ok);
    expect("export a name for the plan", user::export_name("frameshare.stay"), Status::ok);
    if (failures) return 1;
    user::print("frameshare home core {}: its frame is owned on core {}", core, taker.core);
    // The plan stops the taker's core. Once this monitor removed it, the frame is owned here again
    // (a move to a core holding no copy is then not_found, not permission_denied), and our copy
    // still reads.
    abi::DomainStatus how{};
    expect("the taker's core stopped", death_of(taker.core, abi::all_domains, how), Status::ok);
    Status back = Status::permission_denied;
    for (user::Deadline limit(3000); back != Status::not_found && !limit.passed();) {
        back = user::frame_move(frame_slot, target ^ 1);
        if (back != Status::not_found) user::wait_event();
    }
    expect("the frame is owned here again", back, Status::not_found);
    expect("our own copy still reads", w[2] == (magic | 2) ? Status::ok : Status::internal, Status::ok);
    expect("the grant goes back: no copy is out", return_grant(grant), Status::ok);
    mem.close();
    if (failures) return 1;
    user::print("test-pass: frameshare home core {}: kept its frame and owns it again after core {} was lost", core, taker.core);
    return 0;
}

// ---- giver -------------------------------------------------------------------------------------
Status wait_ack(volatile std::uint64_t* w, std::uint64_t from) {
    for (user::Deadline limit(100000); !limit.passed();) {
        if (w[1] == (ack | from)) return Status::ok;
        user::wait_event();
    }
    return Status::timeout;
}

// How (core, domain) ended, from the death feed.
Status death_of(std::uint64_t c, std::uint64_t d, abi::DomainStatus& how) {
    std::uint64_t cursor = 0;
    for (user::Deadline limit(3000); !limit.passed();) {  // 30 s of timer ticks
        user::Death x{};
        const Status s = user::next_death(cursor, x);
        if (s == Status::ok || s == Status::overflow) {
            cursor = x.cursor;
            if (s == Status::ok && x.core == c && x.domain == d) {
                how = x.how;
                return Status::ok;
            }
            continue;
        }
        if (s != Status::would_block) return s;
        user::wait_event();
    }
    return Status::timeout;
}

Status raw_give(std::uint64_t send, std::uint64_t c, std::uint64_t d) {
    std::uint64_t ticket = 0;
    const Status s = user::monitor_call_with_cap(abi::MonitorOp::frame_give, send, c, d, ticket);
    return s == Status::ok ? user::frame_wait(ticket) : s;
}

// A 4 KiB grant carved into the frame in frame_slot, mapped, with the pattern written.
Status carve(AllocReply& grant, volatile std::uint64_t*& w) {
    if (const Status s = mem.init(); s != Status::ok) {
        expect("memserv topology", s, Status::ok);
        return s;
    }
    if (const Status s = mem.alloc_untyped(page, untyped_slot, grant); s != Status::ok) {
        expect("a 4 KiB grant as untyped memory", s, Status::ok);
        return s;
    }
    if (const Status s = user::retype(untyped_slot, user::captype::frame, 12, frame_slot, 1); s != Status::ok) {
        expect("retype a frame", s, Status::ok);
        return s;
    }
    w = map_frame(frame_slot);
    if (!w) return Status::internal;
    for (unsigned k = 0; k < page / 8; ++k) w[k] = magic | k;
    w[0] = magic;
    return Status::ok;
}

// A giver that ends with its copy out (on core `on`): the copy is revoked before its death is
// reported, and its taker on `target` faults.
void orphan_from(std::uint64_t on, std::uint64_t target) {
    char arg[16] = "orphan 0000";
    for (std::uint64_t t = target, i = 4; i-- > 0; t /= 10) arg[7 + i] = static_cast<char>('0' + t % 10);
    user::Spawned sub{};
    abi::DomainStatus how{};
    expect("spawn the orphan", user::spawn("frameshare", on, arg, sub), Status::ok);
    expect("the orphan's end is reported", death_of(sub.core, sub.domain, how), Status::ok);
    expect("the orphan exited", how == abi::DomainStatus::exited ? Status::ok : Status::internal, Status::ok);
}

// Four decimal digits from role[at].
std::uint64_t digits(const char* role, unsigned at) {
    std::uint64_t t = 0;
    for (unsigned i = at; i < at + 4 && role[i]; ++i)
        if (role[i] >= '0' && role[i] <= '9') t = t * 10 + static_cast<std::uint64_t>(role[i] - '0');
    return t;
}

// return_ram (busy while a copy of a frame carved from it may still be out), then free at memserv.
Status return_grant(const AllocReply& grant) {
    Status back = Status::busy;
    for (user::Deadline limit(100000); back == Status::busy && !limit.passed();) {
        back = Allocator::give_back(grant);
        if (back == Status::busy) user::wait_event();
    }
    if (back != Status::ok) return back;
    FreeReply f{};
    return mem.free(grant, f);
}

// Waits until the death feed reports (core, domain) and checks how it ended.
void expect_end(std::uint64_t c, std::uint64_t d, abi::DomainStatus want, const char* what) {
    abi::DomainStatus how{};
    expect(what, death_of(c, d, how), Status::ok);
    expect(what, how == want ? Status::ok : Status::internal, Status::ok);
}

int give(std::uint64_t target) {
    AllocReply grant{};
    volatile std::uint64_t* w = nullptr;
    if (carve(grant, w) != Status::ok) return 1;

    // What must be refused.
    expect("give to our own core", raw_give(frame_slot, core, domain), Status::invalid_argument);
    // Untyped memory is never copied (the kernel delivers nothing: no cap came); an endpoint is
    // copied, and is not a frame.
    expect("give of an untyped", raw_give(untyped_slot, target, 1), Status::invalid_argument);
    expect("give of an endpoint", raw_give(user::cap::monitor, target, 1), Status::wrong_type);
    expect("give with no capability sent", raw_give(abi::ipc_no_send, target, 1), Status::invalid_argument);
    expect("give to domain 0", raw_give(frame_slot, target, 0), Status::invalid_argument);
    expect("give to a core that does not exist", raw_give(frame_slot, 4096, 1), Status::invalid_argument);
    expect("revoke of a frame never given", user::frame_revoke(frame_slot), Status::not_found);
    expect("poll of a ticket not ours", user::frame_wait(0x7fff'0000), Status::not_found);
    user::Spawned gone{};
    expect("spawn a domain that ends at once", user::spawn("hello", target, "", gone), Status::ok);
    abi::DomainStatus how{};
    expect("its death is reported", death_of(gone.core, gone.domain, how), Status::ok);
    expect("give to a domain that ended", give_frame(frame_slot, gone.core, gone.domain), Status::connection_lost);

    // Domains that never take: the givers of one core fill at most half of another core's waiting
    // offers, so a giver elsewhere (the orphan, from core + 1) still gets through. Without that
    // limit the third give below is taken and a fourth would leave the orphan `busy`.
    char sit[24] = "sitter 0000 0000";
    for (std::uint64_t t = core, i = 4; i-- > 0; t /= 10) sit[7 + i] = static_cast<char>('0' + t % 10);
    for (std::uint64_t t = domain, i = 4; i-- > 0; t /= 10) sit[12 + i] = static_cast<char>('0' + t % 10);
    // A core holds one copy of a memory at most (a second give there is `already_exists`): three
    // frames of a grant of their own.
    AllocReply sit_grant{};
    expect("a grant for the sitters' frames", mem.alloc_untyped(4 * page, sit_untyped_slot, sit_grant), Status::ok);
    expect("three frames of it", user::retype(sit_untyped_slot, user::captype::frame, 12, sit_frame_slot, 3), Status::ok);
    user::Spawned sitter[3]{};
    for (user::Spawned& x : sitter) expect("spawn a domain that never takes", user::spawn("frameshare", target, sit, x), Status::ok);
    expect("a first offer waits", give_frame(sit_frame_slot, sitter[0].core, sitter[0].domain), Status::ok);
    expect("a second offer waits", give_frame(sit_frame_slot + 1, sitter[1].core, sitter[1].domain), Status::ok);
    expect("a third from this core", user::frame_give(sit_frame_slot + 2, sitter[2].core, sitter[2].domain), Status::busy);
    orphan_from(core + 1, target);
    for (std::uint64_t k = 0; k < 2; ++k)
        expect("the revoke withdraws an offer", user::frame_revoke(sit_frame_slot + k), Status::ok);
    expect("the sitters' grant goes back", return_grant(sit_grant), Status::ok);

    // Give, acknowledged through the frame itself, revoke: the taker faults on its next read.
    user::Spawned taker{};
    expect("spawn the taker", user::spawn("frameshare", target, "taker", taker), Status::ok);
    expect("give to the taker", give_frame(frame_slot, taker.core, taker.domain), Status::ok);
    expect("the taker read the pattern and acknowledged", wait_ack(w, taker.core), Status::ok);
    expect("revoke", user::frame_revoke(frame_slot), Status::ok);
    expect("the taker's end is reported", death_of(taker.core, taker.domain, how), Status::ok);
    expect("the taker faulted reading the revoked frame", how == abi::DomainStatus::faulted ? Status::ok : Status::internal,
           Status::ok);
    expect("our own copy still reads", w[2] == (magic | 2) ? Status::ok : Status::internal, Status::ok);

    // A holder passes its copy on, through the owner (this core): the second holder, on core 0,
    // reads the pattern and acknowledges; the giver's revoke takes both copies.
    w[1] = 0;
    w[3] = 0;
    user::Spawned passer{};
    expect("spawn the passer", user::spawn("frameshare", target, "passer 0000", passer), Status::ok);
    expect("give to the passer", give_frame(frame_slot, passer.core, passer.domain), Status::ok);
    expect("the copy passed on was read on core 0 and acknowledged", wait_ack(w, 0), Status::ok);
    for (user::Deadline limit(3000); w[3] == 0 && !limit.passed();) user::wait_event();
    const std::uint64_t second = w[3];
    expect("the passer is done passing", second != 0 ? Status::ok : Status::timeout, Status::ok);
    expect("revoke both copies", user::frame_revoke(frame_slot), Status::ok);
    const user::Spawned holders[2] = {passer, {0, second}};
    for (const user::Spawned& h : holders) {
        expect("a holder's end is reported", death_of(h.core, h.domain, how), Status::ok);
        expect("it faulted reading the revoked frame", how == abi::DomainStatus::faulted ? Status::ok : Status::internal,
               Status::ok);
    }
    for (unsigned k = 1; k < 4; ++k) w[k] = magic | k;

    // Flow A: ownership moves to a holder on the target core (`frameshare owner`), which passes a
    // copy on to core 0 and revokes it; the giver's copy stays. When it ends still owning the
    // frame its monitor moves the ownership back here.
    w[3] = 0;
    const user::Spawned owner = hand_to("owner 0000", target, w);
    expect("move to our own core", user::frame_move(frame_slot, core), Status::invalid_argument);
    expect("move to a core with no copy", user::frame_move(frame_slot, 0), Status::not_found);
    expect("move of an untyped (no capability comes)", user::frame_move(untyped_slot, target), Status::invalid_argument);
    expect("move", user::frame_move(frame_slot, target), Status::ok);
    expect("a second move by the old owner", user::frame_move(frame_slot, target), Status::permission_denied);
    w[1] = moved;
    expect_end(owner.core, owner.domain, abi::DomainStatus::exited, "the owner exited");
    expect_end(0, w[3], abi::DomainStatus::faulted, "the owner's taker on core 0 faulted after its revoke");
    expect("our own copy still reads after the new owner's revoke", w[2] == (magic | 2) ? Status::ok : Status::internal,
           Status::ok);
    // The ownership comes back here: a move to core 0 (no copy there) is then not_found, not
    // permission_denied (asked again while the move home runs).
    Status home = Status::permission_denied;
    for (user::Deadline limit(3000); (home == Status::permission_denied || home == Status::busy) && !limit.passed();) {
        home = user::frame_move(frame_slot, 0);
        if (home == Status::permission_denied || home == Status::busy) user::wait_event();
    }
    expect("the ownership came back when the owner ended", home, Status::not_found);
    for (unsigned k = 1; k < 4; ++k) w[k] = magic | k;

    // A holder that ends with its copy: the grant goes back at once afterwards.
    const user::Spawned leaver = hand_to("leaver", target, w);
    expect_end(leaver.core, leaver.domain, abi::DomainStatus::exited, "the leaver exited");

    // Flow B: ownership moves to a holder on the target core, and the giver revokes through it:
    // the new owner's copy goes (it faults), the giver's stays.
    const user::Spawned owner2 = hand_to("owner 0000", target, w);
    expect("move to the second owner", user::frame_move(frame_slot, target), Status::ok);
    w[1] = moved_b;
    expect("the giver revokes through the new owner", user::frame_revoke(frame_slot), Status::ok);
    expect_end(owner2.core, owner2.domain, abi::DomainStatus::faulted, "the second owner faulted reading the revoked frame");
    expect("our own copy still reads", w[2] == (magic | 2) ? Status::ok : Status::internal, Status::ok);

    // Its monitor said `gone` when it ended; once that reached ours no copy is out and the grant
    // goes (busy while a copy may still be out; through the owner on the target core, which counts
    // ours as the last copy).
    expect("return_ram once no copy is out, and free", return_grant(grant), Status::ok);
    mem.close();
    if (failures) return 1;
    user::print("test-pass: frameshare core {} target {} checks={}", core, target, checks);
    return 0;
}

} // namespace

extern "C" int main(std::uint64_t arg) {
    for (std::uint64_t s = untyped_slot; s < 56; ++s) rpc::Slots::instance().reserve(s);
    const std::uint64_t info = user::syscall6(abi::Sys::domain_info).value;
    core = static_cast<std::uint32_t>(info >> 32);
    domain = static_cast<std::uint32_t>(info);
    char role[24] = {};
    (void)user::read_args(role, sizeof role);
    if (role[0] == 't') return receive(true);
    if (role[0] == 'l') return receive(false);
    if (role[0] == 'o' && role[1] == 'w') return own(digits(role, 6));  // "owner TTTT": the core of its taker
    if (role[0] == 'o') return orphan(digits(role, 7));                 // "orphan TTTT": the target core
    if (role[0] == 'p') return pass(digits(role, 7));    // "passer TTTT": the core of its taker
    if (role[0] == 's') {  // "sitter CCCC DDDD": never takes what it is given; ends after its giver
        abi::DomainStatus how{};
        while (death_of(digits(role, 7), digits(role, 12), how) == Status::timeout) {
        }
        return 0;
    }
    if (arg >> 16 & 1) return stay(arg & 0xffff);
    if (arg >> 17 & 1) return home(arg & 0xffff);
    return give(arg);
}
