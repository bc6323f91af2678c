"""Publishing and receiving through the embedded broker: round trips, wildcards, many
subscriptions, batches, iteration and timeouts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import flume


def test_round_trip_gives_subject_data_and_subscription(client: flume.Client) -> None:
    sub = client.subscribe("orders.*")
    client.publish("orders.eu", b"hello")
    msg = sub.recv(timeout=5)
    assert isinstance(msg, flume.Message)
    assert msg.subject == "orders.eu"
    assert msg.data == b"hello"
    assert msg.subscription is sub
    assert msg.subscription_id == sub.id != 0


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"bytes", b"bytes"),
        ("stré", "stré".encode()),
        (bytearray(b"\x00\x01\xff"), b"\x00\x01\xff"),
        (memoryview(b"abcdef")[1:4], b"bcd"),
        (b"", b""),
    ],
)
def test_publish_accepts_bytes_str_and_buffers(client: flume.Client, data: object,
                                                expected: bytes) -> None:
    sub = client.subscribe("kinds")
    client.publish("kinds", data)
    assert sub.recv(timeout=5).data == expected


def test_utf8_subjects_round_trip(client: flume.Client) -> None:
    sub = client.subscribe("café.>")
    client.publish("café.menu", b"x")
    assert sub.recv(timeout=5).subject == "café.menu"


def test_wildcards_match_one_token_or_the_rest(client: flume.Client) -> None:
    star = client.subscribe("a.*.c")
    rest = client.subscribe("a.>")
    exact = client.subscribe("a.b.c")
    for subject in ["a.b.c", "a.x.c", "a.b", "a.b.c.d", "b.b.c"]:
        client.publish(subject, subject)
    client.flush(5)
    subjects = lambda sub: [m.subject for m in sub.messages(timeout=0.5)]  # noqa: E731
    assert subjects(star) == ["a.b.c", "a.x.c"]
    assert subjects(rest) == ["a.b.c", "a.x.c", "a.b", "a.b.c.d"]
    assert subjects(exact) == ["a.b.c"]


def test_many_subscriptions_each_get_their_own_messages(client: flume.Client) -> None:
    subs = [client.subscribe(f"many.{i}", wait=False) for i in range(300)]
    client.flush(10)
    assert len({s.id for s in subs}) == 300
    for i in range(300):
        client.publish(f"many.{i}", str(i))
    for i, sub in enumerate(subs):
        msg = sub.recv(timeout=5)
        assert (msg.subject, msg.data) == (f"many.{i}", str(i).encode())
        assert sub.try_recv() is None
    assert client.stats().messages_in == 300


def test_order_is_kept_within_a_subscription(client: flume.Client) -> None:
    sub = client.subscribe("seq", queue_limit=20000)
    for i in range(5000):
        client.publish("seq", i.to_bytes(4, "big"))
    got = []
    while len(got) < 5000:
        batch = sub.recv_batch(1000, timeout=5)
        assert batch, f"stopped after {len(got)}"
        assert len(batch) <= 1000
        got.extend(int.from_bytes(m.data, "big") for m in batch)
    assert got == list(range(5000))


def test_recv_batch_waits_only_for_the_first(client: flume.Client) -> None:
    sub = client.subscribe("batch")
    for i in range(3):
        client.publish("batch", str(i))
    client.flush(5)
    time.sleep(0.1)
    start = time.monotonic()
    batch = sub.recv_batch(10, timeout=5)
    assert time.monotonic() - start < 1
    assert [m.data for m in batch] == [b"0", b"1", b"2"]
    assert sub.try_recv_batch(10) == []


def test_recv_timeout_raises_timeout_error_on_time(client: flume.Client) -> None:
    sub = client.subscribe("quiet")
    start = time.monotonic()
    with pytest.raises(flume.TimeoutError) as error:
        sub.recv(timeout=0.3)
    elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 2
    assert isinstance(error.value, TimeoutError)  # also the builtin
    assert error.value.code_name == "FLUME_ETIMEDOUT"
    assert sub.try_recv() is None
    assert sub.recv_batch(10, timeout=0.1) == []
    with pytest.raises(flume.TimeoutError):
        sub.recv(timeout=0)


def test_messages_iterator_stops_on_silence_and_limit(client: flume.Client) -> None:
    sub = client.subscribe("iter")
    for i in range(5):
        client.publish("iter", str(i))
    assert [m.data for m in sub.messages(timeout=2, limit=3)] == [b"0", b"1", b"2"]
    start = time.monotonic()
    assert [m.data for m in sub.messages(timeout=0.3)] == [b"3", b"4"]
    assert time.monotonic() - start < 2


def test_iteration_ends_after_unsubscribe_with_what_was_received(client: flume.Client) -> None:
    sub = client.subscribe("end")
    client.publish("end", b"1")
    client.publish("end", b"2")
    client.flush(5)
    sub.recv(timeout=5)  # the first; the second is already received, not yet read
    time.sleep(0.1)
    sub.unsubscribe()
    assert [m.data for m in sub] == [b"2"]
    assert sub.stats().ended
    with pytest.raises(flume.ClosedError, match="unsubscribed"):
        sub.recv(timeout=1)


def test_closing_the_client_ends_iteration_in_another_thread(broker: flume.Broker) -> None:
    client = broker.connect()
    sub = client.subscribe("bye")
    got = []
    reader = threading.Thread(target=lambda: got.extend(sub))
    reader.start()
    client.publish("bye", b"last")
    client.flush(5)
    time.sleep(0.2)
    start = time.monotonic()
    client.close()
    reader.join(5)
    assert not reader.is_alive()
    assert time.monotonic() - start < 3
    assert [m.data for m in got] == [b"last"]


def test_closing_a_subscription_wakes_a_blocked_recv(client: flume.Client) -> None:
    sub = client.subscribe("wake")
    errors = []

    def wait() -> None:
        try:
            sub.recv()
        except flume.ClosedError as error:
            errors.append(error)

    reader = threading.Thread(target=wait)
    reader.start()
    time.sleep(0.2)
    sub.close()
    reader.join(5)
    assert not reader.is_alive()
    assert len(errors) == 1
    assert sub.closed


def test_flush_waits_for_the_broker(broker: flume.Broker, client: flume.Client) -> None:
    for i in range(100):
        client.publish("nobody.listens", b"x")
    client.flush(5)
    stats = broker.stats()
    assert stats.messages_in >= 100
    assert stats.messages_unmatched >= 100
    assert client.stats().messages_out == 100


def test_payload_at_the_limit_is_delivered(tmp_path, _data_dir) -> None:
    with flume.Broker(data_dir=tmp_path, max_payload=1024) as broker, broker.connect() as c:
        assert c.max_payload == 1024
        sub = c.subscribe("big")
        c.publish("big", b"x" * 1024)
        assert len(sub.recv(timeout=5).data) == 1024


def test_max_memory_is_the_brokers_memory_budget(tmp_path, _data_dir) -> None:
    with flume.Broker(data_dir=tmp_path, max_memory=32 << 20) as broker:
        stats = broker.stats()
        assert stats.memory_budget_bytes == 32 << 20
        assert stats.memory_queued_bytes == 0 and stats.dropped_memory_budget == 0
    with flume.Broker(data_dir=tmp_path) as broker:
        assert broker.stats().memory_budget_bytes >= 64 << 20  # from the machine


def test_broker_properties_and_stats(broker: flume.Broker, client: flume.Client) -> None:
    assert broker.url == f"flume://{broker.address}"
    assert broker.address.endswith(f":{broker.port}") and broker.port > 0
    assert broker.certificate_path.endswith("cert.pem")
    assert len(broker.fingerprint.split(":")) == 32
    sub = client.subscribe("s")
    stats = broker.stats()
    assert stats.connections == 1 and stats.subscriptions == 1 and stats.hellos_accepted == 1
    del sub  # dropping the last reference unsubscribes
    client.flush(5)
    assert broker.stats().subscriptions == 0


def test_pinned_fingerprint_is_trusted(broker: flume.Broker) -> None:
    with flume.connect(broker.url, pin_sha256=broker.fingerprint) as c:
        assert c.stats().connected


def test_two_clients_through_one_broker(broker: flume.Broker) -> None:
    with broker.connect() as a, broker.connect() as b:
        sub = b.subscribe("x.>")
        a.publish("x.y", b"from a")
        assert sub.recv(timeout=5).data == b"from a"


def test_message_can_be_made_and_compared() -> None:
    a = flume.Message("t.u", b"d")
    assert a == flume.Message("t.u", "d")
    assert a != flume.Message("t.u", b"e")
    assert a.subscription is None and a.subscription_id == 0
    assert "t.u" in repr(a)
    with pytest.raises(AttributeError):
        a.subject = "x"  # type: ignore[misc]


def test_subscribe_waits_for_the_broker_and_reads_back_the_granted_limit(
    client: flume.Client,
) -> None:
    sub = client.subscribe("granted", queue_limit=10)
    stats = sub.stats()
    assert stats.state == "active" and not stats.ended
    assert stats.queue_limit == 10
    assert client.subscribe("granted.default").stats().queue_limit == 1024
    later = client.subscribe("granted.later", wait=False)
    later.wait_ready(timeout=5)
    assert later.stats().state == "active"


def test_a_refused_subscription_raises_the_reason(tmp_path: Path) -> None:
    with flume.Broker(data_dir=tmp_path, max_subscriptions=1) as broker, broker.connect() as client:
        first = client.subscribe("first")  # kept: a collected subscription is unsubscribed
        with pytest.raises(flume.ConnectionError, match="max_subscriptions") as refused:
            client.subscribe("second")
        assert refused.value.code_name == "FLUME_EREJECTED"
        sub = client.subscribe("third", wait=False)
        with pytest.raises(flume.ConnectionError, match="refused"):
            sub.wait_ready(timeout=5)
        assert sub.stats().state == "ended"
        assert first.stats().state == "active"


def test_stats_keep_the_high_water_mark_of_the_local_queue(client: flume.Client) -> None:
    sub = client.subscribe("hw")
    for i in range(5):
        client.publish("hw", str(i))
    client.flush(5)
    deadline = time.monotonic() + 5
    while sub.stats().queued < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sub.recv_batch(max=10, timeout=0)) == 5
    stats = sub.stats()
    assert stats.queued == 0 and stats.queued_high_water == 5
