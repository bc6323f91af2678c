package io.flume;

import java.time.Duration;

/**
 * Options of {@link Flume#connect(String, ClientOptions)}, set fluently:
 * {@code new ClientOptions().caFile(path).connectTimeout(Duration.ofSeconds(2))}. Anything not
 * set keeps libflume's default (flume.h, flume_client_options).
 */
public final class ClientOptions {
  String clientName = "";
  String serverName = "";
  String caFile = "";
  String pinSha256 = "";
  byte[] token = new byte[0];
  boolean insecure;
  boolean reconnect = true;
  Duration connectTimeout;
  Duration publishTimeout;
  Duration keepAlive;
  long maxPendingBytes;

  /** Sent to the broker in HELLO; default "flume-java". */
  public ClientOptions clientName(String v) { clientName = nonNull(v); return this; }

  /** The name the broker's certificate must carry; default the URL's host. */
  public ClientOptions serverName(String v) { serverName = nonNull(v); return this; }

  /** PEM file with the CA, or the broker's self-signed certificate ({@link Broker#certificatePath()}). */
  public ClientOptions caFile(String v) { caFile = nonNull(v); return this; }

  /** Trust exactly the certificate with this SHA-256 fingerprint ({@link Broker#fingerprint()}). */
  public ClientOptions pinSha256(String v) { pinSha256 = nonNull(v); return this; }

  /** Sent in HELLO for the broker's authentication. */
  public ClientOptions token(byte[] v) { token = v == null ? new byte[0] : v.clone(); return this; }

  /** No certificate verification at all (tests only). */
  public ClientOptions insecure(boolean v) { insecure = v; return this; }

  /** Reconnect and subscribe again after a lost connection (default true). */
  public ClientOptions reconnect(boolean v) { reconnect = v; return this; }

  /** The handshake and HELLO; default 5 s. */
  public ClientOptions connectTimeout(Duration v) { connectTimeout = v; return this; }

  /** How long publish waits for room under maxPendingBytes; default 5 s. */
  public ClientOptions publishTimeout(Duration v) { publishTimeout = v; return this; }

  /** A QUIC PING after this long without sending; default 1 s, at least 100 ms. */
  public ClientOptions keepAlive(Duration v) { keepAlive = v; return this; }

  /** Bytes of published messages that may wait for the network; default 8 MiB. */
  public ClientOptions maxPendingBytes(long v) { maxPendingBytes = v; return this; }

  private static String nonNull(String v) {
    return v == null ? "" : v;
  }
}
