/* A C program that knows Flume only through its installed header and pkg-config: the codec, then
 * an embedded broker and a client that trusts the broker's certificate, one message end to end. */
#define _POSIX_C_SOURCE 200809L
#include <flume/flume.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int codec_round_trip(void) {
  uint8_t wire[64];
  size_t written = 0;
  if (flume_frame_encode(wire, sizeof wire, &written, FLUME_FRAME_PUBLISH, "a.b", 3, "hi", 2, 0) !=
      FLUME_OK) {
    fprintf(stderr, "encode: %s\n", flume_last_error());
    return 0;
  }
  flume_decoder *decoder = NULL;
  if (flume_decoder_new(&decoder, NULL) != FLUME_OK) return 0;
  flume_frame frame;
  size_t consumed = 0;
  int rc = flume_decoder_next(&frame, &consumed, decoder, wire, written);
  int ok = rc == 1 && frame.type == FLUME_FRAME_PUBLISH && frame.subject_length == 3 &&
           memcmp(frame.subject, "a.b", 3) == 0 && frame.payload_length == 2;
  flume_decoder_free(decoder);
  if (flume_subject_validate("a..b", 4) != FLUME_EINVALID_SUBJECT) return 0;
  printf("flume %s: decoded %s on %.*s (%s)\n", flume_version(), flume_frame_type_name(frame.type),
         (int)frame.subject_length, frame.subject, ok ? "ok" : "MISMATCH");
  return ok;
}

/* Broker, client, subscription, publish, receive; everything freed again. */
static int pubsub_round_trip(const char *data_dir) {
  int ok = 0, rc;
  flume_broker *broker = NULL;
  flume_client *client = NULL;
  flume_subscription *subscription = NULL;
  flume_message *message = NULL;
  flume_broker_options broker_options = FLUME_BROKER_OPTIONS_INIT;
  flume_client_options client_options = FLUME_CLIENT_OPTIONS_INIT;
  char url[128];
  size_t subject_length = 0, payload_length = 0;
  const char *subject;
  const void *payload;

  broker_options.data_dir = data_dir;
  if (flume_broker_start(&broker, &broker_options) != FLUME_OK) {
    fprintf(stderr, "broker: %s\n", flume_last_error());
    goto done;
  }
  snprintf(url, sizeof url, "flume://%s", flume_broker_address(broker));
  client_options.ca_file = flume_broker_certificate_path(broker);
  if (flume_client_connect(&client, url, &client_options) != FLUME_OK) {
    fprintf(stderr, "connect %s: %s\n", url, flume_last_error());
    goto done;
  }
  if ((rc = flume_client_subscribe(&subscription, client, "greetings.*", 11, NULL, NULL)) != 0 ||
      (rc = flume_client_flush(client, 3000)) != 0 ||
      (rc = flume_client_publish(client, "greetings.c", 11, "hello", 5)) != 0 ||
      (rc = flume_subscription_recv(&message, subscription, 3000)) != 0) {
    fprintf(stderr, "pub/sub: %s: %s\n", flume_error_name(rc), flume_last_error());
    goto done;
  }
  subject = flume_message_subject(message);
  subject_length = flume_message_subject_length(message);
  payload = flume_message_payload(message);
  payload_length = flume_message_payload_length(message);
  ok = subject_length == 11 && memcmp(subject, "greetings.c", 11) == 0 && payload_length == 5 &&
       memcmp(payload, "hello", 5) == 0;
  printf("received %.*s on %.*s through a broker on %s (%s)\n", (int)payload_length,
         (const char *)payload, (int)subject_length, subject, flume_broker_address(broker),
         ok ? "ok" : "MISMATCH");

done:
  flume_message_free(message);
  flume_subscription_free(subscription);
  flume_client_close(client);
  flume_broker_stop(broker);
  return ok;
}

static void remove_data_dir(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/cert.pem", dir);
  remove(path);
  snprintf(path, sizeof path, "%s/key.pem", dir);
  remove(path);
  rmdir(dir);
}

int main(void) {
  char dir[] = "/tmp/flume-consumer-XXXXXX";
  int ok;
  if (flume_version_number() != FLUME_VERSION_NUMBER) {
    fprintf(stderr, "header %s but library %s\n", FLUME_VERSION, flume_version());
    return 1;
  }
  if (!codec_round_trip()) return 1;
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  ok = pubsub_round_trip(dir);
  remove_data_dir(dir);
  return ok ? 0 : 1;
}
