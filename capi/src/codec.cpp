// flume_frame_* and flume_decoder_*: the wire codec through the C ABI.
#include <new>
#include <span>

#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"
#include "last_error.hpp"

using flume::capi::fail;

struct flume_decoder {
  flume::FrameDecoder decoder;
};

extern "C" size_t flume_frame_size(size_t topic_length, size_t payload_length) {
  return flume::frame_size(topic_length, payload_length);
}

extern "C" const char *flume_frame_type_name(uint8_t type) {
  if (!flume::is_known_frame_type(type)) return "unknown";
  return flume::frame_type_name(static_cast<flume::FrameType>(type));
}

extern "C" int flume_frame_encode(uint8_t *out, size_t capacity, size_t *written, uint8_t type,
                                  const char *topic, size_t topic_length, const uint8_t *payload,
                                  size_t payload_length, uint32_t max_payload) {
  if (written == nullptr) return fail(FLUME_EINVAL, "written is NULL");
  *written = 0;
  if (out == nullptr && capacity != 0) return fail(FLUME_EINVAL, "out is NULL");
  if (topic == nullptr && topic_length != 0) return fail(FLUME_EINVAL, "topic is NULL");
  if (payload == nullptr && payload_length != 0) return fail(FLUME_EINVAL, "payload is NULL");
  if (max_payload > FLUME_HARD_MAX_PAYLOAD) {
    return fail(FLUME_EINVAL, "max_payload is above FLUME_HARD_MAX_PAYLOAD (16 MiB)");
  }
  if (!flume::is_known_frame_type(type)) return fail(flume::FrameError::unknown_type);
  if (topic_length > FLUME_MAX_TOPIC_LENGTH) {
    return fail(FLUME_EINVALID_TOPIC, "topic is longer than 255 bytes");
  }
  if (max_payload == 0) max_payload = FLUME_DEFAULT_MAX_PAYLOAD;
  flume::FrameError error = flume::encode_frame(
      static_cast<flume::FrameType>(type), std::string_view(topic, topic_length),
      std::span<const uint8_t>(payload, payload_length), std::span<uint8_t>(out, capacity),
      *written, max_payload);
  return error == flume::FrameError::ok ? FLUME_OK : fail(error);
}

extern "C" int flume_decoder_new(flume_decoder **out, const flume_decoder_options *options) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  uint32_t max_payload = FLUME_DEFAULT_MAX_PAYLOAD;
  if (options != nullptr) {
    // Accept any size that includes the fields this version knows: older callers pass less.
    if (options->struct_size < offsetof(flume_decoder_options, max_payload) + sizeof(uint32_t)) {
      return fail(FLUME_EOPTIONS,
                  "flume_decoder_options.struct_size is too small; use "
                  "FLUME_DECODER_OPTIONS_INIT");
    }
    max_payload = options->max_payload;
  }
  if (max_payload == 0 || max_payload > FLUME_HARD_MAX_PAYLOAD) {
    return fail(FLUME_EINVAL, "max_payload must be between 1 and FLUME_HARD_MAX_PAYLOAD (16 MiB)");
  }
  auto *decoder = new (std::nothrow) flume_decoder{flume::FrameDecoder(max_payload)};
  if (decoder == nullptr) return fail(FLUME_ENOMEM, "out of memory creating a decoder");
  *out = decoder;
  return FLUME_OK;
}

extern "C" void flume_decoder_free(flume_decoder *decoder) {
  delete decoder;
}

extern "C" int flume_decoder_next(flume_decoder *decoder, const uint8_t *data, size_t length,
                                  size_t *consumed, flume_frame *frame) {
  if (consumed != nullptr) *consumed = 0;
  if (decoder == nullptr) return fail(FLUME_EINVAL, "decoder is NULL");
  if (consumed == nullptr || frame == nullptr) {
    return fail(FLUME_EINVAL, "consumed and frame must not be NULL");
  }
  if (data == nullptr && length != 0) return fail(FLUME_EINVAL, "data is NULL");

  std::span<const uint8_t> input(data, length);
  flume::Frame decoded{};
  flume::DecodeStatus status = decoder->decoder.next(input, decoded);
  *consumed = length - input.size();
  if (status == flume::DecodeStatus::need_more) return 0;
  if (status == flume::DecodeStatus::frame ||
      decoder->decoder.error() == flume::FrameError::invalid_topic) {
    frame->type = static_cast<uint8_t>(decoded.type);
    frame->topic = decoded.topic.data();
    frame->topic_length = decoded.topic.size();
    frame->payload = decoded.payload.data();
    frame->payload_length = decoded.payload.size();
  }
  return status == flume::DecodeStatus::frame ? 1 : fail(decoder->decoder.error());
}

extern "C" int flume_decoder_finish(flume_decoder *decoder) {
  if (decoder == nullptr) return fail(FLUME_EINVAL, "decoder is NULL");
  flume::FrameError error = decoder->decoder.finish();
  return error == flume::FrameError::ok ? FLUME_OK : fail(error);
}
