/*
 * flume.h: the C ABI of Flume, a publish/subscribe system over QUIC.
 *
 * This file is the contract. If a symbol is not declared here, it is not a published API.
 * Every binding (Python, Node.js, Go) and every C program goes through these calls only.
 * From 1.0.0 on the ABI only grows: nothing declared here is removed or changed, option and
 * stats structs only gain fields at their end, and scripts/check-abi.sh checks it.
 *
 * Conventions (every function follows them)
 *   Results. A function returns int: 0 (FLUME_OK) or more on success, a negative FLUME_E* code
 *     on failure; after a failure flume_last_error() returns a message for the calling thread.
 *     Accessors that cannot fail (ids, names, lengths, borrowed pointers) return their value
 *     and take no output parameter; for a NULL handle they return 0, NULL or "".
 *   Outputs first. Output parameters come first and the main one is named `out`. An output
 *     buffer or array is followed by its capacity and then by where the count written goes:
 *     (out, capacity, count, inputs...). On failure `*out` is NULL (or the count 0).
 *   Handles are opaque; the function that creates one says how it is freed.
 *   Bytes. Payloads and other binary data are `const void *` with an explicit size_t length;
 *     subjects and patterns are `const char *` with a length. Nothing relies on a NUL
 *     terminator, and nothing the library hands out carries one (except C strings it says are).
 *   Timeouts. A wait is an `int` count of milliseconds with one meaning, in calls and in option
 *     structs alike:
 *       > 0                     wait at most that long;
 *       FLUME_WAIT_FOREVER (-1) wait without limit;
 *       FLUME_NO_WAIT (-2)      do not wait at all (in a call, 0 means the same);
 *       0 in an option struct   the default that field documents (see "Option structs");
 *       other negative values   FLUME_EINVAL.
 *   Not yet. "No message yet" (recv) and "no answer yet" (wait_ready) are FLUME_EAGAIN,
 *     whatever the timeout: nothing was lost, the call may succeed if repeated.
 *     FLUME_ETIMEDOUT means an operation failed because its time ran out and was abandoned
 *     (connect, flush, a publish waiting for room).
 *   Option structs start with their own size (`struct_size`) and only ever grow at the end.
 *     Zero means "the default" in every field, so these three are the same configuration:
 *       flume_client_options o = FLUME_CLIENT_OPTIONS_INIT;               (C)
 *       flume_client_options o; flume_client_options_init(&o, sizeof o);  (cgo, FFI)
 *       flume_client_options o; memset(&o, 0, sizeof o); o.struct_size = sizeof o;
 *     The macro and the *_init() function write the defaults out (FLUME_DEFAULT_*), so they can
 *     be read back. A switch (an `int` that turns something on or off) is 0 for its default,
 *     FLUME_ON or FLUME_OFF, so a default that is "on" is turned off explicitly with FLUME_OFF.
 *     Set fields by name after initialising; never rely on field order.
 *   Stats structs are filled by *_get_stats(out, handle); set their struct_size first (their
 *     *_INIT macro or *_init() function does).
 *
 * Threading
 *   - Every function may be called from any thread. flume_client, flume_subscription,
 *     flume_broker and flume_message handles may be shared between threads and used by several
 *     at once, except that no call on a handle may race with (or follow) the call that frees it.
 *     A flume_decoder must not be used by two threads at once.
 *   - A client runs its own loop thread; a broker started with flume_broker_start() runs another.
 *     Message handlers (flume_message_handler.call) run on the client's loop thread, one at a
 *     time for all subscriptions of that client: a slow handler delays every other one.
 *   - A handler may call any flume_ function, with these exceptions, which would wait for the very
 *     thread it runs on; they are detected and refused with FLUME_EINVAL:
 *       flume_client_close() and flume_client_flush() on its own client, and
 *       flume_subscription_recv()/_recv_batch()/_wait_ready() with a timeout other than "do not
 *       wait" on a subscription of it.
 *
 * Blocking: only these calls wait, each for at most the time given:
 *   flume_client_connect()           connect_timeout_ms + 1 s (the handshake, then HELLO)
 *   flume_client_flush()             timeout_ms
 *   flume_client_publish()           publish_timeout_ms, only while max_pending_bytes wait
 *   flume_client_close()             about 0.5 s (a goodbye to the broker, if it is still there)
 *   flume_subscription_recv(),
 *   flume_subscription_recv_batch(),
 *   flume_subscription_wait_ready()  timeout_ms
 *   flume_broker_start()             binding, and making a self-signed certificate on first start
 *   flume_broker_stop()              shutdown_grace_ms + 1 s
 *   flume_broker_get_stats()         one round trip to the broker's loop thread
 * Everything else returns without waiting for the network or another thread's work.
 *
 * When a published message leaves
 *   flume_client_publish() checks the message, copies it into the client's send queue and
 *   returns; it does not write to the network itself. The client's loop thread, woken by the
 *   call, hands the queued messages to QUIC, which sends them as soon as congestion and flow
 *   control allow: normally within microseconds, several messages per UDP datagram under load.
 *   Nothing needs to be "pushed out": there is no send-now call. flume_client_flush() is a round
 *   trip to the broker (a PING behind everything sent before it, answered by a PONG): when it
 *   returns 0, the broker has received and routed everything published before the call. Delivery
 *   is at most once: messages still queued when the connection is lost are gone (flush then
 *   reports FLUME_ENOTCONN), and publish fails with FLUME_ENOTCONN while reconnecting.
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

/* Timeouts, in calls and option structs alike (see "Conventions"). Since 1.0.0. */
#define FLUME_WAIT_FOREVER (-1) /* wait without limit */
#define FLUME_NO_WAIT (-2) /* do not wait (0 means the same in a call, the default in options) */

