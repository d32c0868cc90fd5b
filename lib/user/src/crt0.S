/* User program entry: the kernel starts a program at _start with rsp at the top of its stack
 * (16-byte aligned) and rdi = its argument word. main's return value becomes the exit code. */
    .section .text.start, "ax"
    .global _start
_start:
    xor %rbp, %rbp
    /* Run the constructors of global objects (.init_array, user.ld), keeping the argument in a
     * callee-saved register; rsp stays 16-byte aligned at each call. */
    mov %rdi, %r12
    lea __init_array_start(%rip), %rbx
1:  lea __init_array_end(%rip), %rax
    cmp %rax, %rbx
    jae 2f
    call *(%rbx)
    add $8, %rbx
    jmp 1b
2:  mov %r12, %rdi
    call main
    mov %rax, %rdi
    mov $2, %rax            /* Sys::exit */
    syscall
3:  ud2
    jmp 3b
    .section .note.GNU-stack, "", @progbits
