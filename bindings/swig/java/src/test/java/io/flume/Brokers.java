package io.flume;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** What the tests share: clients of an embedded broker, and a flume-broker process. */
final class Brokers {
  private Brokers() {}

  /** A client trusting {@code broker}'s self-signed certificate. */
  static Client connect(Broker broker) {
    return Flume.connect(broker.url(), new ClientOptions().caFile(broker.certificatePath())
        .clientName("java-test"));
  }

  /** Subscribes and waits until the broker has accepted the subscription. */
  static Subscription subscribed(Client client, String pattern) {
    Subscription s = client.subscribe(pattern);
    assertTrue(s.waitReady(Duration.ofSeconds(5)), "no answer to the subscription " + pattern);
    return s;
  }

  /** A flume-broker process on a free loopback port, stopped (by its PID) on close(). */
  static final class Process implements AutoCloseable {
    final java.lang.Process process;
    final String url;
    final String cert;

    Process(Path dataDir) throws IOException, InterruptedException {
      String binary = System.getProperty("flume.broker.binary", "");
      if (binary.isEmpty() && "1".equals(System.getenv("FLUME_JAVA_REQUIRE_BROKER"))) {
        fail("no flume-broker binary (-Dflume.broker.binary=...)");
      }
      Assumptions.assumeFalse(binary.isEmpty(), "no flume-broker binary: -Dflume.broker.binary");
      int port;
      try (DatagramSocket probe = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
        port = probe.getLocalPort();
      }
      url = "flume://127.0.0.1:" + port;
      cert = dataDir.resolve("cert.pem").toString();
      process = new ProcessBuilder(binary, "-l", "127.0.0.1:" + port, "--data-dir",
          dataDir.toString(), "--shutdown-grace", "0", "--log-level", "warn")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        if (!process.isAlive()) fail("flume-broker exited with " + process.exitValue());
        if (Files.exists(Path.of(cert))) {
          try (Client c = Flume.connect(url, new ClientOptions().caFile(cert).reconnect(false)
                   .connectTimeout(Duration.ofSeconds(1)))) {
            return;
          } catch (FlumeException e) {
            if (System.nanoTime() > deadline) fail("flume-broker at " + url + " does not answer: " + e);
          }
        } else if (System.nanoTime() > deadline) {
          fail("flume-broker made no certificate in " + dataDir);
        }
        Thread.sleep(20);
      }
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy(); // SIGTERM to this PID only
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
        fail("flume-broker did not exit within 5 s of SIGTERM");
      }
    }
  }
}
