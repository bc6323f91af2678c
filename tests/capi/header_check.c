/* Compiled as strict C99 with -pedantic -Werror: the public header must stand alone. */
#include <flume/flume.h>

int flume_header_check_c(void) {
  flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
  return (int)options.max_payload + FLUME_VERSION_NUMBER;
}
