package io.flume;

import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Receive throughput of a Java subscriber beside the C++ {@code flume bench} subscriber, fed by
 * the same publisher in the same run (docs/benchmarks.md, "Java binding"):
 *
 * <pre>
 * java -cp flume-VERSION.jar io.flume.Bench --flume build/dev-release/tools/flume \
 *     --broker build/dev-release/broker/flume-broker [--duration 5] [--queue 65536] [--rate N]
 * </pre>
 *
 * It starts flume-broker on a free loopback port (stopped by its PID at the end), subscribes to
 * "bench" with {@link Subscription#next}, runs {@code flume bench --subscribers 1 --json} and
 * counts what it receives in the same window (after the same warm-up, from when flume bench
 * started, so the windows line up to within its connect time). Prints both rates and the ratio.
 */
public final class Bench {
  private Bench() {}

  public static void main(String[] args) throws Exception {
    String flume = null, brokerBinary = null, queue = null, rate = null;
    int duration = 5, warmup = 1;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--flume" -> flume = args[i + 1];
        case "--broker" -> brokerBinary = args[i + 1];
        case "--duration" -> duration = Integer.parseInt(args[i + 1]);
        case "--queue" -> queue = args[i + 1];
        case "--rate" -> rate = args[i + 1];
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (flume == null || brokerBinary == null || args.length % 2 != 0) {
      System.err.println("usage: io.flume.Bench --flume PATH --broker PATH [--duration S] [--queue N] [--rate N]");
      System.exit(2);
    }
    Path dir = Files.createTempDirectory("flume-java-bench");
    int port;
    try (DatagramSocket probe = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    String url = "flume://127.0.0.1:" + port;
    String cert = dir.resolve("cert.pem").toString();
    Process broker = new ProcessBuilder(brokerBinary, "-l", "127.0.0.1:" + port, "--data-dir",
        dir.toString(), "--shutdown-grace", "0", "--log-level", "warn")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      Client client = connectWhenUp(url, cert, broker);
      try (client; Subscription s = client.subscribe("bench",
          queue == null ? null : new SubscriptionOptions().queueLimit(Integer.parseInt(queue)))) {
        s.waitReady(Duration.ofSeconds(5));
        List<String> command = new ArrayList<>(List.of(flume, "bench", "-s", url, "--ca", cert,
            "--subscribers", "1", "--size", "128", "--duration", "" + duration, "--warmup",
            "" + warmup, "--json"));
        if (queue != null) command.addAll(List.of("--queue", queue));
        if (rate != null) command.addAll(List.of("--rate", rate));
        long started = System.nanoTime();
        Process bench = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long from = started + TimeUnit.SECONDS.toNanos(warmup);
        long to = from + TimeUnit.SECONDS.toNanos(duration);
        long received = 0, all = 0;
        long limit = to + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < limit && (bench.isAlive() || System.nanoTime() < to)) {
          Message m = s.next(Duration.ofMillis(100));
          if (m == null) continue;
          all++;
          long now = System.nanoTime();
          if (now >= from && now < to) received++;
        }
        String json = read(bench.getInputStream());
        if (!bench.waitFor(10, TimeUnit.SECONDS)) {
          bench.destroyForcibly();
          throw new IllegalStateException("flume bench did not finish");
        }
        double cpp = number(json, "\"receive\":{\"messages\":", "\"rate\":");
        double java = received / (double) duration;
        System.out.printf("128-byte messages, %d s after %d s warm-up%s%s%n", duration, warmup,
            queue == null ? "" : ", broker queue " + queue, rate == null ? "" : ", rate " + rate);
        System.out.printf("C++ flume bench subscriber: %,.0f msg/s%n", cpp);
        System.out.printf("Java subscriber (next):     %,.0f msg/s (%,d in all)%n", java, all);
        System.out.printf("Java / C++: %.2f%n", java / cpp);
        System.out.println("flume bench: " + json.trim());
      }
    } finally {
      broker.destroy();
      if (!broker.waitFor(5, TimeUnit.SECONDS)) broker.destroyForcibly();
    }
  }

  private static Client connectWhenUp(String url, String cert, Process broker) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      if (!broker.isAlive()) throw new IllegalStateException("flume-broker exited");
      if (Files.exists(Path.of(cert))) {
        try {
          return Flume.connect(url, new ClientOptions().caFile(cert).clientName("java-bench"));
        } catch (FlumeException e) {
          if (System.nanoTime() > deadline) throw e;
        }
      } else if (System.nanoTime() > deadline) {
        throw new IllegalStateException("flume-broker made no certificate");
      }
      Thread.sleep(20);
    }
  }

  private static String read(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  /** The number after {@code key} following {@code section} in flume bench's one-line JSON. */
  private static double number(String json, String section, String key) {
    int at = json.indexOf(section);
    if (at < 0) throw new IllegalStateException("no " + section + " in: " + json);
    at = json.indexOf(key, at) + key.length();
    int end = at;
    while (end < json.length() && "0123456789.eE+-".indexOf(json.charAt(end)) >= 0) end++;
    return Double.parseDouble(json.substring(at, end));
  }
}
