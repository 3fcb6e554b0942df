"""Small fake model servers on 127.0.0.1 for the real SDK clients to talk to.

Each server answers POSTs from a script: a list of replies given in order, the last one
repeated forever. A reply is ``(status, json_body)``, or a ``Raw`` reply for the ways real
services misbehave: any bytes with any content type (a truncated JSON body, an HTML error
page), an answer after a delay, or none at all (``hang()``: the handler waits until the
server stops). Every request is kept (path, headers, JSON body) so a test can check what the
client really sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Raw:
    """A reply sent as given: ``body`` bytes under ``content_type``, after ``delay_s``
    seconds (None: never; the handler waits until the server stops)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay_s: float | None = 0.0


Json = tuple[int, dict[str, Any]]
Reply = Json | Raw


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeServer:
    script: list[Reply]
    requests: list[Seen] = field(default_factory=list)
    url: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the server stops: wakes handlers that delay or hang."""
    respond: Callable[[Seen], Reply] | None = None
    """Answers each request from what it asks (a model of the model) instead of the script."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, seen: Seen) -> Reply:
        with self.lock:  # requests may overlap (an abandoned call and the next one)
            if self.respond is not None:
                return self.respond(seen)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@contextmanager
def serve(script: Sequence[Reply] | Callable[[Seen], Reply]) -> Iterator[FakeServer]:
    """A fake server answering from ``script``: replies in order (the last repeated), or a
    callable that answers each request it is shown."""
    fake = FakeServer([], respond=script) if callable(script) else FakeServer(list(script))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            seen = Seen(self.path, dict(self.headers), body)
            fake.requests.append(seen)
            reply = fake.next_reply(seen)
            if isinstance(reply, Raw):
                status, data, content_type = reply.status, reply.body, reply.content_type
                if reply.delay_s is None or reply.delay_s > 0:
                    fake.stopping.wait(reply.delay_s)
                    if fake.stopping.is_set():
                        return  # the server is stopping: drop the connection unanswered
            else:
                status, data = reply[0], json.dumps(reply[1]).encode()
                content_type = "application/json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting and closed the connection
                pass

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


def hang(after: float | None = None) -> Raw:
    """No answer for ``after`` seconds (None: never, until the server stops)."""
    return Raw(200, b"{}", delay_s=after)


def html_page(status: int = 200) -> Raw:
    """What a captive portal or a misconfigured proxy answers: an HTML page."""
    page = b"<!DOCTYPE html><html><head><title>Gateway</title></head><body>Sign in</body></html>"
    return Raw(status, page, content_type="text/html; charset=utf-8")


def truncated(reply: Reply, keep: float = 0.5) -> Raw:
    """The JSON body of ``reply`` cut short (a dropped proxy stream), still HTTP 200."""
    assert not isinstance(reply, Raw)
    data = json.dumps(reply[1]).encode()
    return Raw(reply[0], data[: int(len(data) * keep)])


# --- Gemini generateContent -----------------------------------------------------------------


def gemini_ok(answer: Any, *, prompt_tokens: int = 900, out: int = 120, thoughts: int = 30) -> Json:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return 200, {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": out,
            "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt_tokens + out + thoughts,
        },
        "modelVersion": "gemini-2.5-flash",
    }


def gemini_error(code: int, status: str) -> Json:
    return code, {"error": {"code": code, "message": f"fake {status}", "status": status}}


# --- OpenAI chat completions ----------------------------------------------------------------


def openai_ok(answer: Any, *, prompt_tokens: int = 800, out: int = 100) -> Json:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return 200, {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-vlm",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out,
            "total_tokens": prompt_tokens + out,
        },
    }


def openai_error(code: int) -> Json:
    return code, {"error": {"message": f"fake error {code}", "type": "server_error", "code": None}}
