"""flume.aio: asyncio clients driven by each subscription's file descriptor."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import pytest

import flume


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_async_round_trip_and_iteration(broker: flume.Broker) -> None:
    async def main() -> List[flume.Message]:
        async with await flume.aio.connect(broker.url, ca_file=broker.certificate_path) as c:
            sub = await c.subscribe("aio.>")
            for i in range(3):
                await c.publish(f"aio.{i}", str(i))
            got = []
            async for msg in sub:
                got.append(msg)
                if len(got) == 3:
                    break
            return got

    got = run(main())
    assert [(m.subject, m.data) for m in got] == [("aio.0", b"0"), ("aio.1", b"1"), ("aio.2", b"2")]


def test_waiting_uses_the_loops_reader_not_a_thread(broker: flume.Broker) -> None:
    async def main() -> None:
        c = await flume.aio.connect(broker.url, ca_file=broker.certificate_path)
        sub = await c.subscribe("fd")
        loop = asyncio.get_running_loop()
        threads = threading.active_count()
        waiter = asyncio.ensure_future(sub.recv())
        await asyncio.sleep(0.2)
        assert not waiter.done()
        # The descriptor is registered with the loop's selector while someone waits.
        selector = getattr(loop, "_selector", None)
        if selector is not None:
            assert sub.sync.fileno() in selector.get_map()
        assert threading.active_count() == threads
        c.publish_nowait("fd", b"ping")
        msg = await asyncio.wait_for(waiter, 5)
        assert msg.data == b"ping"
        if selector is not None:
            assert sub.sync.fileno() not in selector.get_map()
        await c.close()

    run(main())


def test_async_recv_timeout(broker: flume.Broker) -> None:
    async def main() -> None:
        async with await flume.aio.connect(broker.url, ca_file=broker.certificate_path) as c:
            sub = await c.subscribe("quiet")
            start = time.monotonic()
            with pytest.raises(flume.TimeoutError):
                await sub.recv(timeout=0.2)
            assert time.monotonic() - start < 2
            assert await sub.recv_batch(10, timeout=0.1) == []

    run(main())


def test_fan_out_every_subscriber_gets_every_message(broker: flume.Broker) -> None:
    n_subscribers, n_messages = 8, 500

    async def consume(sub: flume.aio.Subscription) -> List[bytes]:
        got = []
        async for msg in sub:
            got.append(msg.data)
            if len(got) == n_messages:
                break
        return got

    async def main() -> None:
        url, ca = broker.url, broker.certificate_path
        subscribers = [await flume.aio.connect(url, ca_file=ca) for _ in range(n_subscribers)]
        subs = [await c.subscribe("fan.out", queue_limit=4096) for c in subscribers]
        publisher = await flume.aio.connect(url, ca_file=ca)
        tasks = [asyncio.ensure_future(consume(s)) for s in subs]
        for i in range(n_messages):
            await publisher.publish("fan.out", i.to_bytes(2, "big"))
        results = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        expected = [i.to_bytes(2, "big") for i in range(n_messages)]
        assert all(r == expected for r in results)
        for c in [publisher, *subscribers]:
            await c.close()

    run(main())


def test_fan_in_one_subscriber_gets_every_publisher(broker: flume.Broker) -> None:
    n_publishers, per_publisher = 6, 300

    async def publish(c: flume.aio.Client, p: int) -> None:
        for i in range(per_publisher):
            await c.publish(f"fan.in.{p}", i.to_bytes(2, "big"))
            if i % 50 == 0:
                await asyncio.sleep(0)

    async def main() -> None:
        url, ca = broker.url, broker.certificate_path
        receiver = await flume.aio.connect(url, ca_file=ca)
        sub = await receiver.subscribe("fan.in.*", queue_limit=8192)
        publishers = [await flume.aio.connect(url, ca_file=ca) for _ in range(n_publishers)]
        await asyncio.gather(*(publish(c, p) for p, c in enumerate(publishers)))
        per_subject = {}
        while sum(len(v) for v in per_subject.values()) < n_publishers * per_publisher:
            batch = await sub.recv_batch(1000, timeout=10)
            assert batch, "messages stopped coming"
            for msg in batch:
                per_subject.setdefault(msg.subject, []).append(int.from_bytes(msg.data, "big"))
        assert sorted(per_subject) == [f"fan.in.{p}" for p in range(n_publishers)]
        # Each publisher's messages arrive in the order it sent them.
        assert all(v == list(range(per_publisher)) for v in per_subject.values())
        for c in [receiver, *publishers]:
            await c.close()

    run(main())


def test_slow_async_consumer_does_not_hold_up_a_fast_one(broker: flume.Broker) -> None:
    n_messages = 200

    async def main() -> None:
        url, ca = broker.url, broker.certificate_path
        async with await flume.aio.connect(url, ca_file=ca) as c:
            slow_sub = await c.subscribe("both", queue_limit=4096)
            fast_sub = await c.subscribe("both", queue_limit=4096)
            slow_count = 0
            fast_done = asyncio.Event()

            async def slow() -> None:
                nonlocal slow_count
                async for _ in slow_sub:
                    slow_count += 1
                    await asyncio.sleep(0.05)  # 200 messages would take 10 s

            async def fast() -> None:
                count = 0
                async for _ in fast_sub:
                    count += 1
                    if count == n_messages:
                        fast_done.set()
                        return

            slow_task = asyncio.ensure_future(slow())
            fast_task = asyncio.ensure_future(fast())
            start = time.monotonic()
            for i in range(n_messages):
                await c.publish("both", str(i))
            await asyncio.wait_for(fast_done.wait(), 10)
            fast_elapsed = time.monotonic() - start
            assert fast_elapsed < 4.0, f"the fast consumer took {fast_elapsed:.2f} s"
            assert slow_count < n_messages / 2  # the slow one is still far behind
            await fast_task
            slow_task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow_task
            # The slow subscription gets everything too, only later: nothing was dropped.
            for _ in range(100):
                if slow_sub.stats().received == n_messages:
                    break
                await asyncio.sleep(0.05)
            stats = slow_sub.stats()
            assert stats.received == n_messages and stats.dropped_by_broker == 0
            assert slow_count + stats.queued == n_messages

    run(main())


def test_closing_the_client_ends_async_iteration(broker: flume.Broker) -> None:
    async def main() -> List[bytes]:
        c = await flume.aio.connect(broker.url, ca_file=broker.certificate_path)
        sub = await c.subscribe("end")

        async def consume() -> List[bytes]:
            return [m.data async for m in sub]

        task = asyncio.ensure_future(consume())
        await c.publish("end", b"x")
        await c.flush(5)
        await asyncio.sleep(0.1)
        await c.close()
        return await asyncio.wait_for(task, 5)

    assert run(main()) == [b"x"]


def test_closing_an_async_subscription_wakes_its_waiters(broker: flume.Broker) -> None:
    async def main() -> None:
        async with await flume.aio.connect(broker.url, ca_file=broker.certificate_path) as c:
            sub = await c.subscribe("close.me")
            waiters = [asyncio.ensure_future(sub.recv()) for _ in range(2)]
            await asyncio.sleep(0.1)
            sub.close()
            for w in waiters:
                with pytest.raises(flume.ClosedError):
                    await asyncio.wait_for(w, 5)

    run(main())


def test_async_subscribe_raises_invalid_pattern(broker: flume.Broker) -> None:
    async def main() -> None:
        async with await flume.aio.connect(broker.url, ca_file=broker.certificate_path) as c:
            with pytest.raises(flume.InvalidPattern):
                await c.subscribe("a..b")

    run(main())


def test_async_connect_failure_raises(broker: flume.Broker, tmp_path) -> None:
    with flume.Broker(data_dir=tmp_path / "other") as other:
        with pytest.raises(flume.TLSError):
            run(flume.aio.connect(broker.url, ca_file=other.certificate_path, connect_timeout=2))
