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
 *       flume_subscription_recv()/_recv_batch() with a nonzero timeout on a subscription of it.
 *
 * Blocking: only these calls wait, each for at most the time given:
 *   flume_client_connect()           connect_timeout_ms + 1 s (the handshake, then HELLO)
 *   flume_client_flush()             timeout_ms
 *   flume_client_publish()           publish_timeout_ms, only while max_pending_bytes wait
 *   flume_client_close()             about 0.5 s (a goodbye to the broker, if it is still there)
 *   flume_subscription_recv(),
 *   flume_subscription_recv_batch()  timeout_ms (0: not at all; negative: until a message or end)
 *   flume_broker_start()             binding, and making a self-signed certificate on first start
 *   flume_broker_stop()              shutdown_grace_ms + 1 s
 *   flume_broker_get_stats()         one round trip to the broker's loop thread
 * Everything else returns without waiting for the network or another thread's work.
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
  FLUME_EINVALID_PATTERN = -21,   /* not a valid subscription pattern (likewise) */
  /* Clients, subscriptions and brokers (since 0.1.0). Publish and subscribe also report
   * FLUME_EINVALID_SUBJECT, FLUME_EINVALID_PATTERN and FLUME_EPAYLOAD_TOO_LARGE. */
  FLUME_ETIMEDOUT = -30,    /* the wait ran out (connect, flush, recv with a timeout) */
  FLUME_EUNREACHABLE = -31, /* nobody answered: refused, unreachable, no handshake, bad host */
  FLUME_ETLS = -32,         /* certificate verification failed, or another TLS failure (why) */
  FLUME_EALPN = -33,        /* the server does not speak flume/1 */
  FLUME_EREJECTED = -34,    /* the broker refused the client (HELLO: auth, limits, version) */
  FLUME_ENOTCONN = -35,     /* the connection is down and being re-established */
  FLUME_ECLOSED = -36,      /* the client or subscription is closed (the message says why) */
  FLUME_EPROTOCOL = -37,    /* the broker broke the protocol */
  FLUME_EAGAIN = -38,       /* recv with timeout 0: no message is waiting */
  FLUME_EIO = -39           /* an operating-system call failed (bind, eventfd, files) */
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
 * taken from is freed). Since 0.1.0. */
typedef struct flume_message_view {
  const char *subject;      /* not NUL-terminated */
  size_t subject_length;    /* 1 .. FLUME_MAX_TOPIC_LENGTH */
  const uint8_t *payload;   /* may be NULL when payload_length is 0 */
  size_t payload_length;    /* 0 .. the broker's max_payload */
  uint32_t subscription_id; /* flume_subscription_id() of the subscription it came through */
} flume_message_view;

/* The subject of `message`; its length in `*length` (which may be NULL). Borrowed from the
 * message: valid until flume_message_free(). NULL (and length 0) for a NULL message.
 * Since 0.1.0. */
FLUME_EXTERN const char *flume_message_subject(const flume_message *message, size_t *length);

/* The payload of `message`; its length in `*length` (which may be NULL). Borrowed like the
 * subject. Since 0.1.0. */
FLUME_EXTERN const uint8_t *flume_message_payload(const flume_message *message, size_t *length);

/* The id of the subscription `message` came through (0 for NULL). Since 0.1.0. */
FLUME_EXTERN uint32_t flume_message_subscription_id(const flume_message *message);

/* Fills out[i] with views of messages[i] for `count` messages: one call instead of three per
 * message for bindings that cross into C at a cost. The views borrow from the messages.
 * FLUME_EINVAL if a pointer is NULL. Since 0.1.0. */
FLUME_EXTERN int flume_message_views(flume_message_view *out, flume_message *const *messages,
                                     size_t count);

/* Copies a borrowed message (a handler's view) into a flume_message the caller owns, to keep it
 * after the handler returns. Free it with flume_message_free(). Since 0.1.0. */
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

/* Since 0.1.0. Initialise with FLUME_CLIENT_OPTIONS_INIT, then set fields by name. Strings are
 * copied by flume_client_connect(); none need to outlive the call. */
