#include <myr/config/apic_ids.hpp>
#include <myr/config/config.hpp>

#include <cstdint>
#include <cstdlib>

namespace myr::config {
namespace {

// Bits QEMU gives a level with `count` members: ceil(log2 count), 0 for one.
unsigned width(unsigned count) {
    unsigned bits = 0;
    while ((1u << bits) < count) ++bits;
    return bits;
}

std::string shape(unsigned s, unsigned c, unsigned t) {
    return std::to_string(s) + (s == 1 ? " socket" : " sockets") + " x " + std::to_string(c) + (c == 1 ? " core" : " cores") +
           " x " + std::to_string(t) + (t == 1 ? " thread" : " threads") + " (" + std::to_string(s * c * t) + " CPUs)";
}

} // namespace

unsigned highest_apic_id(unsigned sockets, unsigned cores, unsigned threads) {
    if (!sockets || !cores || !threads) return 0;
    const unsigned tw = width(threads), cw = width(cores);
    const std::uint64_t id = (std::uint64_t{sockets - 1} << (cw + tw)) | (std::uint64_t{cores - 1} << tw) | (threads - 1);
    return id > 0xffffffffu ? 0xffffffffu : static_cast<unsigned>(id);
}

std::string apic_id_problem(unsigned sockets, unsigned cores, unsigned threads) {
    const unsigned top = highest_apic_id(sockets, cores, threads);
    if (top <= max_xapic_id) return "";
    std::string why = shape(sockets, cores, threads) + " gives APIC ids up to " + std::to_string(top) +
                      ": QEMU rounds cores up to " + std::to_string(1u << width(cores)) + " and threads up to " +
                      std::to_string(1u << width(threads)) + " in each id, and xAPIC ids stop at " +
                      std::to_string(max_xapic_id) + " (x2APIC is not supported yet)";
    std::string fits;
    for (unsigned c = cores; c-- > 1;)
        if (highest_apic_id(sockets, c, threads) <= max_xapic_id) {
            fits = shape(sockets, c, threads);
            break;
        }
    // The same number of CPUs in another split, sockets as close to the asked number as can be.
    const unsigned cpus = sockets * cores * threads;
    unsigned best_s = 0;
    for (unsigned s = 1; s <= max_nodes && s <= cpus / threads; ++s) {
        if ((cpus / threads) % s) continue;
        if (highest_apic_id(s, cpus / threads / s, threads) > max_xapic_id) continue;
        if (!best_s || std::abs(static_cast<int>(s) - static_cast<int>(sockets)) <
                           std::abs(static_cast<int>(best_s) - static_cast<int>(sockets)))
            best_s = s;
    }
    if (best_s) fits += (fits.empty() ? "" : ", or ") + shape(best_s, cpus / threads / best_s, threads);
    return why + (fits.empty() ? "" : "; nearest that fit: " + fits);
}

} // namespace myr::config
