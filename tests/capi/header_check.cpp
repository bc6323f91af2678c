// Compiled as C++ with -pedantic -Werror: the public header must stand alone in C++ too.
#include <flume/flume.h>

int flume_header_check_cxx() {
  flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
  return static_cast<int>(options.max_payload) + FLUME_VERSION_NUMBER;
}
