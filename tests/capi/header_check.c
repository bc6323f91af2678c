/* Compiled as strict C99 with -pedantic -Werror: the public header must stand alone. */
#include <flume/flume.h>

int flume_header_check_c(void) {
  flume_decoder_options options = FLUME_DECODER_OPTIONS_INIT;
  flume_client_options client = FLUME_CLIENT_OPTIONS_INIT;
  flume_client_stats client_stats = FLUME_CLIENT_STATS_INIT;
  flume_subscription_options subscription = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  flume_subscription_stats subscription_stats = FLUME_SUBSCRIPTION_STATS_INIT;
  flume_broker_options broker = FLUME_BROKER_OPTIONS_INIT;
  flume_broker_stats broker_stats = FLUME_BROKER_STATS_INIT;
  flume_message_handler handler = {NULL, NULL, NULL};
  return (int)options.max_payload + FLUME_VERSION_NUMBER + client.connect_timeout_ms +
         (int)client_stats.struct_size + subscription.overflow_policy +
         (int)subscription_stats.struct_size + (int)broker.max_payload +
         (int)broker_stats.struct_size + (handler.call == NULL) + FLUME_EIO + FLUME_WAIT_FOREVER +
         FLUME_NO_WAIT + FLUME_ON + FLUME_OFF + FLUME_SUBSCRIPTION_ACTIVE +
         FLUME_MAX_SUBJECT_LENGTH;
}
