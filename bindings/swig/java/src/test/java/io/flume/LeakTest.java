package io.flume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Thousands of connect/close cycles leave no native object, file descriptor or thread behind. */
class LeakTest {
  private static final long[] NONE = {0, 0, 0, 0};

  @Test
  void thousands_of_connect_and_close_cycles_leak_no_native_handle() throws Exception {
    try (Broker broker = Broker.start()) {
      assertArrayEquals(new long[] {0, 0, 1, 0}, Flume.liveNativeObjects());
      cycles(broker, 50); // warm-up: the JVM's own lazily made threads and files
      int fds = openFiles();
      int threads = Thread.activeCount();
      int nativeThreads = nativeThreads();
      cycles(broker, 2000);
      assertArrayEquals(new long[] {0, 0, 1, 0}, Flume.liveNativeObjects());
      assertTrue(openFiles() <= fds + 4, "file descriptors " + fds + " -> " + openFiles());
      assertTrue(nativeThreads() <= nativeThreads + 4, "threads " + nativeThreads + " -> " + nativeThreads());
      assertTrue(Thread.activeCount() <= threads + 4);
    }
    assertArrayEquals(NONE, Flume.liveNativeObjects());
  }

  private static void cycles(Broker broker, int n) {
    for (int i = 0; i < n; i++) {
      try (Client c = Brokers.connect(broker); Subscription s = c.subscribe("leak." + (i % 7))) {
        if (i % 10 == 0) {
          c.publish("leak." + (i % 7), new byte[64]);
          assertEquals(64, s.next(Duration.ofSeconds(5)).data().length);
        }
        if (i % 3 == 0) s.next(Duration.ZERO);
      }
    }
  }

  private static int openFiles() {
    String[] fds = new File("/proc/self/fd").list();
    return fds == null ? 0 : fds.length;
  }

  private static int nativeThreads() {
    String[] tasks = new File("/proc/self/task").list();
    return tasks == null ? 0 : tasks.length;
  }
}
