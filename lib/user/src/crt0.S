/* User program entry: the kernel starts a program at _start with rsp at the top of its stack
 * (16-byte aligned) and rdi = its argument word. main's return value becomes the exit code. */
    .section .text.start, "ax"
    .global _start
_start:
    xor %rbp, %rbp
    call main
    mov %rax, %rdi
    mov $2, %rax            /* Sys::exit */
    syscall
1:  ud2
    jmp 1b
    .section .note.GNU-stack, "", @progbits
