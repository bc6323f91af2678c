package io.flume;

import io.flume.internal.NativeMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One received message, or, on a subscription made with {@link SubscriptionOptions#reportGaps},
 * a gap item ({@link #gap()} non-null, empty subject and data). Plain Java data: nothing in it
 * refers to libflume's memory.
 */
public final class Message {
  private final String subject;
  private final byte[] data;
  private final long sequence;
  private final Gap gap;

  Message(String subject, byte[] data, long sequence, Gap gap) {
    this.subject = subject;
    this.data = data;
    this.sequence = sequence;
    this.gap = gap;
  }

  static Message of(NativeMessage m) {
    Gap gap = m.isGap()
        ? new Gap(m.gapDroppedByBroker(), m.gapDroppedLocally(), m.gapResubscribed(),
            Duration.ofMillis(m.gapDisconnectedMs()))
        : null;
    return new Message(Utf8.string(m.subject()), m.payload(), m.sequence(), gap);
  }

  /** One message of a packed batch (the layout is flume_java::Packed's, flume_facade.hpp). */
  static Message unpack(ByteBuffer in) {
    int kind = in.getInt();
    long sequence = in.getLong();
    int subjectLength = in.getInt();
    int payloadLength = in.getInt();
    Gap gap = null;
    if (kind == GAP) {
      long byBroker = in.getLong();
      long locally = in.getLong();
      boolean resubscribed = in.getInt() != 0;
      gap = new Gap(byBroker, locally, resubscribed, Duration.ofMillis(in.getLong()));
    }
    String subject = new String(in.array(), in.position(), subjectLength, StandardCharsets.UTF_8);
    in.position(in.position() + subjectLength);
    byte[] data = new byte[payloadLength];
    in.get(data);
    return new Message(subject, data, sequence, gap);
  }

  private static final int GAP = 1; // FLUME_MESSAGE_GAP

  /** The subject it was published to ("" for a gap item). */
  public String subject() {
    return subject;
  }

  /** The payload (the caller's array; empty for a gap item). */
  public byte[] data() {
    return data;
  }

  /**
   * Its number in its subscription: 1, 2, 3, ..., counting also messages dropped on the way, so
   * a jump of n + 1 means n were dropped. For a gap item: the number of the last message before.
   */
  public long sequence() {
    return sequence;
  }

  /** Whether this is a gap item rather than a message. */
  public boolean isGap() {
    return gap != null;
  }

  /** What is missing where this gap item stands; null for a message. */
  public Gap gap() {
    return gap;
  }

  @Override
  public String toString() {
    return gap != null ? "Message{" + gap + " after " + sequence + "}"
                       : "Message{" + subject + ", " + data.length + " bytes, #" + sequence + "}";
  }
}
