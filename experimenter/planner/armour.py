"""The armour around every planner call: the only way the graph asks a question.

For each question (``Planner.analyze`` / ``propose`` / ``decompose``):

1. **cache**: a remote backend is not asked again for the same prompt, images, schema and
   model; the hit is still a decisions row (``cache_hit``, no tokens, no dollars);
2. **budgets**: before every remote call; once spent, nothing more is sent and
   ``BudgetExhausted`` is raised (``on_budget="stop"``) or the offline backend answers;
3. **retries**: 429, 5xx, timeouts and dropped connections are retried up to ``retries``
   times, with exponential backoff and jitter, each attempt logged and recorded;
4. **repair**: an answer that is not valid JSON, not of the schema, or fails the question's
   checks is asked again once, quoting the problems;
5. **fallback**: when retries run out or the backend refuses (bad key, unknown model), it
   is marked down and the offline backend answers for the rest of the iteration
   (``new_iteration`` tries it again); an answer still invalid after the repair is answered
   offline too, for that question only.

Every call, including failures, cache hits and budget refusals, is handed to the recorder.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel

from experimenter.planner.backends import Backend, make_backend
from experimenter.planner.backends.base import (
    BackendError,
    PermanentError,
    Request,
    TransientError,
    Usage,
)
from experimenter.planner.backends.offline import OfflineBackend
from experimenter.planner.budget import Budget, BudgetExhausted, dollars
from experimenter.planner.cache import ResponseCache, cache_key
from experimenter.planner.config import DEFAULT_PRICES, ModelPrice, PlannerSettings
from experimenter.planner.inputs import AnalyzeInput, DecomposeInput, Image, ProposeInput
from experimenter.planner.prompts import render_repair
from experimenter.planner.questions import Inputs, Question, parse_answer, question
from experimenter.planner.record import DecisionRecord, MemoryRecorder, Recorder
from experimenter.planner.schemas import Decomposition, Progress, Proposals

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A validated answer and where it came from."""

    value: T
    backend: str
    """Who answered: the configured backend, or ``offline`` after a fallback."""
    model: str
    decision_id: int | None
    """The decisions row holding this answer."""
    cache_hit: bool = False
    fallback: str | None = None
    """Why the offline backend answered instead of the configured one (None if it did not)."""
    usage: Usage = field(default_factory=Usage)
    """Tokens of every attempt of this question, failures and the repair included."""
    dollars: float = 0.0


