# The house warning set. Applied per target so third-party code is untouched.
set(MYRIAD_WARNINGS
  -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wpedantic -Wdouble-promotion
  -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND MYRIAD_WARNINGS -Wsuggest-override -Wduplicated-cond -Wlogical-op)
endif()
if(MYRIAD_WERROR)
  list(APPEND MYRIAD_WARNINGS -Werror)
endif()

function(myriad_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${MYRIAD_WARNINGS}>)
endfunction()
