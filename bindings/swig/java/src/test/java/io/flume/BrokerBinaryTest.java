package io.flume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The binding against the flume-broker program (-Dflume.broker.binary), not only the embedded one. */
class BrokerBinaryTest {
  @Test
  void messages_round_trip_through_a_flume_broker_process(@TempDir Path dir) throws Exception {
    try (Brokers.Process broker = new Brokers.Process(dir);
         Client c = Flume.connect(broker.url, new ClientOptions().caFile(broker.cert));
         Subscription all = Brokers.subscribed(c, "binary.>");
         Subscription one = Brokers.subscribed(c, "binary.*.one")) {
      int n = 2000;
      for (int i = 0; i < n; i++) {
        c.publish(i % 2 == 0 ? "binary.x.one" : "binary.x.two", new byte[] {(byte) i, (byte) (i >> 8)});
      }
      c.flush(Duration.ofSeconds(10));
      for (int i = 0; i < n; i++) {
        Message m = all.next(Duration.ofSeconds(5));
        assertNotNull(m, "binary.> after " + i);
        assertEquals(i, (m.data()[0] & 0xff) | (m.data()[1] & 0xff) << 8);
      }
      for (int i = 0; i < n; i += 2) {
        Message m = one.next(Duration.ofSeconds(5));
        assertNotNull(m, "binary.*.one after " + i);
        assertEquals("binary.x.one", m.subject());
      }
    }
  }
}
