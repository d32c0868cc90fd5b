/* Boot core entry: Multiboot 1 (QEMU -kernel, GRUB). 32-bit protected mode, paging off.
 * Builds throw-away page tables (identity 0-4 GiB, the same 4 GiB at the direct map, the first
 * GiB at KERNEL_VBASE), enters long mode and calls bsp_main(magic, info) on the boot stack.
 * Multiboot spec 0.6.96 §3.1: header with the a.out kludge (flag 16) so the ELF64 file itself
 * is loadable: QEMU refuses ELF64 multiboot images otherwise (QEMU 7.2). */
#include "arch/layout.h"

#define MB_MAGIC      0x1BADB002
#define MB_FLAGS      0x00010003   /* page-align modules, memory map, a.out kludge */
#define PHYS(x)       ((x) - KERNEL_VBASE)

    .section .multiboot, "a"
    .align 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long PHYS(multiboot_header)   /* header_addr */
    .long PHYS(__image_start)      /* load_addr */
    .long PHYS(__data_end)         /* load_end_addr */
    .long PHYS(__loaded_end)       /* bss_end_addr: the bss and the boot-only data */
    .long PHYS(_start32)           /* entry_addr */

    .section .boot32, "ax"
    .code32
    .global _start32
_start32:
    cli
    mov %eax, %edi                 /* multiboot magic: 1st argument to bsp_main */
    mov %ebx, %esi                 /* multiboot info (physical): 2nd argument */
    mov $PHYS(boot_stack_top), %esp

    /* PD entries: 2048 x 2 MiB pages = 4 GiB identity. Large pages, RW, present. */
    mov $PHYS(early_pd), %ebx
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%ebx,%ecx,8)
    mov %ecx, %eax
    shr $11, %eax                  /* high dword: bits 32+ of (i << 21) */
    mov %eax, 4(%ebx,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jne 1b

    /* PDPT low: 4 entries -> the 4 PDs. */
    mov $PHYS(early_pdpt_low), %ebx
    mov $PHYS(early_pd), %eax
    or $0x3, %eax
    mov %eax, 0(%ebx)
    add $4096, %eax
    mov %eax, 8(%ebx)
    add $4096, %eax
    mov %eax, 16(%ebx)
    add $4096, %eax
    mov %eax, 24(%ebx)

    /* PDPT high: entry 510 (KERNEL_VBASE) -> first PD (phys 0 - 1 GiB). */
    mov $PHYS(early_pdpt_high), %ebx
    mov $PHYS(early_pd), %eax
    or $0x3, %eax
    mov %eax, 510*8(%ebx)

    /* PML4: 0 (identity) and 256 (direct map) -> PDPT low; 511 -> PDPT high. */
    mov $PHYS(early_pml4), %ebx
    mov $PHYS(early_pdpt_low), %eax
    or $0x3, %eax
    mov %eax, 0(%ebx)
    mov %eax, 256*8(%ebx)
    mov $PHYS(early_pdpt_high), %eax
    or $0x3, %eax
    mov %eax, 511*8(%ebx)

    mov %cr4, %eax
    or $0x20, %eax                 /* CR4.PAE */
    mov %eax, %cr4
    mov $PHYS(early_pml4), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx          /* IA32_EFER: LME (bit 8) | NXE (bit 11) */
    rdmsr
    or $0x900, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax           /* PG | WP | PE */
    mov %eax, %cr0

    lgdt PHYS(early_gdtr)
    ljmp $0x08, $PHYS(long_mode_low)

    .code64
long_mode_low:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $boot_stack_top, %rsp
    movabs $bsp_main, %rax
    call *%rax
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .align 16
early_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF       /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF       /* 0x10: data */
early_gdt_end:
early_gdtr:
    .word early_gdt_end - early_gdt - 1
    .long PHYS(early_gdt)

    /* The early tables serve the boot core until it leaves the loaded image: boot-only. */
    .section .boot_only, "aw", @nobits
    .align 4096
early_pml4:       .skip 4096
early_pdpt_low:   .skip 4096
early_pdpt_high:  .skip 4096
early_pd:         .skip 4096 * 4

    .section .bss
    .global boot_stack, boot_stack_top
    .align 16
boot_stack:       .skip KERNEL_STACK_SIZE
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