/* Switches in option structs: 0 is the field's default. Since 1.0.0. */
#define FLUME_ON 1
#define FLUME_OFF (-1)

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
  FLUME_EINVAL = -1,               /* an argument is invalid (NULL handle, bad option value) */
  FLUME_ENOMEM = -2,               /* out of memory */
  FLUME_EBUFSIZE = -3,             /* an output buffer is too small */
  FLUME_EOPTIONS = -4,             /* an option struct has an unknown struct_size */
  FLUME_EUNKNOWN_TYPE = -10,       /* frame type byte is not a known type */
  FLUME_EMISSING_SUBJECT = -11,    /* frame type needs a subject, subject length is 0 */
  FLUME_EUNEXPECTED_SUBJECT = -12, /* frame type takes no subject, subject length is not 0 */
  /* -13 was FLUME_EINVALID_TOPIC before 1.0.0: the codec now reports the two codes below. */
  FLUME_EPAYLOAD_TOO_LARGE = -14, /* payload length over the limit */
  FLUME_ETRUNCATED = -15,         /* stream ended in the middle of a frame */
  FLUME_EPROPERTY = -16,          /* a properties payload is malformed */
  FLUME_EINVALID_SUBJECT = -20,   /* not a valid subject (flume_last_error() says why) */
  FLUME_EINVALID_PATTERN = -21,   /* not a valid subscription pattern (likewise) */
  /* Clients, subscriptions and brokers (since 0.1.0). Publish and subscribe also report
   * FLUME_EINVALID_SUBJECT, FLUME_EINVALID_PATTERN and FLUME_EPAYLOAD_TOO_LARGE. */
  FLUME_ETIMEDOUT = -30,    /* an operation ran out of time and was abandoned (connect, flush) */
  FLUME_EUNREACHABLE = -31, /* nobody answered: refused, unreachable, no handshake, bad host */
  FLUME_ETLS = -32,         /* certificate verification failed, or another TLS failure (why) */
  FLUME_EALPN = -33,        /* the server does not speak flume/1 */
  FLUME_EREJECTED = -34,    /* the broker refused the client (HELLO) or a subscription */
  FLUME_ENOTCONN = -35,     /* the connection is down and being re-established */
  FLUME_ECLOSED = -36,      /* the client or subscription is closed (the message says why) */
  FLUME_EPROTOCOL = -37,    /* the broker broke the protocol */
  FLUME_EAGAIN = -38,       /* nothing yet (no message, no answer): try again */
  FLUME_EIO = -39           /* an operating-system call failed (bind, eventfd, files) */
} flume_error;

/* A message describing the last failure of a flume_ call on this thread, or "" if none failed.
 * Valid until the next failing flume_ call on the same thread. Since 0.1.0. */
FLUME_EXTERN const char *flume_last_error(void);

/* The symbolic name of an error code ("FLUME_ETRUNCATED"), or "FLUME_E?" for an unknown code.
 * Static storage. Since 0.1.0. */
FLUME_EXTERN const char *flume_error_name(int code);

/* ---------------------------------------------------------------------------------------------
 * Logging
 *
 * The library never writes to stderr (or anywhere else) on its own: what it has to say goes to
 * one process-wide handler, if the application installed one. Components: "client" (connected,
 * lost, reconnecting; the insecure-mode warning), "broker" (connections accepted and closed,
 * refusals, slow consumers), "quic" (failed handshakes), and at debug/trace the libraries
 * underneath: "gnutls" and "ngtcp2".
 * ------------------------------------------------------------------------------------------- */

/* Levels, from the most verbose. A handler installed for a level receives that level and every
 * level above it. Since 1.1.0. */
typedef enum flume_log_level {
  FLUME_LOG_TRACE = 0, /* ngtcp2's per-packet lines, GnuTLS's handshake messages */
  FLUME_LOG_DEBUG = 1, /* every connection accepted and closed, GnuTLS's errors */
  FLUME_LOG_INFO = 2,  /* connected, reconnect attempts, what a broker refused or closed and why */
  FLUME_LOG_WARN = 3,  /* a connection lost, TLS handshake failures, the insecure mode */
  FLUME_LOG_ERROR = 4, /* failures the library could not handle */
  FLUME_LOG_OFF = 5    /* nothing */
} flume_log_level;

/* Receives one message. `level` is a FLUME_LOG_* value; `component` and `message` are
 * NUL-terminated, without a trailing newline, and valid only during the call (copy them to keep
 * them). It runs on the thread that logs: usually a client's or a broker's loop thread, sometimes
 * the thread inside a flume_ call, and (at debug and trace, see flume_set_log_handler()) any
 * thread of the process that uses GnuTLS. So it may run on several threads at once, and it delays
 * the thread it runs on: keep it short (hand the message to a queue, write one line). It must not
 * call flume_set_log_handler() (refused with FLUME_EINVAL) nor any flume_ call that waits (see
 * "Blocking"): a loop thread waiting for itself never returns. Messages that flume_ calls made
 * inside it would log are dropped. Since 1.1.0. */
typedef void (*flume_log_callback)(void *context, int level, const char *component,
                                   const char *message);

/* Installs `callback` for messages at `min_level` (a FLUME_LOG_* value) and above, replacing the
 * previous handler; `context` is passed to every call. A NULL callback or FLUME_LOG_OFF removes
 * the handler. When this returns, no call of the previous handler is running or will start, so
 * its context may be freed. FLUME_EINVAL for a level outside FLUME_LOG_TRACE .. FLUME_LOG_OFF,
 * or when called from inside a handler.
 * Disabled levels cost nothing worth measuring: the level is checked before a message is made.
 * Debug and trace also route the libraries underneath: GnuTLS's log, which is process-wide (its
 * log function and level are set for the whole process, and reset to 0 when the level is raised
 * again), and ngtcp2's per-packet lines (trace only), which are produced only for connections
 * made while trace is on. Since 1.1.0. */
FLUME_EXTERN int flume_set_log_handler(int min_level, flume_log_callback callback, void *context);

/* The name of a level ("trace", "debug", "info", "warn", "error", "off"), or "unknown". Static
 * storage. Since 1.1.0. */
FLUME_EXTERN const char *flume_log_level_name(int level);

/* ---------------------------------------------------------------------------------------------
 * Subjects and patterns
 *
 * Subjects are dot-separated tokens ("orders.eu.created"), 1 to 255 bytes of UTF-8 without
 * spaces or control bytes. Patterns may also use "*" (exactly one token) and a final ">" (one or
 * more tokens). See docs/protocol.md.
 * ------------------------------------------------------------------------------------------- */

#define FLUME_MAX_SUBJECT_LENGTH 255 /* bytes; since 1.0.0 (was FLUME_MAX_TOPIC_LENGTH) */

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
 * Every frame is a six-byte header (type: 1 byte, subject length: 1 byte, payload length: 4
 * bytes big-endian), then the subject (or pattern), then the payload (docs/protocol.md §3).
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

/* A decoded frame. `subject` and `payload` are borrowed: see flume_decoder_next(). `subject` is
 * the frame's subject or, for SUBSCRIBE, its pattern; not NUL-terminated. Since 1.0.0. */
typedef struct flume_frame {
  uint8_t type;
  const char *subject;
  size_t subject_length;
  const void *payload;
  size_t payload_length;
} flume_frame;

/* Bytes a frame with this subject and payload occupies on the wire. Since 0.1.0. */
FLUME_EXTERN size_t flume_frame_size(size_t subject_length, size_t payload_length);

