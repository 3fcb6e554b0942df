"""Small fake model servers on 127.0.0.1 for the real SDK clients to talk to.

Each server answers POSTs from a script: a list of ``(status, body)`` replies given in
order, the last one repeated forever. Every request is kept (path, headers, JSON body) so a
test can check what the client really sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, Any]]


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

    def next_reply(self) -> Reply:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@contextmanager
def serve(script: list[Reply]) -> Iterator[FakeServer]:
    fake = FakeServer(list(script))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(Seen(self.path, dict(self.headers), body))
            status, reply = fake.next_reply()
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- Gemini generateContent -----------------------------------------------------------------


def gemini_ok(
    answer: Any, *, prompt_tokens: int = 900, out: int = 120, thoughts: int = 30
) -> Reply:
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


def gemini_error(code: int, status: str) -> Reply:
    return code, {"error": {"code": code, "message": f"fake {status}", "status": status}}


# --- OpenAI chat completions ----------------------------------------------------------------


def openai_ok(answer: Any, *, prompt_tokens: int = 800, out: int = 100) -> Reply:
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


def openai_error(code: int) -> Reply:
    return code, {"error": {"message": f"fake error {code}", "type": "server_error", "code": None}}
