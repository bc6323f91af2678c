package io.flume;

/**
 * A failed Flume call: the library's negative {@code FLUME_E*} code and its message (what
 * {@code flume_last_error()} said). Unchecked, like {@link java.io.UncheckedIOException}: most
 * failures (an invalid subject, a closed client) are programming errors or end the work at hand,
 * and a {@code catch} that only rethrows helps nobody. {@link #code()} tells them apart.
 */
public class FlumeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An argument is invalid (a bad option value, a negative timeout). */
  public static final int EINVAL = -1;
  /** Out of memory. */
  public static final int ENOMEM = -2;
  /** A payload over the broker's limit ({@link Client#maxPayload()}). */
  public static final int EPAYLOAD_TOO_LARGE = -14;
  /** Not a valid subject: empty, over 255 bytes, an empty token, a space, a wildcard. */
  public static final int EINVALID_SUBJECT = -20;
  /** Not a valid subscription pattern. */
  public static final int EINVALID_PATTERN = -21;
  /** An operation ran out of time and was abandoned (connect, flush, a publish waiting for room). */
  public static final int ETIMEDOUT = -30;
  /** Nobody answered: refused, unreachable, no handshake, unknown host. */
  public static final int EUNREACHABLE = -31;
  /** Certificate verification failed, or another TLS failure. */
  public static final int ETLS = -32;
  /** The server does not speak flume/1. */
  public static final int EALPN = -33;
  /** The broker refused the client or a subscription. */
  public static final int EREJECTED = -34;
  /** The connection is down and being re-established. */
  public static final int ENOTCONN = -35;
  /** The client or subscription is closed (the message says why). */
  public static final int ECLOSED = -36;
  /** The broker broke the protocol. */
  public static final int EPROTOCOL = -37;
  /** An operating-system call failed (bind, files). */
  public static final int EIO = -39;

  private final int code;

  /** Made by the native library (and by this binding for its own argument checks). */
  public FlumeException(int code, String message) {
    super(Flume.errorName(code) + ": " + message);
    this.code = code;
  }

  /** The {@code FLUME_E*} code, one of the constants above (or another negative code). */
  public int code() {
    return code;
  }

  /** The symbolic name of the code, e.g. {@code "FLUME_EINVALID_SUBJECT"}. */
  public String codeName() {
    return Flume.errorName(code);
  }
}
