# Flags for freestanding code: the CPU driver (and, later, user-space programs). One place only
#. No exceptions, no RTTI, no red zone (interrupts push onto the kernel stack),
# general registers only (no SSE state to save on kernel entry), kernel code model (linked in the
# top 2 GiB of the address space).
set(MYRIAD_KERNEL_CXX_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables -fno-unwind-tables
  -fno-stack-protector -fno-pic -fno-pie -fno-threadsafe-statics -fno-use-cxa-atexit
  -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
  -fno-omit-frame-pointer -nostdlib -O2 -g
  # One section per function, so the linker script can put the code every core runs while it
  # comes up on as few pages as possible (cpudriver/arch/x86_64/linker.ld, docs/scaling.md).
  -ffunction-sections)
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

# User programs: freestanding like the kernel, but the small code model in the low half, with
# x87/SSE (the CPU driver keeps each domain's FXSAVE state and switches it with the domain) and
# the System V red zone: no kernel entry from ring 3 writes below the user rsp (interrupts and
# exceptions switch to TSS.rsp0 or an IST stack before pushing, `syscall` entry loads the kernel
# stack before its first push) and the kernel delivers nothing on user stacks (no upcalls).
set(MYRIAD_USER_CXX_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables -fno-unwind-tables
  -fno-stack-protector -fno-pic -fno-pie -fno-threadsafe-statics -fno-use-cxa-atexit
  -fno-omit-frame-pointer -nostdlib -O2 -g)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND MYRIAD_USER_CXX_FLAGS --param=min-pagesize=0)
endif()

# myriad_user_program(<name> SOURCES ...): a static ELF64 user program linked with the runtime.
# The result is build/user/<name> (what the kernel loads as a boot module named <name>).
function(myriad_user_program name)
  cmake_parse_arguments(P "" "" "SOURCES" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY MYRIAD_USER_PROGRAMS ${name})
  add_executable(${name} ${P_SOURCES})
  myriad_warnings(${name})
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${MYRIAD_USER_CXX_FLAGS}>)
  target_compile_definitions(${name} PRIVATE MYRIAD_FREESTANDING=1)
  target_link_libraries(${name} PRIVATE myr_user)
  target_link_options(${name} PRIVATE -nostdlib -static -no-pie -Wl,--build-id=none
    -Wl,-z,max-page-size=0x1000 -Wl,--no-warn-rwx-segments -Wl,-T,${CMAKE_SOURCE_DIR}/lib/user/user.ld)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/user
                        LINK_DEPENDS ${CMAKE_SOURCE_DIR}/lib/user/user.ld)
  set_property(GLOBAL APPEND PROPERTY MYRIAD_USER_PROGRAMS ${name})
endfunction()

# myriad_pure_library(<name> SOURCES ...): pure logic (no asm, no MMIO, no allocation) built twice
# from the same sources: `<name>`, a host static library (tools, tests, fuzzers; sanitizers per
# build tree), and with MYRIAD_KERNEL `<name>_kernel`, an object library with the freestanding
# flags that the CPU driver links with $<TARGET_OBJECTS:<name>_kernel>. Headers in ./include.
function(myriad_pure_library name)
  cmake_parse_arguments(L "" "" "SOURCES" ${ARGN})
  add_library(${name} STATIC ${L_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC myr_lib)
  myriad_host_target(${name})
  if(MYRIAD_KERNEL)
    add_library(${name}_kernel OBJECT ${L_SOURCES})
    target_include_directories(${name}_kernel PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${name}_kernel PUBLIC myr_lib)
    myriad_freestanding(${name}_kernel)
  endif()
endfunction()
