# Warnings and sanitizers for Flume's own targets only (never for third-party code).

if(FLUME_SANITIZE)
  # Sanitizers apply to everything linked into a test binary, so set them globally.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
endif()

# flume_set_warnings(<target>): warnings on, and fatal when FLUME_WERROR is set.
function(flume_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wimplicit-fallthrough
    -Wnull-dereference -Wundef -Wcast-qual)
  if(FLUME_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
