// Boot-log lines of the topology, without libc: a tiny bounded writer.
#include <myr/acpi/format.hpp>

namespace myr::acpi {
namespace {

class Writer {
public:
    explicit Writer(std::span<char> out) : m_out(out) {}

    void put(char c) {
        // Keep one byte for the terminating NUL.
        if (m_len + 1 >= m_out.size()) {
            m_overflow = true;
            return;
        }
        m_out[m_len++] = c;
    }
    void put(const char* s) {
        while (*s != '\0') put(*s++);
    }
    void put_dec(std::uint64_t v) { put_number(v, 10); }
    void put_hex(std::uint64_t v) {
        put("0x");
        put_number(v, 16);
    }
    Result<std::size_t> finish() {
        if (!m_out.empty()) m_out[m_len < m_out.size() ? m_len : m_out.size() - 1] = '\0';
        if (m_overflow || m_out.empty()) return Status::overflow;
        return m_len;
    }

private:
    void put_number(std::uint64_t v, std::uint64_t base) {
        char digits[20];
        std::size_t n = 0;
        do {
            digits[n++] = "0123456789abcdef"[v % base];
            v /= base;
        } while (v != 0);
        while (n > 0) put(digits[--n]);
    }

    std::span<char> m_out;
    std::size_t m_len = 0;
    bool m_overflow = false;
};

// Appends ranges of consecutive values; the caller feeds ascending values one by one.
class ListBuilder {
public:
    explicit ListBuilder(Writer& w) : m_w(w) {}
    void add(std::uint32_t v) {
        if (m_open && v == m_last + 1) {
            m_last = v;
            return;
        }
        flush();
        m_first = m_last = v;
        m_open = true;
    }
    void flush() {
        if (!m_open) return;
        if (m_any) m_w.put(',');
        m_w.put_dec(m_first);
        if (m_last != m_first) {
            m_w.put('-');
            m_w.put_dec(m_last);
        }
        m_any = true;
        m_open = false;
    }
    [[nodiscard]] bool empty() const { return !m_any && !m_open; }

private:
    Writer& m_w;
    std::uint32_t m_first = 0;
    std::uint32_t m_last = 0;
    bool m_open = false;
    bool m_any = false;
};

void put_cpu_list(Writer& w, const Topology& topo, std::uint16_t node) {
    ListBuilder list(w);
    for (std::uint32_t i = 0; i < topo.num_cpus; ++i)
        if (topo.cpus[i].node == node) list.add(i);
    if (list.empty()) w.put("none");
    list.flush();
}

} // namespace

Result<std::size_t> format_index_list(std::span<const std::uint32_t> ascending,
                                      std::span<char> out) {
    Writer w(out);
    ListBuilder list(w);
    for (std::uint32_t v : ascending) list.add(v);
    list.flush();
    return w.finish();
}

Result<std::size_t> format_cpu_list(const Topology& topo, std::uint16_t node,
                                    std::span<char> out) {
    Writer w(out);
    put_cpu_list(w, topo, node);
    return w.finish();
}

Result<std::size_t> format_node_line(const Topology& topo, std::uint16_t node,
                                     std::span<char> out) {
    if (node >= topo.num_nodes) return Status::invalid_argument;
    Writer w(out);
    w.put("node id=");
    w.put_dec(node);
    w.put(" mem=");
    bool any = false;
    for (std::uint32_t r = 0; r < topo.num_ranges; ++r) {
        const MemRange& range = topo.ranges[r];
        if (range.node != node) continue;
        if (any) w.put(',');
        w.put_hex(range.base);
        w.put('-');
        w.put_hex(range.base + range.length);
        any = true;
    }
    if (!any) w.put("none");
    w.put(" cpus=");
    put_cpu_list(w, topo, node);
    return w.finish();
}

Result<std::size_t> format_cpu_line(const Topology& topo, std::uint32_t cpu,
                                    std::span<char> out) {
    if (cpu >= topo.num_cpus) return Status::invalid_argument;
    const Cpu& c = topo.cpus[cpu];
    Writer w(out);
    w.put("cpu index=");
    w.put_dec(cpu);
    w.put(" apic=");
    w.put_dec(c.apic_id);
    w.put(" node=");
    w.put_dec(c.node);
    w.put(" pxm=");
    w.put_dec(c.proximity);
    return w.finish();
}

} // namespace myr::acpi
