package io.flume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ThreadsTest {
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
  void many_threads_publish_and_take_from_one_client_and_every_message_arrives_once() throws Exception {
    int publishers = 8, consumers = 4, each = 2000;
    ExecutorService pool = Executors.newFixedThreadPool(publishers + consumers);
    try (Client c = Brokers.connect(broker);
         Subscription s = c.subscribe("threads.>", new SubscriptionOptions().queueLimit(65536))) {
      assertTrue(s.waitReady(Duration.ofSeconds(5)));
      Set<Long> seen = ConcurrentHashMap.newKeySet();
      AtomicLong duplicates = new AtomicLong();
      List<Future<?>> work = new ArrayList<>();
      for (int k = 0; k < consumers; k++) {
        work.add(pool.submit(() -> {
          for (Message m; (m = s.next(Duration.ofSeconds(2))) != null;) {
            if (!seen.add(ByteBuffer.wrap(m.data()).getLong())) duplicates.incrementAndGet();
          }
          return null;
        }));
      }
      for (int p = 0; p < publishers; p++) {
        int publisher = p;
        work.add(pool.submit(() -> {
          for (int i = 0; i < each; i++) {
            c.publish("threads." + publisher, ByteBuffer.allocate(8).putLong((long) publisher << 32 | i).array());
            if (i % 500 == 499) c.flush(Duration.ofSeconds(10)); // keep within the queues
          }
          return null;
        }));
      }
      for (Future<?> f : work) f.get(60, TimeUnit.SECONDS);
      assertEquals(0, duplicates.get());
      assertEquals(0, s.droppedByBroker() + s.droppedLocally());
      assertEquals((long) publishers * each, seen.size());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void closing_while_other_threads_publish_and_take_never_crashes() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      for (int round = 0; round < 20; round++) {
        Client c = Brokers.connect(broker);
        Subscription s = c.subscribe("race.>");
        List<Future<?>> work = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
          work.add(pool.submit(() -> {
            try {
              for (int i = 0; i < 1_000_000; i++) c.publish("race.x", new byte[16]);
            } catch (FlumeException e) {
              assertEquals(FlumeException.ECLOSED, e.code(), e.getMessage());
            }
            return null;
          }));
          work.add(pool.submit(() -> {
            try {
              for (int i = 0; i < 1_000_000; i++) s.next(Duration.ofMillis(10));
            } catch (FlumeException e) {
              assertEquals(FlumeException.ECLOSED, e.code(), e.getMessage());
            }
            return null;
          }));
        }
        Thread.sleep(20);
        if (round % 2 == 0) {
          s.close();
          c.close();
        } else {
          c.close();
          s.close();
        }
        for (Future<?> f : work) f.get(10, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
