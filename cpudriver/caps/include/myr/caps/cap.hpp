#pragma once
// A capability: one typed, rights-limited reference to a kernel object or a hardware resource,
// stored in a slot of a per-core CapTable (table.hpp). Plain data, no pointers: a slot can be
// copied, compared and audited byte for byte. Rules and rationale: docs/capabilities.md.
#include <myr/result.hpp>

#include <cstdint>

namespace myr::caps {

// Values are ABI (syscalls report them, the monitor stores them): append, never renumber.
enum class CapType : std::uint8_t {
    null = 0,           // empty slot
    untyped = 1,        // RAM region [base, base+size); `word` is the retype watermark
    frame = 2,          // mappable RAM, 4 KiB / 2 MiB / 1 GiB
    page_table = 3,     // one 4 KiB translation table; `aux` = level 1 (PT) .. 4 (PML4, vspace root)
    cnode = 4,          // 2^aux slots of this core's CapTable (its memory *is* those slots)
    endpoint = 5,       // local synchronous IPC; `word` = badge (0 = unbadged)
    notification = 6,   // local asynchronous signal word; `word` = badge
    domain = 7,         // a domain of this core, named by its serial: base = serial, size 1 (not memory)
    ipi = 8,            // may send IPI vector `aux` to cores [base, base+size); `word` = badge: core + 1 (only that one)
    irq = 9,            // may receive / handle interrupt vector `aux` on this core
    channel_memory = 10,// RAM for URPC channels; typed apart from frames so monitors can hand it out
    kernel = 11,        // "this core's kernel" (monitor only); base = core index
    io_port = 12,       // x86 I/O ports [base, base+size)
};
inline constexpr unsigned cap_type_count = 13;

const char* to_string(CapType t);

// Rights: a bitmask. Derivation (copy/mint) ANDs them with a mask, so they only ever shrink.
enum class Rights : std::uint16_t {
    none = 0,
    read = 1u << 0,
    write = 1u << 1,
    execute = 1u << 2,
    grant = 1u << 3,    // endpoint: may transfer capabilities with a message
    send = 1u << 4,
    receive = 1u << 5,
    retype = 1u << 6,   // untyped: may carve objects
    map = 1u << 7,      // frame / page table / channel memory: may be mapped or installed
};
constexpr Rights operator|(Rights a, Rights b) {
    return static_cast<Rights>(static_cast<std::uint16_t>(static_cast<unsigned>(a) | static_cast<unsigned>(b)));
}
constexpr Rights operator&(Rights a, Rights b) {
    return static_cast<Rights>(static_cast<std::uint16_t>(static_cast<unsigned>(a) & static_cast<unsigned>(b)));
}
// True when every right in `need` is in `have`.
constexpr bool has(Rights have, Rights need) { return (have & need) == need; }

// The rights a freshly created capability of `type` carries (all that mean something for it).
Rights all_rights(CapType type);

// Flags of a capability (Cap::flags), kept by move, never by copy or mint.
//   pinned: the kernel placed this capability and relies on it staying where it is (a domain's
//   lent RAM, which goes back to the kernel slot it came from when the domain ends; its own
//   cnode; a monitor's kernel, IPI and channel-pool caps). move and remove refuse a pinned
//   capability with permission_denied, so no system call (delete, or a reply that moves a cap)
//   can take it out of its slot; copies and mints of it are ordinary, unpinned caps. Only the
//   kernel pins and unpins (CapTable::set_pinned).
inline constexpr std::uint8_t cap_pinned = 1;
inline constexpr std::uint8_t cap_known_flags = cap_pinned;

struct Cap {
    std::uint64_t base = 0;  // physical address, first port, first core (see CapType)
    std::uint64_t size = 0;  // bytes, ports, cores
    std::uint64_t word = 0;  // untyped: watermark (bytes used from base); endpoint/notification: badge
    std::uint32_t aux = 0;   // page_table: level; cnode: radix; ipi/irq: vector
    CapType type = CapType::null;
    std::uint8_t flags = 0;  // cap_pinned
    Rights rights = Rights::none;

    [[nodiscard]] bool is_null() const { return type == CapType::null; }
    [[nodiscard]] bool pinned() const { return (flags & cap_pinned) != 0; }
    [[nodiscard]] std::uint64_t end() const { return base + size; }
    [[nodiscard]] std::uint64_t badge() const { return word; }
    [[nodiscard]] std::uint64_t watermark() const { return word; }
};
static_assert(sizeof(Cap) == 32);

// True when `type` names a region of RAM (so overlap and untyped ancestry apply).
bool is_memory(CapType type);

// Two capabilities reference the same object: same type and same identity fields (base, size,
// aux); rights, badge and watermark do not count.
inline bool same_object(const Cap& a, const Cap& b) {
    return a.type == b.type && a.base == b.base && a.size == b.size && a.aux == b.aux;
}

// What retype carves. `param` means: size_bits for untyped / frame / channel_memory, radix (log2
// of the slot count) for cnode, level (1..4) for page_table; 0 for the fixed-size kinds.
struct ObjectSpec {
    CapType type = CapType::null;
    std::uint8_t param = 0;
};

// log2 of the object's size in bytes, or invalid_argument for a type retype cannot make or a
// `param` outside its documented range (constants below).
[[nodiscard]] Result<unsigned> object_size_bits(ObjectSpec spec);

inline constexpr unsigned page_bits = 12;
inline constexpr unsigned slot_bits = 6;  // sizeof(Slot) == 64
inline constexpr unsigned untyped_min_bits = 6;
inline constexpr unsigned untyped_max_bits = 52;  // x86-64 physical address width limit
inline constexpr unsigned channel_min_bits = 12;
inline constexpr unsigned channel_max_bits = 30;
inline constexpr unsigned cnode_min_radix = 1;
inline constexpr unsigned cnode_max_radix = 20;
inline constexpr unsigned endpoint_bits = 6;
inline constexpr unsigned notification_bits = 6;
inline constexpr std::uint64_t phys_limit = std::uint64_t{1} << 52;
inline constexpr std::uint32_t max_retype_count = 1u << 16;

// For syscall handlers: is `cap` a `type` capability holding at least `need`?
// not_found (empty slot), wrong_type, permission_denied, or ok.
[[nodiscard]] Status check(const Cap& cap, CapType type, Rights need);

// Builders for the roots the CPU driver installs at boot (CapTable::install validates them).
Cap make_untyped(std::uint64_t base, std::uint64_t size);
Cap make_frame(std::uint64_t base, unsigned size_bits);
Cap make_cnode(std::uint64_t base, unsigned radix);
Cap make_channel_memory(std::uint64_t base, unsigned size_bits);
Cap make_kernel(std::uint32_t core);
Cap make_io_ports(std::uint16_t first, std::uint32_t count);
Cap make_ipi(std::uint32_t first_core, std::uint32_t cores, std::uint8_t vector);
Cap make_irq(std::uint8_t vector);
// A domain's name: its serial, unique on its core for the core's lifetime (never reused), so a
// capability can outlive the domain and still never name another one.
Cap make_domain(std::uint32_t serial);

} // namespace myr::caps
