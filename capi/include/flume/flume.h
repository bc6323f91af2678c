/*
 * flume.h: the C ABI of Flume, a publish/subscribe system over QUIC.
 *
 * This file is the contract. If a symbol is not declared here, it is not a published API.
 * Every binding (Python, Node.js, Go) and every C program goes through these calls only.
 *
 * Conventions
 *   - Functions return int: 0 (FLUME_OK) or more on success, a negative FLUME_E* code on failure.
 *     After a failure, flume_last_error() returns a message for the calling thread.
 *   - Handles are opaque; the function that creates one says how it is freed.
 *   - Output parameters come first and are named `out`.
 *   - Option structs start with their own size (`struct_size`) and only ever grow at the end;
 *     initialise them with the matching *_INIT macro, then set fields by name.
 *   - Lengths are explicit: no function relies on a NUL terminator in binary data.
 *
 * Threading: everything declared here may be called from any thread. Handles that hold state
 * (flume_decoder) must not be used by two threads at once.
 */
#ifndef FLUME_H
#define FLUME_H

#include <stddef.h>
#include <stdint.h>

#include "flume/version.h"

#if defined(FLUME_BUILDING_LIBRARY)
#define FLUME_EXTERN __attribute__((visibility("default")))
#else
#define FLUME_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------- */

/* The library's version string, "MAJOR.MINOR.PATCH". Static storage. Since 0.1.0. */
FLUME_EXTERN const char *flume_version(void);

/* The library's FLUME_VERSION_NUMBER. A binding compares it with the FLUME_VERSION_NUMBER of the
 * header it was compiled against to detect a mismatched library at load time. Since 0.1.0. */
FLUME_EXTERN int flume_version_number(void);

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

typedef enum flume_error {
  FLUME_OK = 0,
  FLUME_EINVAL = -1,              /* an argument is invalid (NULL handle, bad option value) */
  FLUME_ENOMEM = -2,              /* out of memory */
  FLUME_EBUFSIZE = -3,            /* an output buffer is too small */
  FLUME_EOPTIONS = -4,            /* an option struct has an unknown struct_size */
  FLUME_EUNKNOWN_TYPE = -10,      /* frame type byte is not a known type */
  FLUME_EMISSING_TOPIC = -11,     /* frame type needs a topic, topic length is 0 */
  FLUME_EUNEXPECTED_TOPIC = -12,  /* frame type takes no topic, topic length is not 0 */
  FLUME_EINVALID_TOPIC = -13,     /* topic is not a valid subject/pattern for the frame type */
  FLUME_EPAYLOAD_TOO_LARGE = -14, /* payload length over the limit */
  FLUME_ETRUNCATED = -15,         /* stream ended in the middle of a frame */
  FLUME_EPROPERTY = -16,          /* a properties payload is malformed */
  FLUME_EINVALID_SUBJECT = -20,   /* not a valid subject (flume_last_error() says why) */
  FLUME_EINVALID_PATTERN = -21    /* not a valid subscription pattern (likewise) */
} flume_error;

/* A message describing the last failure of a flume_ call on this thread, or "" if none failed.
 * Valid until the next failing flume_ call on the same thread. Since 0.1.0. */
FLUME_EXTERN const char *flume_last_error(void);

/* The symbolic name of an error code ("FLUME_ETRUNCATED"), or "FLUME_E?" for an unknown code.
 * Static storage. Since 0.1.0. */
FLUME_EXTERN const char *flume_error_name(int code);

/* ---------------------------------------------------------------------------------------------
 * Subjects and patterns
 *
 * Subjects are dot-separated tokens ("orders.eu.created"), 1 to 255 bytes of UTF-8 without
 * spaces or control bytes. Patterns may also use "*" (exactly one token) and a final ">" (one or
 * more tokens). See docs/protocol.md.
 * ------------------------------------------------------------------------------------------- */

#define FLUME_MAX_TOPIC_LENGTH 255

/* 0 if `subject` (`length` bytes) is a valid subject, else FLUME_EINVALID_SUBJECT with the reason
 * in flume_last_error(). Since 0.1.0. */
FLUME_EXTERN int flume_subject_validate(const char *subject, size_t length);

/* 0 if `pattern` is a valid subscription pattern, else FLUME_EINVALID_PATTERN. Since 0.1.0. */
FLUME_EXTERN int flume_pattern_validate(const char *pattern, size_t length);

/* 1 if the pattern matches the subject, 0 if not, FLUME_EINVALID_PATTERN or
 * FLUME_EINVALID_SUBJECT if either is invalid. Since 0.1.0. */
FLUME_EXTERN int flume_pattern_matches(const char *pattern, size_t pattern_length,
                                       const char *subject, size_t subject_length);

