"""Back-pressure on publish: max_pending_bytes and publish_timeout, sync and asyncio."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

import flume

from conftest import BrokerProcess

PAYLOAD = bytes(16 * 1024)


def test_publishing_far_beyond_max_pending_bytes_delivers_everything_in_order(
        broker: flume.Broker) -> None:
    with broker.connect(max_pending_bytes=64 * 1024) as c:  # 4 messages' worth
        sub = c.subscribe("bulk", queue_limit=1024)
        c.flush(5)
        for i in range(512):  # 8 MiB: nearly every publish waits for room
            c.publish("bulk", i.to_bytes(4, "big") + PAYLOAD)
        got = []
        while len(got) < 512:
            batch = sub.recv_batch(256, timeout=10)
            assert batch, f"messages stopped coming after {len(got)}"
            got += [int.from_bytes(m.data[:4], "big") for m in batch]
        assert got == list(range(512))


def test_publish_to_a_frozen_broker_raises_timeout_instead_of_growing(
        broker_process: BrokerProcess) -> None:
    c = broker_process.connect(max_pending_bytes=256 * 1024, publish_timeout=0.2, reconnect=False)
    os.kill(broker_process.process.pid, signal.SIGSTOP)  # alive but silent: nothing is acked
    try:
        accepted = 0
        with pytest.raises(flume.TimeoutError, match="max_pending_bytes"):
            for _ in range(256):  # 4 MiB offered
                started = time.monotonic()
                c.publish("bulk", PAYLOAD)
                accepted += len(PAYLOAD)
        assert time.monotonic() - started >= 0.15, "it gave up without waiting"
        assert 256 * 1024 - len(PAYLOAD) <= accepted <= 256 * 1024 + 128 * 1024
    finally:
        os.kill(broker_process.process.pid, signal.SIGCONT)
        c.close()


def test_aio_publish_waits_for_room_and_publish_nowait_does_not(
        broker_process: BrokerProcess) -> None:
    async def main() -> None:
        c = await flume.aio.connect(broker_process.url, ca_file=broker_process.certificate_path,
                                    max_pending_bytes=64 * 1024, publish_timeout=0.3,
                                    reconnect=False)
        os.kill(broker_process.process.pid, signal.SIGSTOP)
        try:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            task = asyncio.create_task(ticker())
            with pytest.raises(flume.TimeoutError):
                for _ in range(64):
                    await c.publish("bulk", PAYLOAD)
            # The loop kept running while publish() waited for room (about 0.3 s of ticks).
            assert ticks >= 5
            task.cancel()
            with pytest.raises(flume.TimeoutError):
                c.publish_nowait("bulk", PAYLOAD)
        finally:
            os.kill(broker_process.process.pid, signal.SIGCONT)
            await c.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_negative_publish_timeout_is_refused(broker: flume.Broker) -> None:
    with pytest.raises(flume.InvalidArgument, match="publish_timeout"):
        broker.connect(publish_timeout=-1)