/* The wire name of a frame type ("publish"), or "unknown". Static storage. Since 0.1.0. */
FLUME_EXTERN const char *flume_frame_type_name(uint8_t type);

/* Encodes one frame into `out` (`capacity` bytes; flume_frame_size() tells how many are needed)
 * and stores the number of bytes written in `*written` (0 on failure). The subject is checked
 * against the type (FLUME_EMISSING_SUBJECT, FLUME_EUNEXPECTED_SUBJECT, FLUME_EINVALID_SUBJECT,
 * or FLUME_EINVALID_PATTERN for SUBSCRIBE) and the payload against `max_payload` (0 means
 * FLUME_DEFAULT_MAX_PAYLOAD): FLUME_EPAYLOAD_TOO_LARGE. FLUME_EBUFSIZE if `capacity` is too
 * small. Copies; keeps no reference. Since 1.0.0. */
FLUME_EXTERN int flume_frame_encode(void *out, size_t capacity, size_t *written, uint8_t type,
                                    const char *subject, size_t subject_length, const void *payload,
                                    size_t payload_length, uint32_t max_payload);

/* Incremental decoder for one stream of frames. */
typedef struct flume_decoder flume_decoder;

/* Since 1.0.0 (0 now means the default). */
typedef struct flume_decoder_options {
  size_t struct_size;   /* sizeof(flume_decoder_options) */
  uint32_t max_payload; /* up to FLUME_HARD_MAX_PAYLOAD; 0: FLUME_DEFAULT_MAX_PAYLOAD */
} flume_decoder_options;

#define FLUME_DECODER_OPTIONS_INIT \
  { sizeof(flume_decoder_options), FLUME_DEFAULT_MAX_PAYLOAD }

/* Fills `*out` (`struct_size` bytes: pass sizeof *out) with the defaults, as
 * FLUME_DECODER_OPTIONS_INIT does. FLUME_EINVAL for NULL, FLUME_EOPTIONS for a struct_size
 * smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_decoder_options_init(flume_decoder_options *out, size_t struct_size);

/* Creates a decoder; `options` may be NULL for the defaults. FLUME_EINVAL for a max_payload over
 * FLUME_HARD_MAX_PAYLOAD. Free it with flume_decoder_free(). Since 0.1.0. */
FLUME_EXTERN int flume_decoder_new(flume_decoder **out, const flume_decoder_options *options);

/* Frees a decoder. NULL is allowed. Since 0.1.0. */
FLUME_EXTERN void flume_decoder_free(flume_decoder *decoder);

/* Consumes bytes from `data` (`length` bytes, any split of the stream: one byte at a time works)
 * and stores how many were consumed in `*consumed`. Returns
 *   1  a frame is complete and described in `*out`; call again with the rest of the data;
 *   0  all bytes were consumed and no frame is complete yet;
 *   <0 an error. FLUME_EINVALID_SUBJECT and FLUME_EINVALID_PATTERN (a frame whose subject is
 *      not valid for its type) still fill `*out` and decoding may continue; any other error is
 *      permanent for this decoder (the stream can no longer be trusted).
 * `out->subject` and `out->payload` point into `data` or into the decoder and stay valid until
 * the next call on this decoder; copy them to keep them. Since 1.0.0. */
FLUME_EXTERN int flume_decoder_next(flume_frame *out, size_t *consumed, flume_decoder *decoder,
                                    const void *data, size_t length);

/* To call at the end of the stream: 0 if it ended between frames, FLUME_ETRUNCATED if it ended
 * inside one (or the permanent error, if the decoder had failed). Since 0.1.0. */
FLUME_EXTERN int flume_decoder_finish(flume_decoder *decoder);

/* ---------------------------------------------------------------------------------------------
 * Messages
 *
 * A received message is a subject and a payload. In a handler it is a flume_message_view,
 * borrowed for the duration of the call. From flume_subscription_recv() it is a flume_message,
 * owned by the caller until flume_message_free(). Neither subject nor payload is NUL-terminated.
 * ------------------------------------------------------------------------------------------- */

/* A message the caller owns. Immutable: any thread may read it, one frees it. */
typedef struct flume_message flume_message;

/* A borrowed message: valid only during the handler call (or until the flume_message it was
 * taken from is freed). It carries its size so that it can grow: the library sets struct_size
 * to the bytes it filled, and a field added after 1.0.0 may be read only when struct_size
 * covers it. Kept as a struct (rather than accessors only) so that a handler, or a binding
 * taking a batch with flume_message_views(), reads a message without one call per field.
 * Since 1.0.0. */
typedef struct flume_message_view {
  size_t struct_size;       /* bytes of this view the library filled */
  const char *subject;      /* not NUL-terminated */
  size_t subject_length;    /* 1 .. FLUME_MAX_SUBJECT_LENGTH */
  const void *payload;      /* may be NULL when payload_length is 0 */
  size_t payload_length;    /* 0 .. the broker's max_payload */
  uint32_t subscription_id; /* flume_subscription_id() of the subscription it came through */
  /* Since 1.2.0 (filled only when struct_size covers them). */
  /* A message: its number in its subscription, 1, 2, 3, ..., counting every message the broker
   * routed to the subscription, also those dropped on the way (by the broker or here), so a
   * jump of n + 1 means exactly n were dropped. A subscription made again after a lost
   * connection goes on counting from where it was: what was published meanwhile has no number
   * (a gap item with gap_resubscribed says so). A gap item: the number of the last message
   * before it (0: none). */
  uint64_t sequence;
  int kind;             /* FLUME_MESSAGE_DATA, or FLUME_MESSAGE_GAP (only with report_gaps) */
  int gap_resubscribed; /* gap: the connection was lost and the subscription was made again on a
                         * new one: messages published meanwhile were missed, and their number is
                         * unknown (nonzero), 0 otherwise */
  uint64_t gap_dropped_by_broker; /* gap: messages the broker dropped (its queue was full) */
  uint64_t gap_dropped_locally;   /* gap: messages dropped here (local queue full, no memory) */
  uint64_t gap_disconnected_ms;   /* gap: from noticing the lost connection to subscribing again */
} flume_message_view;

/* flume_message_view.kind. Since 1.2.0. */
#define FLUME_MESSAGE_DATA 0 /* a message: subject and payload */
/* A gap: where messages are missing, in their place in the order (the message before it and the
 * one after it are consecutive in the subscription but for what it counts). Subject and payload
 * are empty. Only for a subscription with flume_subscription_options.report_gaps on. Gaps still
 * queued together are merged into one; a gap already received can be followed by another (more
 * was missed before the next message arrived): add up their counts. */
