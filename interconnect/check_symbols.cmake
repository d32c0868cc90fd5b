cmake_policy(SET CMP0057 NEW)
# Fails when the freestanding interconnect objects together need any symbol but
# memcpy/memset/memmove (which the kernel provides): proof that no heap, exception or OS call
# slipped into the headers or sources.
separate_arguments(objects UNIX_COMMAND "${OBJECTS}")
set(defined "")
set(needed "")
foreach(obj IN LISTS objects)
  execute_process(COMMAND ${NM} --defined-only --format=just-symbols ${obj}
                  OUTPUT_VARIABLE def RESULT_VARIABLE rc1)
  execute_process(COMMAND ${NM} -u --format=just-symbols ${obj}
                  OUTPUT_VARIABLE und RESULT_VARIABLE rc2)
  if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" def "${def}")
  string(REPLACE "\n" ";" und "${und}")
  list(APPEND defined ${def})
  list(APPEND needed ${und})
endforeach()
foreach(sym IN LISTS needed)
  if(sym STREQUAL "" OR sym IN_LIST defined OR sym MATCHES "^(memcpy|memset|memmove)$")
    continue()
  endif()
  message(FATAL_ERROR "freestanding interconnect objects need '${sym}'")
endforeach()
message(STATUS "freestanding interconnect: no external symbols beyond memcpy/memset/memmove")
