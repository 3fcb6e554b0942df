"""Who may change things: the token, the sign-in cookie and cross-site request checks.

Reading is open. Every change needs the token (``EXPERIMENTER_TOKEN``):

- the JSON API takes it in a header (``Authorization: Bearer <token>`` or
  ``X-Experimenter-Token``). A browser on another site cannot send a custom header to us
  without a CORS preflight, which this application never grants, so the header is its own
  protection against cross-site requests.
- the pages' forms: a person signs in once with the token and gets an ``HttpOnly``,
  ``SameSite=Strict`` cookie holding a keyed digest of it (never the token itself). Each form
  also carries a CSRF token derived from the same secret, and a request whose ``Origin`` (or
  ``Referer``) names another site is refused before anything else is looked at.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

COOKIE = "experimenter_auth"
"""Name of the sign-in cookie."""
TOKEN_HEADER = "x-experimenter-token"


class Forbidden(Exception):
    """A change refused: no or wrong token, a cross-site form, a missing CSRF token."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message, self.status = message, status


class Guard:
    """Checks tokens, cookies and CSRF tokens against one secret."""

    def __init__(self, token: str):
        if len(token) < 8:
            raise ValueError("the token must be at least 8 characters long")
        self._key = token.encode()

    def _digest(self, purpose: str) -> str:
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, given: str | None) -> bool:
        """Whether ``given`` is the token (compared in constant time)."""
        return given is not None and hmac.compare_digest(given.encode(), self._key)

    @property
    def cookie_value(self) -> str:
        """What the sign-in cookie holds: a digest of the token, useless elsewhere."""
        return self._digest("cookie")

    @property
    def csrf_token(self) -> str:
        """The hidden field every form posts back."""
        return self._digest("csrf")

    def signed_in(self, request: Request) -> bool:
        """Whether the request carries the sign-in cookie."""
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(cookie, self.cookie_value)

    def check_api(self, request: Request) -> None:
        """Refuse an API change without the token in a header."""
        given = request.headers.get(TOKEN_HEADER)
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None:
            raise Forbidden(
                "this change needs the dashboard token: send 'Authorization: Bearer <token>' "
                "(the token is EXPERIMENTER_TOKEN, printed by `experimenter serve`)",
                status=401,
            )
        if not self.token_ok(given):
            raise Forbidden(
                "wrong token: use the EXPERIMENTER_TOKEN the dashboard was started with"
            )

    def check_form(self, request: Request, csrf: str | None) -> None:
        """Refuse a form post from another site, without the cookie or the CSRF token."""
        check_same_origin(request)
        if not self.signed_in(request):
            raise Forbidden("sign in with the dashboard token first (Sign in, top right)", 401)
        if csrf is None or not hmac.compare_digest(csrf, self.csrf_token):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and retry")


def check_same_origin(request: Request) -> None:
    """Refuse a request whose ``Origin`` or ``Referer`` names another host than ours."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        if source == "null":
            raise Forbidden("a form from an opaque origin is refused")
        return  # no header: not a browser's cross-site form (browsers send Origin on POST)
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    if parts.netloc != host:
        raise Forbidden(
            f"a form from {parts.scheme}://{parts.netloc} may not change this dashboard"
        )
