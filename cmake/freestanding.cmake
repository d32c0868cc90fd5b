# Flags for freestanding code: the CPU driver (and, later, user-space programs). One place only
# (STYLE.md rule 9). No exceptions, no RTTI, no red zone (interrupts push onto the kernel stack),
# general registers only (no SSE state to save on kernel entry), kernel code model (linked in the
# top 2 GiB of the address space).
set(MYRIAD_KERNEL_CXX_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables -fno-unwind-tables
  -fno-stack-protector -fno-pic -fno-pie -fno-threadsafe-statics -fno-use-cxa-atexit
  -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
  -fno-omit-frame-pointer -nostdlib -O2 -g)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 warns (-Warray-bounds) on accesses to low fixed physical addresses without this.
  list(APPEND MYRIAD_KERNEL_CXX_FLAGS --param=min-pagesize=0)
endif()

# myriad_freestanding(<target>): make an OBJECT/STATIC library or executable freestanding.
function(myriad_freestanding target)
  myriad_warnings(${target})
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${MYRIAD_KERNEL_CXX_FLAGS}>
    $<$<COMPILE_LANGUAGE:C>:-ffreestanding -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -fno-pic -O2 -g>
    $<$<COMPILE_LANGUAGE:ASM>:-fno-pic>)
  target_compile_definitions(${target} PRIVATE MYRIAD_FREESTANDING=1)
endfunction()
