/* Virtual memory layout of every core (shared by C++ and assembly, so plain #defines).
 *   0x0000000000000000 - 0x00007fffffffffff  user space (later); identity-mapped low GiB at boot only
 *   0xffff800000000000 -                     direct map of physical memory (this core's tables)
 *   0xffffffff80000000 -                     this core's own copy of the CPU-driver image */
#pragma once
#define KERNEL_VBASE      0xFFFFFFFF80000000
#define DIRECT_MAP_BASE   0xFFFF800000000000
#define KERNEL_STACK_SIZE 16384
/* Zeroed data only the boot core uses, and only before it leaves the loaded image (the memory
 * map, the ACPI table copies, the placement of every core, the early page tables): linked after
 * __image_end, so no core's copy carries it (copies are smaller, and each core's tables leave it
 * unmapped: a copy that touched it would fault). The loader zeroes it with the bss. */
#define BOOT_ONLY_SECTION ".boot_only"
#define AP_TRAMPOLINE     0x8000   /* real-mode start page (SIPI vector 0x08) */
#define AP_TABLE          0x1000   /* AP start table: AP_TABLE_ENTRIES x 16 bytes, to 0x3000 */
#define AP_TABLE_ENTRIES  512      /* = myr::acpi::max_cpus */
#define AP_TABLE_ENTRY    16       /* +0 u32 APIC id, +4 u32 CR3 (0: free), +8 u64 boot block */
