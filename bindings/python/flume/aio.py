"""Flume for asyncio.

    client = await flume.aio.connect(url, ca_file=...)
    sub = await client.subscribe("orders.>")
    await client.publish("orders.eu", b"hello")
    async for msg in sub:
        ...

Receiving is driven by each subscription's file descriptor (``loop.add_reader``): no thread
polls, and a waiting subscription costs nothing. Calls that wait for the broker (connect,
flush, close) run in the loop's default executor.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Awaitable, Callable, List, Optional, Sequence, TypeVar, Union

from . import _flume
from .errors import ClosedError, from_code
from ._flume import ClientStats, Message, SubscriptionStats

__all__ = ["connect", "Client", "Subscription"]

_T = TypeVar("_T")
Data = Union[bytes, bytearray, memoryview, str]


async def _in_executor(function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(function, *args, **kwargs))


async def connect(url: str | Sequence[str] = "flume://127.0.0.1:7337",
                  **options: Any) -> "Client":
    """Connects like :func:`flume.connect` (same keyword arguments) without blocking the loop.

    ``publish_timeout`` is how long :meth:`Client.publish` waits for room, without blocking the
    loop: the underlying client is made not to wait at all."""
    publish_timeout = float(options.pop("publish_timeout", 5.0))
    if not publish_timeout >= 0:
        raise ValueError("publish_timeout must be >= 0 seconds")
    client = await _in_executor(_flume.connect, url, publish_timeout=0, **options)
    return Client(client, publish_timeout)


class Client:
    """An asyncio view of a :class:`flume.Client`; ``async with`` closes it."""

    def __init__(self, client: _flume.Client, publish_timeout: float = 5.0) -> None:
        self._client = client
        self._publish_timeout = publish_timeout

    @property
    def sync(self) -> _flume.Client:
        """The underlying blocking client (publish on it directly in a hot loop)."""
        return self._client

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def closed(self) -> bool:
        return self._client.closed

    @property
    def max_payload(self) -> int:
        return self._client.max_payload

    async def publish(self, subject: str, data: Data) -> None:
        """Publishes (see :meth:`flume.Client.publish`). Returns at once unless max_pending_bytes
        already wait for the network; then it sleeps until there is room, up to publish_timeout,
        and raises :class:`flume.TimeoutError`."""
        try:
            self._client.publish(subject, data)
            return
        except TimeoutError:  # the client's buffer is full (it was made not to wait)
            if self._publish_timeout == 0:
                raise
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        delay = 0.001
        while True:
            await asyncio.sleep(delay)
            try:
                self._client.publish(subject, data)
                return
            except TimeoutError:
                if loop.time() >= deadline:
                    raise
            delay = min(delay * 2, 0.05)

    def publish_nowait(self, subject: str, data: Data) -> None:
        """Publishes as a plain call; raises :class:`flume.TimeoutError` at once when
        max_pending_bytes already wait for the network."""
        self._client.publish(subject, data)

    async def subscribe(
        self,
        pattern: str,
        *,
        queue_limit: int = 0,
        local_queue_limit: int = 0,
        overflow: str = "drop_oldest",
        gaps: bool = False,
        wait: bool = True,
        timeout: Optional[float] = 10.0,
    ) -> "Subscription":
        """Subscribes like :meth:`flume.Client.subscribe`; with ``wait`` it returns once the
        broker accepted the subscription (or raises its refusal), without blocking the loop."""
        sub = self._client.subscribe(
            pattern,
            queue_limit=queue_limit,
            local_queue_limit=local_queue_limit,
            overflow=overflow,
            gaps=gaps,
            wait=False,
        )
        if wait:
            try:
                await _in_executor(sub.wait_ready, timeout)
            except BaseException:
                sub.close()
                raise
        return Subscription(sub)

    async def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until the broker has processed everything sent before."""
        await _in_executor(self._client.flush, timeout)

    def stats(self) -> ClientStats:
        return self._client.stats()

    async def close(self) -> None:
        """Closes the connection; every subscription ends (iteration stops after what was
        received)."""
        await _in_executor(self._client.close)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<flume.aio.Client {self._client.url}{' closed' if self.closed else ''}>"


