package io.flume;

import io.flume.internal.FlumeNative;

/**
 * Entry point of the Java binding: {@link #connect(String, ClientOptions)} for a client,
 * {@link Broker#start(BrokerOptions)} for an embedded broker. Everything goes through libflume's C
 * ABI (flume.h) via a SWIG-generated JNI layer; see docs/java.md.
 */
public final class Flume {
  // libflume is linked statically into the JNI library, so header and library always match:
  // no version check at load time is needed (the Go and Python bindings need one).
  static {
    NativeLibrary.load();
  }

  private Flume() {}

  /** {@code java -jar flume.jar}: proves the jar loads its native library; prints the versions. */
  public static void main(String[] args) {
    System.out.println("flume-java " + version() + " (" + NativeLibrary.platform() + ")");
  }

  /** Connects with the default options (see {@link #connect(String, ClientOptions)}). */
  public static Client connect(String url) {
    return connect(url, new ClientOptions());
  }

  /**
   * Connects to the broker at {@code url} ({@code flume://host:port}, or several separated by
   * commas) and returns when it accepted the client, or throws: {@code EUNREACHABLE},
   * {@code ETLS}, {@code EREJECTED}, {@code ETIMEDOUT}, {@code EINVAL} for a bad URL. Blocks up to
   * the connect timeout plus a second.
   */
  public static Client connect(String url, ClientOptions options) {
    if (url == null) throw new FlumeException(FlumeException.EINVAL, "url is null");
    return new Client(url, options == null ? new ClientOptions() : options);
  }

  /** libflume's version, "MAJOR.MINOR.PATCH". */
  public static String version() {
    return FlumeNative.version();
  }

  /** The symbolic name of a {@code FLUME_E*} code ("FLUME_ECLOSED"). */
  public static String errorName(int code) {
    return FlumeNative.errorName(code);
  }

  /** Throws {@code EINVALID_SUBJECT} with the reason if {@code subject} is not a valid subject. */
  public static void validateSubject(String subject) {
    FlumeNative.validateSubject(Utf8.bytes(subject, "subject"));
  }

  /** Throws {@code EINVALID_PATTERN} with the reason if {@code pattern} is not a valid pattern. */
  public static void validatePattern(String pattern) {
    FlumeNative.validatePattern(Utf8.bytes(pattern, "pattern"));
  }

  /** Native objects alive now, by kind, for leak checks: clients, subscriptions, brokers, messages. */
  public static long[] liveNativeObjects() {
    return new long[] {FlumeNative.liveClients(), FlumeNative.liveSubscriptions(),
        FlumeNative.liveBrokers(), FlumeNative.liveMessages()};
  }
}
