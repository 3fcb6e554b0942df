"""Page templates (Jinja2, autoescaped) and the filters they use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from web.charts import sparkline
from web.security import Guard

HERE = Path(__file__).resolve().parent

templates = Jinja2Templates(directory=str(HERE / "templates"))
"""The page templates (autoescaped); routes render them with ``render``."""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _money(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = (datetime.now(UTC) - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{max(0, seconds):.0f} s ago"


def _when(when: datetime | None) -> str:
    return "–" if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _spec(spec: dict[str, Any]) -> str:
    """A task spec with one line per stage and constraint (atoms stay on one line)."""

    def one(x: Any) -> str:
        return json.dumps(x, ensure_ascii=False)

    lines = ['{"stages": [']
    stages = spec.get("stages", [])
    lines += [f"   {one(st)}{',' if i < len(stages) - 1 else ''}" for i, st in enumerate(stages)]
    lines.append(f' ], "constraints": {one(spec.get("constraints", []))}}}')
    return "\n".join(lines)


def _hours(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 3600:,.1f} h"


templates.env.filters.update(
    pct=_pct, num=_num, money=_money, ago=_ago, when=_when, tojson2=_json, spec=_spec, hours=_hours
)
templates.env.globals.update(sparkline=sparkline)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page: the template with what every page needs (sign-in state, CSRF token, nav)."""
    guard: Guard = request.app.state.guard
    context.setdefault("flash", None)
    context.update(
        signed_in=guard.signed_in(request),
        csrf=guard.csrf_token,
        path=request.url.path,
        settings=request.app.state.settings,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)