#define FLUME_MESSAGE_GAP 1

/* The subject of `message`, borrowed from it (valid until flume_message_free()), not
 * NUL-terminated; flume_message_subject_length() bytes. NULL for a NULL message. Since 1.0.0. */
FLUME_EXTERN const char *flume_message_subject(const flume_message *message);

/* The length of the subject in bytes (0 for NULL). Since 1.0.0. */
FLUME_EXTERN size_t flume_message_subject_length(const flume_message *message);

/* The payload of `message`, borrowed like the subject; may be NULL when its length is 0.
 * Since 1.0.0. */
FLUME_EXTERN const void *flume_message_payload(const flume_message *message);

/* The length of the payload in bytes (0 for NULL). Since 1.0.0. */
FLUME_EXTERN size_t flume_message_payload_length(const flume_message *message);

/* The id of the subscription `message` came through (0 for NULL). Since 0.1.0. */
FLUME_EXTERN uint32_t flume_message_subscription_id(const flume_message *message);

/* flume_message_view.sequence of `message` (0 for NULL). Since 1.2.0. */
FLUME_EXTERN uint64_t flume_message_sequence(const flume_message *message);

/* flume_message_view.kind of `message`: FLUME_MESSAGE_DATA or FLUME_MESSAGE_GAP (the gap's
 * counts are in its view, flume_message_views()). FLUME_EINVAL for NULL. Since 1.2.0. */
FLUME_EXTERN int flume_message_kind(const flume_message *message);

/* Fills a view of messages[i] for each of `count` messages into an array of views, each
 * `view_size` bytes (pass sizeof(flume_message_view)): one call instead of several per message
 * for bindings that cross into C at a cost. The views borrow from the messages. FLUME_EINVAL if
 * a pointer is NULL, FLUME_EOPTIONS if view_size is smaller than 1.0.0's view. Since 1.0.0. */
FLUME_EXTERN int flume_message_views(flume_message_view *out, size_t view_size,
                                     flume_message *const *messages, size_t count);

/* Copies a borrowed message (a handler's view) into a flume_message the caller owns, to keep it
 * after the handler returns. A view filled by hand sets struct_size to
 * sizeof(flume_message_view). Free the copy with flume_message_free(). FLUME_EINVAL for NULL or
 * inconsistent fields, FLUME_EOPTIONS for a struct_size below 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_message_copy(flume_message **out, const flume_message_view *view);

/* Frees a message. NULL is allowed. Any thread. Since 0.1.0. */
FLUME_EXTERN void flume_message_free(flume_message *message);

/* Frees messages[0 .. count-1] (NULL entries are skipped), e.g. what one
 * flume_subscription_recv_batch() returned; the array itself stays the caller's. Since 0.1.0. */
FLUME_EXTERN void flume_message_free_batch(flume_message *const *messages, size_t count);

/* ---------------------------------------------------------------------------------------------
 * Clients
 *
 * A flume_client is one connection to a broker, with its own loop thread. It reconnects after a
 * lost connection (unless told not to) and subscribes again to everything it had.
 * ------------------------------------------------------------------------------------------- */

typedef struct flume_client flume_client;

/* Defaults of flume_client_options (what 0 in a field means). Since 1.0.0. */
#define FLUME_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define FLUME_DEFAULT_RECONNECT_MIN_MS 100
#define FLUME_DEFAULT_RECONNECT_MAX_MS 5000
#define FLUME_DEFAULT_MAX_PENDING_BYTES 8388608 /* 8 MiB */
#define FLUME_DEFAULT_PUBLISH_TIMEOUT_MS 5000
#define FLUME_DEFAULT_KEEP_ALIVE_MS 1000 /* since 1.1.0 */

/* Since 1.0.0. Zero in any field means its default (see "Option structs"). Strings are copied
 * by flume_client_connect(); none need to outlive the call. */
typedef struct flume_client_options {
  size_t struct_size;      /* sizeof(flume_client_options) */
  const char *client_name; /* sent in HELLO; NULL: "flume-c" */
  const char *server_name; /* the name the certificate must carry; NULL: the URL's host */
  /* Whom to trust: at most one of ca_file, pin_sha256 and insecure. None: the system's CA
   * store, except for a broker on this machine (127.0.0.0/8, ::1), where the self-signed
   * cert.pem in the default data directory is trusted if it exists. */
  const char *ca_file;    /* PEM file with the CA (or the broker's self-signed certificate) */
  const char *pin_sha256; /* "AB:CD:..." as flume_broker_fingerprint() gives it */
  int insecure;           /* switch, off by default; FLUME_ON: no verification at all */
  const void *token;      /* sent in HELLO for the broker's authentication; NULL: none */
  size_t token_length;
  /* The handshake and HELLO; 0: FLUME_DEFAULT_CONNECT_TIMEOUT_MS; FLUME_WAIT_FOREVER: no
   * limit; FLUME_NO_WAIT is FLUME_EINVAL (connecting cannot be done without waiting). When the
   * host resolves to several addresses they share it: each is tried in turn, and one that stays
   * silent has what is left of the timeout divided by the addresses not yet tried (one that
   * refuses or is unreachable passes its turn at once). Reconnects share it the same way. */
  int connect_timeout_ms;
  /* Switch, on by default: after a lost connection, back off, reconnect and subscribe again to
   * everything. FLUME_OFF: a lost connection ends the client (calls report FLUME_ECLOSED). */
  int reconnect;
  int reconnect_min_ms; /* first back-off, > 0; 0: FLUME_DEFAULT_RECONNECT_MIN_MS */
  int reconnect_max_ms; /* longest back-off, >= reconnect_min_ms; 0: ..._RECONNECT_MAX_MS */
  /* Back-pressure: at most this many bytes of published messages wait in the client for the
   * network; 0: FLUME_DEFAULT_MAX_PENDING_BYTES. A message bigger than the limit is taken when
   * nothing else waits. */
  size_t max_pending_bytes;
  /* How long flume_client_publish() waits for room under max_pending_bytes before failing with
   * FLUME_ETIMEDOUT; 0: FLUME_DEFAULT_PUBLISH_TIMEOUT_MS; FLUME_NO_WAIT: fail at once;
   * FLUME_WAIT_FOREVER: until there is room. */
  int publish_timeout_ms;
  /* Never read: 1.0.0's struct ended in 4 bytes of padding here, which its callers' initialisers
   * left unspecified, so no new field may live in them. Since 1.1.0. */
  int reserved_1_0_padding;
  /* A QUIC PING after this long without sending: how an idle subscriber learns within about
   * this long that its broker crashed and restarted (the restarted broker answers with a
   * stateless reset). Costs one PING and its ACK per interval on an idle connection.
   * 0: FLUME_DEFAULT_KEEP_ALIVE_MS; at least 100; FLUME_WAIT_FOREVER: no keep-alive (a crash is
   * noticed when the client next sends, or at the 30 s idle timeout). Read only when struct_size
   * covers it. Since 1.1.0. */
  int keep_alive_ms;
} flume_client_options;

