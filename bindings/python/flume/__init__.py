"""Flume: publish/subscribe over QUIC, every subscription on its own stream.

    import flume

    with flume.Broker() as broker, broker.connect() as client:
        sub = client.subscribe("orders.>")
        client.publish("orders.eu", b"hello")
        print(sub.recv(timeout=5).data)

``flume.connect(url)`` returns a :class:`Client`; ``client.subscribe(pattern)`` a
:class:`Subscription`, an iterable of :class:`Message` (``subject``, ``data``, ``subscription``).
:mod:`flume.aio` has the same for asyncio; :mod:`flume.codec` the wire codec. Errors are
:class:`FlumeError` subclasses (:mod:`flume.errors`). libflume's log goes to :mod:`logging`
(logger ``flume``; :func:`set_log_level`).
"""

from .errors import (
    ClosedError,
    ConnectionError,
    FlumeError,
    FrameError,
    InvalidArgument,
    InvalidPattern,
    InvalidSubject,
    PayloadTooLarge,
    ProtocolError,
    TimeoutError,
    TLSError,
)
from ._flume import (
    DEFAULT_MAX_PAYLOAD,
    HARD_MAX_PAYLOAD,
    MAX_SUBJECT_LENGTH,
    Broker,
    BrokerStats,
    Client,
    ClientStats,
    Gap,
    Message,
    MessageIterator,
    Subscription,
    SubscriptionStats,
    __version__,
    connect,
    pattern_matches,
    validate_pattern,
    validate_subject,
)

from . import aio, codec, errors  # noqa: E402  (flume.aio.connect after `import flume`)
from ._log import TRACE, set_log_level  # noqa: E402  (installs the log handler)

__all__ = [
    "__version__",
    "aio",
    "codec",
    "errors",
    "connect",
    "Client",
    "Subscription",
    "Message",
    "Gap",
    "MessageIterator",
    "Broker",
    "ClientStats",
    "SubscriptionStats",
    "BrokerStats",
    "validate_subject",
    "validate_pattern",
    "pattern_matches",
    "set_log_level",
    "TRACE",
    "MAX_SUBJECT_LENGTH",
    "DEFAULT_MAX_PAYLOAD",
    "HARD_MAX_PAYLOAD",
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
