package io.flume;

import java.time.Duration;

/**
 * What a gap item says is missing: messages dropped by the broker (its queue for the
 * subscription was full), dropped here (the local queue was full), or an unknown number lost
 * while the connection was down (resubscribed). Gaps waiting together are merged; one already
 * taken can be followed by another: add up their counts.
 */
public final class Gap {
  private final long droppedByBroker;
  private final long droppedLocally;
  private final boolean resubscribed;
  private final Duration disconnected;

  Gap(long droppedByBroker, long droppedLocally, boolean resubscribed, Duration disconnected) {
    this.droppedByBroker = droppedByBroker;
    this.droppedLocally = droppedLocally;
    this.resubscribed = resubscribed;
    this.disconnected = disconnected;
  }

  public long droppedByBroker() {
    return droppedByBroker;
  }

  public long droppedLocally() {
    return droppedLocally;
  }

  /** The connection was lost and the subscription made again: what was published meanwhile is gone. */
  public boolean resubscribed() {
    return resubscribed;
  }

  /** From noticing the lost connection to subscribing again (zero unless resubscribed). */
  public Duration disconnected() {
    return disconnected;
  }

  @Override
  public String toString() {
    return "Gap{droppedByBroker=" + droppedByBroker + ", droppedLocally=" + droppedLocally
        + ", resubscribed=" + resubscribed + ", disconnected=" + disconnected + "}";
  }
}