/* ---------------------------------------------------------------------------------------------
 * Frames: the wire codec
 *
 * Every frame is a six-byte header (type: 1 byte, topic length: 1 byte, payload length: 4 bytes
 * big-endian), then the topic, then the payload.
 * ------------------------------------------------------------------------------------------- */

#define FLUME_FRAME_HEADER_SIZE 6
#define FLUME_DEFAULT_MAX_PAYLOAD 65536u /* 64 KiB */
#define FLUME_HARD_MAX_PAYLOAD 16777216u /* 16 MiB: no limit may be configured above this */

#define FLUME_FRAME_HELLO 0x01
#define FLUME_FRAME_OK 0x02
#define FLUME_FRAME_ERROR 0x03
#define FLUME_FRAME_PING 0x04
#define FLUME_FRAME_PONG 0x05
#define FLUME_FRAME_SUBSCRIBE 0x06
#define FLUME_FRAME_UNSUBSCRIBE 0x07
#define FLUME_FRAME_PUBLISH 0x08
#define FLUME_FRAME_MESSAGE 0x09
#define FLUME_FRAME_SUBSCRIPTION 0x0A
#define FLUME_FRAME_DROPPED 0x0B

/* A decoded frame. `topic` and `payload` are borrowed: see flume_decoder_next(). `topic` is not
 * NUL-terminated. */
typedef struct flume_frame {
  uint8_t type;
  const char *topic;
  size_t topic_length;
  const uint8_t *payload;
  size_t payload_length;
} flume_frame;

/* Bytes a frame with this topic and payload occupies on the wire. Since 0.1.0. */
FLUME_EXTERN size_t flume_frame_size(size_t topic_length, size_t payload_length);

/* The wire name of a frame type ("publish"), or "unknown". Static storage. Since 0.1.0. */
FLUME_EXTERN const char *flume_frame_type_name(uint8_t type);

/* Encodes one frame into `out` (`capacity` bytes; flume_frame_size() tells how many are needed)
 * and stores the number of bytes written in `*written`. The topic is checked against the type
 * (FLUME_EMISSING_TOPIC, FLUME_EUNEXPECTED_TOPIC, FLUME_EINVALID_TOPIC) and the payload against
 * `max_payload` (0 means FLUME_DEFAULT_MAX_PAYLOAD). Copies; keeps no reference. Since 0.1.0. */
FLUME_EXTERN int flume_frame_encode(uint8_t *out, size_t capacity, size_t *written, uint8_t type,
                                    const char *topic, size_t topic_length, const uint8_t *payload,
                                    size_t payload_length, uint32_t max_payload);

/* Incremental decoder for one stream of frames. */
typedef struct flume_decoder flume_decoder;

typedef struct flume_decoder_options {
  size_t struct_size;   /* sizeof(flume_decoder_options) */
  uint32_t max_payload; /* 1 .. FLUME_HARD_MAX_PAYLOAD; FLUME_DEFAULT_MAX_PAYLOAD by default */
} flume_decoder_options;

#define FLUME_DECODER_OPTIONS_INIT \
  { sizeof(flume_decoder_options), FLUME_DEFAULT_MAX_PAYLOAD }

/* Creates a decoder; `options` may be NULL for the defaults. Free it with flume_decoder_free().
 * Since 0.1.0. */
FLUME_EXTERN int flume_decoder_new(flume_decoder **out, const flume_decoder_options *options);

/* Frees a decoder. NULL is allowed. Since 0.1.0. */
FLUME_EXTERN void flume_decoder_free(flume_decoder *decoder);

/* Consumes bytes from `data` (`length` bytes, any split of the stream: one byte at a time works)
 * and stores how many were consumed in `*consumed`. Returns
 *   1  a frame is complete and described in `*frame`; call again with the rest of the data;
 *   0  all bytes were consumed and no frame is complete yet;
 *   <0 an error. FLUME_EINVALID_TOPIC still fills `*frame` and decoding may continue; any other
 *      error is permanent for this decoder (the stream can no longer be trusted).
 * `frame->topic` and `frame->payload` point into `data` or into the decoder and stay valid until
 * the next call on this decoder; copy them to keep them. Since 0.1.0. */
FLUME_EXTERN int flume_decoder_next(flume_decoder *decoder, const uint8_t *data, size_t length,
                                    size_t *consumed, flume_frame *frame);

/* To call at the end of the stream: 0 if it ended between frames, FLUME_ETRUNCATED if it ended
 * inside one (or the permanent error, if the decoder had failed). Since 0.1.0. */
FLUME_EXTERN int flume_decoder_finish(flume_decoder *decoder);

#ifdef __cplusplus
}
#endif

#endif /* FLUME_H */
