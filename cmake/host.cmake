# Host (Linux) targets: tools, unit tests, hosted runtime. Sanitizers are chosen per build tree
# (see CMakePresets.json), never for the freestanding image.
# The ASan and TSan trees build at -Og with line tables only (-g1, after the build type's -O2 -g,
# so they win): line numbers in every report, and the compile time is most of what
# `./myriad test` waits for on a small machine. Measured on the 2-vCPU development VM, the whole
# ASan tree from nothing: -O1 892 s of compiler time (446 s wall), -Og 681 s (341 s wall);
# repl_sim_test.cpp alone -O2 -g 58 s, -O1 39 s, -Og 22 s, -O0 20 s. The unit and hosted tests
# ran no slower at -Og than at -O1 (49 s and 60 s, ctest -j2). MYRIAD_SAN_OPT=-O1 to compare.
set(MYRIAD_SAN_OPT "-Og" CACHE STRING "optimisation of the ASan and TSan trees' host code")
set(MYRIAD_HOST_SAN_FLAGS "")
if(MYRIAD_SANITIZE)
  set(MYRIAD_HOST_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer ${MYRIAD_SAN_OPT} -g1)
elseif(MYRIAD_FUZZ)
  # Coverage instrumentation for every host library, so fuzz targets see into the code they test.
  set(MYRIAD_HOST_SAN_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
elseif(MYRIAD_TSAN)
  set(MYRIAD_HOST_SAN_FLAGS -fsanitize=thread -fno-omit-frame-pointer ${MYRIAD_SAN_OPT} -g1)
endif()

# myriad_host_target(<target>): warnings + sanitizer flags for a host library or executable.
function(myriad_host_target target)
  myriad_warnings(${target})
  if(MYRIAD_HOST_SAN_FLAGS)
    target_compile_options(${target} PRIVATE ${MYRIAD_HOST_SAN_FLAGS})
    target_link_options(${target} PRIVATE ${MYRIAD_HOST_SAN_FLAGS})
  endif()
endfunction()

find_package(GTest)
find_package(PkgConfig)

# myriad_unit_test(<name> SOURCES ... LIBS ... [LABELS ...]): a GoogleTest executable registered
# with CTest under label `unit` (plus any extra labels).
function(myriad_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT MYRIAD_TESTS OR NOT GTest_FOUND)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  myriad_host_target(${name})
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set(labels unit ${T_LABELS})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 300
                       WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endfunction()

# myriad_fuzz_target(<name> SOURCES ... LIBS ... [CORPUS dir] [RUNS n]): a libFuzzer target,
# built only with MYRIAD_FUZZ (clang), run briefly by CTest under label `fuzz`.
function(myriad_fuzz_target name)
  cmake_parse_arguments(F "" "CORPUS;RUNS" "SOURCES;LIBS" ${ARGN})
  if(NOT MYRIAD_FUZZ)
    return()
  endif()
  if(NOT F_RUNS)
    set(F_RUNS 200000)
  endif()
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  # `fuzz-targets`: every fuzzer and nothing else (./myriad test builds only these in build-fuzz).
  if(NOT TARGET fuzz-targets)
    add_custom_target(fuzz-targets)
  endif()
  add_dependencies(fuzz-targets ${name})
  myriad_warnings(${name})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  set(args -runs=${F_RUNS} -max_total_time=60 -max_len=8192)
  set(corpus_dir ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
  file(MAKE_DIRECTORY ${corpus_dir})
  if(F_CORPUS)
    add_test(NAME ${name} COMMAND ${name} ${args} ${corpus_dir} ${F_CORPUS})
  else()
    add_test(NAME ${name} COMMAND ${name} ${args} ${corpus_dir})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 180)
endfunction()
