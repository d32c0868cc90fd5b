// Capability types: names, rights per type, object sizes, the syscall-side check.
#include <myr/caps/cap.hpp>

namespace myr::caps {

const char* to_string(CapType t) {
    switch (t) {
    case CapType::null: return "null";
    case CapType::untyped: return "untyped";
    case CapType::frame: return "frame";
    case CapType::page_table: return "page_table";
    case CapType::cnode: return "cnode";
    case CapType::endpoint: return "endpoint";
    case CapType::notification: return "notification";
    case CapType::domain: return "domain";
    case CapType::ipi: return "ipi";
    case CapType::irq: return "irq";
    case CapType::channel_memory: return "channel_memory";
    case CapType::kernel: return "kernel";
    case CapType::io_port: return "io_port";
    }
    return "unknown";
}

Rights all_rights(CapType type) {
    switch (type) {
    case CapType::null: return Rights::none;
    case CapType::untyped: return Rights::retype;
    case CapType::frame: return Rights::read | Rights::write | Rights::execute | Rights::map;
    case CapType::page_table: return Rights::read | Rights::write | Rights::map;
    case CapType::cnode: return Rights::read | Rights::write;
    case CapType::endpoint: return Rights::send | Rights::receive | Rights::grant;
    case CapType::notification: return Rights::send | Rights::receive;
    case CapType::domain: return Rights::read | Rights::write;
    case CapType::ipi: return Rights::send;
    case CapType::irq: return Rights::receive;
    case CapType::channel_memory: return Rights::read | Rights::write | Rights::map;
    case CapType::kernel: return Rights::read | Rights::write;
    case CapType::io_port: return Rights::read | Rights::write;
    }
    return Rights::none;
}

bool is_memory(CapType type) {
    switch (type) {
    case CapType::untyped:
    case CapType::frame:
    case CapType::page_table:
    case CapType::cnode:
    case CapType::endpoint:
    case CapType::notification:
    case CapType::channel_memory: return true;
    case CapType::domain:
    case CapType::null:
    case CapType::ipi:
    case CapType::irq:
    case CapType::kernel:
    case CapType::io_port: return false;
    }
    return false;
}

Result<unsigned> object_size_bits(ObjectSpec spec) {
    const unsigned p = spec.param;
    switch (spec.type) {
    case CapType::untyped:
        if (p < untyped_min_bits || p > untyped_max_bits) return Status::invalid_argument;
        return p;
    case CapType::frame:
        // Only sizes a page-table entry maps (Intel SDM vol. 3A, 4.5: 4 KiB, 2 MiB, 1 GiB pages).
        if (p != 12 && p != 21 && p != 30) return Status::invalid_argument;
        return p;
    case CapType::channel_memory:
        if (p < channel_min_bits || p > channel_max_bits) return Status::invalid_argument;
        return p;
    case CapType::page_table:
        if (p < 1 || p > 4) return Status::invalid_argument;
        return page_bits;
    case CapType::cnode:
        if (p < cnode_min_radix || p > cnode_max_radix) return Status::invalid_argument;
        return p + slot_bits;
    case CapType::endpoint:
        if (p != 0) return Status::invalid_argument;
        return endpoint_bits;
    case CapType::notification:
        if (p != 0) return Status::invalid_argument;
        return notification_bits;
    case CapType::domain:  // made by the kernel when it starts a domain, never by retype
    case CapType::null:
    case CapType::ipi:
    case CapType::irq:
    case CapType::kernel:
    case CapType::io_port: return Status::invalid_argument;  // not made of memory
    }
    return Status::invalid_argument;
}

Status check(const Cap& cap, CapType type, Rights need) {
    if (cap.is_null()) return Status::not_found;
    if (cap.type != type) return Status::wrong_type;
    if (!has(cap.rights, need)) return Status::permission_denied;
    return Status::ok;
}

namespace {
Cap make(CapType type, std::uint64_t base, std::uint64_t size, std::uint32_t aux) {
    Cap c;
    c.type = type;
    c.base = base;
    c.size = size;
    c.aux = aux;
    c.rights = all_rights(type);
    return c;
}
} // namespace

Cap make_untyped(std::uint64_t base, std::uint64_t size) { return make(CapType::untyped, base, size, 0); }
Cap make_frame(std::uint64_t base, unsigned size_bits) {
    return make(CapType::frame, base, size_bits < 64 ? std::uint64_t{1} << size_bits : 0, 0);
}
Cap make_channel_memory(std::uint64_t base, unsigned size_bits) {
    return make(CapType::channel_memory, base, size_bits < 64 ? std::uint64_t{1} << size_bits : 0, 0);
}
Cap make_cnode(std::uint64_t base, unsigned radix) {
    const unsigned bits = radix + slot_bits;
    return make(CapType::cnode, base, bits < 64 ? std::uint64_t{1} << bits : 0, radix);
}
Cap make_kernel(std::uint32_t core) { return make(CapType::kernel, core, 1, 0); }
Cap make_io_ports(std::uint16_t first, std::uint32_t count) { return make(CapType::io_port, first, count, 0); }
Cap make_ipi(std::uint32_t first_core, std::uint32_t cores, std::uint8_t vector) {
    return make(CapType::ipi, first_core, cores, vector);
}
Cap make_irq(std::uint8_t vector) { return make(CapType::irq, 0, 1, vector); }
Cap make_domain(std::uint32_t serial) { return make(CapType::domain, serial, 1, 0); }

} // namespace myr::caps
