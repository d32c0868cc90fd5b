// Attack (issue 11): an ordinary domain tries to forge an untyped capability for memserv pool
// memory with the monitor-only call Sys::cap_create_ram, naming its own node's real pool (from
// Sys::topology) and every kind of capability it holds in place of the kernel cap. Every try must
// be refused and leave the destination slot empty. It also checks what the topology reports: a
// pool on every node with cores (the config sets memserv.pool), 2 MiB aligned and disjoint.
#include "expect.hpp"

using namespace myr;
using namespace myr::user;
using namespace myr::test;

namespace {

abi::TopologyInfo topo;  // 5.6 KiB: not on the stack

void check(bool ok, const char* what, std::uint64_t v) {
    ++checks;
    if (ok) return;
    ++failures;
    print("test-fail: {} ({:#x})", what, v);
}

} // namespace

extern "C" int main(std::uint64_t) {
    const auto t = syscall6(abi::Sys::topology, reinterpret_cast<std::uint64_t>(&topo), sizeof topo);
    expect("topology", t.status, Status::ok);
    const std::uint32_t core = static_cast<std::uint32_t>(syscall6(abi::Sys::domain_info).value >> 32);
    check(core < topo.cores && topo.core_node[core] < abi::topo_max_nodes, "own node", core);
    const std::uint32_t node = topo.core_node[core];
    for (std::uint32_t n = 0; n < topo.nodes && n < abi::topo_max_nodes; ++n) {
        const std::uint64_t b = topo.ram_pool_base[n], z = topo.ram_pool_bytes[n];
        check(z >= (2u << 20) && z % (2u << 20) == 0 && b % (2u << 20) == 0, "pool of node", n);
        for (std::uint32_t o = 0; o < n; ++o)
            check(b + z <= topo.ram_pool_base[o] || topo.ram_pool_base[o] + topo.ram_pool_bytes[o] <= b,
                  "pools overlap", n);
    }
    const std::uint64_t pool = topo.ram_pool_base[node];
    constexpr std::uint64_t dest = 20;  // an empty slot of its cnode
    // Every slot it holds something in, and slot 5 (a monitor's kernel cap; empty here).
    const std::uint64_t not_kernel[] = {cap::self_cnode, cap::self_domain, cap::ram, cap::endpoint, 5, 6, cap::monitor};
    const Status want[] = {Status::wrong_type, Status::wrong_type, Status::wrong_type, Status::wrong_type,
                           Status::not_found, Status::not_found, Status::wrong_type};
    for (std::size_t i = 0; i < sizeof not_kernel / sizeof not_kernel[0]; ++i) {
        expect("cap_create_ram without the kernel cap",
               syscall6(abi::Sys::cap_create_ram, not_kernel[i], pool, 12, dest).status, want[i]);
        expect("cap_create_ram, whole pool", syscall6(abi::Sys::cap_create_ram, not_kernel[i], pool, 21, dest).status,
               want[i]);
        check(cap_identify(dest).status == Status::not_found, "something landed in the slot", i);
    }
    // Its own RAM cannot be made into a second root either way (and an untyped child of it is
    // not a kernel cap).
    expect("retype own RAM", retype(cap::ram, captype::untyped, 12, dest, 1), Status::ok);
    expect("cap_create_ram with an untyped child", syscall6(abi::Sys::cap_create_ram, dest, pool, 12, 21).status,
           Status::wrong_type);
    print("test-pass: ramforge {} checks={} failures={}", core, checks, failures);
    return failures ? 1 : 0;
}
