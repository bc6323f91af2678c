"""The wire codec and subject rules, straight from libflume's C ABI.

``encode(type, subject, payload)`` gives the bytes of one frame; a :class:`Decoder` turns a stream
of bytes (split anywhere) back into :class:`Frame` objects; ``validate_subject``,
``validate_pattern`` and ``pattern_matches`` apply the subject rules of docs/protocol.md. Meant for
tools and tests: clients and brokers do all of this themselves.
"""

from ._flume import (
    FRAME_DROPPED,
    FRAME_ERROR,
    FRAME_HEADER_SIZE,
    FRAME_HELLO,
    FRAME_MESSAGE,
    FRAME_OK,
    FRAME_PING,
    FRAME_PONG,
    FRAME_PUBLISH,
    FRAME_SUBSCRIBE,
    FRAME_SUBSCRIPTION,
    FRAME_UNSUBSCRIBE,
    Decoder,
    Frame,
    error_name,
    frame_size,
    frame_type_name,
    pattern_matches,
    validate_pattern,
    validate_subject,
)
from ._flume import encode_frame as encode

__all__ = [
    "encode",
    "Decoder",
    "Frame",
    "frame_size",
    "frame_type_name",
    "error_name",
    "validate_subject",
    "validate_pattern",
    "pattern_matches",
    "FRAME_HEADER_SIZE",
    "FRAME_HELLO",
    "FRAME_OK",
    "FRAME_ERROR",
    "FRAME_PING",
    "FRAME_PONG",
    "FRAME_SUBSCRIBE",
    "FRAME_UNSUBSCRIBE",
    "FRAME_PUBLISH",
    "FRAME_MESSAGE",
    "FRAME_SUBSCRIPTION",
    "FRAME_DROPPED",
]