typedef struct flume_client_options {
  size_t struct_size;          /* sizeof(flume_client_options) */
  const char *client_name;     /* sent in HELLO; NULL: "flume-c" */
  uint32_t connect_timeout_ms; /* handshake timeout; 0: 5000 */
  /* Whom to trust: at most one of ca_file, pin_sha256 and insecure. None: the system's CA
   * store, except for a broker on this machine (127.0.0.0/8, ::1), where the self-signed
   * cert.pem in the default data directory is trusted if it exists. */
  const char *ca_file;    /* PEM file with the CA (or the broker's self-signed certificate) */
  const char *pin_sha256; /* "AB:CD:..." as flume_broker_fingerprint() gives it */
  int insecure;           /* nonzero: no verification at all (prints a warning on stderr) */
  const uint8_t *token;   /* sent in HELLO for the broker's authentication; NULL: none */
  size_t token_length;
  int reconnect;             /* nonzero: after a lost connection, back off and reconnect */
  uint32_t reconnect_min_ms; /* first back-off; 0: 100 */
  uint32_t reconnect_max_ms; /* longest back-off; 0: 5000 */
  const char *server_name;   /* the name the certificate must carry; NULL: the URL's host */
  /* Back-pressure: at most this many bytes of published messages wait in the client for the
   * network; 0: 8 MiB. flume_client_publish() waits up to publish_timeout_ms for room
   * (negative: fails at once), then fails with FLUME_ETIMEDOUT. */
  size_t max_pending_bytes;
  int32_t publish_timeout_ms; /* 0: 5000 */
} flume_client_options;

#define FLUME_CLIENT_OPTIONS_INIT \
  { sizeof(flume_client_options), NULL, 5000, NULL, NULL, 0, NULL, 0, 1, 100, 5000, NULL, 0, 0 }

/* Since 0.1.0. Set struct_size (FLUME_CLIENT_STATS_INIT does) before flume_client_get_stats(). */
typedef struct flume_client_stats {
  size_t struct_size;         /* sizeof(flume_client_stats) */
  uint64_t messages_out;      /* accepted by flume_client_publish() */
  uint64_t bytes_out;         /* their payload bytes */
  uint64_t messages_in;       /* received for any subscription */
  uint64_t bytes_in;          /* their payload bytes */
  uint64_t dropped_by_broker; /* messages the broker dropped for this client's subscriptions */
  uint64_t reconnects;        /* connections re-established after a loss */
  uint64_t publish_errors;    /* publishes the broker refused later (e.g. INVALID_TOPIC) */
  int connected;              /* nonzero while connected and past HELLO */
} flume_client_stats;

#define FLUME_CLIENT_STATS_INIT \
  { sizeof(flume_client_stats), 0, 0, 0, 0, 0, 0, 0, 0 }

/* Connects to `url` ("flume://host:port", "host:port" or "host"; port 7337 by default) and
 * waits until the broker accepted the client or connecting failed: FLUME_EUNREACHABLE (nobody
 * listening, unknown host, no handshake), FLUME_ETLS (the reason, e.g. the certificate is not
 * trusted), FLUME_EALPN, FLUME_EREJECTED (the broker's error), FLUME_ETIMEDOUT, FLUME_EINVAL
 * (a bad URL or option), FLUME_EOPTIONS. `options` may be NULL for the defaults. On success
 * `*out` is a client to close with flume_client_close(); on failure it is NULL. Blocks up to
 * connect_timeout_ms + 1 s. Since 0.1.0. */
FLUME_EXTERN int flume_client_connect(flume_client **out, const char *url,
                                      const flume_client_options *options);

/* Publishes `payload_length` bytes to `subject`. Copies both; returns without waiting for the
 * network, unless max_pending_bytes already wait for it: then it waits up to publish_timeout_ms
 * for room and fails with FLUME_ETIMEDOUT (at once when called from a message handler, which runs
 * on the thread that makes room). Other errors come back at once: FLUME_EINVALID_SUBJECT,
 * FLUME_EPAYLOAD_TOO_LARGE (over flume_client_max_payload()), FLUME_ENOTCONN (reconnecting: the
 * message was not sent), FLUME_ECLOSED. The broker's later refusals are counted in
 * flume_client_stats.publish_errors. Since 0.1.0. */
