"""The FastAPI application: pages, the JSON API, artifacts, and errors that say what to do."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from storage import Database, open_database
from web.actions import Conflict
from web.cache import MicroCache, SecurityHeaders
from web.charts import PngCache, TtlCache
from web.config import WebSettings
from web.security import Forbidden, Guard
from web.templating import render

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    title = f"Error {status}"
    return render(
        request, "error.html", status_code=status, title=title, status=status, message=message
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body"))
        given = err.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "invalid request"


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error(request, 422, _validation_message(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, exc.status, exc.message)

    @app.exception_handler(LookupError)
    @app.exception_handler(ValueError)
    async def bad_input(request: Request, exc: Exception) -> Response:
        # Lookup first: an unknown skill is both a SkillError (ValueError) and a LookupError.
        if isinstance(exc, LookupError):
            return _error(request, 404, str(exc))
        if isinstance(exc, Conflict):
            return _error(request, 409, str(exc))
        return _error(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}; the pages are listed at the top"
        return _error(request, exc.status_code, message)


def create_app(settings: WebSettings | None = None, *, db: Database | None = None) -> FastAPI:
    """The dashboard over ``db`` (default: the database the settings name, migrated)."""
    from web.routes import api, files, forms, pages

    settings = settings or WebSettings()
    if db is None:
        db = open_database(home=settings.home, db_url=settings.db_url)
    token = settings.token.get_secret_value() if settings.token else secrets.token_urlsafe(18)
    app = FastAPI(
        title="experimenter dashboard",
        summary="Review what the experimenter did and why; steer it through the commands table.",
        version="1",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.guard = Guard(token)
    app.state.token = token
    app.state.pngs = PngCache()
    app.state.charts = TtlCache(seconds=settings.poll_seconds)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (pages, forms, files, api):
        app.include_router(module.router)
    _install_errors(app)
    # Outermost last: the cache answers before the app runs; cached answers keep the headers.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MicroCache, seconds=settings.cache_seconds)
    return app
