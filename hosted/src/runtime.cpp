#include <myr/hosted/runtime.hpp>

#include <hwloc.h>
#include <numa.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

namespace myr::hosted {

ChannelMemory::ChannelMemory(ChannelMemory&& other) noexcept
    : m_ptr(other.m_ptr), m_size(other.m_size), m_node(other.m_node), m_numa(other.m_numa) {
    other.m_ptr = nullptr;
}

ChannelMemory& ChannelMemory::operator=(ChannelMemory&& other) noexcept {
    if (this != &other) {
        release();
        m_ptr = other.m_ptr;
        m_size = other.m_size;
        m_node = other.m_node;
        m_numa = other.m_numa;
        other.m_ptr = nullptr;
    }
    return *this;
}

ChannelMemory::~ChannelMemory() { release(); }

void ChannelMemory::release() {
    if (m_ptr == nullptr) return;
    if (m_numa)
        numa_free(m_ptr, m_size);
    else
        std::free(m_ptr);
    m_ptr = nullptr;
}

Result<std::unique_ptr<Runtime>> Runtime::create() {
    std::unique_ptr<Runtime> rt(new Runtime());
    if (hwloc_topology_init(&rt->m_topology) != 0) return Status::no_memory;
    if (hwloc_topology_load(rt->m_topology) != 0) {
        hwloc_topology_destroy(rt->m_topology);
        rt->m_topology = nullptr;
        return Status::unsupported;
    }
    const int pus = hwloc_get_nbobjs_by_type(rt->m_topology, HWLOC_OBJ_PU);
    for (int i = 0; i < pus; ++i) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(rt->m_topology, HWLOC_OBJ_PU, static_cast<unsigned>(i));
        if (pu == nullptr) continue;
        const int node = pu->nodeset != nullptr ? hwloc_bitmap_first(pu->nodeset) : -1;
        rt->m_cores.push_back(Core{static_cast<std::uint32_t>(i), pu->os_index,
                                   node < 0 ? 0u : static_cast<std::uint32_t>(node)});
    }
    if (rt->m_cores.empty()) return Status::unsupported;

    rt->m_numa = numa_available() >= 0;
    if (!rt->m_numa) {
        rt->note("NUMA not available: all memory on node 0, placement has no effect");
        for (Core& c : rt->m_cores) c.node = 0;
    } else if (numa_num_configured_nodes() <= 1) {
        rt->note("one NUMA node: all channel memory on node 0, placement has no effect");
    }
    const hwloc_topology_support* support = hwloc_topology_get_support(rt->m_topology);
    if (support == nullptr || support->cpubind->set_thisthread_cpubind == 0)
        rt->note("thread binding not supported: cores run unpinned");
    return rt;
}

Runtime::~Runtime() {
    if (m_topology != nullptr) hwloc_topology_destroy(m_topology);
}

void Runtime::note(std::string text) {
    if (std::find(m_notes.begin(), m_notes.end(), text) == m_notes.end())
        m_notes.push_back(std::move(text));
}

std::uint32_t Runtime::distance(std::uint32_t core_a, std::uint32_t core_b) const {
    if (core_a >= m_cores.size() || core_b >= m_cores.size()) return 0;
    const std::uint32_t a = m_cores[core_a].node;
    const std::uint32_t b = m_cores[core_b].node;
    if (m_numa) {
        const int d = numa_distance(static_cast<int>(a), static_cast<int>(b));
        if (d > 0) return static_cast<std::uint32_t>(d);
    }
    return a == b ? 10u : 20u;  // the ACPI defaults when no SLIT says otherwise
}

Result<ChannelMemory> Runtime::channel(std::uint32_t src, std::uint32_t dst,
                                       urpc::ChannelConfig config, Placement placement) {
    if (src >= m_cores.size() || dst >= m_cores.size()) return Status::invalid_argument;
    if (!urpc::valid_slot_count(config.slots)) return Status::invalid_argument;
    const std::uint32_t node = m_cores[placement == Placement::receiver ? dst : src].node;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t size = (urpc::channel_bytes(config.slots) + page - 1) / page * page;
    std::byte* ptr = nullptr;
    bool numa = false;
    if (m_numa) {
        // numa_alloc_onnode binds the pages to the node whichever thread touches them first.
        ptr = static_cast<std::byte*>(numa_alloc_onnode(size, static_cast<int>(node)));
        numa = ptr != nullptr;
        if (ptr == nullptr) note("numa_alloc_onnode failed: channel memory from the heap");
    }
    if (ptr == nullptr) ptr = static_cast<std::byte*>(std::aligned_alloc(page, size));
    if (ptr == nullptr) return Status::no_memory;
    std::memset(ptr, 0, size);  // fault every page in now, not on the first messages
    ChannelMemory memory(ptr, size, numa ? node : 0, numa);
    if (Status s = urpc::format_channel(memory.bytes(), config); s != Status::ok) return s;
    return memory;
}

bool Runtime::pin_current_thread(std::uint32_t core) const {
    hwloc_obj_t pu = hwloc_get_obj_by_type(m_topology, HWLOC_OBJ_PU, core);
    return pu != nullptr && hwloc_set_cpubind(m_topology, pu->cpuset, HWLOC_CPUBIND_THREAD) == 0;
}

Status Runtime::run(std::span<const std::uint32_t> cores,
                    const std::function<void(std::uint32_t)>& body) {
    std::set<std::uint32_t> unique;
    for (std::uint32_t c : cores)
        if (c >= m_cores.size() || !unique.insert(c).second) return Status::invalid_argument;
    std::vector<char> pinned(cores.size(), 0);
    std::barrier start(static_cast<std::ptrdiff_t>(cores.size()));
    std::vector<std::thread> threads;
    threads.reserve(cores.size());
    for (std::size_t i = 0; i < cores.size(); ++i) {
        threads.emplace_back([&, i] {
            pinned[i] = pin_current_thread(cores[i]) ? 1 : 0;
            start.arrive_and_wait();
            body(cores[i]);
        });
    }
    for (std::thread& t : threads) t.join();
    for (std::size_t i = 0; i < cores.size(); ++i)
        if (pinned[i] == 0) note("could not pin core " + std::to_string(cores[i]) + ": ran unpinned");
    return Status::ok;
}

} // namespace myr::hosted
