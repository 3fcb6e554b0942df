"""Hard budgets on planner calls, tokens and dollars, and usage turned into dollars.

A budget is checked before every call to a remote backend (retries and the repair re-ask
included) against the call's worst case: its prompt tokens, estimated here without a network
call, and the most output tokens the backend may bill (``max_reply_tokens``: the answer and
the thinking budget). A call that could overshoot a limit is not sent, and
``BudgetExhausted`` says which limit, how much was used and what the call could have cost.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from experimenter.planner.backends.base import Usage
from experimenter.planner.config import ModelPrice
from experimenter.planner.inputs import Image

CHARS_PER_TOKEN = 3
"""Prompt characters per token in the worst-case estimate (English prose runs about 4, JSON
and schema text fewer: rounded down so that the estimate errs high)."""
IMAGE_TILE_TOKENS = 258
"""Tokens per image of at most 384 px a side, and per 768 px tile of a larger one (Gemini)."""


@dataclass(frozen=True)
class Spend:
    """What planner calls have used: calls sent to a remote backend, tokens, dollars."""

    calls: int = 0
    tokens: int = 0
    dollars: float = 0.0


def image_tokens(image: Image) -> int:
    """Prompt tokens of one image: 258 up to 384 px a side, else 258 per 768 px tile."""
    png = image.png
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n":
        return IMAGE_TILE_TOKENS
    width, height = struct.unpack(">II", png[16:24])
    if width <= 384 and height <= 384:
        return IMAGE_TILE_TOKENS
    return IMAGE_TILE_TOKENS * math.ceil(width / 768) * math.ceil(height / 768)


def estimate_prompt_tokens(
    prompt: str, schema: Mapping[str, Any] | None = None, images: Sequence[Image] = ()
) -> int:
    """Prompt tokens of a call, erring high: its text and response schema at
    ``CHARS_PER_TOKEN`` characters a token, plus its images. Local and free (no count call)."""
    chars = len(prompt) + (len(json.dumps(schema)) if schema else 0)
    return math.ceil(chars / CHARS_PER_TOKEN) + sum(image_tokens(im) for im in images)


class BudgetExhausted(RuntimeError):
    """A planner budget is spent; the message names it and what was used."""


def dollars(prices: Mapping[str, ModelPrice], model: str, usage: Usage) -> float:
    """What ``usage`` of ``model`` costs (0 for a model without a price: local servers)."""
    price = prices.get(model)
    if price is None:
        return 0.0
    return (usage.tokens_in * price.input + usage.tokens_out * price.output) / 1e6


@dataclass
class Budget:
    """Limits (None: unlimited) and what has been used against them."""

    max_calls: int | None = None
    max_tokens: int | None = None
    max_dollars: float | None = None
    calls: int = 0
    tokens: int = 0
    dollars: float = 0.0

    def spent(self) -> str | None:
        """Which limit is reached, as a sentence; None while every one has room."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            return f"planner call budget spent: {self.calls} of {self.max_calls} calls"
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"planner token budget spent: {self.tokens} of {self.max_tokens} tokens"
        if self.max_dollars is not None and self.dollars >= self.max_dollars:
            return f"planner dollar budget spent: ${self.dollars:.4f} of ${self.max_dollars:.2f}"
        return None

    def refusal(self, *, tokens: int, cost: float) -> str | None:
        """Why a call that may use up to ``tokens`` tokens and ``cost`` dollars must not be
        sent (a limit reached, or one it could overshoot); None when it may."""
        if (why := self.spent()) is not None:
            return why
        if self.max_tokens is not None and self.tokens + tokens > self.max_tokens:
            return (
                f"planner token budget spent: {self.tokens} of {self.max_tokens} tokens used, "
                f"and the next call could use up to {tokens}"
            )
        if self.max_dollars is not None and self.dollars + cost > self.max_dollars + 1e-12:
            return (
                f"planner dollar budget spent: ${self.dollars:.4f} of ${self.max_dollars:.2f} "
                f"used, and the next call could cost up to ${cost:.4f}"
            )
        return None

    def charge(self, usage: Usage, cost: float) -> None:
        self.calls += 1
        self.tokens += usage.tokens_in + usage.tokens_out
        self.dollars += cost

    def restore(self, spend: Spend) -> None:
        """Count what earlier runs used (from the decisions rows), keeping any larger count."""
        self.calls = max(self.calls, spend.calls)
        self.tokens = max(self.tokens, spend.tokens)
        self.dollars = max(self.dollars, spend.dollars)
