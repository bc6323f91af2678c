package io.flume;

import java.time.Duration;

/** Options of {@link Broker#start(BrokerOptions)}; unset means libflume's default. */
public final class BrokerOptions {
  String listen = "";
  String certFile = "";
  String keyFile = "";
  String dataDir = "";
  int maxPayload;
  int maxConnections;
  int maxSubscriptions;
  int queueLimit;
  Duration shutdownGrace;

  /** "host:port", "[v6]:port", ":port"; port 0 picks a free one; default "127.0.0.1:0". */
  public BrokerOptions listen(String v) { listen = v == null ? "" : v; return this; }

  /** PEM certificate and key; neither: a self-signed pair in the data directory. */
  public BrokerOptions certificate(String certFile, String keyFile) {
    this.certFile = certFile == null ? "" : certFile;
    this.keyFile = keyFile == null ? "" : keyFile;
    return this;
  }

  /** Where the self-signed pair lives; default $FLUME_DATA_DIR or ~/.local/share/flume. */
  public BrokerOptions dataDir(String v) { dataDir = v == null ? "" : v; return this; }

  /** Bytes per message; default 64 KiB. */
  public BrokerOptions maxPayload(int v) { maxPayload = v; return this; }

  /** Clients at once; default 10000. */
  public BrokerOptions maxConnections(int v) { maxConnections = v; return this; }

  /** Subscriptions per connection; default 10000. */
  public BrokerOptions maxSubscriptions(int v) { maxSubscriptions = v; return this; }

  /** Messages queued per subscription; default 1024. */
  public BrokerOptions queueLimit(int v) { queueLimit = v; return this; }

  /** How long close() lets clients go on their own; default 2 s, zero closes them at once. */
  public BrokerOptions shutdownGrace(Duration v) { shutdownGrace = v; return this; }
}