@dataclass
class RetryPolicy:
    retries: int = 3
    backoff_s: float = 2.0
    backoff_max_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Backoff before retry ``attempt`` (1, 2, ...): doubling, capped, "equal jitter"
        (half fixed, half random), so that clients stopped together do not return together."""
        cap = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return cap / 2 + rng.random() * cap / 2


class Planner:
    """Asks the three questions through ``backend``; the graph's only door to a model."""

    def __init__(
        self,
        backend: Backend,
        *,
        recorder: Recorder | None = None,
        budget: Budget | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        retry: RetryPolicy | None = None,
        cache: ResponseCache | None = None,
        on_budget: Literal["stop", "offline"] = "stop",
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.backend = backend
        # The configured backend itself when it is the offline one (its rows then read as
        # first answers, not fallbacks).
        self.offline = backend if isinstance(backend, OfflineBackend) else OfflineBackend()
        self.recorder: Recorder = recorder if recorder is not None else MemoryRecorder()
        self.budget = budget if budget is not None else Budget()
        self.prices = dict(prices) if prices is not None else dict(DEFAULT_PRICES)
        self.retry = retry if retry is not None else RetryPolicy()
        self.cache = cache if cache is not None else ResponseCache()
        self.on_budget = on_budget
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random(0)
        self.down: str | None = None
        """Why the backend is not asked for the rest of this iteration (None: it is)."""

    @classmethod
    def from_settings(
        cls, settings: PlannerSettings, *, recorder: Recorder | None = None, **kwargs: Any
    ) -> Planner:
        """A planner with the backend, prices, budgets, retries and cache of ``settings``."""
        backend = make_backend(settings.backend, settings)
        priced = backend.model in settings.prices
        if backend.name == "gemini" and settings.max_dollars is not None and not priced:
            raise ValueError(
                f"no price for Gemini model {backend.model!r} (known: "
                f"{', '.join(sorted(settings.prices))}); add it to EXPERIMENTER_PLANNER_PRICES "
                "or set EXPERIMENTER_PLANNER_MAX_DOLLARS to null"
            )
        return cls(
            backend,
            recorder=recorder,
            budget=Budget(settings.max_calls, settings.max_tokens, settings.max_dollars),
            prices=settings.prices,
            retry=RetryPolicy(settings.retries, settings.backoff_s, settings.backoff_max_s),
            cache=ResponseCache(settings.cache_dir),
            on_budget=settings.on_budget,
            **kwargs,
        )

    def new_iteration(self) -> None:
        """A new iteration: a backend that was down is tried again."""
        self.down = None

    # --- the three questions -------------------------------------------------------------

    def analyze(self, inp: AnalyzeInput, images: Sequence[Image] = ()) -> Answer[Progress]:
        """Verdicts on the skills in training (images: learning curves, then the scene)."""
        return cast(Answer[Progress], self.ask(inp, images))

    def propose(self, inp: ProposeInput, images: Sequence[Image] = ()) -> Answer[Proposals]:
        """New tasks (image: the scene). Vet them with ``vet_proposals`` before training."""
        return cast(Answer[Proposals], self.ask(inp, images))

    def decompose(self, inp: DecomposeInput, images: Sequence[Image] = ()) -> Answer[Decomposition]:
        """Ordered subtasks, each a valid spec of the scene."""
        return cast(Answer[Decomposition], self.ask(inp, images))

    # --- the armour ----------------------------------------------------------------------

    def ask(self, inp: Inputs, images: Sequence[Image] = ()) -> Answer[Any]:
        """Any of the three questions, by the type of ``inp``."""
        q = question(inp)
        pics = tuple(images)
        backend = self.backend
        if backend is self.offline:
            return self._offline(q, pics, inp, reason=None)
        if not backend.remote:  # replay: free and local, nothing to save by caching
            return self._ask_backend(q, pics, inp, key="")
        key = cache_key(
            backend=backend.name, model=backend.model, prompt=q.prompt, images=pics, schema=q.schema
        )
        if (cached := self.cache.get(key)) is not None:
            value, problem = parse_answer(q, cached)
            if value is not None:
                row = self._record(q, pics, backend, response=cached, value=value, cache_hit=True)
                return Answer(value, backend.name, backend.model, row, cache_hit=True)
            log.warning("ignoring a cached %s answer that no longer validates: %s", q.kind, problem)
        if self.down is not None:
            return self._offline(q, pics, inp, reason=f"{backend.name} is down: {self.down}")
        return self._ask_backend(q, pics, inp, key)

    def _ask_backend(
        self, q: Question, pics: tuple[Image, ...], inp: Inputs, key: str
    ) -> Answer[Any]:
        backend = self.backend
        request = Request(q.kind, q.prompt, q.schema, pics, inp)
        failures = 0
        repaired = False
        total = Usage()
        spent = 0.0
        while True:  # bounded: at most retries + 1 failures and one repair
            if backend.remote and (why := self.budget.spent()) is not None:
                self._record(q, pics, backend, error=why, prompt=request.prompt)
                if self.on_budget == "stop":
                    raise BudgetExhausted(why)
                return self._offline(q, pics, inp, reason=why)
            start = time.perf_counter()
            try:
                reply = backend.ask(request)
            except TransientError as e:
                failures += 1
                latency = time.perf_counter() - start
                self._record(q, pics, backend, error=str(e), latency=latency, prompt=request.prompt)
                if backend.remote:
                    self.budget.charge(Usage(), 0.0)
                if failures > self.retry.retries:
                    self.down = f"{failures} failed attempts, the last: {e}"
                    log.error(
                        "%s: giving up on %s after %d attempts: %s",
                        q.kind,
                        backend.name,
                        failures,
                        e,
                    )
                    return self._offline(q, pics, inp, reason=self.down)
                delay = self.retry.delay(failures, self.rng)
                log.warning(
                    "%s: %s failed (%s); retry %d of %d in %.2f s",
                    q.kind, backend.name, e, failures, self.retry.retries, delay,
                )  # fmt: skip
                self.sleep(delay)
                continue
            except (PermanentError, BackendError) as e:
                latency = time.perf_counter() - start
                self._record(q, pics, backend, error=str(e), latency=latency, prompt=request.prompt)
                self.down = str(e)
                log.error("%s: %s refused: %s", q.kind, backend.name, e)
                return self._offline(q, pics, inp, reason=self.down)
            latency = time.perf_counter() - start
            cost = dollars(self.prices, backend.model, reply.usage)
            if backend.remote:
                self.budget.charge(reply.usage, cost)
            total = Usage(
                total.tokens_in + reply.usage.tokens_in, total.tokens_out + reply.usage.tokens_out
            )
            spent += cost
            value, problem = parse_answer(q, reply.text)
            row = self._record(
                q, pics, backend, response=reply.text, value=value, error=problem,
                usage=reply.usage, cost=cost, latency=latency, prompt=request.prompt,
                model=reply.model,
            )  # fmt: skip
            if value is not None:
                if backend.remote:
                    self.cache.put(key, reply.text)
                return Answer(value, backend.name, backend.model, row, usage=total, dollars=spent)
            if repaired:
                log.error("%s: %s answered invalidly twice: %s", q.kind, backend.name, problem)
                return self._offline(
                    q, pics, inp, reason=f"invalid answer after the repair re-ask: {problem}",
                    usage=total, cost=spent,
                )  # fmt: skip
            log.warning(
                "%s: invalid answer from %s, asking once more: %s", q.kind, backend.name, problem
            )
            repaired = True
            prompt = render_repair(prompt=q.prompt, answer=reply.text, error=str(problem))
            request = Request(q.kind, prompt, q.schema, pics, inp, repair_of=reply.text)

    def _offline(
        self,
        q: Question,
        pics: tuple[Image, ...],
        inp: Inputs,
        *,
        reason: str | None,
        usage: Usage | None = None,
        cost: float = 0.0,
    ) -> Answer[Any]:
        start = time.perf_counter()
        reply = self.offline.ask(Request(q.kind, q.prompt, q.schema, pics, inp))
        latency = time.perf_counter() - start
        value, problem = parse_answer(q, reply.text)
        if value is None:  # the rules must always answer validly: a bug, not a model's whim
            raise RuntimeError(f"the offline backend gave an invalid {q.kind} answer: {problem}")
        row = self._record(
            q, pics, self.offline, response=reply.text, value=value, latency=latency,
            error=f"answered offline: {reason}" if reason else None,
        )  # fmt: skip
        return Answer(
            value, self.offline.name, self.offline.model, row, fallback=reason,
            usage=usage or Usage(), dollars=cost,
        )  # fmt: skip

    def _record(
        self,
        q: Question,
        pics: tuple[Image, ...],
        backend: Backend,
        *,
        response: str | None = None,
        value: BaseModel | None = None,
        error: str | None = None,
        usage: Usage | None = None,
        cost: float = 0.0,
        latency: float = 0.0,
        cache_hit: bool = False,
        prompt: str | None = None,
        model: str | None = None,
    ) -> int | None:
        usage = usage or Usage()
        return self.recorder.record(
            DecisionRecord(
                kind=q.kind, backend=backend.name, model=model or backend.model,
                prompt=prompt if prompt is not None else q.prompt, images=pics, response=response,
                parsed=value.model_dump(mode="json") if value is not None else None,
                valid=value is not None, error=error, tokens_in=usage.tokens_in,
                tokens_out=usage.tokens_out, dollars=cost, latency_s=latency, cache_hit=cache_hit,
            )
        )  # fmt: skip
