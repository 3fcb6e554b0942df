"""Hard budgets on planner calls, tokens and dollars, and usage turned into dollars.

A budget is checked before every call to a remote backend (retries and the repair re-ask
included): once a limit is reached nothing more is sent, and ``BudgetExhausted`` says which
limit and how much was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from experimenter.planner.backends.base import Usage
from experimenter.planner.config import ModelPrice


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

    def charge(self, usage: Usage, cost: float) -> None:
        self.calls += 1
        self.tokens += usage.tokens_in + usage.tokens_out
        self.dollars += cost
