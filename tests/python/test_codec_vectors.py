"""The shared codec vectors (tests/vectors/frames.json) through the C ABI from Python: the same
bytes the C++ and C tests check, decoded byte by byte and re-encoded."""

from __future__ import annotations

import json

import pytest

import flume
from flume import codec

from conftest import VECTORS

DATA = json.loads(VECTORS.read_text())


def decode_bytewise(decoder: codec.Decoder, data: bytes) -> list:
    frames = []
    for i in range(len(data)):
        frames.extend(decoder.feed(data[i:i + 1]))
    decoder.finish()
    return frames


@pytest.mark.parametrize("entry", DATA["frames"], ids=lambda e: e["name"])
def test_valid_vector_decodes_to_its_frame_and_encodes_back(entry: dict) -> None:
    data = bytes.fromhex(entry["hex"])
    frames = decode_bytewise(codec.Decoder(entry["max_payload"]), data)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.type == entry["type"]
    assert frame.type_name == entry["type_name"]
    assert frame.subject == bytes.fromhex(entry["subject_hex"])
    assert frame.payload == bytes.fromhex(entry["payload_hex"])
    # Whole, the same bytes give the same frame.
    assert codec.Decoder(entry["max_payload"]).feed(data) == [frame]
    encoded = codec.encode(frame.type, frame.subject, frame.payload, entry["max_payload"])
    assert encoded == data
    assert codec.frame_size(len(frame.subject), len(frame.payload)) == len(data)


@pytest.mark.parametrize("entry", DATA["malformed"], ids=lambda e: e["name"])
def test_malformed_vector_gives_its_error(entry: dict) -> None:
    data = bytes.fromhex(entry["hex"])
    decoder = codec.Decoder(entry["max_payload"])
    # FrameError; InvalidSubject or InvalidPattern for a subject that breaks its frame type's rule;
    # PayloadTooLarge (an InvalidArgument) for a length over the limit.
    with pytest.raises(flume.FlumeError) as caught:
        decode_bytewise(decoder, data)
    error = caught.value
    assert error.code_name == entry["code"]
    assert str(error)
    if entry["error"] == "truncated":
        return  # found by finish(), not by feed()
    assert error.recoverable == entry["recoverable"]
    if entry["recoverable"]:
        assert error.frame is not None and error.frame.subject
    # Fed whole, the frames before the bad one come with the error.
    with pytest.raises(flume.FlumeError) as whole:
        codec.Decoder(entry["max_payload"]).feed(data)
    assert whole.value.code_name == entry["code"]
    assert 0 < whole.value.consumed <= len(data)


def test_decoding_continues_after_a_recoverable_error() -> None:
    bad = codec.encode(codec.FRAME_PING, b"", b"")
    stream = bytes.fromhex("080400000002612e2e626869") + bad  # 'a..b' then a PING
    decoder = codec.Decoder()
    with pytest.raises(flume.InvalidSubject) as caught:
        decoder.feed(stream)
    assert caught.value.code_name == "FLUME_EINVALID_SUBJECT"
    assert caught.value.recoverable
    assert caught.value.frame.subject == b"a..b"
    rest = decoder.feed(stream[caught.value.consumed:])
    assert [f.type_name for f in rest] == ["ping"]


def test_malformed_property_vectors_are_out_of_reach() -> None:
    assert DATA["malformed_properties"]
    pytest.skip(f"{len(DATA['malformed_properties'])} property-list vectors not checked: flume.h "
                "has no properties decoder (FLUME_EPROPERTY is unreachable through the C ABI)")


def test_encode_checks_subject_and_payload() -> None:
    with pytest.raises(flume.FrameError) as missing:
        codec.encode(codec.FRAME_PUBLISH, b"", b"x")
    assert missing.value.code_name == "FLUME_EMISSING_SUBJECT"
    with pytest.raises(flume.FrameError) as unexpected:
        codec.encode(codec.FRAME_PING, b"a", b"")
    assert unexpected.value.code_name == "FLUME_EUNEXPECTED_SUBJECT"
    with pytest.raises(flume.PayloadTooLarge):
        codec.encode(codec.FRAME_PUBLISH, "a", b"x" * 17, max_payload=16)
    with pytest.raises(flume.InvalidSubject):
        codec.encode(codec.FRAME_PUBLISH, "a.*", b"")
    with pytest.raises(flume.InvalidPattern):
        codec.encode(codec.FRAME_SUBSCRIBE, "a..b", b"")


def test_subject_rules() -> None:
    codec.validate_subject("orders.eu.created")
    codec.validate_pattern("orders.*.>")
    with pytest.raises(flume.InvalidSubject, match="token"):
        codec.validate_subject("orders..eu")
    with pytest.raises(flume.InvalidPattern):
        codec.validate_pattern("orders.>.eu")
    assert codec.pattern_matches("orders.*", "orders.eu")
    assert not codec.pattern_matches("orders.*", "orders.eu.x")
    assert codec.pattern_matches("orders.>", "orders.eu.x")
    with pytest.raises(flume.InvalidPattern):
        codec.pattern_matches("a..b", "a.b")