#define FLUME_CLIENT_OPTIONS_INIT                                                   \
  {                                                                                 \
    sizeof(flume_client_options), NULL, NULL, NULL, NULL, 0, NULL, 0,               \
        FLUME_DEFAULT_CONNECT_TIMEOUT_MS, FLUME_ON, FLUME_DEFAULT_RECONNECT_MIN_MS, \
        FLUME_DEFAULT_RECONNECT_MAX_MS, FLUME_DEFAULT_MAX_PENDING_BYTES,            \
        FLUME_DEFAULT_PUBLISH_TIMEOUT_MS, 0, FLUME_DEFAULT_KEEP_ALIVE_MS            \
  }

/* Fills `*out` (`struct_size` bytes: pass sizeof *out) with the defaults, as
 * FLUME_CLIENT_OPTIONS_INIT does. FLUME_EINVAL for NULL, FLUME_EOPTIONS for a struct_size
 * smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_client_options_init(flume_client_options *out, size_t struct_size);

/* Since 0.1.0. Set struct_size (FLUME_CLIENT_STATS_INIT or flume_client_stats_init() does). */
typedef struct flume_client_stats {
  size_t struct_size;         /* sizeof(flume_client_stats) */
  uint64_t messages_out;      /* accepted by flume_client_publish() */
  uint64_t bytes_out;         /* their payload bytes */
  uint64_t messages_in;       /* received for any subscription */
  uint64_t bytes_in;          /* their payload bytes */
  uint64_t dropped_by_broker; /* messages the broker dropped for this client's subscriptions */
  uint64_t reconnects;        /* connections re-established after a loss */
  uint64_t publish_errors;    /* publishes the broker refused later (e.g. an invalid subject) */
  int connected;              /* nonzero while connected and past HELLO */
  /* Appended after 1.0.0; filled only when struct_size covers it. Publishes that
   * flume_client_publish() accepted (counted in messages_out) but that never reached the
   * network: the connection was lost before the client's loop thread could send them. */
  uint64_t publishes_unsent;
} flume_client_stats;

