"""A small real WebSocket client for room tests: commands with increasing ids, waits by condition."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Callable

import aiohttp
import orjson

Message = dict[str, Any]
TIMEOUT = 10.0


class RoomClient:
    """One socket on a screening's room; a reader task files every frame for later waits."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, read: bool = True) -> None:
        self.ws = ws
        self.messages: list[Message] = []
        self.next_id = 1
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read()) if read else None

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                async with self._changed:
                    self.messages.append(orjson.loads(msg.data))
                    self._changed.notify_all()
        async with self._changed:
            self.closed.set()
            self._changed.notify_all()

    def start_reading(self) -> None:
        """Begin reading (for a client created with read=False to play a slow consumer)."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())

    @property
    def close_code(self) -> int | None:
        """The close code the server sent, once closed."""
        return self.ws.close_code

    async def send(self, type_: str, **fields: Any) -> int:
        """Send a command with the next id; returns that id."""
        msg_id = self.next_id
        self.next_id += 1
        await self.ws.send_str(orjson.dumps({"id": msg_id, "type": type_, **fields}).decode())
        return msg_id

    async def send_raw(self, data: Any) -> None:
        """Send anything as a text frame (a str as is, else JSON-encoded)."""
        await self.ws.send_str(data if isinstance(data, str) else orjson.dumps(data).decode())

    async def wait_for(self, predicate: Callable[[Message], bool], timeout: float = TIMEOUT,
                       start: int = 0) -> Message:
        """The first message from index `start` on that matches, waiting up to `timeout` seconds."""
        async def find() -> Message:
            async with self._changed:
                while True:
                    for msg in self.messages[start:]:
                        if predicate(msg):
                            return msg
                    if self.closed.is_set():
                        raise ConnectionError(f"socket closed ({self.close_code}) before the message came")
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def result(self, msg_id: int, timeout: float = TIMEOUT) -> Message:
        """The reply to request `msg_id` (success or failure)."""
        return await self.wait_for(lambda m: m.get("type") == "result" and m.get("id") == msg_id, timeout)

    async def request(self, type_: str, **fields: Any) -> Message:
        """Send a command and wait for its reply."""
        return await self.result(await self.send(type_, **fields))

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command that must succeed; returns its result object."""
        reply = await self.request(type_, **fields)
        assert reply["success"], reply
        return reply["result"]

    async def error(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command that must fail; returns its error object."""
        reply = await self.request(type_, **fields)
        assert not reply["success"], reply
        return reply["error"]

    async def event(self, predicate: Callable[[Message], bool], timeout: float = TIMEOUT,
                    start: int = 0) -> Message:
        """The first relayed event (inside an `events` frame) that matches."""
        found: list[Message] = []

        def match(msg: Message) -> bool:
            for event in msg.get("events", ()) if msg.get("type") == "events" else ():
                if predicate(event):
                    found.append(event)
                    return True
            return False

        await self.wait_for(match, timeout, start)
        return found[0]

    def events(self, start: int = 0) -> list[Message]:
        """Every relayed event from message index `start` on."""
        return [e for m in self.messages[start:] if m.get("type") == "events" for e in m["events"]]

    async def snapshot(self, start: int = 0, timeout: float = TIMEOUT) -> Message:
        """The first snapshot frame from message index `start` on."""
        return await self.wait_for(lambda m: m.get("type") == "snapshot", timeout, start)

    async def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        """Wait for the server to close the socket; returns the close code."""
        self.start_reading()
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def close(self) -> None:
        """Close from the client side and stop reading."""
        await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, TIMEOUT)


async def connect(session: Any, screening_id: int, *, token: str | None = None, url: Any = None,
                  read: bool = True, **kwargs: Any) -> RoomClient:
    """Open a room socket through a TestClient or ClientSession; waits for the first snapshot.

    `token` is sent as an Authorization header; `url` overrides the path (a full URL is needed
    for a plain ClientSession). Extra kwargs go to ws_connect (headers, params...).
    """
    headers = dict(kwargs.pop("headers", {}) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    target = url if url is not None else f"/ws/screenings/{screening_id}"
    ws = await session.ws_connect(target, headers=headers, **kwargs)
    client = RoomClient(ws, read=read)
    if read:
        await client.snapshot()
    return client
