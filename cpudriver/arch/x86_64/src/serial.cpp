// COM1 16550 UART, polled. Port and register offsets: PC/AT convention, 16550 data sheet.
#include <arch/cpu.hpp>
#include <arch/platform.hpp>

namespace myr::arch {
namespace {
constexpr std::uint16_t com1 = 0x3f8;
constexpr std::uint8_t lsr_thr_empty = 0x20;
constexpr std::uint8_t lsr_data_ready = 0x01;
} // namespace

void serial_init() {
    outb(com1 + 1, 0x00);  // no interrupts
    outb(com1 + 3, 0x80);  // DLAB on
    outb(com1 + 0, 0x01);  // divisor 1: 115200 baud
    outb(com1 + 1, 0x00);
    outb(com1 + 3, 0x03);  // 8N1, DLAB off
    outb(com1 + 2, 0xc7);  // FIFO on, cleared
    outb(com1 + 4, 0x03);  // DTR, RTS
}

void serial_write(const char* s) {
    for (; *s; ++s) {
        if (*s == '\n') {
            while (!(inb(com1 + 5) & lsr_thr_empty)) pause();
            outb(com1, '\r');
        }
        while (!(inb(com1 + 5) & lsr_thr_empty)) pause();
        outb(com1, static_cast<std::uint8_t>(*s));
    }
}

// Polled, called only from console_read (a system call): nothing on the boot path reads the
// port. Receive interrupts stay off (serial_init), so bytes wait in the FIFO until asked for.
std::size_t serial_read(char* buf, std::size_t max) {
    std::size_t n = 0;
    while (n < max && (inb(com1 + 5) & lsr_data_ready)) buf[n++] = static_cast<char>(inb(com1));
    return n;
}

[[noreturn]] void debug_exit(std::uint8_t code) {
    outb(0xf4, code);  // isa-debug-exit (myr/exit_codes.hpp); QEMU exits with (code << 1) | 1
    halt_forever();
}

} // namespace myr::arch
