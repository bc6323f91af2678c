"""Handles shared between Python threads: publishing, receiving and closing at once, with the
GIL released while waiting, neither crash nor hang."""

from __future__ import annotations

import threading
import time

import flume


def test_publishers_and_a_receiver_in_threads_while_the_client_closes(
        broker: flume.Broker) -> None:
    client = broker.connect()
    sub = client.subscribe("t.>", queue_limit=65536)
    outcomes: list = []
    lock = threading.Lock()

    def publish(n: int) -> None:
        sent = 0
        try:
            while True:
                client.publish(f"t.{n}", b"x" * 64)
                sent += 1
        except flume.ClosedError:
            with lock:
                outcomes.append(("publisher", sent))

    def receive() -> None:
        got = 0
        try:
            while True:
                got += len(sub.recv_batch(512, timeout=5))
        except flume.ClosedError:  # after the last message the closed client's queue held
            with lock:
                outcomes.append(("receiver", got))

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(3)]
    threads.append(threading.Thread(target=receive))
    for t in threads:
        t.start()
    time.sleep(0.5)
    client.close()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert sorted(kind for kind, _ in outcomes) == ["publisher"] * 3 + ["receiver"]
    assert all(count > 0 for _, count in outcomes)


def test_waiting_receivers_do_not_block_other_threads(client: flume.Client) -> None:
    subs = [client.subscribe(f"idle.{i}") for i in range(4)]
    waiters = [threading.Thread(target=lambda s=s: s.recv_batch(10, timeout=1.0)) for s in subs]
    start = time.monotonic()
    for t in waiters:
        t.start()
    # While four threads wait in libflume, this one runs Python freely.
    count = 0
    while time.monotonic() - start < 0.5:
        count += 1
    for t in waiters:
        t.join(5)
    assert count > 10000
    assert time.monotonic() - start < 3
