/* Kernel entry points in 64-bit mode: core start, interrupt and exception stubs. */
#include "arch/entry.h"
#include "arch/layout.h"

    .text
    .code64

/* switch_to_core(cr3, boot_block): the boot core leaves the loaded image for its own copy. The
 * code bytes at the same virtual addresses are identical in the copy, so execution continues
 * seamlessly; the stack is the copy's fresh boot_stack. Never returns. */
    .global switch_to_core
switch_to_core:
    mov %rdi, %cr3
    mov %rsi, %rdi
    movabs $boot_stack_top, %rsp
    xor %rbp, %rbp
    movabs $core_main, %rax
    call *%rax
1:  cli
    hlt
    jmp 1b

/* ap_entry64: reached from the trampoline with rdi = boot block, rsp = own boot stack. */
    .global ap_entry64
ap_entry64:
    xor %rbp, %rbp
    movabs $core_main, %rax
    call *%rax
1:  cli
    hlt
    jmp 1b

/* The general registers in TrapFrame order (last pushed = lowest address = r15). */
.macro PUSH_GPRS
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
.endm

/* Interrupt stubs: push a uniform frame (vector, error code, then general registers) and call
 * interrupt_dispatch(InterruptFrame*). Vectors with a CPU-pushed error code: SDM Vol. 3A §6.15. */
.macro ISR_NOERR n
    .align 16
isr_\n:
    pushq $0
    pushq $\n
    jmp isr_common
.endm
.macro ISR_ERR n
    .align 16
isr_\n:
    pushq $\n
    jmp isr_common
.endm

/* syscall: the CPU put the user rip in rcx and rflags in r11 and did not switch stacks (SDM
 * Vol. 2B SYSCALL). SFMASK (RFLAGS_SYSCALL_MASK) cleared every flag but bit 1: IF, so nothing
 * interrupts before the stack switch; DF and AC, so the C++ side needs no cld or clac; NT, TF.
 * The registers are pushed straight into the running domain's save area (Domain::regs), whose
 * end syscall_save_top holds (set by set_syscall_save_area whenever a domain is switched in), so
 * no system call copies its frame; then the stack becomes the kernel stack, which is the same
 * virtual address on every core (its own copy's boot_stack). syscall_save_top and the scratch
 * slot are globals of this core's copy, so no swapgs is needed: the multikernel makes every
 * kernel global per-core. The kernel never uses fs or gs (no TLS, no stack protector), so the
 * user's segment selectors and bases may stay loaded (domain.cpp switches them per domain).
 * syscall_dispatch never returns: every exit is resume_sysret or resume_frame. */
    .global syscall_entry
syscall_entry:
    mov %rsp, syscall_user_rsp(%rip)
    mov syscall_save_top(%rip), %rsp
    pushq $USER_SS              /* ss */
    pushq syscall_user_rsp(%rip)
    push %r11                   /* rflags */
    pushq $USER_CS              /* cs */
    push %rcx                   /* rip */
    sub $16, %rsp               /* error and vector: not written (nothing reads a syscall's) */
    PUSH_GPRS
    xor %ebp, %ebp              /* the frame-pointer chain ends here, not at a user address */
    mov %rsp, %rdi
    movabs $boot_stack_top, %rsp
    call syscall_dispatch
1:  cli
    hlt
    jmp 1b

/* Interrupts, exceptions and IPIs, all through interrupt gates: the CPU cleared IF, TF, NT and
 * RF (SDM Vol. 3A §6.12.1.3) and, from ring 3, switched to the TSS's rsp0 (or an IST stack).
 * DF and AC are whatever the interrupted code left: a user program can set both (std, popf).
 * DF set makes every rep movs/stos the compiler emits for struct copies and memset run backwards
 * over the memory below its destination; AC set turns SMAP off for the whole entry. Both are
 * cleared before anything else, through POPF rather than cld + clac: clac is #UD on a CPU
 * without SMAP, and an instruction emulator may not know it (a software KVM without vmx/svm
 * stops with "emulation failure" on it); POPF at CPL 0 clears both on every CPU, and IF stays
 * clear (the gate cleared it). */
isr_common:
    pushfq
    andq $~RFLAGS_ENTRY_CLEAR, (%rsp)
    popfq
entry_common:
    PUSH_GPRS
    xor %ebp, %ebp              /* the frame-pointer chain ends here, not at a user address */
    mov %rsp, %rdi
    mov %rsp, %rbx
    and $-16, %rsp
    call interrupt_dispatch
    mov %rbx, %rsp
isr_return:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

/* resume_frame(frame): copy a domain's frame to the top of the kernel stack, then return to ring 3
 * through it. Called from any kernel context; the contexts below are abandoned (the kernel keeps
 * no state on its stack between entries). The source is a domain's save area, never the stack
 * region below the destination, so the forward copy is safe (or it is the same frame: a copy onto
 * itself). Whatever the save area holds, the exit is to ring 3 with the user selectors and only
 * flags ring 3 could set itself, plus IF (RFLAGS_USER_MASK): never IOPL, never a kernel cs. The
 * kernel's own RFLAGS here has NT clear (entries clear it), so iretq does not attempt a task
 * return. */
    .global resume_frame
resume_frame:
    mov %rdi, %rsi
    movabs $boot_stack_top - FRAME_SIZE, %rdi
    mov %rdi, %rsp
    mov $(FRAME_SIZE >> 3), %rcx
    cld
    rep movsq
    andq $RFLAGS_USER_MASK, FRAME_RFLAGS(%rsp)
    orq $RFLAGS_USER_SET, FRAME_RFLAGS(%rsp)
    movq $USER_CS, FRAME_CS(%rsp)
    movq $USER_SS, FRAME_SS(%rsp)
    jmp isr_return

/* resume_sysret(frame): return to ring 3 with sysretq, for a domain whose last kernel entry was
 * a system call (rcx and r11 are not live across syscall, so sysret may use them: SDM Vol. 2B
 * SYSRET). The frame is a domain's save area; it is popped like a stack. Interrupts stay masked
 * (SFMASK cleared IF) until sysret loads rflags; an NMI in the window after the stack switch
 * runs on its own IST stack. rip is a user address (callers check it is canonical); rflags is
 * masked as in resume_frame (sysret itself would load IOPL from r11). If TF is set, the
 * single-step trap comes after the first user instruction, in ring 3. */
    .global resume_sysret
resume_sysret:
    mov %rdi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp               /* vector, error */
    pop %rcx                    /* rip */
    add $8, %rsp                /* cs */
    pop %r11                    /* rflags */
    and $RFLAGS_USER_MASK, %r11
    or $RFLAGS_USER_SET, %r11
    pop %rsp                    /* user rsp */
    sysretq

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
ISR_NOERR 48
ISR_NOERR 49
ISR_NOERR 255

    .section .bss
    .align 8
syscall_user_rsp: .skip 8

/* The end of the save area the next system call pushes into: the running domain's regs, or,
 * while none runs, a spare frame (syscall_dispatch then finds no current domain). Set before
 * LSTAR is (cpu_state.cpp): the CPU driver has no initialised data. */
    .global syscall_save_top
syscall_save_top: .skip 8
    .align 16
    .global syscall_spare_frame
syscall_spare_frame: .skip FRAME_SIZE

/* Table of stub addresses for idt setup: vectors 0-31, then 48 (timer), 49 (wake-up), 255. */
    .section .rodata
    .align 8
    .global isr_stub_table
isr_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr_\n
    .endr
    .quad isr_48
    .quad isr_49
    .quad isr_255

    .section .note.GNU-stack, "", @progbits
