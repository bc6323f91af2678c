package io.flume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Every ```java block of docs/java.md, run: each block is a part of a method below, and
 * every_example_in_the_docs_is_run_here checks that each block appears in this file verbatim
 * (ignoring indentation), so an edited example must be edited here too.
 */
class DocsExamplesTest {
  /** Runs {@code example} with System.out captured; returns what it printed. */
  private static String printed(ThrowingRunnable example) throws Exception {
    PrintStream saved = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      example.run();
    } finally {
      System.setOut(saved);
    }
    String text = out.toString(StandardCharsets.UTF_8);
    saved.print(text);
    return text;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void quick_start() throws Exception {
    String out = printed(() -> {
      try (Broker broker = Broker.start();
           Client client = Flume.connect(broker.url(),
               new ClientOptions().caFile(broker.certificatePath()));
           Subscription orders = client.subscribe("orders.>")) {
        orders.waitReady(Duration.ofSeconds(5));
        client.publish("orders.eu.created", "order 1".getBytes(StandardCharsets.UTF_8));
        Message m = orders.next(Duration.ofSeconds(5));
        System.out.println(m.subject() + ": " + new String(m.data(), StandardCharsets.UTF_8));
      }
    });
    assertEquals("orders.eu.created: order 1\n", out);
  }

  @Test
  void iterating() throws Exception {
    try (Broker broker = Broker.start()) {
      Client client = Brokers.connect(broker);
      Subscription subscription = Brokers.subscribed(client, "sensors.*.temperature");
      client.publish("sensors.kitchen.temperature", new byte[] {21});
      client.publish("sensors.kitchen.humidity", new byte[] {40});
      client.flush(Duration.ofSeconds(5));
      new Thread(() -> {
        try {
          Thread.sleep(300);
        } catch (InterruptedException e) {
          return;
        }
        client.close();
      }).start();
      String out = printed(() -> {
        for (Message m : subscription) { // ends when the subscription does (here: client closed)
          System.out.println(m.subject() + " " + m.data()[0]);
        }
      });
      subscription.close();
      assertEquals("sensors.kitchen.temperature 21\n", out);
    }
  }

  @Test
  void errors() throws Exception {
    try (Broker broker = Broker.start(); Client client = Brokers.connect(broker)) {
      String out = printed(() -> {
        try {
          client.publish("not a subject", new byte[0]);
        } catch (FlumeException e) {
          if (e.code() == FlumeException.EINVALID_SUBJECT) System.out.println(e.getMessage());
        }
      });
      assertTrue(out.startsWith("FLUME_EINVALID_SUBJECT: "), out);
    }
  }

  @Test
  void callbacks() throws Exception {
    try (Broker broker = Broker.start(); Client client = Brokers.connect(broker)) {
      CountDownLatch got = new CountDownLatch(1);
      String out = printed(() -> {
        Subscription alerts = client.subscribe("alerts.>", null, m -> {
          System.out.println("alert " + m.subject()); // on the client's loop thread
          got.countDown();
        });
        alerts.waitReady(Duration.ofSeconds(5));
        client.publish("alerts.disk", new byte[0]);
        assertTrue(got.await(5, TimeUnit.SECONDS));
        alerts.close();
      });
      assertEquals("alert alerts.disk\n", out);
    }
  }

  @Test
  void gaps() throws Exception {
    try (Broker broker = Broker.start(); Client client = Brokers.connect(broker)) {
      String out = printed(() -> {
        Subscription ticks = client.subscribe("ticks",
            new SubscriptionOptions().reportGaps(true).queueLimit(16).localQueueLimit(16));
        ticks.waitReady(Duration.ofSeconds(5));
        for (int i = 0; i < 2000; i++) client.publish("ticks", new byte[64]);
        client.flush(Duration.ofSeconds(5));
        long received = 0, missed = 0;
        for (Message m; (m = ticks.next(Duration.ofMillis(300))) != null; ) {
          if (m.isGap()) {
            missed += m.gap().droppedByBroker() + m.gap().droppedLocally();
          } else {
            received++;
          }
        }
        System.out.println(received + " + " + missed + " = " + (received + missed));
        ticks.close();
      });
      assertTrue(out.endsWith(" = 2000\n"), out);
    }
  }

  @Test
  void every_example_in_the_docs_is_run_here() throws Exception {
    Path docs = Path.of(System.getProperty("flume.docs", "../../../docs/java.md"));
    Path self = Path.of("src/test/java/io/flume/DocsExamplesTest.java");
    String doc = Files.readString(docs);
    String here = normalize(Files.readString(self));
    int blocks = 0;
    for (int at = doc.indexOf("```java\n"); at >= 0; at = doc.indexOf("```java\n", at)) {
      int end = doc.indexOf("```", at + 8);
      String block = doc.substring(at + 8, end);
      assertTrue(here.contains(normalize(block)), "docs/java.md example not run by this test:\n" + block);
      blocks++;
      at = end + 3;
    }
    assertTrue(blocks >= 4, "only " + blocks + " java examples found in " + docs);
  }

  private static String normalize(String text) {
    StringBuilder out = new StringBuilder();
    for (String line : text.split("\n")) {
      String t = line.strip();
      if (!t.isEmpty()) out.append(t).append('\n');
    }
    return out.toString();
  }
}
