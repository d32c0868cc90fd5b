/* Application-processor start code. Copied by the boot core to AP_TRAMPOLINE (0x8000) and run
 * there by every AP after INIT-SIPI-SIPI (SIPI vector 0x08), in real mode, CS=0x0800, IP=0.
 * Each AP finds its own start parameters in the table at AP_TABLE by searching for its APIC id,
 * so all APs can start at once. The id is the 32-bit x2APIC id (CPUID leaf 0xB, EDX) where the
 * CPU has that leaf, else the 8-bit initial APIC id (CPUID.1:EBX[31:24]); ids above 255 exist
 * only in the first form. Each AP_TABLE_ENTRY-byte entry:
 *   + 0: u32 APIC id
 *   + 4: u32 CR3 of that core's own page tables (below 4 GiB); 0 marks a free entry
 *   + 8: u64 virtual address of its boot block (argument to ap_entry64)
 * An AP whose id is not in the table halts (the boot core never planned a core for it).
 * The core's page tables identity-map the low GiB, so this page keeps running after paging is
 * turned on; it then jumps to ap_entry64 in the core's own CPU-driver copy.
 * Intel SDM Vol. 3A §9.4.4 (MP initialisation), §9.8.5 (switching to IA-32e mode). */
#include "arch/layout.h"

#define T(x) ((x) - trampoline_start + AP_TRAMPOLINE)

    .section .rodata
    .global trampoline_start, trampoline_end
    .code16
trampoline_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    lgdtl T(tramp_gdtr)
    mov %cr0, %eax
    or $1, %eax                     /* PE */
    mov %eax, %cr0
    ljmpl $0x18, $T(tramp_32)

    .code32
tramp_32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    cpuid                           /* eax = highest basic leaf */
    cmp $0xb, %eax
    jb 1f
    mov $0xb, %eax
    xor %ecx, %ecx
    cpuid
    test %ebx, %ebx                 /* leaf 0xB is implemented only when EBX != 0 (SDM Vol. 2A) */
    jz 1f
    mov %edx, %esi                  /* x2APIC id */
    jmp 2f
1:  mov $1, %eax
    cpuid
    shr $24, %ebx                   /* initial APIC id */
    mov %ebx, %esi
2:  mov $AP_TABLE, %ebx
3:  cmp $(AP_TABLE + AP_TABLE_ENTRIES * AP_TABLE_ENTRY), %ebx
    jae 9f
    cmpl $0, 4(%ebx)
    je 4f
    cmp %esi, 0(%ebx)
    je 5f
4:  add $AP_TABLE_ENTRY, %ebx
    jmp 3b
9:  cli
    hlt
    jmp 9b
5:                                  /* ebx = this AP's table entry (kept into 64-bit mode) */
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov 4(%ebx), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx           /* EFER.LME | EFER.NXE */
    rdmsr
    or $0x900, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010000, %eax            /* PG | WP */
    mov %eax, %cr0
    ljmp $0x08, $T(tramp_64)

    .code64
tramp_64:
    mov %ebx, %ebx                  /* upper half undefined after the mode switch: zero it */
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov 8(%rbx), %rdi               /* boot block (virtual) */
    movabs $boot_stack_top, %rsp    /* same virtual address on every core: its own copy's stack */
    movabs $ap_entry64, %rax
    jmp *%rax

    .align 16
tramp_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: flat data */
    .quad 0x00CF9A000000FFFF        /* 0x18: 32-bit code */
tramp_gdt_end:
tramp_gdtr:
    .word tramp_gdt_end - tramp_gdt - 1
    .long T(tramp_gdt)
trampoline_end:

    .section .note.GNU-stack, "", @progbits
