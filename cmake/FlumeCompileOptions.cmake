# Warnings and sanitizers for Flume's own targets only (never for third-party code).

if(FLUME_SANITIZE)
  # Sanitizers apply to everything linked into a test binary, so set them globally.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
endif()

if(FLUME_TSAN)
  # ThreadSanitizer cannot share a process with ASan; the `tsan` preset runs the threaded suites.
  if(FLUME_SANITIZE)
    message(FATAL_ERROR "FLUME_TSAN and FLUME_SANITIZE exclude each other: pick one")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# flume_set_warnings(<target>): warnings on, and fatal when FLUME_WERROR is set.
function(flume_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wimplicit-fallthrough -Wundef -Wcast-qual)
  # clang's -Wnull-dereference looks at the source; GCC's depends on what the optimiser inlined
  # and at -O3 flags std::vector::data() after a sized construction (GCC 12, seen in the tests'
  # frame builders), so it stays a clang check.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(${target} PRIVATE -Wnull-dereference)
  endif()
  if(FLUME_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
