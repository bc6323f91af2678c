"""libflume's log in :mod:`logging`: the insecure-mode warning arrives as a record of the
``flume.client`` logger, and flume.set_log_level() decides what libflume hands over."""

from __future__ import annotations

import logging
from typing import Iterator

import pytest

import flume


@pytest.fixture(autouse=True)
def _restore_level() -> Iterator[None]:
    yield
    logging.getLogger("flume").setLevel(logging.NOTSET)
    flume.set_log_level()


def test_insecure_warning_arrives_through_logging(broker: flume.Broker,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flume"):
        broker.connect(insecure=True).close()
    warnings = [r for r in caplog.records
                if r.name == "flume.client" and r.levelno == logging.WARNING]
    assert any("WITHOUT verifying its certificate" in r.getMessage() for r in warnings), \
        caplog.text


def test_set_log_level_debug_shows_connections(broker: flume.Broker,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    flume.set_log_level("DEBUG")
    broker.connect().close()
    assert any(r.name == "flume.client" and r.levelno == logging.INFO and
               "connected to" in r.getMessage() for r in caplog.records), caplog.text
    assert any(r.name == "flume.broker" and r.levelno == logging.DEBUG and
               "accepted" in r.getMessage() for r in caplog.records), caplog.text


def test_levels_above_the_loggers_are_not_handed_over(broker: flume.Broker,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    flume.set_log_level(logging.ERROR)
    broker.connect(insecure=True).close()
    assert [r for r in caplog.records if r.name.startswith("flume.")] == []


def test_unknown_level_name_is_value_error() -> None:
    with pytest.raises(ValueError):
        flume.set_log_level("LOUD")
