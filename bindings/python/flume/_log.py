"""libflume's log in :mod:`logging`.

libflume never prints anything itself. Its messages go to the logger ``flume.<component>``
(``flume.client``, ``flume.broker``, ``flume.quic``, and at debug level ``flume.gnutls``;
``flume.ngtcp2`` at :data:`TRACE`), children of the ``flume`` logger, with their levels mapped:
trace to :data:`TRACE` (5), debug, info, warn and error to ``DEBUG``, ``INFO``, ``WARNING`` and
``ERROR``.

libflume is told which levels to hand over once, at import (the ``flume`` logger's effective
level then) and whenever :func:`set_log_level` is called: lowering the logger's level with
:mod:`logging` alone does not make libflume say more.
"""

from __future__ import annotations

import logging
from typing import Optional, Union

from . import _flume

__all__ = ["TRACE", "set_log_level"]

#: Below ``DEBUG``: QUIC and TLS internals, a line per packet (for debugging only).
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LOGGER = logging.getLogger("flume")
_TO_PYTHON = {
    _flume.LOG_TRACE: TRACE,
    _flume.LOG_DEBUG: logging.DEBUG,
    _flume.LOG_INFO: logging.INFO,
    _flume.LOG_WARN: logging.WARNING,
    _flume.LOG_ERROR: logging.ERROR,
}


def _emit(level: int, component: str, message: str) -> None:
    # Runs on libflume's loop threads (with the GIL): one record, no formatting here.
    logging.getLogger("flume." + component).log(_TO_PYTHON.get(level, logging.ERROR), "%s", message)


def _to_c_level(level: int) -> int:
    if level <= TRACE:
        return int(_flume.LOG_TRACE)
    if level <= logging.DEBUG:
        return int(_flume.LOG_DEBUG)
    if level <= logging.INFO:
        return int(_flume.LOG_INFO)
    if level <= logging.WARNING:
        return int(_flume.LOG_WARN)
    if level <= logging.CRITICAL:
        return int(_flume.LOG_ERROR)
    return int(_flume.LOG_OFF)


def set_log_level(level: Optional[Union[int, str]] = None) -> None:
    """Sets the ``flume`` logger's level and has libflume hand over the messages it lets through.

    ``level`` is a :mod:`logging` level, as a number or a name (``"DEBUG"``, ``"TRACE"``);
    ``None`` leaves the logger as it is and only re-reads its effective level (after a change made
    with :mod:`logging`). A level above ``CRITICAL`` turns libflume's messages off.
    """
    if level is not None:
        if isinstance(level, str):
            name = level.upper()
            number = TRACE if name == "TRACE" else logging.getLevelName(name)
            if not isinstance(number, int):
                raise ValueError(f"unknown log level {level!r}")
            level = number
        _LOGGER.setLevel(level)
    _flume._set_log_handler(_to_c_level(_LOGGER.getEffectiveLevel()), _emit)


set_log_level()
