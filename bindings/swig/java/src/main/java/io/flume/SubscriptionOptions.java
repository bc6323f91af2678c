package io.flume;

/** Options of {@link Client#subscribe(String, SubscriptionOptions)}; unset means the default. */
public final class SubscriptionOptions {
  /** What the broker does when this subscription's queue there is full. */
  public enum Overflow {
    /** Drop the oldest queued message (the default). */
    DROP_OLDEST(1),
    /** Drop the new message. */
    DROP_NEWEST(2),
    /** End the subscription (SLOW_CONSUMER). */
    CLOSE(3);

    final int code;

    Overflow(int code) {
      this.code = code;
    }
  }

  Overflow overflow = Overflow.DROP_OLDEST;
  int queueLimit;
  long localQueueLimit;
  boolean reportGaps;

  /** The broker's overflow policy for this subscription. */
  public SubscriptionOptions overflow(Overflow v) { overflow = v == null ? Overflow.DROP_OLDEST : v; return this; }

  /** Messages the broker queues for it; 0: the broker's default (it may grant less). */
  public SubscriptionOptions queueLimit(int v) { queueLimit = v; return this; }

  /** Messages held here for {@link Subscription#next}; 0: 65536. */
  public SubscriptionOptions localQueueLimit(long v) { localQueueLimit = v; return this; }

  /**
   * Gap items: where messages were missed (dropped by the broker or here, or lost while
   * reconnecting), {@link Subscription#next} returns a {@link Message} whose {@link Message#gap()}
   * says what is missing, in its place in the order. Off, drops are only counted.
   */
  public SubscriptionOptions reportGaps(boolean v) { reportGaps = v; return this; }
}
