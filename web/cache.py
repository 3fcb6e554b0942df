"""Micro-caching of what anonymous readers GET, and the headers every response carries.

The daemon changes what the dashboard shows a few times a minute at most, while many people
(or one page polling every few seconds) may read it at once. ``MicroCache`` keeps each GET
answer for ``seconds`` (``EXPERIMENTER_CACHE_SECONDS``, 1 s by default; 0 turns it off) and
serves it again to whoever asks for the same path and query in that time, so a burst of
readers costs one render. While one request renders an answer, others asking for the same one
wait for it instead of rendering it again.

What is never cached or served from the cache:

- a signed-in viewer's requests (the sign-in cookie) and API requests carrying the token:
  their pages carry the CSRF token and they are the people steering, who must see at once
  what they changed;
- anything but a complete ``200`` answer of HTML, JSON, SVG or PNG up to ``MAX_BYTES``, and
  any answer setting a cookie;
- static files and artifacts (the browser caches those; artifacts are immutable anyway).

Any other request (a ``POST``: approve, reject, goal, pause, sign-in) empties the cache of
this process, so a change made here shows on the very next read. Both are plain ASGI
middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.security import COOKIE, TOKEN_HEADER

MAX_BYTES = 2_000_000
"""Largest answer kept (bytes)."""
MAX_ITEMS = 512
"""Answers kept at most (least recently stored out first)."""
CACHEABLE_TYPES = (b"text/html", b"application/json", b"image/svg+xml", b"image/png")
BYPASS_PREFIXES = ("/static/", "/artifacts/")
SAFE_METHODS = ("GET", "HEAD")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response that does not set them itself."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class _Answer:
    stored_at: float
    start: Message
    body: bytes


def _personal(scope: Scope) -> bool:
    """Whether the request is a signed-in person's or carries the API token."""
    cookie_name = COOKIE.encode()
    for name, value in scope.get("headers", []):
        if name == b"cookie" and cookie_name in value:
            return True
        if name in (b"authorization", TOKEN_HEADER.encode()):
            return True
    return False


def _storable(start: Message) -> bool:
    if start.get("status") != 200:
        return False
    content_type = b""
    for name, value in start.get("headers", []):
        name = name.lower()
        if name == b"set-cookie":
            return False
        if name == b"content-type":
            content_type = value
    return content_type.startswith(CACHEABLE_TYPES)


class MicroCache:
    """ASGI middleware keeping anonymous GET answers for ``seconds`` (see the module)."""

    def __init__(self, app: ASGIApp, *, seconds: float, max_items: int = MAX_ITEMS):
        self.app = app
        self.seconds = seconds
        self._items: OrderedDict[tuple[str, str, bytes], _Answer] = OrderedDict()
        self._max_items = max_items
        self._rendering: dict[tuple[str, str, bytes], asyncio.Event] = {}
        self._epoch = 0
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget every answer kept (a change was made)."""
        self._items.clear()
        self._epoch += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in SAFE_METHODS:
            # Emptied before and after: the change commits while the request runs, and a
            # read that started meanwhile must not store the state from before it.
            self.clear()
            try:
                await self.app(scope, receive, send)
            finally:
                self.clear()
            return
        path = scope["path"]
        if path.startswith(BYPASS_PREFIXES) or _personal(scope):
            await self.app(scope, receive, send)
            return
        key = (method, path, scope.get("query_string", b""))
        while True:
            answer = self._fresh(key)
            if answer is not None:
                self.hits += 1
                await send(answer.start)
                await send({"type": "http.response.body", "body": answer.body})
                return
            rendering = self._rendering.get(key)
            if rendering is None:
                break
            await rendering.wait()  # someone renders this very answer: take theirs
        self.misses += 1
        done = asyncio.Event()
        self._rendering[key] = done
        try:
            await self._render(key, scope, receive, send)
        finally:
            del self._rendering[key]
            done.set()

    def _fresh(self, key: tuple[str, str, bytes]) -> _Answer | None:
        answer = self._items.get(key)
        if answer is None:
            return None
        if time.monotonic() - answer.stored_at > self.seconds:
            del self._items[key]
            return None
        return answer

    async def _render(
        self, key: tuple[str, str, bytes], scope: Scope, receive: Receive, send: Send
    ) -> None:
        epoch = self._epoch
        began = time.monotonic()
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        storable = True

        async def send_and_keep(message: Message) -> None:
            nonlocal start, size, storable
            if message["type"] == "http.response.start":
                start = message
                storable = _storable(message)
            elif message["type"] == "http.response.body" and storable:
                body = message.get("body", b"")
                size += len(body)
                if size > MAX_BYTES:
                    storable = False
                    chunks.clear()
                else:
                    chunks.append(body)
                complete = not message.get("more_body", False)
                # Kept only if no change was made while it rendered.
                if complete and storable and start is not None and self._epoch == epoch:
                    self._store(key, began, start, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, send_and_keep)

    def _store(
        self, key: tuple[str, str, bytes], began: float, start: Message, body: bytes
    ) -> None:
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        headers.append((b"x-dashboard-cache", b"hit"))
        # Aged from when rendering began: the data may be that old already.
        self._items[key] = _Answer(began, {**start, "headers": headers}, body)
        self._items.move_to_end(key)
        while len(self._items) > self._max_items:
            self._items.popitem(last=False)
