/* What the entry and exit paths (entry.S) and the C++ side (trap_frame.hpp, cpu_state.cpp) must
 * agree on; plain #defines so assembly can use them. RFLAGS bits: SDM Vol. 1 §3.4.3. */
#pragma once

/* Selectors ring 3 runs with (GDT index 4 and 3, RPL 3). */
#define USER_CS 0x23
#define USER_SS 0x1b

/* Cleared by SYSCALL (SFMASK): every flag but the reserved bit 1, so the kernel starts a system
 * call with a known RFLAGS of 0x2: IF (masked until the stack switch is done), TF (no single-step
 * in ring 0), DF (string instructions count up), AC (SMAP enforced), NT (iretq would #GP), IOPL,
 * RF, ID and the arithmetic flags. */
#define RFLAGS_SYSCALL_MASK 0x257fd5

/* Cleared by every interrupt, exception and IPI entry (isr_common): DF and AC. */
#define RFLAGS_ENTRY_CLEAR 0x40400

/* The RFLAGS bits ring 3 may hold, as it can set them itself (POPF at CPL 3 with IOPL 0): CF,
 * PF, AF, ZF, SF, TF, DF, OF, NT, RF (the CPU sets it in some fault frames), AC, ID. Every exit
 * to ring 3 keeps only these and sets IF and bit 1: never IOPL > 0, never VM, VIF or VIP. */
#define RFLAGS_USER_MASK 0x254dd5
#define RFLAGS_USER_SET  0x202

/* TrapFrame (trap_frame.hpp) field offsets the assembly uses. */
#define FRAME_RIP    136
#define FRAME_CS     144
#define FRAME_RFLAGS 152
#define FRAME_RSP    160
#define FRAME_SS     168
#define FRAME_SIZE   176
