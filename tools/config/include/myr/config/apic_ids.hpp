#pragma once
// The APIC ids QEMU gives an x86 `-smp sockets=S,cores=C,threads=T` machine, and whether they fit
// the xAPIC this kernel drives. QEMU packs each level's index into a power-of-two wide field,
// threads lowest (hw/i386/topology.h): id = socket << (cw + tw) | core << tw | thread, with
// cw = ceil(log2 C), tw = ceil(log2 T). So 15 sockets x 17 cores (255 CPUs) reach id 464, and
// QEMU refuses it without x2APIC ("requires kernel irqchip and X2APIC API support").
#include <string>

namespace myr::config {

// The highest id an xAPIC can address; 255 is the broadcast id.
inline constexpr unsigned max_xapic_id = 254;

// The largest APIC id of the shape (its last CPU's).
[[nodiscard]] unsigned highest_apic_id(unsigned sockets, unsigned cores, unsigned threads);

// "" when every APIC id of the shape is at most max_xapic_id; otherwise why not, and the nearest
// shapes that fit: the same sockets and threads with fewer cores, and a shape with the same
// number of CPUs (at most 64 sockets, one node each) when there is one.
[[nodiscard]] std::string apic_id_problem(unsigned sockets, unsigned cores, unsigned threads);

} // namespace myr::config
