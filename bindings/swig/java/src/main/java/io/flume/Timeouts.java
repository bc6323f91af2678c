package io.flume;

import java.time.Duration;

/** Durations to the C ABI's milliseconds (flume.h "Timeouts"). */
final class Timeouts {
  static final int WAIT_FOREVER = -1;
  static final int NO_WAIT = -2;

  private Timeouts() {}

  /**
   * {@code null} waits without limit, zero does not wait, a positive duration is rounded up to
   * whole milliseconds (so a microsecond still waits) and capped at about 24 days.
   */
  static int toMillis(Duration timeout) {
    if (timeout == null) return WAIT_FOREVER;
    if (timeout.isNegative()) {
      throw new FlumeException(FlumeException.EINVAL, "a timeout must not be negative: " + timeout);
    }
    if (timeout.isZero()) return NO_WAIT;
    if (timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) >= 0) return Integer.MAX_VALUE;
    long ms = timeout.toMillis() + (timeout.minusMillis(timeout.toMillis()).isZero() ? 0 : 1);
    return (int) Math.min(ms, (long) Integer.MAX_VALUE);
  }

  /** For option fields, where 0 means "the default". */
  static int optionMillis(Duration value, String name) {
    if (value == null) return 0;
    if (value.isNegative() || value.isZero()) {
      throw new FlumeException(FlumeException.EINVAL, name + " must be positive: " + value);
    }
    return toMillis(value);
  }
}
