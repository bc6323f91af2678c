#!/usr/bin/env python3
"""Writes frames.json, the codec test vectors every implementation of Flume is checked against.

Written from docs/protocol.md alone, independently of the C++ codec, so that the vectors test the
code rather than repeat it. Run it after changing the protocol: python3 tests/vectors/generate.py
"""
import json
import pathlib
import struct

TYPES = {
    "hello": 0x01, "ok": 0x02, "error": 0x03, "ping": 0x04, "pong": 0x05, "subscribe": 0x06,
    "unsubscribe": 0x07, "publish": 0x08, "message": 0x09, "subscription": 0x0A, "dropped": 0x0B,
}
PROPS = {  # id, integer width (0 = bytes)
    "request_id": (0x01, 4), "protocol_version": (0x02, 2), "client_name": (0x03, 0),
    "client_library": (0x04, 0), "token": (0x05, 0), "subscription_id": (0x06, 4),
    "overflow_policy": (0x07, 1), "queue_limit": (0x08, 4), "error_code": (0x09, 2),
    "error_message": (0x0A, 0), "server_name": (0x0B, 0), "max_payload": (0x0C, 4),
    "dropped_count": (0x0D, 8), "max_subscriptions": (0x0E, 4),
}
CODES = {
    "unknown_type": "FLUME_EUNKNOWN_TYPE", "missing_subject": "FLUME_EMISSING_SUBJECT",
    "unexpected_subject": "FLUME_EUNEXPECTED_SUBJECT", "invalid_subject": "FLUME_EINVALID_SUBJECT",
    "payload_too_large": "FLUME_EPAYLOAD_TOO_LARGE", "truncated": "FLUME_ETRUNCATED",
    "property_truncated": "FLUME_EPROPERTY", "property_duplicate": "FLUME_EPROPERTY",
    "property_bad_length": "FLUME_EPROPERTY",
}


def frame(type_byte, subject=b"", payload=b"", payload_length=None):
    length = len(payload) if payload_length is None else payload_length
    return bytes([type_byte, len(subject)]) + struct.pack(">I", length) + subject + payload


def props(*pairs):
    out = b""
    listed = []
    for name, value in pairs:
        pid, width = PROPS[name]
        raw = value.to_bytes(width, "big") if width else (value.encode() if isinstance(value, str) else value)
        out += bytes([pid]) + struct.pack(">H", len(raw)) + raw
        listed.append({"name": name, "id": pid, "value_hex": raw.hex()})
    return out, listed


def valid(name, type_name, subject=b"", payload=b"", properties=None, max_payload=65536, note=""):
    entry = {
        "name": name, "hex": frame(TYPES[type_name], subject, payload).hex(), "type": TYPES[type_name],
        "type_name": type_name, "subject": subject.decode("utf-8"), "subject_hex": subject.hex(),
        "payload_hex": payload.hex(), "max_payload": max_payload,
    }
    if properties is not None:
        entry["properties"] = properties
    if note:
        entry["note"] = note
    return entry


def bad(name, raw, error, max_payload=65536, note=""):
    # The C ABI says which rule a frame's subject field broke: a SUBSCRIBE carries a pattern.
    code = CODES[error]
    if error == "invalid_subject" and raw[0] == TYPES["subscribe"]:
        code = "FLUME_EINVALID_PATTERN"
    return {"name": name, "hex": raw.hex(), "error": error, "code": code,
            "recoverable": error == "invalid_subject", "max_payload": max_payload, "note": note}


hello, hello_props = props(("protocol_version", 1), ("client_name", "flume-test"),
                           ("client_library", "flume-c/0.1.0"), ("request_id", 1))
ok, ok_props = props(("request_id", 1), ("protocol_version", 1), ("server_name", "flume-broker"),
                     ("max_payload", 65536), ("max_subscriptions", 10000))
err, err_props = props(("error_code", 5), ("request_id", 9), ("error_message", "invalid subject"))
sub, sub_props = props(("subscription_id", 7), ("overflow_policy", 1), ("queue_limit", 1024),
                       ("request_id", 2))
unsub, unsub_props = props(("subscription_id", 7), ("request_id", 3))
stream_head, stream_head_props = props(("subscription_id", 7))
dropped, dropped_props = props(("dropped_count", 3), ("subscription_id", 7))
unknown_prop = bytes([0x7F]) + struct.pack(">H", 2) + b"xy"
sub_unknown, sub_unknown_props = props(("subscription_id", 8))

