"""Clients, subscriptions and messages left to the garbage collector: freed in any order, no
crash, no leaked file descriptors or memory."""

from __future__ import annotations

import gc
import os
import time
import weakref

import flume


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def churn(broker: flume.Broker, order: str) -> None:
    """One client with subscriptions and messages, dropped without closing anything."""
    client = broker.connect()
    subs = [client.subscribe(f"gc.{i}", wait=False) for i in range(3)]
    client.flush(5)
    for i in range(3):
        client.publish(f"gc.{i}", b"x" * 100)
    kept = subs[0].recv(timeout=5)
    if order == "client_first":
        del client
        gc.collect()
        assert kept.data == b"x" * 100
    elif order == "subscriptions_first":
        del subs
        gc.collect()
    elif order == "closed_client":
        client.close()


def test_objects_are_collected_and_weakrefs_die(broker: flume.Broker) -> None:
    client = broker.connect()
    sub = client.subscribe("w")
    client.publish("w", b"1")
    msg = sub.recv(timeout=5)
    refs = [weakref.ref(client), weakref.ref(sub)]
    del client, sub
    gc.collect()
    # The message keeps its subscription, which keeps its client.
    assert all(r() is not None for r in refs)
    assert msg.subscription.client is refs[0]()
    del msg
    gc.collect()
    assert all(r() is None for r in refs)


def test_client_collected_while_its_subscription_lives(broker: flume.Broker) -> None:
    client = broker.connect()
    sub = client.subscribe("order")
    client.publish("order", b"kept")
    client.flush(5)
    client_ref = weakref.ref(client)
    del client
    gc.collect()
    assert client_ref() is not None  # the subscription holds it
    assert sub.recv(timeout=5).data == b"kept"
    del sub
    gc.collect()
    assert client_ref() is None


def test_many_cycles_leak_no_fds_or_memory(broker: flume.Broker) -> None:
    orders = ["client_first", "subscriptions_first", "closed_client", "together"]
    for i in range(20):  # warm up allocators and caches
        churn(broker, orders[i % 4])
    gc.collect()
    fds, rss = open_fds(), rss_kib()
    for i in range(200):
        churn(broker, orders[i % 4])
        if i % 10 == 0:
            gc.collect()
    gc.collect()
    assert open_fds() <= fds + 2, "file descriptors leaked"
    growth = rss_kib() - rss
    assert growth < 16 * 1024, f"RSS grew by {growth} KiB over 200 clients"
    # Every connection said goodbye: the broker holds nothing for them.
    for _ in range(100):
        stats = broker.stats()
        if stats.connections == 0 and stats.subscriptions == 0:
            break
        time.sleep(0.05)
    assert (stats.connections, stats.subscriptions) == (0, 0)


def test_subscription_dropped_in_a_reference_cycle(broker: flume.Broker) -> None:
    class Holder:
        pass

    client = broker.connect()
    holder = Holder()
    holder.self = holder  # a cycle only the collector can free
    holder.sub = client.subscribe("cycle")
    ref = weakref.ref(holder.sub)
    del holder
    gc.collect()
    assert ref() is None
    client.close()
