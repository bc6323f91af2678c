package io.flume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ClientTest {
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
  void a_published_message_comes_back_with_its_subject_data_and_sequence() {
    try (Client c = Brokers.connect(broker);
         Subscription s = Brokers.subscribed(c, "round.trip")) {
      byte[] data = {0, 1, 2, (byte) 0xff, 0};
      c.publish("round.trip", data);
      c.publish("round.trip", new byte[0]);
      Message m = s.next(Duration.ofSeconds(5));
      assertNotNull(m);
      assertEquals("round.trip", m.subject());
      assertArrayEquals(data, m.data());
      assertEquals(1, m.sequence());
      assertTrue(!m.isGap() && m.gap() == null);
      Message empty = s.next(Duration.ofSeconds(5));
      assertEquals(0, empty.data().length);
      assertEquals(2, empty.sequence());
      assertNull(s.next(Duration.ofMillis(50)), "nothing more was published");
    }
  }

  @Test
  void non_ascii_subjects_round_trip_as_utf8() {
    String subject = "caf\u00e9.\ud83d\ude80.\u65e5\u672c";
    try (Client c = Brokers.connect(broker); Subscription s = Brokers.subscribed(c, "caf\u00e9.>")) {
      c.publish(subject, "x".getBytes(StandardCharsets.UTF_8));
      assertEquals(subject, s.next(Duration.ofSeconds(5)).subject());
    }
  }

  @Test
  void wildcards_select_the_matching_subjects_only() {
    try (Client c = Brokers.connect(broker);
         Subscription star = Brokers.subscribed(c, "orders.*.created");
         Subscription tail = Brokers.subscribed(c, "orders.>")) {
      String[] subjects = {"orders.eu.created", "orders.eu.paid", "orders.us.created",
          "orders.eu.created.late", "other.eu.created"};
      for (String subject : subjects) c.publish(subject, subject.getBytes(StandardCharsets.UTF_8));
      c.flush(Duration.ofSeconds(5));
      assertEquals(List.of("orders.eu.created", "orders.us.created"), drain(star));
      assertEquals(List.of("orders.eu.created", "orders.eu.paid", "orders.us.created",
          "orders.eu.created.late"), drain(tail));
    }
  }

  static List<String> drain(Subscription s) {
    List<String> got = new ArrayList<>();
    for (Message m; (m = s.next(Duration.ofMillis(300))) != null && got.size() < 10_000;) {
      got.add(m.subject());
    }
    return got;
  }

  @Test
  void an_invalid_subject_throws_with_the_library_code_and_reason() {
    try (Client c = Brokers.connect(broker)) {
      for (String bad : new String[] {"", "a..b", "has space", "wild.*", "x".repeat(256)}) {
        FlumeException e = assertThrows(FlumeException.class, () -> c.publish(bad, new byte[1]), bad);
        assertEquals(FlumeException.EINVALID_SUBJECT, e.code(), bad);
        assertEquals("FLUME_EINVALID_SUBJECT", e.codeName());
        assertTrue(e.getMessage().length() > "FLUME_EINVALID_SUBJECT: ".length(), e.getMessage());
      }
      FlumeException pattern = assertThrows(FlumeException.class, () -> c.subscribe("a.>.b"));
      assertEquals(FlumeException.EINVALID_PATTERN, pattern.code());
      assertThrows(FlumeException.class, () -> Flume.validateSubject("a."));
      Flume.validatePattern("a.*.>");
    }
  }

  @Test
  void a_payload_over_the_broker_limit_throws_payload_too_large() {
    try (Client c = Brokers.connect(broker)) {
      byte[] big = new byte[(int) c.maxPayload() + 1];
      FlumeException e = assertThrows(FlumeException.class, () -> c.publish("big", big));
      assertEquals(FlumeException.EPAYLOAD_TOO_LARGE, e.code());
    }
  }

  @Test
  void null_arguments_and_negative_timeouts_throw_einval() {
    try (Client c = Brokers.connect(broker); Subscription s = c.subscribe("x")) {
      assertEquals(FlumeException.EINVAL, assertThrows(FlumeException.class,
          () -> c.publish(null, new byte[0])).code());
      assertEquals(FlumeException.EINVAL, assertThrows(FlumeException.class,
          () -> s.next(Duration.ofMillis(-1))).code());
      assertEquals(FlumeException.EINVAL, assertThrows(FlumeException.class,
          () -> Flume.connect(broker.url(), new ClientOptions().connectTimeout(Duration.ZERO))).code());
    }
  }

  @Test
  void connecting_to_a_port_nobody_listens_on_fails_as_unreachable() throws Exception {
    int port;
    try (java.net.DatagramSocket probe = new java.net.DatagramSocket(0,
             java.net.InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    FlumeException e = assertThrows(FlumeException.class, () -> Flume.connect(
        "flume://127.0.0.1:" + port, new ClientOptions().connectTimeout(Duration.ofSeconds(2))));
    assertTrue(e.code() == FlumeException.EUNREACHABLE || e.code() == FlumeException.ETIMEDOUT,
        e.getMessage());
    assertEquals(FlumeException.EINVAL, assertThrows(FlumeException.class,
        () -> Flume.connect("http://nope")).code());
  }

  @Test
  void calls_after_close_throw_closed_and_close_is_idempotent() {
    Client c = Brokers.connect(broker);
    Subscription s = c.subscribe("after.close");
    c.close();
    c.close();
    assertEquals(FlumeException.ECLOSED,
        assertThrows(FlumeException.class, () -> c.publish("a", new byte[0])).code());
    assertEquals(FlumeException.ECLOSED,
        assertThrows(FlumeException.class, () -> s.next(Duration.ZERO)).code());
    s.close();
    s.close();
    assertEquals(FlumeException.ECLOSED,
        assertThrows(FlumeException.class, () -> s.next(Duration.ZERO)).code());
  }

  @Test
  void a_pinned_fingerprint_is_trusted_and_a_wrong_one_is_refused() {
    try (Client c = Flume.connect(broker.url(), new ClientOptions().pinSha256(broker.fingerprint()))) {
      assertTrue(c.isConnected());
    }
    String wrong = broker.fingerprint().replaceAll("[0-9A-F]", "0");
    FlumeException e = assertThrows(FlumeException.class,
        () -> Flume.connect(broker.url(), new ClientOptions().pinSha256(wrong)));
    assertEquals(FlumeException.ETLS, e.code());
  }
}
