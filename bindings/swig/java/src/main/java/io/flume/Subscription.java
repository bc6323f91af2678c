package io.flume;

import io.flume.internal.NativeSubscription;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The messages whose subject matches a pattern, taken with {@link #next(Duration)} or by
 * iterating ({@code for (Message m : subscription)}, which ends when the subscription does). Any
 * number of threads may call it at once; each message goes to one of them. {@link #close()}
 * (from any thread) wakes a thread blocked in {@code next}, which then throws {@code ECLOSED}.
 */
public final class Subscription implements AutoCloseable, Iterable<Message> {
  private final NativeSubscription handle;
  private final String pattern;
  /** Messages taken from libflume in one batch and not returned yet, oldest first. */
  private final ArrayDeque<Message> taken = new ArrayDeque<>();

  Subscription(NativeSubscription handle, String pattern) {
    this.handle = handle;
    this.pattern = pattern;
  }

  /** The pattern it was made with. */
  public String pattern() {
    return pattern;
  }

  /**
   * Waits up to {@code timeout} for the broker's answer: true once accepted, false if no answer
   * came in time; throws {@code EREJECTED} (with the broker's reason) or {@code ECLOSED}.
   */
  public boolean waitReady(Duration timeout) {
    return handle.waitReady(Timeouts.toMillis(timeout));
  }

  /**
   * The next message, waiting up to {@code timeout} ({@code null}: without limit,
   * {@link Duration#ZERO}: not at all); {@code null} if none came in time. Throws
   * {@code ECLOSED} once the subscription has ended (closed, unsubscribed, its client closed,
   * ended by the broker) and everything queued was taken; the message says why.
   */
  public Message next(Duration timeout) {
    int ms = Timeouts.toMillis(timeout);
    synchronized (taken) {
      Message m = taken.poll();
      if (m != null) return m;
    }
    // One JNI call takes every message already queued (a bounded batch), packed into one array:
    // the first is returned, the rest wait in `taken` for the next calls, on any thread.
    byte[] packed = handle.recvPacked(ms);
    if (packed.length == 0) return null;
    ByteBuffer in = ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN);
    Message first = Message.unpack(in);
    if (in.hasRemaining()) {
      synchronized (taken) {
        while (in.hasRemaining()) taken.add(Message.unpack(in));
      }
    }
    return first;
  }

  /** Ends the subscription and tells the broker; queued messages stay readable. Idempotent. */
  public void unsubscribe() {
    handle.unsubscribe();
  }

  /** Messages the broker dropped for this subscription (its queue was full). */
  public long droppedByBroker() {
    return stat(io.flume.internal.SubscriptionStats::getDroppedByBroker);
  }

  /** Messages dropped here (the local queue was full: next() did not keep up). */
  public long droppedLocally() {
    return stat(io.flume.internal.SubscriptionStats::getDroppedLocally);
  }

  /** Messages waiting here for {@link #next} now. */
  public long queued() {
    long inJava;
    synchronized (taken) {
      inJava = taken.size();
    }
    return stat(io.flume.internal.SubscriptionStats::getQueued) + inJava;
  }

  /** Times the subscription was made again after a lost connection. */
  public long resubscribed() {
    return stat(io.flume.internal.SubscriptionStats::getResubscribed);
  }

  private long stat(java.util.function.ToLongFunction<io.flume.internal.SubscriptionStats> field) {
    io.flume.internal.SubscriptionStats s = handle.stats();
    try {
      return field.applyAsLong(s);
    } finally {
      s.delete();
    }
  }

  /** The iterator's messages as a sequential stream; it ends when the subscription does. */
  public java.util.stream.Stream<Message> stream() {
    return java.util.stream.StreamSupport.stream(
        java.util.Spliterators.spliteratorUnknownSize(iterator(),
            java.util.Spliterator.ORDERED | java.util.Spliterator.NONNULL), false);
  }

  /**
   * Blocks in {@link #next} without limit; {@code hasNext()} is false once the subscription
   * has ended. Gap items (with {@link SubscriptionOptions#reportGaps}) are yielded in order.
   */
  @Override
  public Iterator<Message> iterator() {
    return new Iterator<>() {
      private Message ahead;
      private boolean ended;

      @Override
      public boolean hasNext() {
        while (ahead == null && !ended) {
          try {
            ahead = Subscription.this.next(null);
          } catch (FlumeException e) {
            if (e.code() != FlumeException.ECLOSED) throw e;
            ended = true;
          }
        }
        return ahead != null;
      }

      @Override
      public Message next() {
        if (!hasNext()) throw new NoSuchElementException("the subscription has ended");
        Message m = ahead;
        ahead = null;
        return m;
      }
    };
  }

  /** Unsubscribes (if still live) and frees the subscription; idempotent. */
  @Override
  public void close() {
    // Not handle.delete(): see Client.close().
    handle.close();
    synchronized (taken) {
      taken.clear();
    }
  }
}
