"""The binding against the real flume-broker program ($FLUME_BROKER_BIN), not only the embedded
broker: another process, its own certificate, its own shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest

import flume

from conftest import BrokerProcess


def test_round_trip_through_flume_broker(broker_process: BrokerProcess) -> None:
    with broker_process.connect() as c:
        sub = c.subscribe("proc.>")
        c.publish("proc.one", b"1")
        c.publish("proc.two", "2")
        got = sub.recv_batch(10, timeout=5)
        while len(got) < 2:
            got += sub.recv_batch(10, timeout=5)
        assert [(m.subject, m.data) for m in got] == [("proc.one", b"1"), ("proc.two", b"2")]


def test_wildcards_through_flume_broker(broker_process: BrokerProcess) -> None:
    with broker_process.connect() as c:
        star = c.subscribe("w.*")
        rest = c.subscribe("w.>")
        for subject in ["w.a", "w.a.b", "x.a"]:
            c.publish(subject, b"")
        c.flush(5)
        assert [m.subject for m in star.messages(timeout=0.5)] == ["w.a"]
        assert [m.subject for m in rest.messages(timeout=0.5)] == ["w.a", "w.a.b"]


def test_asyncio_through_flume_broker(broker_process: BrokerProcess) -> None:
    async def main() -> list:
        c = await flume.aio.connect(broker_process.url, ca_file=broker_process.certificate_path)
        sub = await c.subscribe("a")
        for i in range(100):
            await c.publish("a", str(i))
        got = []
        async for msg in sub:
            got.append(int(msg.data))
            if len(got) == 100:
                break
        await c.close()
        return got

    assert asyncio.run(main()) == list(range(100))


def test_pinning_the_printed_fingerprint(broker_process: BrokerProcess) -> None:
    with flume.connect(broker_process.url, pin_sha256=broker_process.fingerprint) as c:
        assert c.stats().connected


def test_unknown_certificate_is_a_tls_error(broker_process: BrokerProcess, tmp_path) -> None:
    with flume.Broker(data_dir=tmp_path) as other:
        with pytest.raises(flume.TLSError) as error:
            broker_process.connect(ca_file=other.certificate_path, connect_timeout=2)
    assert error.value.reason


def test_broker_shutdown_ends_nothing_but_the_connection(broker_process: BrokerProcess) -> None:
    c = broker_process.connect(reconnect=False)
    sub = c.subscribe("x")
    broker_process.stop()
    deadline = time.monotonic() + 10
    while c.stats().connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not c.stats().connected
    with pytest.raises((flume.ConnectionError, flume.ClosedError)):
        c.publish("x", b"after")
    sub.close()
    c.close()
