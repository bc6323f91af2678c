"""Message.sequence and flume.Gap: where a subscription missed messages, against real brokers."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import List, Union

import pytest

import flume

Item = Union[flume.Message, flume.Gap]


def numbered(i: int) -> bytes:
    return struct.pack(">Q", i) + b"." * 1016


def number(message: flume.Message) -> int:
    return struct.unpack(">Q", message.data[:8])[0]


def drain(sub: flume.Subscription, quiet: float = 0.5, limit: float = 20.0) -> List[Item]:
    items: List[Item] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            batch = sub.recv_batch(4096, timeout=quiet)
        except flume.TimeoutError:
            break
        if not batch:
            break
        items.extend(batch)
    return items


def test_messages_are_numbered_from_one_in_their_subscription(client: flume.Client) -> None:
    sub = client.subscribe("numbered.>")
    for i in range(100):
        client.publish("numbered.x", numbered(i))
    got = [sub.recv(timeout=5) for _ in range(100)]
    assert [m.sequence for m in got] == list(range(1, 101))
    assert sub.stats().last_sequence == 100
    assert flume.Message("a", b"b").sequence == 0


@pytest.mark.parametrize("gaps", [False, True])
def test_broker_drops_add_up_to_what_was_published(client: flume.Client, gaps: bool) -> None:
    # A subscriber that does not read: its local queue fills, the broker's queue of 16 overflows.
    sub = client.subscribe("drops.x", queue_limit=16, local_queue_limit=16, gaps=gaps)
    published = 3000
    for i in range(published):
        client.publish("drops.x", numbered(i))
    client.flush(timeout=10)
    items = drain(sub)
    stats = sub.stats()
    assert stats.dropped_by_broker + stats.dropped_locally > 0, "nothing dropped: nothing tested"

    messages = [m for m in items if isinstance(m, flume.Message)]
    gap_items = [g for g in items if isinstance(g, flume.Gap)]
    assert len(messages) + stats.dropped_by_broker + stats.dropped_locally == published
    previous = None
    pending_gap = None
    pending_dropped = 0
    for item in items:
        if isinstance(item, flume.Gap):
            assert not item.resubscribed and item.dropped > 0
            pending_dropped += item.dropped  # a gap already taken is not merged into
            pending_gap = item
            continue
        counted = pending_dropped
        if previous is not None and not gaps:
            # No gap items: a jump in the sequence is exactly the jump in the numbers.
            assert item.sequence - previous.sequence == number(item) - number(previous)
        elif previous is not None:
            assert item.sequence == previous.sequence + 1 + counted
            assert number(item) == number(previous) + 1 + counted
        previous, pending_gap, pending_dropped = item, None, 0
    if gaps:
        assert sum(g.dropped for g in gap_items) == stats.dropped_by_broker + stats.dropped_locally
        assert "Gap(sequence=" in repr(gap_items[0])
    else:
        assert gap_items == []


def test_a_broker_restart_comes_as_one_resubscribed_gap(tmp_path: Path) -> None:
    data = tmp_path / "broker"
    first = flume.Broker("127.0.0.1:0", data_dir=data, shutdown_grace=0.2)
    port = first.port
    with first.connect(connect_timeout=5, reconnect_min=0.05, reconnect_max=0.25) as c:
        sub = c.subscribe("restart.>", gaps=True)
        c.publish("restart.x", numbered(0))
        before = sub.recv(timeout=5)
        assert before.sequence == 1
        first.close()
        with flume.Broker(f"127.0.0.1:{port}", data_dir=data, shutdown_grace=0.2) as second:
            deadline = time.monotonic() + 10
            while sub.stats().resubscribed == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert sub.stats().resubscribed == 1
            c.flush(timeout=5)
            c.publish("restart.x", numbered(1))
            gap = sub.recv(timeout=5)
            assert isinstance(gap, flume.Gap), gap
            assert gap.resubscribed and gap.dropped == 0
            assert gap.sequence == 1
            assert 0.0 < gap.disconnected < 10.0
            after = sub.recv(timeout=5)
            assert isinstance(after, flume.Message)
            assert number(after) == 1 and after.sequence == 2
