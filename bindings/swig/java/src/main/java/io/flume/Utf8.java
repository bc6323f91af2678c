package io.flume;

import java.nio.charset.StandardCharsets;

/** Subjects and patterns cross into C as UTF-8 bytes (the library checks them). */
final class Utf8 {
  private Utf8() {}

  static byte[] bytes(String s, String what) {
    if (s == null) throw new FlumeException(FlumeException.EINVAL, what + " is null");
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String string(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
