// flume_message_*: received messages owned by the caller.
#include <algorithm>
#include <cstring>
#include <new>

#include "handles.hpp"
#include "last_error.hpp"

using flume::capi::fail;

namespace flume::capi {

flume_message_view view_of(const MessageView &message) noexcept {
  flume_message_view view{};
  view.struct_size = sizeof view;
  view.subject = message.subject.data();
  view.subject_length = message.subject.size();
  view.payload = message.payload.data();
  view.payload_length = message.payload.size();
  view.subscription_id = message.subscription_id;
  view.sequence = message.sequence;
  view.kind = message.gap != nullptr ? FLUME_MESSAGE_GAP : FLUME_MESSAGE_DATA;
  if (message.gap != nullptr) {
    view.gap_resubscribed = message.gap->resubscribed ? 1 : 0;
    view.gap_dropped_by_broker = message.gap->dropped_by_broker;
    view.gap_dropped_locally = message.gap->dropped_locally;
    view.gap_disconnected_ms = static_cast<std::uint64_t>(message.gap->disconnected.count());
  }
  return view;
}

// A header followed by `capacity` flume_message slots, all allocated at once. `live` counts the
// slots not yet freed; the last flume_message_free() of the block frees it.
struct alignas(alignof(flume_message)) MessageBlock {
  std::atomic<std::size_t> live;
};

namespace {
flume_message *slots_of(MessageBlock *block) noexcept {
  return reinterpret_cast<flume_message *>(block + 1);
}
}  // namespace

bool adopt_messages(std::vector<Message> &messages, std::size_t count, flume_message **out) {
  void *memory = ::operator new(sizeof(MessageBlock) + count * sizeof(flume_message), std::nothrow);
  if (memory == nullptr) return false;
  auto *block = new (memory) MessageBlock{{count}};
  flume_message *slots = slots_of(block);
  for (std::size_t i = 0; i < count; ++i) {
    out[i] = new (&slots[i]) flume_message{std::move(messages[i]), block};
  }
  return true;
}

}  // namespace flume::capi

extern "C" const char *flume_message_subject(const flume_message *message) {
  return message == nullptr ? nullptr : message->message.subject().data();
}

extern "C" size_t flume_message_subject_length(const flume_message *message) {
  return message == nullptr ? 0 : message->message.subject().size();
}

extern "C" const void *flume_message_payload(const flume_message *message) {
  return message == nullptr ? nullptr : message->message.payload().data();
}

extern "C" size_t flume_message_payload_length(const flume_message *message) {
  return message == nullptr ? 0 : message->message.payload().size();
}

extern "C" uint32_t flume_message_subscription_id(const flume_message *message) {
  return message == nullptr ? 0 : message->message.subscription_id();
}

extern "C" uint64_t flume_message_sequence(const flume_message *message) {
  return message == nullptr ? 0 : message->message.sequence();
}

extern "C" int flume_message_kind(const flume_message *message) {
  if (message == nullptr) return fail(FLUME_EINVAL, "message is NULL");
  return message->message.is_gap() ? FLUME_MESSAGE_GAP : FLUME_MESSAGE_DATA;
}

extern "C" int flume_message_views(flume_message_view *out, size_t view_size,
                                   flume_message *const *messages, size_t count) {
  if (!flume::capi::struct_size_ok(view_size, FLUME_STRUCT_END(flume_message_view, subscription_id),
                                   "flume_message_view")) {
    return FLUME_EOPTIONS;
  }
  if (count == 0) return FLUME_OK;
  if (out == nullptr || messages == nullptr) return fail(FLUME_EINVAL, "out or messages is NULL");
  // A caller built against a newer header has bigger views: step by its size, fill what we know.
  const std::size_t filled = std::min(view_size, sizeof(flume_message_view));
  auto *bytes = reinterpret_cast<unsigned char *>(out);
  for (std::size_t i = 0; i < count; ++i) {
    if (messages[i] == nullptr) return fail(FLUME_EINVAL, "a message in the array is NULL");
    const flume::Message &message = messages[i]->message;
    const flume::Gap gap = message.gap();
    flume_message_view view = flume::capi::view_of(
        flume::MessageView{message.subject(), message.payload(), message.subscription_id(),
                           message.sequence(), message.is_gap() ? &gap : nullptr});
    view.struct_size = filled;
    std::memcpy(bytes + i * view_size, &view, filled);
  }
  return FLUME_OK;
}

