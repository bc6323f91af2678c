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

extern "C" size_t flume_frame_size(size_t subject_length, size_t payload_length) {
  return flume::frame_size(subject_length, payload_length);
}

extern "C" const char *flume_frame_type_name(uint8_t type) {
  if (!flume::is_known_frame_type(type)) return "unknown";
  return flume::frame_type_name(static_cast<flume::FrameType>(type));
}

extern "C" int flume_frame_encode(void *out, size_t capacity, size_t *written, uint8_t type,
                                  const char *subject, size_t subject_length, const void *payload,
                                  size_t payload_length, uint32_t max_payload) {
  if (written == nullptr) return fail(FLUME_EINVAL, "written is NULL");
  *written = 0;
  if (out == nullptr && capacity != 0) return fail(FLUME_EINVAL, "out is NULL");
  if (subject == nullptr && subject_length != 0) return fail(FLUME_EINVAL, "subject is NULL");
  if (payload == nullptr && payload_length != 0) return fail(FLUME_EINVAL, "payload is NULL");
  if (max_payload > FLUME_HARD_MAX_PAYLOAD) {
    return fail(FLUME_EINVAL, "max_payload is above FLUME_HARD_MAX_PAYLOAD (16 MiB)");
  }
  if (!flume::is_known_frame_type(type)) return fail(flume::FrameError::unknown_type, type);
  if (subject_length > FLUME_MAX_SUBJECT_LENGTH) {
    return fail(type == FLUME_FRAME_SUBSCRIBE ? FLUME_EINVALID_PATTERN : FLUME_EINVALID_SUBJECT,
                "the subject is longer than 255 bytes");
  }
  if (max_payload == 0) max_payload = FLUME_DEFAULT_MAX_PAYLOAD;
  flume::FrameError error = flume::encode_frame(
      static_cast<flume::FrameType>(type), std::string_view(subject, subject_length),
      std::span<const uint8_t>(static_cast<const uint8_t *>(payload), payload_length),
      std::span<uint8_t>(static_cast<uint8_t *>(out), capacity), *written, max_payload);
  return error == flume::FrameError::ok ? FLUME_OK : fail(error, type);
}

extern "C" int flume_decoder_options_init(flume_decoder_options *out, size_t struct_size) {
  const flume_decoder_options defaults = FLUME_DECODER_OPTIONS_INIT;
  return flume::capi::init_struct(out, struct_size, &defaults, sizeof defaults,
                                  FLUME_STRUCT_END(flume_decoder_options, max_payload),
                                  "flume_decoder_options");
}

extern "C" int flume_decoder_new(flume_decoder **out, const flume_decoder_options *options) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  uint32_t max_payload = 0;
  if (options != nullptr) {
    if (!flume::capi::struct_size_ok(options->struct_size,
                                     FLUME_STRUCT_END(flume_decoder_options, max_payload),
                                     "flume_decoder_options")) {
      return FLUME_EOPTIONS;
    }
    max_payload = options->max_payload;
  }
  if (max_payload == 0) max_payload = FLUME_DEFAULT_MAX_PAYLOAD;
  if (max_payload > FLUME_HARD_MAX_PAYLOAD) {
    return fail(FLUME_EINVAL, "max_payload must be at most FLUME_HARD_MAX_PAYLOAD (16 MiB)");
  }
  auto *decoder = new (std::nothrow) flume_decoder{flume::FrameDecoder(max_payload)};
  if (decoder == nullptr) return fail(FLUME_ENOMEM, "out of memory creating a decoder");
  *out = decoder;
  return FLUME_OK;
}

extern "C" void flume_decoder_free(flume_decoder *decoder) {
  delete decoder;
}

extern "C" int flume_decoder_next(flume_frame *out, size_t *consumed, flume_decoder *decoder,
                                  const void *data, size_t length) {
  if (consumed != nullptr) *consumed = 0;
  if (decoder == nullptr) return fail(FLUME_EINVAL, "decoder is NULL");
  if (consumed == nullptr || out == nullptr) {
    return fail(FLUME_EINVAL, "out and consumed must not be NULL");
  }
  if (data == nullptr && length != 0) return fail(FLUME_EINVAL, "data is NULL");

  std::span<const uint8_t> input(static_cast<const uint8_t *>(data), length);
  flume::Frame decoded{};
  flume::DecodeStatus status = decoder->decoder.next(input, decoded);
  *consumed = length - input.size();
  if (status == flume::DecodeStatus::need_more) return 0;
  if (status == flume::DecodeStatus::frame ||
      decoder->decoder.error() == flume::FrameError::invalid_subject) {
    out->type = static_cast<uint8_t>(decoded.type);
    out->subject = decoded.subject.data();
    out->subject_length = decoded.subject.size();
    out->payload = decoded.payload.data();
    out->payload_length = decoded.payload.size();
  }
  if (status == flume::DecodeStatus::frame) return 1;
  return fail(decoder->decoder.error(), static_cast<uint8_t>(decoded.type));
}

extern "C" int flume_decoder_finish(flume_decoder *decoder) {
  if (decoder == nullptr) return fail(FLUME_EINVAL, "decoder is NULL");
  flume::FrameError error = decoder->decoder.finish();
  return error == flume::FrameError::ok ? FLUME_OK : fail(error, 0);
}