FLUME_EXTERN int flume_client_publish(flume_client *client, const char *subject,
                                      size_t subject_length, const uint8_t *payload,
                                      size_t payload_length);

/* Waits until the broker has processed everything this client published, subscribed and
 * unsubscribed before the call (after it, a subscription made earlier is in place). Up to
 * `timeout_ms` (negative: no limit): FLUME_ETIMEDOUT, FLUME_ENOTCONN, FLUME_ECLOSED.
 * FLUME_EINVAL from one of this client's own handlers. Since 0.1.0. */
FLUME_EXTERN int flume_client_flush(flume_client *client, int timeout_ms);

/* Copies the client's counters into `*out`, whose struct_size must be set. Since 0.1.0. */
FLUME_EXTERN int flume_client_get_stats(flume_client *client, flume_client_stats *out);

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

/* Since 0.1.0. Initialise with FLUME_SUBSCRIPTION_OPTIONS_INIT. */
typedef struct flume_subscription_options {
  size_t struct_size;       /* sizeof(flume_subscription_options) */
  int overflow_policy;      /* FLUME_OVERFLOW_*; 0: drop oldest */
  uint32_t queue_limit;     /* messages the broker queues for it; 0: the broker's default */
  size_t local_queue_limit; /* polling only: messages held here for recv; 0: 65536 */
} flume_subscription_options;

#define FLUME_SUBSCRIPTION_OPTIONS_INIT \
  { sizeof(flume_subscription_options), 0, 0, 0 }

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

/* Since 0.1.0. Set struct_size (FLUME_SUBSCRIPTION_STATS_INIT does). */
typedef struct flume_subscription_stats {
  size_t struct_size;         /* sizeof(flume_subscription_stats) */
  uint64_t received;          /* delivered to the handler or queued for recv */
  uint64_t dropped_by_broker; /* reported by the broker (its queue overflowed) */
  uint64_t dropped_locally;   /* polling: the local queue overflowed (recv not keeping up) */
  uint64_t queued;            /* polling: waiting for recv now */
  int ended;                  /* nonzero once it ended (unsubscribed, client closed, broker) */
} flume_subscription_stats;

#define FLUME_SUBSCRIPTION_STATS_INIT \
  { sizeof(flume_subscription_stats), 0, 0, 0, 0, 0 }

/* Subscribes `client` to `pattern` (`pattern_length` bytes, see flume_pattern_validate()).
 * `options` may be NULL for the defaults. `handler` NULL makes a polling subscription; otherwise
 * `*handler` is copied and its call/drop contract above applies. Returns at once: the broker's
 * answer comes later (flume_client_flush() waits for it; a refusal ends the subscription, and
 * recv reports why). Errors: FLUME_EINVALID_PATTERN, FLUME_EINVAL, FLUME_EOPTIONS,
 * FLUME_ECLOSED. On success `*out` must be freed with flume_subscription_free(), also after the
 * client was closed. Since 0.1.0. */
FLUME_EXTERN int flume_client_subscribe(flume_subscription **out, flume_client *client,
                                        const char *pattern, size_t pattern_length,
                                        const flume_subscription_options *options,
                                        const flume_message_handler *handler);

/* The subscription's id, as in flume_message_subscription_id() (0 for NULL). Since 0.1.0. */
FLUME_EXTERN uint32_t flume_subscription_id(const flume_subscription *subscription);

