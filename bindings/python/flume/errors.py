"""Flume's exceptions, one small hierarchy over the C ABI's FLUME_E* codes.

Every exception is a :class:`FlumeError` and carries ``code`` (the negative FLUME_E* number) and
``code_name`` (``"FLUME_ETLS"``); ``str(error)`` is libflume's message, which says why. Where a
builtin exception means the same thing, Flume's is also one of those, so ``except TimeoutError``
and ``except ValueError`` work as expected.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, List, Optional

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


def from_code(code: int, name: str, message: str, class_name: Optional[str] = None) -> FlumeError:
    """The exception for a FLUME_E* ``code`` (used by the extension, which passes the class name
    from capi/error_codes.def, the one table of codes; without it the extension is asked)."""
    if class_name is None:
        from . import _flume

        class_name = _flume.exception_class_name(code)
    cls = globals().get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, FlumeError)):
        cls = FlumeError
    if code == -36 and not message:
        message = "closed"
    error = cls(message)
    error.code = code
    error.code_name = name
    return error
