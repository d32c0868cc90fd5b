#pragma once
// The hosted substrate: Myriad "cores" are Linux threads pinned to real
// cores with hwloc; channel memory comes from libnuma on the node the placement picks. Small on
// purpose -- cores, channels between them, a clock (clock.hpp), block and wake (futex.hpp) --
// because monitor protocols and servers run on it too.
//
// It never fails for lack of NUMA or binding support: it does what the machine allows and says
// what it could not do in notes().
#include <myr/result.hpp>
#include <myr/urpc/channel_layout.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct hwloc_topology;

namespace myr::hosted {

struct Core {
    std::uint32_t index;     // Myriad core number: dense, in hwloc's logical PU order
    std::uint32_t os_index;  // Linux CPU number
    std::uint32_t node;      // Linux NUMA node number
};

// Where a channel's ring lives. Receiver-local is the default: the receiver polls its slots, so
// its empty polls hit local memory, and the sender's stores travel once.
enum class Placement : std::uint8_t { receiver, sender };

// Channel memory: owned, move-only, freed on destruction.
class ChannelMemory {
public:
    ChannelMemory(ChannelMemory&& other) noexcept;
    ChannelMemory& operator=(ChannelMemory&& other) noexcept;
    ChannelMemory(const ChannelMemory&) = delete;
    ChannelMemory& operator=(const ChannelMemory&) = delete;
    ~ChannelMemory();

    [[nodiscard]] std::span<std::byte> bytes() const { return {m_ptr, m_size}; }
    [[nodiscard]] std::uint32_t node() const { return m_node; }

private:
    friend class Runtime;
    ChannelMemory(std::byte* ptr, std::size_t size, std::uint32_t node, bool numa)
        : m_ptr(ptr), m_size(size), m_node(node), m_numa(numa) {}
    void release();

    std::byte* m_ptr = nullptr;
    std::size_t m_size = 0;
    std::uint32_t m_node = 0;
    bool m_numa = false;
};

class Runtime {
public:
    // Reads the machine with hwloc (only the CPUs this process may use). no_memory or
    // unsupported only when hwloc itself cannot load a topology.
    [[nodiscard]] static Result<std::unique_ptr<Runtime>> create();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime();

    [[nodiscard]] std::span<const Core> cores() const { return m_cores; }
    // NUMA distance (ACPI SLIT units, 10 = local) between the nodes of two cores.
    [[nodiscard]] std::uint32_t distance(std::uint32_t core_a, std::uint32_t core_b) const;
    // What the runtime could not do as asked ("NUMA not available: ...").
    [[nodiscard]] std::span<const std::string> notes() const { return m_notes; }

    // A formatted channel from `src` to `dst`, placed per `placement`.
    [[nodiscard]] Result<ChannelMemory> channel(std::uint32_t src, std::uint32_t dst,
                                                urpc::ChannelConfig config,
                                                Placement placement = Placement::receiver);

    // Runs body(core) on one thread per listed core, each pinned to it, all released together
    // once every thread is pinned; returns when all have finished. invalid_argument for an
    // unknown or repeated core.
    [[nodiscard]] Status run(std::span<const std::uint32_t> cores,
                             const std::function<void(std::uint32_t core)>& body);

private:
    Runtime() = default;
    void note(std::string text);
    [[nodiscard]] bool pin_current_thread(std::uint32_t core) const;

    hwloc_topology* m_topology = nullptr;
    std::vector<Core> m_cores;
    std::vector<std::string> m_notes;
    bool m_numa = false;
};

} // namespace myr::hosted