#define FLUME_CLIENT_STATS_INIT \
  { sizeof(flume_client_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* Zeroes `*out` (`struct_size` bytes) and sets its struct_size. FLUME_EINVAL for NULL,
 * FLUME_EOPTIONS for a struct_size smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_client_stats_init(flume_client_stats *out, size_t struct_size);

/* Connects to `url` ("flume://host:port", "host:port" or "host"; port 7337 by default; the
 * host's every IPv6 and IPv4 address in turn, "localhost" as ::1 then 127.0.0.1) and waits
 * until the broker accepted the client or connecting failed: FLUME_EUNREACHABLE (nobody
 * listening, unknown host, no handshake), FLUME_ETLS (the reason, e.g. the certificate is not
 * trusted), FLUME_EALPN, FLUME_EREJECTED (the broker's error), FLUME_ETIMEDOUT, FLUME_EINVAL
 * (a bad URL or option), FLUME_EOPTIONS. `options` may be NULL for the defaults. On success
 * `*out` is a client to close with flume_client_close(); on failure it is NULL. Blocks up to
 * connect_timeout_ms + 1 s. Since 0.1.0.
 * Several brokers, nodes of one cluster: URLs separated by commas ("flume://a:7337,flume://b:7337",
 * at most 16; since 1.3.0). The client starts a handshake with every address of every one at
 * once and keeps the first to complete (the nearest by round-trip time), closing the others;
 * every reconnect races them again, so a lost broker is replaced by the nearest still answering.
 * It fails only when all failed (the most telling reason: a certificate problem before
 * "unreachable"). A name that does not resolve is left out with a warning in the log. */
FLUME_EXTERN int flume_client_connect(flume_client **out, const char *url,
                                      const flume_client_options *options);

/* Publishes `payload_length` bytes to `subject`. Copies both into the client's send queue and
 * returns without waiting for the network ("When a published message leaves" above), unless
 * max_pending_bytes already wait: then it waits up to publish_timeout_ms for room and fails with
 * FLUME_ETIMEDOUT (at once when called from a message handler, which runs on the thread that
 * makes room). Other errors come back at once: FLUME_EINVALID_SUBJECT, FLUME_EPAYLOAD_TOO_LARGE
 * (over flume_client_max_payload()), FLUME_ENOTCONN (reconnecting: the message was not sent),
 * FLUME_ECLOSED. The broker's later refusals are counted in flume_client_stats.publish_errors.
 * Since 1.0.0. */
FLUME_EXTERN int flume_client_publish(flume_client *client, const char *subject,
                                      size_t subject_length, const void *payload,
                                      size_t payload_length);

/* A round trip to the broker, not a "send now": waits until the broker has processed everything
 * this client published, subscribed and unsubscribed before the call (after it, a subscription
 * made earlier is in place or refused). Up to `timeout_ms` (see "Timeouts"; "do not wait" gives
 * FLUME_ETIMEDOUT unless already done): FLUME_ETIMEDOUT, FLUME_ENOTCONN (the connection was lost:
 * what was not processed is gone), FLUME_ECLOSED. FLUME_EINVAL from one of this client's own
 * handlers. Since 1.0.0. */
FLUME_EXTERN int flume_client_flush(flume_client *client, int timeout_ms);

/* Copies the client's counters into `*out`, whose struct_size must be set. Since 1.0.0. */
FLUME_EXTERN int flume_client_get_stats(flume_client_stats *out, flume_client *client);

/* The broker's payload limit, as announced in its answer to HELLO (0 for NULL). Since 0.1.0. */
FLUME_EXTERN uint32_t flume_client_max_payload(flume_client *client);

/* Closes the connection (a goodbye to the broker, bounded to about 0.5 s), stops the loop thread
 * and frees the handle. Every subscription of the client ends: each stays a valid handle, its
 * recv drains what was queued and then returns FLUME_ECLOSED, and each must still be freed with
 * flume_subscription_free(); the memory they share with the client goes with the last of them
 * (like sqlite3_close_v2()). Every handler's drop has run when this returns. NULL is allowed
 * (returns 0). FLUME_EINVAL, and nothing is closed, when called from one of this client's own
 * handlers (close it from another thread). Since 0.1.0. */
FLUME_EXTERN int flume_client_close(flume_client *client);

/* ---------------------------------------------------------------------------------------------
 * Subscriptions
 *
 * A subscription receives the messages whose subject matches its pattern, either through a
 * handler called on the client's loop thread or, without a handler, by polling: recv, recv_batch
 * and a file descriptor for event loops.
 * ------------------------------------------------------------------------------------------- */

typedef struct flume_subscription flume_subscription;

/* What the broker does when this subscription's queue there is full. Since 0.1.0. */
#define FLUME_OVERFLOW_DEFAULT 0     /* FLUME_OVERFLOW_DROP_OLDEST */
#define FLUME_OVERFLOW_DROP_OLDEST 1 /* drop the oldest queued message, keep the new one */
#define FLUME_OVERFLOW_DROP_NEWEST 2 /* drop the new message */
#define FLUME_OVERFLOW_CLOSE 3       /* end the subscription (SLOW_CONSUMER) */

/* Default of flume_subscription_options.local_queue_limit. Since 1.0.0. */
#define FLUME_DEFAULT_LOCAL_QUEUE_LIMIT 65536

/* Since 0.1.0. Zero in any field means its default. */
typedef struct flume_subscription_options {
  size_t struct_size;       /* sizeof(flume_subscription_options) */
  int overflow_policy;      /* FLUME_OVERFLOW_*; 0: drop oldest */
  uint32_t queue_limit;     /* messages the broker queues for it; 0: the broker's default. The
                             * broker may grant less: flume_subscription_stats.queue_limit. */
  size_t local_queue_limit; /* polling only: messages held here for recv;
                             * 0: FLUME_DEFAULT_LOCAL_QUEUE_LIMIT. Once full, no more
                             * stream credit goes back, so the broker's queue and its
                             * overflow_policy take the excess; what was already in flight
                             * still lands. Past twice the limit the oldest here is dropped
                             * and counted (dropped_locally) whatever overflow_policy says:
                             * with a small limit that can be most drops. */
  /* Switch, off by default. FLUME_ON: where messages were missed, recv and the handler get a gap
   * item (kind FLUME_MESSAGE_GAP) in their place in the order: drops counted by the broker or
   * here, and each time the subscription was made again after a lost connection (with how long
   * it was without one). Off, the same is only counted (flume_subscription_stats) and seen as
   * jumps in flume_message_view.sequence. Read only when struct_size covers it. Since 1.2.0. */
  int report_gaps;
} flume_subscription_options;

#define FLUME_SUBSCRIPTION_OPTIONS_INIT                                \
  {                                                                    \
    sizeof(flume_subscription_options), FLUME_OVERFLOW_DROP_OLDEST, 0, \
        FLUME_DEFAULT_LOCAL_QUEUE_LIMIT, 0                             \
  }

/* Fills `*out` (`struct_size` bytes: pass sizeof *out) with the defaults, as
 * FLUME_SUBSCRIPTION_OPTIONS_INIT does. FLUME_EINVAL for NULL, FLUME_EOPTIONS for a struct_size
 * smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_subscription_options_init(flume_subscription_options *out,
                                                 size_t struct_size);

/* A closure (zenoh-c style). `call` runs on the client's loop thread for each message, one call
 * at a time; the view is borrowed for the call (flume_message_copy() keeps it). `drop` (may be
 * NULL) runs exactly once, after the last `call` has returned, when the first of these happens:
 * flume_subscription_unsubscribe(), flume_subscription_free(), flume_client_close() of its
 * client (a subscription the broker ended keeps its handler until one of these). It runs inside
 * that call, on its thread, or, if a `call` was still running then, on the loop thread right
 * after it; there a binding frees what `context` holds, and must not use the handle being freed.
 * If flume_client_subscribe() fails, neither `call` nor `drop` is ever called: the caller keeps
 * `context`. Since 0.1.0. */
typedef struct flume_message_handler {
  void *context;
  void (*call)(void *context, const flume_message_view *message);
  void (*drop)(void *context);
} flume_message_handler;

/* Where a subscription stands (flume_subscription_stats.state). Since 1.0.0. */
#define FLUME_SUBSCRIPTION_PENDING 0 /* asked for; the broker has not answered yet */
#define FLUME_SUBSCRIPTION_ACTIVE 1  /* the broker accepted it; messages flow */
#define FLUME_SUBSCRIPTION_ENDED 2   /* refused, unsubscribed, ended by the broker, client closed */

/* Since 1.0.0. Set struct_size (FLUME_SUBSCRIPTION_STATS_INIT or flume_subscription_stats_init()
 * does). */
typedef struct flume_subscription_stats {
  size_t struct_size;         /* sizeof(flume_subscription_stats) */
  uint64_t received;          /* delivered to the handler or queued for recv */
  uint64_t dropped_by_broker; /* reported by the broker (its queue overflowed) */
  uint64_t dropped_locally;   /* polling: the local queue overflowed (recv not keeping up) */
  uint64_t queued;            /* polling: waiting for recv now */
  uint64_t queued_high_water; /* polling: the most that ever waited for recv at once */
  uint32_t queue_limit;       /* the broker's queue limit as it granted it; 0 until it answered */
  int state;                  /* FLUME_SUBSCRIPTION_* */
  /* Since 1.2.0 (filled only when struct_size covers them). Times the subscription was made
   * again on a new connection after one was lost (each time, what was published meanwhile was
   * missed, uncounted), and the sequence of the last message received. */
  uint64_t resubscribed;
  uint64_t last_sequence;
} flume_subscription_stats;

#define FLUME_SUBSCRIPTION_STATS_INIT \
  { sizeof(flume_subscription_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* Zeroes `*out` (`struct_size` bytes) and sets its struct_size. FLUME_EINVAL for NULL,
 * FLUME_EOPTIONS for a struct_size smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_subscription_stats_init(flume_subscription_stats *out, size_t struct_size);

/* Subscribes `client` to `pattern` (`pattern_length` bytes, see flume_pattern_validate()).
 * `options` may be NULL for the defaults. `handler` NULL makes a polling subscription; otherwise
 * `*handler` is copied and its call/drop contract above applies. Returns at once, before the
 * broker answered: flume_subscription_wait_ready() waits for the answer (and says why it was
 * refused), flume_subscription_stats.state tells it without waiting; messages may arrive before
 * it. A refusal ends the subscription. Errors: FLUME_EINVALID_PATTERN, FLUME_EINVAL,
 * FLUME_EOPTIONS, FLUME_ECLOSED. On success `*out` must be freed with flume_subscription_free(),
 * also after the client was closed. Since 0.1.0. */
FLUME_EXTERN int flume_client_subscribe(flume_subscription **out, flume_client *client,
                                        const char *pattern, size_t pattern_length,
                                        const flume_subscription_options *options,
                                        const flume_message_handler *handler);

/* The subscription's id, as in flume_message_subscription_id() (0 for NULL). Since 0.1.0. */
FLUME_EXTERN uint32_t flume_subscription_id(const flume_subscription *subscription);

/* Waits up to `timeout_ms` (see "Timeouts") for the broker's answer to the subscription.
 * Returns 0 once the broker accepted it (at once if it already had, even if it has ended since
 * then: the queue limit it granted is then in flume_subscription_stats.queue_limit);
 * FLUME_EREJECTED if the broker refused it, with the broker's error and reason in
 * flume_last_error() ("the broker refused the subscription: LIMIT_EXCEEDED: ..."); FLUME_ECLOSED
 * if it ended unanswered (unsubscribed, client closed); FLUME_EAGAIN if no answer came in time
 * (while reconnecting, the answer comes after the connection is back). Since 1.0.0. */
FLUME_EXTERN int flume_subscription_wait_ready(flume_subscription *subscription, int timeout_ms);

/* Polling only. Takes the next message into `*out` (the caller frees it), waiting up to
 * `timeout_ms` for one (see "Timeouts"). Returns 0; FLUME_EAGAIN when no message came, whatever
 * the timeout; or FLUME_ECLOSED once the subscription has ended and everything queued was taken,
 * the message saying why it ended ("unsubscribed", "... client closed", "the broker refused the
 * subscription: ...", "the broker ended the subscription: SLOW_CONSUMER"). FLUME_EINVAL for a
 * handler subscription. `*out` is NULL unless 0 is returned. Since 1.0.0. */
FLUME_EXTERN int flume_subscription_recv(flume_message **out, flume_subscription *subscription,
                                         int timeout_ms);

/* Polling only. Like flume_subscription_recv(), but takes up to `capacity` messages into
 * out[0 .. *count-1]: it waits (up to `timeout_ms`) for the first only, then takes what is
 * already queued. Returns 0 with *count >= 1, or an error with *count == 0. The messages of one
 * call share one allocation, freed when the last of them is freed; flume_message_free_batch()
 * frees them all. Since 1.0.0. */
FLUME_EXTERN int flume_subscription_recv_batch(flume_message **out, size_t capacity, size_t *count,
                                               flume_subscription *subscription, int timeout_ms);

/* A file descriptor that is readable while messages wait for recv or once the subscription has
 * ended (for a handler subscription: once it ended). Level-triggered; recv clears it when it
 * takes the last message; never read or close it. Valid until flume_subscription_free(). A
 * negative FLUME_E* code on failure. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_fd(const flume_subscription *subscription);

/* Ends the subscription now and tells the broker; no handler call starts after this returns
 * (one already running on the loop thread finishes, then drop runs). Queued messages stay
 * readable; after them recv returns FLUME_ECLOSED. Idempotent. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_unsubscribe(flume_subscription *subscription);

/* Copies the subscription's counters and state into `*out`, whose struct_size must be set.
 * Since 1.0.0. */
FLUME_EXTERN int flume_subscription_get_stats(flume_subscription_stats *out,
                                              const flume_subscription *subscription);

/* Unsubscribes (if still live) and frees the handle; unread messages are discarded, messages
 * already taken stay valid. Works after flume_client_close() too, and frees what the
 * subscription shared with its closed client if it was the last. NULL is allowed. Since 0.1.0. */
FLUME_EXTERN void flume_subscription_free(flume_subscription *subscription);

/* ---------------------------------------------------------------------------------------------
 * Embedded broker
 *
 * The same broker as flume-broker, run inside the calling program on its own loop thread: for
 * tests, for devices, for any language that links libflume.
 * ------------------------------------------------------------------------------------------- */

typedef struct flume_broker flume_broker;

/* Defaults of flume_broker_options (what 0 in a field means). Since 1.0.0. */
#define FLUME_DEFAULT_LISTEN "127.0.0.1:0"
#define FLUME_DEFAULT_MAX_CONNECTIONS 10000
#define FLUME_DEFAULT_MAX_SUBSCRIPTIONS 10000
#define FLUME_DEFAULT_QUEUE_LIMIT 1024
#define FLUME_DEFAULT_BROKER_MAX_PENDING_BYTES 67108864u /* 64 MiB */
#define FLUME_DEFAULT_SHUTDOWN_GRACE_MS 2000
/* max_memory_bytes: 0 stands for a value the broker works out at start from the machine: a
 * quarter of physical memory, or of the cgroup memory limit if that is lower, at least 64 MiB
 * (flume_broker_stats.memory_budget_bytes tells the value in use). Since 1.1.0. */
#define FLUME_DEFAULT_BROKER_MAX_MEMORY 0u

/* Since 1.0.0. Zero (or NULL) in any field means its default. Strings are copied by
 * flume_broker_start(). */
typedef struct flume_broker_options {
  size_t struct_size; /* sizeof(flume_broker_options) */
  /* "host:port", "[v6]:port", ":port" (all addresses) or "host" (port 7337); port 0 picks a
   * free port (flume_broker_port() tells which). NULL: FLUME_DEFAULT_LISTEN. "[::]" (and ":port")
   * takes IPv6 and IPv4 on one socket (0.0.0.0 where the machine has no IPv6); "0.0.0.0" only
   * IPv4. */
  const char *listen;
  const char *cert_file; /* PEM certificate (chain); with key_file, or neither */
  const char *key_file;  /* PEM private key */
  /* Neither file given: a self-signed pair in data_dir/cert.pem and key.pem, made on first start
   * and reused. NULL: $FLUME_DATA_DIR, else $XDG_DATA_HOME/flume, else ~/.local/share/flume. */
  const char *data_dir;
  uint32_t max_payload;       /* bytes per message; 0: FLUME_DEFAULT_MAX_PAYLOAD; at most
                               * FLUME_HARD_MAX_PAYLOAD */
  uint32_t max_connections;   /* clients at once; 0: FLUME_DEFAULT_MAX_CONNECTIONS */
  uint32_t max_subscriptions; /* per connection; 0: FLUME_DEFAULT_MAX_SUBSCRIPTIONS */
  uint32_t queue_limit;       /* messages queued per subscription unless it asks for another
                               * limit; 0: FLUME_DEFAULT_QUEUE_LIMIT */
  uint64_t max_pending_bytes; /* bytes queued per connection; 0: ..._BROKER_MAX_PENDING_BYTES */
  /* How long flume_broker_stop() lets clients go on their own before closing them;
   * 0: FLUME_DEFAULT_SHUTDOWN_GRACE_MS; FLUME_NO_WAIT: close them at once; FLUME_WAIT_FOREVER:
   * until the last has gone. */
  int shutdown_grace_ms;
  /* Since 1.1.0 (read only when struct_size covers it). Bytes the queues of all connections
   * may hold together: messages waiting for slow or paused subscribers, a message shared by
   * many subscriptions counted once. When it is reached, the subscriptions holding the most take
   * their overflow policy first (drops are reported with DROPPED as usual; policy close ends
   * them with SLOW_CONSUMER). 0: FLUME_DEFAULT_BROKER_MAX_MEMORY. */
  uint64_t max_memory_bytes;
} flume_broker_options;

#define FLUME_BROKER_OPTIONS_INIT                                                                  \
  {                                                                                                \
    sizeof(flume_broker_options), FLUME_DEFAULT_LISTEN, NULL, NULL, NULL,                          \
        FLUME_DEFAULT_MAX_PAYLOAD, FLUME_DEFAULT_MAX_CONNECTIONS, FLUME_DEFAULT_MAX_SUBSCRIPTIONS, \
        FLUME_DEFAULT_QUEUE_LIMIT, FLUME_DEFAULT_BROKER_MAX_PENDING_BYTES,                         \
        FLUME_DEFAULT_SHUTDOWN_GRACE_MS, FLUME_DEFAULT_BROKER_MAX_MEMORY                           \
  }

/* Fills `*out` (`struct_size` bytes: pass sizeof *out) with the defaults, as
 * FLUME_BROKER_OPTIONS_INIT does (listen points to a static string). FLUME_EINVAL for NULL,
 * FLUME_EOPTIONS for a struct_size smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_broker_options_init(flume_broker_options *out, size_t struct_size);

/* Since 0.1.0. Set struct_size (FLUME_BROKER_STATS_INIT or flume_broker_stats_init() does). Counts
 * since the start, except where "now" says otherwise. */
typedef struct flume_broker_stats {
  size_t struct_size;             /* sizeof(flume_broker_stats) */
  uint64_t connections;           /* connections counted against max_connections, now */
  uint64_t subscriptions;         /* live subscriptions, now */
  uint64_t messages_in;           /* PUBLISH routed */
  uint64_t bytes_in;              /* their payload bytes */
  uint64_t messages_out;          /* MESSAGE frames sent to subscribers */
  uint64_t bytes_out;             /* their frame bytes */
  uint64_t messages_unmatched;    /* published messages no subscription matched */
  uint64_t publishes_invalid;     /* PUBLISH refused (invalid subject) */
  uint64_t hellos_accepted;       /* clients admitted */
  uint64_t hellos_refused;        /* clients refused (version, limits, authentication) */
  uint64_t dropped_oldest;        /* deliveries dropped by policy drop-oldest */
  uint64_t dropped_newest;        /* deliveries dropped by policy drop-newest */
  uint64_t dropped_slow_consumer; /* deliveries lost when policy close ended a subscription */
  uint64_t dropped_no_memory;     /* deliveries lost to allocation failures */
  uint64_t discarded_on_close;    /* still queued when a subscription or connection ended */
  uint64_t queued_messages;       /* waiting to be sent, now */
  uint64_t queued_bytes;          /* their bytes, now */
  /* Since 1.1.0 (written only when struct_size covers them). The broker-wide memory budget
   * (flume_broker_options.max_memory_bytes): */
  uint64_t dropped_memory_budget;    /* of the drops above, those the budget made */
  uint64_t memory_queued_bytes;      /* what it counts, now (a shared message once) */
  uint64_t memory_queued_peak_bytes; /* the most it counted since the start */
  uint64_t memory_budget_bytes;      /* the budget in use */
} flume_broker_stats;

#define FLUME_BROKER_STATS_INIT \
  { sizeof(flume_broker_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* Zeroes `*out` (`struct_size` bytes) and sets its struct_size. FLUME_EINVAL for NULL,
 * FLUME_EOPTIONS for a struct_size smaller than 1.0.0's. Since 1.0.0. */
FLUME_EXTERN int flume_broker_stats_init(flume_broker_stats *out, size_t struct_size);

/* Starts a broker: loads or makes its certificate, binds, and serves on a new loop thread.
 * `options` may be NULL for the defaults. Errors: FLUME_EINVAL (bad option, unreadable
 * certificate; the message says which), FLUME_EIO (cannot bind, e.g. the port is taken),
 * FLUME_EOPTIONS. On success stop it with flume_broker_stop(). Since 0.1.0. */
FLUME_EXTERN int flume_broker_start(flume_broker **out, const flume_broker_options *options);

/* The UDP port it listens on (useful after listening on port 0); 0 for NULL. Since 0.1.0. */
FLUME_EXTERN uint16_t flume_broker_port(const flume_broker *broker);

/* The address it listens on, "127.0.0.1:40001" or "[::1]:40001": a client connects to
 * "flume://" followed by it (unless it is a wildcard address). Owned by the broker, valid until
 * flume_broker_stop(). "" for NULL. Since 0.1.0. */
FLUME_EXTERN const char *flume_broker_address(const flume_broker *broker);

/* The path of the certificate it presents (the configured cert_file or the self-signed
 * cert.pem): clients trust it with flume_client_options.ca_file. Owned by the broker, valid until
 * flume_broker_stop(). "" for NULL. Since 0.1.0. */
FLUME_EXTERN const char *flume_broker_certificate_path(const flume_broker *broker);

/* The SHA-256 fingerprint of its certificate, "AB:CD:...": clients pin it with
 * flume_client_options.pin_sha256. Owned by the broker, valid until flume_broker_stop(). ""
 * for NULL. Since 0.1.0. */
FLUME_EXTERN const char *flume_broker_fingerprint(const flume_broker *broker);

/* Copies the broker's counters into `*out`, whose struct_size must be set. Read on the broker's
 * loop thread: waits for one round trip to it. Since 1.0.0. */
FLUME_EXTERN int flume_broker_get_stats(flume_broker_stats *out, flume_broker *broker);

/* Graceful stop: admits nobody new, tells every client SHUTTING_DOWN, waits up to
 * shutdown_grace_ms for them to go, closes what is left, ends the loop thread and frees the
 * broker. Clients see their connection end (and reconnect if so configured). NULL is allowed.
 * Since 0.1.0. */
FLUME_EXTERN void flume_broker_stop(flume_broker *broker);

#ifdef __cplusplus
}
#endif

#endif /* FLUME_H */
