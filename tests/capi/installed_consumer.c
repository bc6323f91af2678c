/* A C program that knows Flume only through its installed header and pkg-config. */
#include <flume/flume.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  if (flume_version_number() != FLUME_VERSION_NUMBER) {
    fprintf(stderr, "header %s but library %s\n", FLUME_VERSION, flume_version());
    return 1;
  }
  uint8_t wire[64];
  size_t written = 0;
  if (flume_frame_encode(wire, sizeof wire, &written, FLUME_FRAME_PUBLISH, "a.b", 3,
                         (const uint8_t *)"hi", 2, 0) != FLUME_OK) {
    fprintf(stderr, "encode: %s\n", flume_last_error());
    return 1;
  }
  flume_decoder *decoder = NULL;
  if (flume_decoder_new(&decoder, NULL) != FLUME_OK) return 1;
  flume_frame frame;
  size_t consumed = 0;
  int rc = flume_decoder_next(decoder, wire, written, &consumed, &frame);
  int ok = rc == 1 && frame.type == FLUME_FRAME_PUBLISH && frame.topic_length == 3 &&
           memcmp(frame.topic, "a.b", 3) == 0 && frame.payload_length == 2;
  flume_decoder_free(decoder);
  if (flume_subject_validate("a..b", 4) != FLUME_EINVALID_SUBJECT) return 1;
  printf("flume %s: decoded %s on %.*s (%s)\n", flume_version(), flume_frame_type_name(frame.type),
         (int)frame.topic_length, frame.topic, ok ? "ok" : "MISMATCH");
  return ok ? 0 : 1;
}
