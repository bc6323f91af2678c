package io.flume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HandlerTest {
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
  void a_handler_gets_every_message_in_order_on_the_client_loop_thread() throws Exception {
    int n = 5000;
    List<Integer> got = new CopyOnWriteArrayList<>();
    List<String> threads = new CopyOnWriteArrayList<>();
    CountDownLatch all = new CountDownLatch(n);
    try (Client c = Brokers.connect(broker);
         Subscription s = c.subscribe("handled.>", new SubscriptionOptions().queueLimit(65536), m -> {
           got.add(ByteBuffer.wrap(m.data()).getInt());
           if (threads.isEmpty()) threads.add(Thread.currentThread().getName());
           all.countDown();
         })) {
      assertTrue(s.waitReady(Duration.ofSeconds(5)));
      for (int i = 0; i < n; i++) {
        c.publish("handled.x", ByteBuffer.allocate(4).putInt(i).array());
        if (i % 1000 == 999) c.flush(Duration.ofSeconds(10));
      }
      assertTrue(all.await(20, TimeUnit.SECONDS), "got " + got.size() + " of " + n);
      for (int i = 0; i < n; i++) assertEquals(i, got.get(i));
      assertNotEquals(Thread.currentThread().getName(), threads.get(0));
      assertEquals(FlumeException.EINVAL,
          assertThrows(FlumeException.class, () -> s.next(Duration.ZERO)).code());
    }
  }

  @Test
  void a_throwing_handler_does_not_stop_delivery_and_close_stops_the_calls() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch three = new CountDownLatch(3);
    Client c = Brokers.connect(broker);
    Subscription s = c.subscribe("throws", null, m -> {
      calls.incrementAndGet();
      three.countDown();
      throw new IllegalStateException("a handler's bug (expected in this test)");
    });
    assertTrue(s.waitReady(Duration.ofSeconds(5)));
    for (int i = 0; i < 3; i++) c.publish("throws", new byte[] {1});
    assertTrue(three.await(10, TimeUnit.SECONDS));
    s.close();
    int after = calls.get();
    c.publish("throws", new byte[] {2});
    c.flush(Duration.ofSeconds(5));
    Thread.sleep(100);
    assertEquals(after, calls.get(), "a call after close()");
    c.close();
  }

  @Test
  void a_refused_handler_subscription_throws_and_keeps_nothing() {
    try (Client c = Brokers.connect(broker)) {
      FlumeException e = assertThrows(FlumeException.class, () -> c.subscribe("a.>.b", null, m -> {}));
      assertEquals(FlumeException.EINVALID_PATTERN, e.code());
      assertEquals(0, Flume.liveNativeObjects()[1]);
    }
  }

  @Test
  void handlers_are_released_after_close_and_no_native_object_is_left() throws Exception {
    WeakReference<Consumer<Message>> weak;
    try (Client c = Brokers.connect(broker)) {
      CountDownLatch one = new CountDownLatch(1);
      byte[][] seen = new byte[1][];
      Consumer<Message> handler = m -> {
        seen[0] = m.data();
        one.countDown();
      };
      weak = new WeakReference<>(handler);
      try (Subscription s = c.subscribe("released", null, handler)) {
        assertTrue(s.waitReady(Duration.ofSeconds(5)));
        c.publish("released", new byte[] {9, 8});
        assertTrue(one.await(5, TimeUnit.SECONDS));
        assertArrayEquals(new byte[] {9, 8}, seen[0]);
      }
      handler = null;
      for (int i = 0; i < 200; i++) {
        try (Subscription s = c.subscribe("cycle." + i, null, m -> {})) {
          s.waitReady(Duration.ofSeconds(5));
        }
      }
    }
    for (int i = 0; i < 50 && weak.get() != null; i++) {
      System.gc();
      Thread.sleep(20);
    }
    assertEquals(null, weak.get(), "the handler is still referenced after close");
    assertEquals(0, Flume.liveNativeObjects()[1]);
  }
}
