#include "flume/flume.h"

extern "C" const char *flume_version(void) {
  return FLUME_VERSION;
}

extern "C" int flume_version_number(void) {
  return FLUME_VERSION_NUMBER;
}