/* Polling only. Takes the next message into `*out` (the caller frees it), waiting up to
 * `timeout_ms` for one: 0 does not wait, negative waits until a message comes or the
 * subscription ends. Returns 0, FLUME_EAGAIN (timeout 0, nothing waiting), FLUME_ETIMEDOUT, or
 * FLUME_ECLOSED once the subscription has ended and everything queued was taken; the message
 * says why it ended ("unsubscribed", "... client closed", "the broker ended the subscription:
 * SLOW_CONSUMER"). FLUME_EINVAL for a handler subscription. `*out` is NULL unless
 * 0 is returned. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_recv(flume_subscription *subscription, flume_message **out,
                                         int timeout_ms);

/* Polling only. Like flume_subscription_recv(), but takes up to `max` messages into
 * out[0 .. *count-1]: it waits (up to `timeout_ms`) for the first only, then takes what is
 * already queued. Returns 0 with *count >= 1, or an error with *count == 0. The messages of one
 * call share one allocation, freed when the last of them is freed; flume_message_free_batch()
 * frees them all. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_recv_batch(flume_subscription *subscription,
                                               flume_message **out, size_t max, size_t *count,
                                               int timeout_ms);

/* A file descriptor that is readable while messages wait for recv or once the subscription has
 * ended (for a handler subscription: once it ended). Level-triggered; recv clears it when it
 * takes the last message; never read or close it. Valid until flume_subscription_free(). A
 * negative FLUME_E* code on failure. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_fd(const flume_subscription *subscription);

/* Ends the subscription now and tells the broker; no handler call starts after this returns
 * (one already running on the loop thread finishes, then drop runs). Queued messages stay
 * readable; after them recv returns FLUME_ECLOSED. Idempotent. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_unsubscribe(flume_subscription *subscription);

/* Copies the subscription's counters into `*out`, whose struct_size must be set. Since 0.1.0. */
FLUME_EXTERN int flume_subscription_get_stats(const flume_subscription *subscription,
                                              flume_subscription_stats *out);

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

/* Since 0.1.0. Initialise with FLUME_BROKER_OPTIONS_INIT. Zero in a number means its default.
 * Strings are copied by flume_broker_start(). */
typedef struct flume_broker_options {
  size_t struct_size; /* sizeof(flume_broker_options) */
  /* "host:port", "[v6]:port", ":port" (all addresses) or "host" (port 7337); port 0 picks a
   * free port (flume_broker_port() tells which). NULL: "127.0.0.1:0". */
  const char *listen;
  const char *cert_file; /* PEM certificate (chain); with key_file, or neither */
  const char *key_file;  /* PEM private key */
  /* Neither file given: a self-signed pair in data_dir/cert.pem and key.pem, made on first start
   * and reused. NULL: $FLUME_DATA_DIR, else $XDG_DATA_HOME/flume, else ~/.local/share/flume. */
  const char *data_dir;
  uint32_t max_payload;       /* bytes per message; 0: 65536; at most FLUME_HARD_MAX_PAYLOAD */
  uint32_t max_connections;   /* clients at once; 0: 10000 */
  uint32_t max_subscriptions; /* per connection; 0: 10000 */
  uint32_t queue_limit;       /* messages queued per subscription by default; 0: 1024 */
  uint64_t max_pending_bytes; /* bytes queued per connection; 0: 64 MiB */
  uint32_t shutdown_grace_ms; /* flume_broker_stop() waits this long for clients; 0: 2000 */
} flume_broker_options;

#define FLUME_BROKER_OPTIONS_INIT                                                             \
  {                                                                                           \
    sizeof(flume_broker_options), "127.0.0.1:0", NULL, NULL, NULL, FLUME_DEFAULT_MAX_PAYLOAD, \
        10000, 10000, 1024, 67108864u, 2000                                                   \
  }

/* Since 0.1.0. Set struct_size (FLUME_BROKER_STATS_INIT does). Counts since the start, except
 * where "now" says otherwise. */
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
} flume_broker_stats;

#define FLUME_BROKER_STATS_INIT \
  { sizeof(flume_broker_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

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
 * loop thread: waits for one round trip to it. Since 0.1.0. */
FLUME_EXTERN int flume_broker_get_stats(flume_broker *broker, flume_broker_stats *out);

/* Graceful stop: admits nobody new, tells every client SHUTTING_DOWN, waits up to
 * shutdown_grace_ms for them to go, closes what is left, ends the loop thread and frees the
 * broker. Clients see their connection end (and reconnect if so configured). NULL is allowed.
 * Since 0.1.0. */
FLUME_EXTERN void flume_broker_stop(flume_broker *broker);

#ifdef __cplusplus
}
#endif

#endif /* FLUME_H */
