package io.flume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SubscriptionTest {
  static Broker broker;

  @BeforeAll
  static void start() {
    broker = Broker.start();
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void a_thousand_subscriptions_each_get_their_own_subject_only() {
    int n = 1000;
    try (Client c = Brokers.connect(broker)) {
      List<Subscription> subs = new ArrayList<>();
      try {
        for (int i = 0; i < n; i++) subs.add(c.subscribe("many." + i));
        c.flush(Duration.ofSeconds(10)); // every subscription is in place after this
        for (int i = 0; i < n; i++) c.publish("many." + i, ByteBuffer.allocate(4).putInt(i).array());
        for (int i = 0; i < n; i++) {
          Message m = subs.get(i).next(Duration.ofSeconds(5));
          assertNotNull(m, "subscription " + i + " got nothing");
          assertEquals("many." + i, m.subject());
          assertEquals(i, ByteBuffer.wrap(m.data()).getInt());
        }
        for (Subscription s : subs) assertNull(s.next(Duration.ZERO), s.pattern() + " got a second message");
      } finally {
        subs.forEach(Subscription::close);
      }
    }
  }

  @Test
  void close_wakes_a_thread_blocked_in_next_with_closed() throws Exception {
    try (Client c = Brokers.connect(broker)) {
      Subscription s = Brokers.subscribed(c, "blocked.close");
      CountDownLatch entered = new CountDownLatch(1);
      CompletableFuture<FlumeException> waiter = CompletableFuture.supplyAsync(() -> {
        entered.countDown();
        try {
          s.next(null); // without limit: only close() can end it
          return null;
        } catch (FlumeException e) {
          return e;
        }
      });
      assertTrue(entered.await(5, TimeUnit.SECONDS));
      Thread.sleep(100); // let it block in recv
      assertFalse(waiter.isDone(), "next() returned without a message");
      long started = System.nanoTime();
      s.close();
      FlumeException e = waiter.get(5, TimeUnit.SECONDS);
      assertNotNull(e, "next() returned a message after close");
      assertEquals(FlumeException.ECLOSED, e.code());
      assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2));
    }
  }

  @Test
  void closing_the_client_ends_a_blocked_next_and_the_iterator() throws Exception {
    Client c = Brokers.connect(broker);
    try (Subscription s = Brokers.subscribed(c, "iter.>")) {
      c.publish("iter.a", new byte[] {1});
      c.publish("iter.b", new byte[] {2});
      c.flush(Duration.ofSeconds(5));
      CompletableFuture<List<String>> reader = CompletableFuture.supplyAsync(() -> {
        List<String> got = new ArrayList<>();
        for (Message m : s) got.add(m.subject());
        return got;
      });
      Thread.sleep(200);
      assertFalse(reader.isDone(), "the iterator ended while the client was open");
      c.close();
      assertEquals(List.of("iter.a", "iter.b"), reader.get(5, TimeUnit.SECONDS));
    }
  }

  @Test
  void unsubscribe_keeps_what_was_queued_then_ends() {
    try (Client c = Brokers.connect(broker); Subscription s = Brokers.subscribed(c, "unsub")) {
      c.publish("unsub", new byte[] {7});
      c.flush(Duration.ofSeconds(5));
      assertTrue(waitQueued(s));
      s.unsubscribe();
      assertEquals(7, s.next(Duration.ofSeconds(1)).data()[0]);
      FlumeException e = assertThrows(FlumeException.class, () -> s.next(Duration.ofSeconds(1)));
      assertEquals(FlumeException.ECLOSED, e.code());
      assertTrue(e.getMessage().contains("unsubscribed"), e.getMessage());
    }
  }

  /** Whether a message has reached the subscription's local queue within 5 s. */
  private static boolean waitQueued(Subscription s) {
    // The flush proves the broker routed it; delivery to this client can lag a little behind.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (queued(s) > 0) return true;
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  private static long queued(Subscription s) {
    return s.queued();
  }

  @Test
  void missed_messages_show_as_gaps_whose_counts_add_up_to_what_was_published() {
    int published = 3000;
    SubscriptionOptions small = new SubscriptionOptions().reportGaps(true).queueLimit(16)
        .localQueueLimit(16);
    try (Client c = Brokers.connect(broker); Subscription s = c.subscribe("gaps", small)) {
      assertTrue(s.waitReady(Duration.ofSeconds(5)));
      for (int i = 0; i < published; i++) c.publish("gaps", new byte[100]);
      c.flush(Duration.ofSeconds(10));
      long data = 0, missed = 0, gaps = 0, last = 0;
      for (Message m; (m = s.next(Duration.ofMillis(500))) != null && data + missed < published;) {
        if (m.isGap()) {
          gaps++;
          missed += m.gap().droppedByBroker() + m.gap().droppedLocally();
          assertFalse(m.gap().resubscribed());
        } else {
          data++;
          assertTrue(m.sequence() > last, "sequence went back");
          last = m.sequence();
        }
      }
      assertTrue(gaps > 0, "no gap item although " + published + " went to queues of 16");
      assertEquals(published, data + missed, data + " messages and " + missed + " in gaps");
      assertEquals(missed, s.droppedByBroker() + s.droppedLocally());
    }
  }
}