extern "C" int flume_message_copy(flume_message **out, const flume_message_view *view) {
  if (out == nullptr) return fail(FLUME_EINVAL, "out is NULL");
  *out = nullptr;
  if (view == nullptr) return fail(FLUME_EINVAL, "view is NULL");
  if (!flume::capi::struct_size_ok(view->struct_size,
                                   FLUME_STRUCT_END(flume_message_view, subscription_id),
                                   "flume_message_view")) {
    return FLUME_EOPTIONS;
  }
  if ((view->subject == nullptr && view->subject_length != 0) ||
      (view->payload == nullptr && view->payload_length != 0)) {
    return fail(FLUME_EINVAL, "the view has a NULL subject or payload with a nonzero length");
  }
  if (view->subject_length > FLUME_MAX_SUBJECT_LENGTH) {
    return fail(FLUME_EINVAL, "the view's subject is longer than 255 bytes");
  }
  const bool since_1_2 =
      view->struct_size >= FLUME_STRUCT_END(flume_message_view, gap_disconnected_ms);
  const std::uint64_t sequence = since_1_2 ? view->sequence : 0;
  if (since_1_2 && view->kind == FLUME_MESSAGE_GAP) {
    flume::Gap gap;
    gap.resubscribed = view->gap_resubscribed != 0;
    gap.dropped_by_broker = view->gap_dropped_by_broker;
    gap.dropped_locally = view->gap_dropped_locally;
    gap.disconnected = std::chrono::milliseconds(view->gap_disconnected_ms);
    return flume::capi::guarded([&]() -> int {
      std::vector<flume::Message> one;
      one.push_back(flume::Message::gap(gap, view->subscription_id, sequence));
      if (!one.front() || !flume::capi::adopt_messages(one, 1, out)) {
        return fail(FLUME_ENOMEM, "out of memory copying a gap");
      }
      return FLUME_OK;
    });
  }
  if (since_1_2 && view->kind != FLUME_MESSAGE_DATA) {
    return fail(FLUME_EINVAL,
                "the view's kind is neither FLUME_MESSAGE_DATA nor FLUME_MESSAGE_GAP");
  }
  return flume::capi::guarded([&]() -> int {
    flume::SharedBuffer bytes =
        flume::SharedBuffer::allocate(view->subject_length + view->payload_length);
    if (!bytes && view->subject_length + view->payload_length != 0) {
      return fail(FLUME_ENOMEM, "out of memory copying a message");
    }
    if (view->subject_length != 0) {
      std::memcpy(bytes.mutable_data(), view->subject, view->subject_length);
    }
    if (view->payload_length != 0) {
      std::memcpy(bytes.mutable_data() + view->subject_length, view->payload, view->payload_length);
    }
    std::vector<flume::Message> one;
    one.emplace_back(std::move(bytes), static_cast<std::uint32_t>(view->subject_length),
                     view->subscription_id, sequence);
    if (!flume::capi::adopt_messages(one, 1, out)) {
      return fail(FLUME_ENOMEM, "out of memory copying a message");
    }
    return FLUME_OK;
  });
}

extern "C" void flume_message_free(flume_message *message) {
  if (message == nullptr) return;
  flume::capi::MessageBlock *block = message->block;
  message->~flume_message();  // releases this message's bytes now, whatever its neighbours do
  if (block->live.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    block->~MessageBlock();
    ::operator delete(block);
  }
}

extern "C" void flume_message_free_batch(flume_message *const *messages, size_t count) {
  if (messages == nullptr) return;
  for (std::size_t i = 0; i < count; ++i)
    flume_message_free(messages[i]);
}
