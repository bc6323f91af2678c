package io.flume;

import io.flume.internal.NativeBroker;

/**
 * An embedded broker: the same broker as flume-broker, on its own loop thread in this process
 * (flume_broker_start). For tests and for programs that carry their broker with them.
 */
public final class Broker implements AutoCloseable {
  static {
    NativeLibrary.load();
  }

  private final NativeBroker handle;
  private final String address;

  private Broker(NativeBroker handle) {
    this.handle = handle;
    this.address = handle.address();
  }

  /** Starts a broker on 127.0.0.1 and a free port, with a self-signed certificate. */
  public static Broker start() {
    return start(new BrokerOptions());
  }

  /** Starts a broker; throws {@code EIO} if it cannot bind, {@code EINVAL} for a bad option. */
  public static Broker start(BrokerOptions o) {
    BrokerOptions options = o == null ? new BrokerOptions() : o;
    io.flume.internal.BrokerOptions n = new io.flume.internal.BrokerOptions();
    n.setListen(options.listen);
    n.setCertFile(options.certFile);
    n.setKeyFile(options.keyFile);
    n.setDataDir(options.dataDir);
    n.setMaxPayload(options.maxPayload);
    n.setMaxConnections(options.maxConnections);
    n.setMaxSubscriptions(options.maxSubscriptions);
    n.setQueueLimit(options.queueLimit);
    n.setShutdownGraceMs(options.shutdownGrace != null && options.shutdownGrace.isZero()
        ? Timeouts.NO_WAIT : Timeouts.optionMillis(options.shutdownGrace, "shutdownGrace"));
    try {
      return new Broker(new NativeBroker(n));
    } finally {
      n.delete();
    }
  }

  /** The address it listens on, "127.0.0.1:40123". */
  public String address() {
    return address;
  }

  /** "flume://" + address(), for {@link Flume#connect}. */
  public String url() {
    return "flume://" + address;
  }

  /** The port it listens on. */
  public int port() {
    return handle.port();
  }

  /** The certificate it presents: trust it with {@link ClientOptions#caFile}. */
  public String certificatePath() {
    return handle.certificatePath();
  }

  /** Its certificate's SHA-256 fingerprint: pin it with {@link ClientOptions#pinSha256}. */
  public String fingerprint() {
    return handle.fingerprint();
  }

  /** Stops gracefully (tells clients, waits up to the shutdown grace); idempotent. */
  @Override
  public void close() {
    handle.stop(); // not delete(): see Client.close()
  }
}
