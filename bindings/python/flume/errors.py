"""Flume's exceptions, one small hierarchy over the C ABI's FLUME_E* codes.

Every exception is a :class:`FlumeError` and carries ``code`` (the negative FLUME_E* number) and
``code_name`` (``"FLUME_ETLS"``); ``str(error)`` is libflume's message, which says why. Where a
builtin exception means the same thing, Flume's is also one of those, so ``except TimeoutError``
and ``except ValueError`` work as expected.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Dict, List, Optional, Type

if TYPE_CHECKING:
    from ._flume import Frame

__all__ = [
    "FlumeError",
    "ConnectionError",
    "TLSError",
    "ProtocolError",
    "FrameError",
    "TimeoutError",
    "InvalidArgument",
    "InvalidSubject",
    "InvalidPattern",
    "PayloadTooLarge",
    "ClosedError",
]


class FlumeError(Exception):
    """Base of every Flume error."""

    code: int = 0
    code_name: str = ""

    @property
    def message(self) -> str:
        return str(self)


class ConnectionError(FlumeError, builtins.ConnectionError):
    """The broker could not be reached, refused the client, or the connection is down."""


class TLSError(ConnectionError):
    """The TLS handshake failed, e.g. the broker's certificate is not trusted (``reason`` says
    why)."""

    @property
    def reason(self) -> str:
        return str(self)


class ProtocolError(FlumeError):
    """The peer broke the protocol (or does not speak it)."""


class FrameError(ProtocolError):
    """A frame could not be encoded or decoded (see :mod:`flume.codec`).

    From :meth:`flume.codec.Decoder.feed`: ``frames`` are the complete frames decoded before the
    error, ``consumed`` the bytes of the input used up to and including the bad frame, ``frame``
    the bad frame when it could still be read, and ``recoverable`` whether decoding may continue
    with the rest of the input. A frame whose subject breaks its type's rule raises
    :class:`InvalidSubject` (or :class:`InvalidPattern` for SUBSCRIBE) with the same attributes,
    ``recoverable`` true and ``frame`` set; one over the payload limit :class:`PayloadTooLarge`.
    """

    frames: List["Frame"]
    frame: Optional["Frame"]
    consumed: int
    recoverable: bool

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.frames = []
        self.frame = None
        self.consumed = 0
        self.recoverable = False


class TimeoutError(FlumeError, builtins.TimeoutError):
    """A wait ran out: connect, flush, a receive or wait_ready with a timeout."""


class InvalidArgument(FlumeError, ValueError):
    """An argument was refused before anything was sent."""


class InvalidSubject(InvalidArgument):
    """Not a valid subject (e.g. empty token, wildcard, over 255 bytes)."""


class InvalidPattern(InvalidArgument):
    """Not a valid subscription pattern."""


class PayloadTooLarge(InvalidArgument):
    """The payload is over the broker's (or the codec's) limit."""


class ClosedError(FlumeError):
    """The client or subscription is closed (the message says why)."""


# FLUME_E* codes (flume.h), mapped to the classes above. Codes missing here raise FlumeError.
_CLASSES: Dict[int, Type[FlumeError]] = {
    -1: InvalidArgument,  # FLUME_EINVAL
    -3: InvalidArgument,  # FLUME_EBUFSIZE
    -4: InvalidArgument,  # FLUME_EOPTIONS
    -10: FrameError,  # FLUME_EUNKNOWN_TYPE
    -11: FrameError,  # FLUME_EMISSING_SUBJECT
    -12: FrameError,  # FLUME_EUNEXPECTED_SUBJECT
    -14: PayloadTooLarge,  # FLUME_EPAYLOAD_TOO_LARGE
    -15: FrameError,  # FLUME_ETRUNCATED
    -16: FrameError,  # FLUME_EPROPERTY
    -20: InvalidSubject,  # FLUME_EINVALID_SUBJECT
    -21: InvalidPattern,  # FLUME_EINVALID_PATTERN
    -30: TimeoutError,  # FLUME_ETIMEDOUT
    -31: ConnectionError,  # FLUME_EUNREACHABLE
    -32: TLSError,  # FLUME_ETLS
    -33: ProtocolError,  # FLUME_EALPN
    -34: ConnectionError,  # FLUME_EREJECTED (a client or a subscription)
    -35: ConnectionError,  # FLUME_ENOTCONN
    -36: ClosedError,  # FLUME_ECLOSED
    -37: ProtocolError,  # FLUME_EPROTOCOL
    -38: TimeoutError,  # FLUME_EAGAIN (nothing yet: no message, no answer)
}


def from_code(code: int, name: str, message: str) -> FlumeError:
    """The exception for a FLUME_E* ``code`` (used by the extension)."""
    if code == -36 and not message:
        message = "closed"
    error = _CLASSES.get(code, FlumeError)(message)
    error.code = code
    error.code_name = name
    return error