frames = [
    valid("publish_small", "publish", b"a.b", b"hi"),
    valid("publish_empty_payload", "publish", b"sensors.temp", b""),
    valid("publish_utf8_subject", "publish", "café.menu".encode(), b"\x00\x01\x02\xff"),
    valid("publish_payload_at_limit", "publish", b"bulk", bytes(range(256)) * 4, max_payload=1024,
          note="payload exactly at a configured limit of 1024 bytes"),
    valid("message_subject_255_bytes", "message", b".".join([b"abcd"] * 51), b"x",
          note="255-byte subject, the largest a one-byte length can carry"),
    valid("subscribe_star", "subscribe", b"orders.*.created", sub, sub_props),
    valid("subscribe_full_wildcard", "subscribe", b"a.>", sub, sub_props),
    valid("subscribe_unknown_property_ignored", "subscribe", b"x", sub_unknown + unknown_prop,
          sub_unknown_props, note="property 0x7f is unknown and must be skipped"),
    valid("hello", "hello", b"", hello, hello_props),
    valid("ok_to_hello", "ok", b"", ok, ok_props),
    valid("error_invalid_subject", "error", b"", err, err_props),
    valid("ping", "ping", b"", bytes(range(8))),
    valid("pong", "pong", b"", bytes(range(8))),
    valid("unsubscribe", "unsubscribe", b"", unsub, unsub_props),
    valid("subscription_stream_head", "subscription", b"", stream_head, stream_head_props),
    valid("dropped", "dropped", b"", dropped, dropped_props),
    valid("ok_empty", "ok", b"", b"", []),
]

malformed = [
    bad("type_zero", frame(0x00), "unknown_type"),
    bad("type_after_last", frame(0x0D), "unknown_type"),
    bad("type_ff", frame(0xFF, b"a", b"x"), "unknown_type"),
    bad("publish_without_subject", frame(0x08, b"", b"hi"), "missing_subject"),
    bad("message_without_subject", frame(0x09), "missing_subject"),
    bad("subscribe_without_subject", frame(0x06), "missing_subject"),
    bad("ping_with_subject", frame(0x04, b"a"), "unexpected_subject"),
    bad("hello_with_subject", frame(0x01, b"x.y", hello), "unexpected_subject"),
    bad("publish_empty_token", frame(0x08, b"a..b", b"hi"), "invalid_subject"),
    bad("publish_trailing_dot", frame(0x08, b"a.", b"hi"), "invalid_subject"),
    bad("publish_wildcard_subject", frame(0x08, b"a.*", b"hi"), "invalid_subject"),
    bad("publish_space", frame(0x08, b"a b", b""), "invalid_subject"),
    bad("publish_control_byte", frame(0x08, b"a\x01", b""), "invalid_subject"),
    bad("publish_invalid_utf8", frame(0x08, b"caf\xc3", b""), "invalid_subject"),
    bad("publish_overlong_utf8", frame(0x08, b"\xc0\xae", b""), "invalid_subject"),
    bad("message_full_wildcard", frame(0x09, b">", b""), "invalid_subject"),
    bad("subscribe_partial_wildcard", frame(0x06, b"a.b*", sub), "invalid_subject"),
    bad("subscribe_wildcard_not_last", frame(0x06, b"a.>.b", sub), "invalid_subject"),
    bad("payload_over_default_limit", frame(0x08, b"a", b"", payload_length=65537), "payload_too_large",
        note="only the header is needed to refuse it"),
    bad("payload_length_max_u32", frame(0x08, b"a", b"", payload_length=0xFFFFFFFF), "payload_too_large"),
    bad("payload_over_configured_limit", frame(0x08, b"a", b"x" * 17), "payload_too_large", max_payload=16),
    bad("truncated_header", frame(0x08, b"a.b", b"hi")[:3], "truncated"),
    bad("truncated_subject", frame(0x08, b"a.b", b"hi")[:7], "truncated"),
    bad("truncated_payload", frame(0x08, b"a.b", b"hello")[:11], "truncated"),
    bad("truncated_second_frame", frame(0x04) + frame(0x08, b"a", b"xyz")[:8], "truncated",
        note="one complete PING, then a cut PUBLISH"),
]

malformed_properties = [
    {"name": "property_header_cut", "hex": "0600", "error": "property_truncated"},
    {"name": "property_value_cut", "hex": "060004000000", "error": "property_truncated"},
    {"name": "property_repeated", "hex": "06000400000001060004" + "00000002", "error": "property_duplicate"},
    {"name": "unknown_property_repeated", "hex": "7f000101" + "7f000102", "error": "property_duplicate"},
    {"name": "integer_property_too_short", "hex": "0600020001", "error": "property_bad_length"},
    {"name": "u8_property_too_long", "hex": "0700020001", "error": "property_bad_length"},
]
for entry in malformed_properties:
    entry["code"] = CODES[entry["error"]]

document = {
    "description": "Flume wire codec vectors (docs/protocol.md). 'hex' is the exact byte stream. "
                   "A valid entry decodes to exactly one frame with these fields; a malformed entry "
                   "makes the decoder fail with 'error' (when the stream ends, for 'truncated'), "
                   "after any complete frames before it. 'recoverable' errors leave framing intact.",
    "frames": frames,
    "malformed": malformed,
    "malformed_properties": malformed_properties,
}
path = pathlib.Path(__file__).with_name("frames.json")
path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {path}: {len(frames)} frames, {len(malformed)} malformed, "
      f"{len(malformed_properties)} malformed property payloads")
