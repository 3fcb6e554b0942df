"""Transport failures worth a retry, whichever HTTP library the SDKs were built on.

google-genai and openai use ``httpx`` or its fork ``httpx2`` depending on their version;
timeouts and dropped connections from either are transient.
"""

from __future__ import annotations

import importlib


def _transport_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for module in ("httpx", "httpx2"):
        try:
            lib = importlib.import_module(module)
        except ImportError:
            continue
        found.append(lib.TransportError)  # timeouts, refused and dropped connections
    return tuple(found)


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = _transport_errors()

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses that are retried: timeout, rate limit and server errors."""


def is_retryable_status(code: int | None) -> bool:
    return code is not None and (code in RETRYABLE_STATUS or code >= 500)