class Subscription:
    """An asyncio view of a :class:`flume.Subscription`: ``async for msg in sub`` gives
    messages until it ends; ``recv``/``recv_batch`` take a timeout in seconds."""

    def __init__(self, subscription: _flume.Subscription) -> None:
        self._sub = subscription
        self._fd = subscription.fileno()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # One future shared by every coroutine waiting on this subscription, completed by the
        # loop when the descriptor becomes readable; the reader is registered only meanwhile.
        self._readable: Optional["asyncio.Future[None]"] = None

    @property
    def sync(self) -> _flume.Subscription:
        return self._sub

    @property
    def id(self) -> int:
        return self._sub.id

    @property
    def pattern(self) -> str:
        return self._sub.pattern

    @property
    def closed(self) -> bool:
        return self._sub.closed

    def _on_readable(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
        future, self._readable = self._readable, None
        if future is not None and not future.done():
            future.set_result(None)

    def _wait_readable(self) -> Awaitable[None]:
        future = self._readable
        if future is None:
            if self._sub.closed:
                raise from_code(-36, "FLUME_ECLOSED", "the subscription is closed")
            loop = asyncio.get_running_loop()
            self._loop = loop
            future = loop.create_future()
            self._readable = future
            loop.add_reader(self._fd, self._on_readable)
        # Shielded: one waiter that times out or is cancelled leaves the others waiting.
        return asyncio.shield(future)

    async def _wait(self, deadline: Optional[float]) -> bool:
        """Waits until readable; False when the deadline (loop time) passed first."""
        if deadline is None:
            await self._wait_readable()
            return True
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self._wait_readable(), remaining)
        except asyncio.TimeoutError:
            return False
        return True

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        if timeout is None:
            return None
        if timeout < 0:
            raise ValueError("timeout must be None or >= 0")
        return asyncio.get_running_loop().time() + timeout

    async def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message, waiting up to ``timeout`` seconds (None: until one comes).
        :class:`flume.TimeoutError` when none came, :class:`flume.ClosedError` once ended."""
        deadline = self._deadline(timeout)
        while True:
            message = self._sub.try_recv()
            if message is not None:
                return message
            if not await self._wait(deadline):
                raise from_code(-30, "FLUME_ETIMEDOUT", f"no message within {timeout} s")

    async def recv_batch(self, max: int = 1024, timeout: Optional[float] = None) -> List[Message]:
        """Up to ``max`` messages: waits up to ``timeout`` seconds for the first, then takes
        what is already there; an empty list when the timeout ran out."""
        deadline = self._deadline(timeout)
        while True:
            batch = self._sub.try_recv_batch(max)
            if batch:
                return batch
            if not await self._wait(deadline):
                return []

    def try_recv(self) -> Optional[Message]:
        return self._sub.try_recv()

    def try_recv_batch(self, max: int = 1024) -> List[Message]:
        return self._sub.try_recv_batch(max)

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except ClosedError:
            raise StopAsyncIteration from None

    def stats(self) -> SubscriptionStats:
        return self._sub.stats()

    async def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Waits for the broker's answer like :meth:`flume.Subscription.wait_ready`."""
        await _in_executor(self._sub.wait_ready, timeout)

    def unsubscribe(self) -> None:
        """Ends the subscription; what was received can still be read, then iteration stops."""
        self._sub.unsubscribe()

    def close(self) -> None:
        """Unsubscribes, discards unread messages, frees the handle; waiters get ClosedError."""
        if self._readable is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
            future, self._readable = self._readable, None
            if not future.done():
                future.set_result(None)  # the waiter then sees the subscription closed
        self._sub.close()

    async def __aenter__(self) -> "Subscription":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<flume.aio.Subscription id={self.id} pattern={self.pattern!r}>"
