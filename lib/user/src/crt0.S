/* User program entry: the kernel starts a program at _start with rsp at the top of its stack
 * (16-byte aligned), rdi = its argument word and, for the monitor, five more in rsi, rdx, rcx,
 * r8, r9. main's return value becomes the exit code. */
    .section .text.start, "ax"
    .global _start
_start:
    xor %rbp, %rbp
    /* Run the constructors of global objects (.init_array, user.ld). They may use every
     * argument register, so all six are kept on the stack (48 bytes: rsp stays 16-byte aligned
     * at each call) and given to main. */
    push %rdi
    push %rsi
    push %rdx
    push %rcx
    push %r8
    push %r9
    lea __init_array_start(%rip), %rbx
1:  lea __init_array_end(%rip), %rax
    cmp %rax, %rbx
    jae 2f
    call *(%rbx)
    add $8, %rbx
    jmp 1b
2:  pop %r9
    pop %r8
    pop %rcx
    pop %rdx
    pop %rsi
    pop %rdi
    call main
    mov %rax, %rdi
    mov $2, %rax            /* Sys::exit */
    syscall
3:  ud2
    jmp 3b
    .section .note.GNU-stack, "", @progbits
